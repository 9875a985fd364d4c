from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.logs._logs import (
    LIBFABRIC,
    efa_expectation,
    in_container,
    libfabric_hosts,
    nccl_hosts,
    on_hosts,
    quote,
    settings_among,
    signature_lines,
    unknown_expectation_hint,
    unset_in_pod,
)
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import HostLogFacts, LogFacts, LogLine


@check(
    id="LOG002",
    title="NCCL sent its inter-node traffic over EFA (aws-ofi-nccl), not sockets",
    layer=Layer.RUNTIME,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    # why NCCL fell back: the plugin (LOG003), -61 (LOG004), a libfabric without efa (LOG005), another provider
    # (LOG006), GDR required but unusable (LOG011), and what the pod walk finds behind those
    caused_by=(
        "LOG003", "LOG004", "LOG005", "LOG006", "LOG011",
        "PRB001", "PRB002", "PRB003", "PRB004", "PRB005", "PRB010",
        "POD001", "POD002", "POD009", "POD010", "POD011",
        "K8S001", "K8S002", "AWS001", "AWS002",
    ),
    targets=("logs", "pod"),
)
def nccl_used_efa_not_sockets(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
):
    """
    ## Why it matters
    NCCL picks its network once, at start: an external net plugin
    (aws-ofi-nccl, `Using network Libfabric`, `AWS Libfabric` before 1.13.0)
    if one loads and initialises, else its internal IB transport, else
    sockets (`Using network Socket`, `NET/Socket : Using [0]eth0`). Falling
    back to sockets is silent: the job runs, over TCP, many times slower.
    The reason is in the same log: NCCL found no plugin (not on the library
    path), the plugin failed to load, or it loaded but `fi_getinfo` failed
    (`fi_getinfo() call failed: No data available`, which is -61: no EFA
    device visible in the container). On a machine without EFA, sockets are
    what NCCL should use, so this only fails when EFA was expected: the
    instance type has EFA, or the log shows an EFA setup.

    ## Fix
    Fix the reason this report ranks above it. To make NCCL fail at start
    instead of falling back silently, set `NCCL_NET` to the network name
    aws-ofi-nccl registers (`Libfabric` since 1.13.0, `AWS Libfabric`
    before); `NCCL_NET=Socket` is the one setting that forces sockets.
    """
    hosts = nccl_hosts(log_facts)
    if not hosts:
        return skipped("the log does not show which network NCCL used (NCCL_DEBUG=INFO prints `Using network ...`)")
    fallen = [h for h in hosts if _not_efa(h)]
    over_efa = libfabric_hosts(log_facts)
    if not fallen:
        if over_efa:
            networks = ", ".join(dict.fromkeys(_network(h) for h in over_efa))
            evidence = [e for h in over_efa for e in quote(h, _network_lines(h), 1)]
            return passed(f"NCCL used {networks} (aws-ofi-nccl){on_hosts([h.host for h in over_efa])}", evidence=evidence[:6])
        return skipped("the log does not show which network NCCL chose (no `Using network` or `via NET/` line)")
    names = [h.host for h in fallen]
    used = ", ".join(dict.fromkeys(_network(h) for h in fallen))
    why = "; ".join(dict.fromkeys(_why(h) for h in fallen))
    evidence = [e for h in fallen for e in quote(h, _network_lines(h) + _plugin_lines(h), 2)][:8]
    expectation = efa_expectation(log_facts, expected_instance_type)
    forced = settings_among(log_facts, "NCCL_NET", ("socket",))
    if forced:
        evidence += quote(forced[0][0], [forced[0][2]], 1)
        if expectation.expected is False:
            return passed(f"NCCL used {used} as NCCL_NET=Socket asks; {expectation.reason}", evidence=evidence)
        commands = unset_in_pod(pod, workload_container, ["NCCL_NET"])
        return warned(
            f"NCCL used {used}{on_hosts(names)} because NCCL_NET=Socket was set: EFA is never used while it is",
            fix="Remove NCCL_NET=Socket unless this run is a deliberate TCP test; to require EFA, set NCCL_NET=Libfabric "
            "(aws-ofi-nccl 1.13.0 and later; `AWS Libfabric` before) so NCCL fails instead of falling back.",
            commands=commands,
            evidence=evidence,
        )
    evidence += list(expectation.evidence)
    if expectation.expected is False:
        return passed(f"NCCL used {used}{on_hosts(names)}; {expectation.reason}, so NCCL's own transport is expected", evidence=evidence)
    if expectation.expected is None:
        return unknown(
            f"NCCL used {used}{on_hosts(names)} ({why}); {expectation.reason}: {unknown_expectation_hint(pod)}",
            evidence=evidence,
        )
    return failed(
        f"NCCL used {used} instead of EFA{on_hosts(names)} although {expectation.reason}: {why}",
        fix="Fix the reason ranked above (the plugin, or libfabric finding no EFA device), then confirm in the job's container "
        "that libfabric lists the EFA devices. To make NCCL fail instead of falling back silently, set NCCL_NET=Libfabric "
        "(aws-ofi-nccl 1.13.0 and later; `AWS Libfabric` before).",
        commands=[
            in_container(pod, workload_container, ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"]),
            in_container(pod, workload_container, ["ls", "-l", "/dev/infiniband/"]),
        ],
        evidence=evidence,
        observed=[Symptom.SOCKET_FALLBACK],
    )


def _not_efa(host: HostLogFacts) -> bool:
    """NCCL chose another network than aws-ofi-nccl's, or channels went over another network."""
    if host.network_kind is not None and host.network_kind not in LIBFABRIC:
        return True
    return any(n.network not in LIBFABRIC and n.total for n in host.transports.net)


def _network(host: HostLogFacts) -> str:
    if host.network is None and any(n.network in LIBFABRIC for n in host.transports.net):
        return next(n.network for n in host.transports.net if n.network in LIBFABRIC)
    if host.network and host.network_source == "printed":
        return host.network
    if host.network:
        return f"{host.network} (NET/Socket initialised)"
    return "/".join(f"NET/{n.network}" for n in host.transports.net if n.total)


def _network_lines(host: HostLogFacts) -> list[LogLine]:
    if host.networks:
        return [host.networks[-1].evidence]
    return signature_lines(host, "nccl_socket", "transport_net", "transport_net_gdrdma")


def _plugin_lines(host: HostLogFacts) -> list[LogLine]:
    lines = [host.plugin.evidence] if host.plugin.evidence else []
    return lines + signature_lines(host, "ofi_getinfo_failed", "gdr_required_fail")


def _why(host: HostLogFacts) -> str:
    enodata = any(e.kind in ("enodata", "no_provider", "efa_iface_filtered") for e in host.errors)
    if any(g.kind == "gdr_required_fail" for g in host.gdr):
        return "aws-ofi-nccl refused to run without GPUDirect RDMA"
    outcome = host.plugin.outcome
    if outcome == "not_found":
        return "NCCL found no net plugin (aws-ofi-nccl is not on the library path)"
    if outcome == "load_failed":
        return "the net plugin failed to load"
    if enodata:
        return "aws-ofi-nccl loaded but libfabric found no EFA device (fi_getinfo -61)"
    if outcome == "init_failed":
        return "the net plugin failed to initialise"
    if outcome == "loaded":
        return "aws-ofi-nccl loaded, but NCCL did not use it"
    return "the log does not say why"
