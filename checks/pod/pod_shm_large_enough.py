from efadoctor import Layer, Severity, check, passed, skipped, warned
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.facts.kube import EFA_RESOURCE, GPU_RESOURCE, ContainerInfo, PodInfo, quantity_bytes

MOUNTS = "k8s: Pod spec.containers[].volumeMounts + spec.volumes[]"
ENOUGH = 1 << 30  # 1 GiB: NCCL's troubleshooting guide suggests --shm-size=1g for containers
RUNTIME_DEFAULT = "64 MiB"


@check(
    id="POD007",
    title="The NCCL container has a /dev/shm large enough",
    layer=Layer.POD_SPEC,
    severity=Severity.MEDIUM,
    targets=("pod",),
)
def pod_shm_large_enough(pod: PodInfo, workload_container: ContainerInfo):
    """
    ## Why it matters
    NCCL creates its shared-memory segments in `/dev/shm`, between processes
    and between threads of one process; with too little space it fails to
    initialize (`NCCL WARN Error: failed to extend /dev/shm/nccl-... to N
    bytes`, NCCL troubleshooting guide). A container that mounts nothing at
    `/dev/shm` gets the container runtime's default of 64 MiB. This is not an
    EFA fault, but it is the failure that comes right after EFA works.

    ## Fix
    Mount a memory-backed emptyDir at `/dev/shm` (`emptyDir: {medium:
    Memory}`, with a `sizeLimit` of at least 1Gi if you set one), or the
    host's `/dev/shm` as AWS's nccl-tests example does.
    """
    container = workload_container
    names = set(container.requests) | set(container.limits)
    if EFA_RESOURCE not in names and GPU_RESOURCE not in names:
        return skipped(f"container {container.name} of pod {pod.ref} requests neither EFA nor GPUs: NCCL is not expected there")
    mount = next((volume for volume, path in container.volume_mounts if path.rstrip("/") == "/dev/shm"), None)
    volume = next((v for v in pod.volumes if v.name == mount), None) if mount else None
    snippet = "volumes: [{name: shm, emptyDir: {medium: Memory}}]; volumeMounts: [{name: shm, mountPath: /dev/shm}]"
    if volume is None:
        return warned(
            f"container {container.name} of pod {pod.ref} mounts nothing at /dev/shm: it gets the runtime's default "
            f"{RUNTIME_DEFAULT}, too little for NCCL",
            fix=f"Mount a memory-backed emptyDir at /dev/shm in container {container.name}: {snippet}",
            commands=edit_commands(pod, f"add the /dev/shm volume and mount to container {container.name}"),
            evidence=[(MOUNTS, f"{container.name}: no volumeMount at /dev/shm")],
        )
    evidence = [(MOUNTS, f"{container.name}: /dev/shm from volume {volume.name} ("
                         + (f"hostPath {volume.host_path}" if volume.host_path else
                            f"emptyDir medium={volume.empty_dir_medium or 'disk'} sizeLimit={volume.size_limit or '(none)'}"
                            if volume.is_empty_dir else "another volume type") + ")")]
    size = quantity_bytes(volume.size_limit) if volume.size_limit else None
    if volume.is_empty_dir and size is not None and size < ENOUGH:
        return warned(
            f"container {container.name} of pod {pod.ref} has a /dev/shm of {volume.size_limit} (volume {volume.name}): "
            "less than the 1 GiB NCCL's guide suggests",
            fix=f"Raise sizeLimit of volume {volume.name} to at least 1Gi, or drop the limit.",
            commands=edit_commands(pod, f"raise emptyDir.sizeLimit of volume {volume.name}"),
            evidence=evidence,
        )
    return passed(f"container {container.name} of pod {pod.ref} mounts /dev/shm from volume {volume.name}", evidence=evidence)
