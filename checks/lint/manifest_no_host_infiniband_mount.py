from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers, volumes
from efadoctor.facts.kube import EFA_RESOURCE

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef

INFINIBAND = "/dev/infiniband"


@check(
    id="LINT006",
    title="Workloads get EFA devices from the device plugin, not from a hostPath /dev/infiniband",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(Symptom.ENODATA,),
    targets=("manifests",),
)
def manifest_no_host_infiniband_mount(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    Mounting the host's `/dev/infiniband` (usually with `privileged: true`) is
    a common "fix" for `fi_getinfo: -61`, and it hides the real problem. The
    EKS user guide says the EFA device plugin mounts the devices into the pod
    and that the pod does not need privileged mode. A hostPath mount bypasses
    the scheduler's accounting: every such pod on a node sees every device,
    including ones the plugin allocated to another pod. And without a
    `vpc.amazonaws.com/efa` request, Karpenter launches the node without EFA
    interfaces at all, so on a fresh node there is nothing under
    `/dev/infiniband` to mount and the pod sees -61 anyway. The EFA device
    plugin's own DaemonSet mounts it legitimately and is not judged here.

    ## Fix
    Remove the hostPath volume and its volumeMount (and `privileged: true` if
    it was only for this), and request `vpc.amazonaws.com/efa` in the
    workload container instead.
    """
    refs = manifest_pod_specs
    if not refs:
        return skipped("no workload pod spec in the input")
    evidence, snippets, sources = [], [], []
    for ref in refs:
        host_ib = {v.name: v for v in volumes(ref).values() if (v.host_path or "").rstrip("/") == INFINIBAND}
        if not host_ib:
            continue
        users = [c for c in containers(ref) if any(name in host_ib for name, _, _ in c.mounts)]
        name = pod_spec_name(ref)
        for volume in host_ib.values():
            mounted = ", ".join(c.name for c in users if any(m == volume.name for m, _, _ in c.mounts)) or "no container"
            detail = f"{name}: volume {volume.name} is hostPath {INFINIBAND}, mounted by {mounted}"
            evidence.append((at(ref.doc.source, volume.line), detail))
        container = users[0].name if users else "<the workload container>"
        snippets.append(
            f"# {place(ref.doc.source, ref.line)} {name}: delete the hostPath {INFINIBAND} volume and its volumeMount, then in\n"
            f"# container {container}:\n"
            f"resources:\n  limits:\n    {EFA_RESOURCE}: N   # the node's allocatable count\n  requests:\n    {EFA_RESOURCE}: N"
        )
        sources.append(ref.doc.source)
    if not evidence:
        return passed(f"none of {len(refs)} workload pod spec(s) mounts the host's {INFINIBAND}")
    return warned(
        f"{len(snippets)} workload pod spec(s) mount the host's {INFINIBAND} instead of requesting {EFA_RESOURCE}: "
        f"{evidence[0][1]}",
        fix=fix_text(f"Let the device plugin provide the devices: drop the hostPath and request {EFA_RESOURCE}:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
