from efadoctor import Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.checks.logs._logs import enabled, env_settings, libfabric_hosts, on_hosts, quote, unset_in_pod
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.logs import LogFacts

FOLKLORE = {
    "NCCL_P2P_DISABLE": "turns off NVLink/PCI peer-to-peer between the GPUs of one node (slower), not the network",
    "NCCL_IB_DISABLE": "disables only NCCL's internal InfiniBand transport; a loaded aws-ofi-nccl is still used",
}


@check(
    id="LOG013",
    title="No NCCL variable was set in the belief that it forces or tests TCP",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    targets=("logs", "pod"),
)
def nccl_env_no_tcp_folklore(log_facts: LogFacts, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    A widespread runbook says `NCCL_P2P_DISABLE=1` or `NCCL_IB_DISABLE=1`
    "tests TCP mode". Neither does: `NCCL_P2P_DISABLE` turns off the
    intra-node GPU peer-to-peer transport (NVLink/PCI), so the GPUs of one
    node talk more slowly; `NCCL_IB_DISABLE` only disables NCCL's internal
    InfiniBand transport, and NCCL still picks aws-ofi-nccl (NCCL env docs;
    nccl src/transport/net_ib/init.cc). NCCL's INFO log shows them when they
    are set (`NCCL_IB_DISABLE set by environment to 1.`), and in the same log
    whether NCCL then used `Libfabric` anyway. The variable that does force
    TCP is `NCCL_NET=Socket`.

    ## Fix
    Remove them. To test TCP on purpose, set `NCCL_NET=Socket` for that run
    only; to make NCCL fail instead of silently falling back, set `NCCL_NET`
    to the name NCCL prints in `Using network ...` (`Libfabric` with
    aws-ofi-nccl 1.13 and later, `AWS Libfabric` before).
    """
    found = {name: [(h, v, line) for h, v, line in env_settings(log_facts, name) if enabled(v.strip("'\""))] for name in FOLKLORE}
    set_names = [name for name, hits in found.items() if hits]
    if not set_names:
        if not any(h.networks or h.signature("nccl_bootstrap") for h in log_facts.hosts):
            # NCCL echoes its settings while it starts, before `Using network`: without those lines, no echo proves nothing
            return skipped("the log does not hold NCCL's start-up lines, where it would echo NCCL_P2P_DISABLE or NCCL_IB_DISABLE")
        return passed("NCCL's start-up lines show neither NCCL_P2P_DISABLE nor NCCL_IB_DISABLE set")
    evidence = [e for name in set_names for h, _, line in found[name][:2] for e in quote(h, [line], 1)]
    hosts = [h.host for name in set_names for h, _, _ in found[name]]
    parts = [f"{name}=1 {FOLKLORE[name]}" for name in set_names]
    over_efa = libfabric_hosts(log_facts)
    if over_efa:
        parts.append(f"NCCL still used {over_efa[0].network or 'Libfabric'}{on_hosts([h.host for h in over_efa])}, as these do not force TCP")
    commands = unset_in_pod(pod, workload_container, set_names)
    return warned(
        f"{' and '.join(set_names)} set{on_hosts(list(dict.fromkeys(hosts)))}: " + "; ".join(parts),
        fix=f"Remove {', '.join(set_names)}. NCCL_NET=Socket is the switch that forces TCP (for a deliberate test only); "
        "NCCL_NET=Libfabric makes NCCL fail instead of silently falling back.",
        commands=commands,
        evidence=evidence,
    )
