from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers, pinned_instance_types
from efadoctor.facts.device_rdma import FALSE, GDR_REQUIRED, NO_RDMA_READ, TRUE

if TYPE_CHECKING:
    from efadoctor.instance_types import InstanceTypeInfo
    from efadoctor.parsers.manifests import PodSpecRef

VAR = "FI_EFA_USE_DEVICE_RDMA"


def _entry(name: str, value: str) -> str:
    return f'# - name: {name}\n#   value: "{value}"'


@check(
    id="LINT009",
    title="FI_EFA_USE_DEVICE_RDMA is not forced against the instance type",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    targets=("manifests",),
)
def manifest_device_rdma_env_supported(
    manifest_pod_specs: tuple[PodSpecRef, ...],
    instance_type_catalog: tuple[InstanceTypeInfo, ...],
):
    """
    ## Why it matters
    `FI_EFA_USE_DEVICE_RDMA=1` forces GPUDirect RDMA. On an instance whose EFA
    device has no RDMA read (p3dn, g4dn, g5, g6, g6e) libfabric aborts the
    process: "FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no
    rdma-read capability. Application will abort()". `FI_EFA_USE_DEVICE_RDMA=0`
    on an instance where aws-ofi-nccl requires GPUDirect (p4d, p5, p5en,
    p6-b200, trn...) makes its initialisation fail ("GDR disabled on
    GDR-supported instance type"). Since libfabric API 1.18 the default
    follows the hardware, so the variable is best left unset. When the pod's
    nodeSelector (or required node affinity) names the instance type,
    efadoctor decides with its instance-type data; otherwise it warns.

    ## Fix
    Remove `FI_EFA_USE_DEVICE_RDMA` from the container's env.
    """
    known = {info.instance_type: info for info in instance_type_catalog}
    evidence, snippets, sources = [], [], []
    judged, failing = 0, False
    for ref in manifest_pod_specs:
        types = pinned_instance_types(ref)
        for container in containers(ref):
            var = container.env.get(VAR)
            if var is None or var.value is None:
                continue
            judged += 1
            value = var.value.strip().lower()
            who = f"{pod_spec_name(ref)} container {container.name}"
            infos = [(name, line, known.get(name.lower())) for name, line in types]
            if value in TRUE:
                bad = [(n, line) for n, line, info in infos if info is not None and info.gdr == "no"]
                unsure = [n for n, _, info in infos if info is None or info.gdr == "unknown"]
                if bad:
                    failing = True
                    names = ", ".join(n for n, _ in bad)
                    detail = f"{who}: {VAR}={var.value} on {names}, {NO_RDMA_READ}"
                elif not infos:
                    detail = (
                        f"{who}: {VAR}={var.value} with no instance type pinned: "
                        "it aborts on types without RDMA read (p3dn, g4dn, g5, g6, g6e)"
                    )
                elif unsure:
                    detail = f"{who}: {VAR}={var.value} on {', '.join(unsure)}: no source states GPUDirect RDMA there"
                else:
                    continue  # every pinned type has RDMA read: forcing it is redundant, not wrong
            elif value in FALSE:
                required = [n for n, _, info in infos if info is not None and info.gdr_required]
                if required:
                    failing = True
                    detail = (
                        f"{who}: {VAR}={var.value} on {', '.join(required)}, {GDR_REQUIRED}"
                    )
                elif not infos:
                    detail = (
                        f"{who}: {VAR}={var.value} with no instance type pinned: "
                        "on p4d/p5/p5en/p6 (GPUDirect required) aws-ofi-nccl then fails to start"
                    )
                else:
                    continue
            else:
                detail = f"{who}: {VAR}={var.value!r} is not a boolean libfabric understands"
            evidence.append((at(ref.doc.source, var.line), detail))
            snippets.append(f"# {place(ref.doc.source, var.line)} {who}: delete this env entry\n" + _entry(VAR, var.value))
            sources.append(ref.doc.source)
    if not judged:
        return skipped(f"no container in the input sets {VAR}")
    if not evidence:
        return passed(f"{judged} container(s) set {VAR} consistently with their pinned instance types")
    verdict = failed if failing else warned
    return verdict(
        f"{len(evidence)} container(s) force {VAR} where it can break: {evidence[0][1]}",
        fix=fix_text(f"Unset {VAR}; since libfabric API 1.18 the default follows the hardware:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
