from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef

_WHAT = {
    "NCCL_P2P_DISABLE": "disables NCCL's intra-node GPU peer-to-peer transport (NVLink/PCI): it does not switch the "
    "network to TCP, it only makes communication inside the node slower",
    "NCCL_IB_DISABLE": "disables only NCCL's internal InfiniBand transport; a loaded aws-ofi-nccl (EFA) is still "
    "used, so it does not switch to TCP either",
}
_OFF = ("", "0")


@check(
    id="LINT010",
    title="NCCL env is not used as a TCP switch (NCCL_P2P_DISABLE / NCCL_IB_DISABLE / NCCL_NET=Socket)",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED, Symptom.SOCKET_FALLBACK),
    targets=("manifests",),
)
def manifest_nccl_env_no_tcp_folklore(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    Runbooks set `NCCL_P2P_DISABLE=1` or `NCCL_IB_DISABLE=1` "to test TCP
    mode". Neither does that when aws-ofi-nccl is loaded: P2P_DISABLE turns
    off the intra-node GPU peer-to-peer transport (NVLink/PCI), which only
    slows communication inside the node; IB_DISABLE turns off NCCL's internal
    InfiniBand transport, and the EFA plugin is still chosen. Left in a
    manifest they are slow folklore. The switch that really forces TCP is
    `NCCL_NET=Socket`, and in a pod that requests EFA it throws the EFA
    devices away: fine for a test, wrong for a training job.

    ## Fix
    Remove `NCCL_P2P_DISABLE` and `NCCL_IB_DISABLE`. To test TCP on purpose,
    set `NCCL_NET=Socket` in a test pod only; to make NCCL fail loudly instead
    of falling back, set `NCCL_NET` to the name printed in `Using network …`
    (`Libfabric` with aws-ofi-nccl >= 1.13, `AWS Libfabric` before).
    """
    evidence, snippets, sources = [], [], []
    judged = 0
    for ref in manifest_pod_specs:
        for container in containers(ref):
            env = container.env
            relevant = [n for n in (*_WHAT, "NCCL_NET") if n in env and env[n].value is not None]
            if not relevant:
                continue
            judged += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            for name in relevant:
                var = env[name]
                value = (var.value or "").strip()
                if name in _WHAT and value not in _OFF:
                    detail = f"{who}: {name}={value} {_WHAT[name]}; the TCP switch is NCCL_NET=Socket"
                elif name == "NCCL_NET" and value.lower() == "socket" and container.wants_efa:
                    detail = f"{who}: NCCL_NET={value} forces TCP sockets although the container requests EFA"
                else:
                    continue
                evidence.append((at(ref.doc.source, var.line), detail))
                where = f"# {place(ref.doc.source, var.line)} {who}: delete this env entry"
                snippets.append(f'{where}\n# - name: {name}\n#   value: "{value}"')
                sources.append(ref.doc.source)
    if not judged:
        return skipped("no container in the input sets NCCL_P2P_DISABLE, NCCL_IB_DISABLE or NCCL_NET")
    if not evidence:
        return passed(f"{judged} container(s) set NCCL network variables without forcing or faking TCP")
    return warned(
        f"{len(evidence)} NCCL setting(s) used as a TCP switch: {evidence[0][1]}",
        fix=fix_text("Remove them; to test TCP on purpose use NCCL_NET=Socket in a test pod only:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
