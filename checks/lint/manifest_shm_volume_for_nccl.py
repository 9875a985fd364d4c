from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, check, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers, volumes

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef

SHM = "/dev/shm"
_SNIPPET = (
    "# in container {container}:\nvolumeMounts:\n- name: shmem\n  mountPath: /dev/shm\n"
    "# in the pod spec:\nvolumes:\n- name: shmem\n  emptyDir:\n    medium: Memory\n    sizeLimit: 64Gi   # size it for the job"
)


@check(
    id="LINT007",
    title="NCCL containers get a real /dev/shm, not the runtime's 64 MiB default",
    layer=Layer.POD_SPEC,
    severity=Severity.MEDIUM,
    symptoms=(),
    targets=("manifests",),
)
def manifest_shm_volume_for_nccl(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    NCCL puts its intra-node buffers in `/dev/shm`. Kubernetes does not size
    `/dev/shm`: a container gets the container runtime's default, 64 MiB with
    containerd and Docker, and multi-GPU NCCL jobs fail to grow their segments
    there ("failed to extend /dev/shm/nccl-…", "unhandled system error").
    AWS's EFA pod spec mounts a volume at `/dev/shm` (a hostPath in the EKS
    example); an `emptyDir` with `medium: Memory` does the same per pod. An
    `emptyDir` without `medium: Memory` is disk-backed.

    ## Fix
    Mount an `emptyDir: {medium: Memory}` volume (with a `sizeLimit`) at
    `/dev/shm` in the container that runs NCCL.
    """
    evidence, snippets, sources = [], [], []
    judged = 0
    for ref in manifest_pod_specs:
        vols = volumes(ref)
        for container in containers(ref, init=False):
            nccl = container.wants_efa or any(name.startswith("NCCL_") for name in container.env)
            if not (container.wants_gpus and nccl):
                continue
            judged += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            mount = next(((name, line) for name, path, line in container.mounts if path.rstrip("/") == SHM), None)
            if mount is None:
                detail = f"{who} runs NCCL on GPUs without a volume at {SHM} (the runtime default is 64 MiB)"
                evidence.append((at(ref.doc.source, container.line), detail))
            else:
                volume = vols.get(mount[0])
                if volume is None or volume.empty_dir_medium is None or volume.empty_dir_medium == "Memory":
                    continue
                detail = f"{who}: {SHM} is an emptyDir without medium: Memory (disk-backed)"
                evidence.append((at(ref.doc.source, volume.line), detail))
            snippets.append(f"# {place(ref.doc.source, container.line)} {who}\n" + _SNIPPET.format(container=container.name))
            sources.append(ref.doc.source)
    if not judged:
        return skipped("no GPU container in the input uses EFA or NCCL")
    if not evidence:
        return passed(f"{judged} NCCL GPU container(s) mount a memory-backed {SHM}")
    return warned(
        f"{len(evidence)} NCCL GPU container(s) lack a memory-backed {SHM}: {evidence[0][1]}",
        fix=fix_text(f"Mount a memory-backed volume at {SHM}:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
