from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.facts.kube import EFA_RESOURCE, PodInfo

VOLUMES = "k8s: Pod spec.volumes[].hostPath + spec.containers[].volumeMounts"


def _norm(path: str | None) -> str:
    return "/" + "/".join(part for part in (path or "").split("/") if part)


@check(
    id="POD006",
    title="The pod does not mount the host's /dev/infiniband",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(Symptom.ENODATA,),
    targets=("pod",),
)
def pod_does_not_mount_host_infiniband(pod: PodInfo):
    """
    ## Why it matters
    The EFA device plugin gives a container exactly the `/dev/infiniband/uverbsN`
    devices it requested (`vpc.amazonaws.com/efa`), and the container may open
    only those. A hostPath mount of the host's `/dev/infiniband` (or `/dev`)
    instead shows every verbs device of the host: EFA devices given to other
    pods and, on p6-b200, the NVLink `ibp*` InfiniBand devices. libibverbs
    lists each one whose device node exists (and whose userspace driver the
    image has), the container's device cgroup lets it open only its own,
    and libfabric's EFA provider stops enumerating at the first device it
    cannot open (any error but "not an EFA device" aborts
    `efa_device_list_initialize`, libfabric prov/efa/src/efa_device.c), so
    `fi_getinfo` returns -61. Run privileged,
    the pod can instead use EFA devices allocated to other pods. The EKS user
    guide: the plugin "does not require a Pod to run in privileged mode".

    ## Fix
    Remove the hostPath volume and its mount, and request
    `vpc.amazonaws.com/efa` (requests and limits) in the container instead.
    """
    by_volume = {v.name: v for v in pod.volumes}
    hits = []
    for container in pod.containers + pod.init_containers:
        for volume_name, mount_path in container.volume_mounts:
            volume = by_volume.get(volume_name)
            if volume is None or volume.host_path is None:
                continue
            host, inside = _norm(volume.host_path), _norm(mount_path)
            if (host, inside) in (("/dev/infiniband", "/dev/infiniband"), ("/dev", "/dev")):
                hits.append((container.name, volume_name, host, inside))
    if not hits:
        return passed(f"pod {pod.ref} does not mount the host's /dev/infiniband", evidence=[(VOLUMES, "no hostPath /dev or /dev/infiniband mounted there")])
    evidence = [(VOLUMES, f"container {c}: volume {v} hostPath {h} mounted at {i}") for c, v, h, i in hits]
    names = sorted({v for _, v, _, _ in hits})
    containers = sorted({c for c, _, _, _ in hits})
    return failed(
        f"pod {pod.ref} mounts the host's {hits[0][2]} into container(s) {', '.join(containers)} (volume {', '.join(names)}): "
        "they see every verbs device of the host, not the EFA devices allocated to them, and libfabric's EFA provider "
        "gives up (fi_getinfo -61) at the first one it may not open",
        fix=f"Remove volume(s) {', '.join(names)} and their mounts from {pod.template_owner}'s pod template, and request "
        f"{EFA_RESOURCE} in the container that runs NCCL; privileged mode is not needed either.",
        commands=edit_commands(pod, f"remove volume(s) {', '.join(names)} and their volumeMounts"),
        evidence=evidence,
    )
