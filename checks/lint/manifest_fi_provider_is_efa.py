from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers
from efadoctor.checks.pod.pod_env_fi_provider_efa import allows_efa

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef


@check(
    id="LINT008",
    title="FI_PROVIDER is unset or allows efa",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.DEGRADED, Symptom.SOCKET_FALLBACK),
    targets=("manifests",),
)
def manifest_fi_provider_is_efa(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    `FI_PROVIDER` restricts libfabric to the providers it names (or, with
    `^`, to all but those). Set to `tcp` or `sockets`, aws-ofi-nccl runs NCCL over TCP through libfabric ("Selected
    provider is tcp"): it works, slowly, and nothing fails to tell you; older
    aws-ofi-nccl refuses with "Only EFA provider is supported" and NCCL falls
    back to sockets. aws-ofi-nccl already selects `efa` on EC2 when
    `FI_PROVIDER` is unset, so the AWS pod spec sets nothing.

    ## Fix
    Remove `FI_PROVIDER` from the container's env (or set it to `efa`).
    """
    evidence, snippets, sources = [], [], []
    judged = 0
    for ref in manifest_pod_specs:
        for container in containers(ref):
            var = container.env.get("FI_PROVIDER")
            if var is None:
                continue
            judged += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            if var.value is None or not var.value.strip() or allows_efa(var.value):
                continue
            evidence.append((at(ref.doc.source, var.line), f"{who}: FI_PROVIDER={var.value}"))
            where = f"# {place(ref.doc.source, var.line)} {who}: delete this env entry"
            snippets.append(f"{where}\n# - name: FI_PROVIDER\n#   value: {var.value}")
            sources.append(ref.doc.source)
    if not judged:
        return skipped("no container in the input sets FI_PROVIDER")
    if not evidence:
        return passed(f"{judged} container(s) set an FI_PROVIDER that allows efa (or from a ConfigMap/Secret, not judged)")
    return failed(
        f"{len(evidence)} container(s) restrict libfabric to providers other than efa: {evidence[0][1]}",
        fix=fix_text("Unset FI_PROVIDER; aws-ofi-nccl selects efa on EC2 by itself:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
