from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import Container, containers, volumes
from efadoctor.facts.kube import EFA_RESOURCE, GPU_RESOURCE

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef


def _efa_hints(container: Container, host_infiniband: set[str]) -> list[str]:
    """Signs that the container means to use EFA although it requests none."""
    hints = [
        f"env {name}"
        for name, var in container.env.items()
        if name.startswith("FI_EFA_") or (name == "FI_PROVIDER" and (var.value or "").lower() == "efa")
    ]
    if any(volume in host_infiniband for volume, _, _ in container.mounts):
        hints.append("a hostPath /dev/infiniband volume")
    if container.misspelled_efa:
        hints.append("a misspelled EFA resource (" + ", ".join(q.name for q in container.misspelled_efa) + ")")
    return hints


@check(
    id="LINT004",
    title="The container that runs the workload (the one with the GPUs) requests EFA",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    caused_by=("LINT002",),
    targets=("manifests",),
)
def manifest_efa_in_workload_container(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    The EFA device plugin passes `/dev/infiniband/uverbs*` only into the
    container that requests `vpc.amazonaws.com/efa`. A request in a sidecar or
    an init container gives the devices to that container; NCCL in the GPU
    container then finds no EFA device (`fi_getinfo: -61`, and NCCL quietly
    falls back to sockets). A container that sets EFA variables (`FI_PROVIDER=efa`,
    `FI_EFA_*`) or mounts `/dev/infiniband` but requests no EFA gets no
    device from the plugin, and Karpenter attaches EFA interfaces only to
    nodes launched for pods that request it.

    ## Fix
    Request `vpc.amazonaws.com/efa` (requests and limits) in the container
    that holds the GPUs and runs NCCL, and remove the request from the others.
    """
    refs = manifest_pod_specs
    if not refs:
        return skipped("no pod spec in the input")
    evidence, snippets, sources = [], [], []
    judged = 0
    for ref in refs:
        host_ib = {v.name for v in volumes(ref).values() if (v.host_path or "").rstrip("/") == "/dev/infiniband"}
        everyone = list(containers(ref))
        with_efa = [c for c in everyone if c.asks_for(EFA_RESOURCE)]
        with_gpus = [c for c in everyone if c.asks_for(GPU_RESOURCE) and not c.init]
        name = pod_spec_name(ref)
        problems: list[tuple[Container, int | None, str]] = []
        if with_efa:
            judged += 1
            for gpu in with_gpus:
                if not gpu.asks_for(EFA_RESOURCE):
                    holders = ", ".join(("init container " if c.init else "") + c.name for c in with_efa)
                    problems.append((gpu, gpu.resource_line(), f"{gpu.name} has the GPUs but {holders} has the EFA devices"))
            for holder in with_efa:
                if holder.init and not with_gpus:
                    detail = f"only init container {holder.name} requests EFA; it exits before the workload runs"
                    problems.append((holder, holder.efa_line(), detail))
        else:
            for container in everyone:
                hints = _efa_hints(container, host_ib)
                if hints and not container.init:
                    judged += 1
                    line = container.efa_line() if container.misspelled_efa else container.line
                    problems.append((container, line, f"{container.name} requests no {EFA_RESOURCE} but has {', '.join(hints)}"))
        for container, line, detail in problems:
            evidence.append((at(ref.doc.source, line), f"{name}: {detail}"))
            snippets.append(
                f"# {place(ref.doc.source, container.line)} {name}, container {container.name}:\n"
                f"resources:\n  limits:\n    {EFA_RESOURCE}: N   # the node's allocatable count, e.g. 32 on p5.48xlarge\n"
                f"  requests:\n    {EFA_RESOURCE}: N"
            )
            sources.append(ref.doc.source)
    if not judged:
        return skipped("no pod spec in the input requests EFA or looks meant to")
    if not evidence:
        return passed(f"in {judged} EFA pod spec(s) the EFA request is in the workload container")
    return failed(
        f"{len(evidence)} EFA workload container(s) get no EFA device: {evidence[0][1]}",
        fix=fix_text("Request EFA in the container that runs NCCL (the one with the GPUs), and only there:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
