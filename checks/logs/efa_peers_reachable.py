from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.logs._logs import EFA_NODES, libfabric_hosts, named, on_hosts, quote, run_node_commands
from efadoctor.facts.kube import NodeInfo, PodInfo
from efadoctor.parsers.logs import HostLogFacts, LogFacts

UNREACHABLE = ("unreachable", "av_insert")


@check(
    id="LOG009",
    title="EFA peers were reachable (no 4126 / status 15 / address-vector errors)",
    layer=Layer.AWS_NETWORK,
    severity=Severity.HIGH,
    symptoms=(Symptom.UNREACHABLE,),
    caused_by=("AWS004",),  # the security groups of the EFA interfaces lack the self-referencing rules
    targets=("logs", "pod"),
)
def efa_peers_reachable(log_facts: LogFacts, node: NodeInfo | None = None, pod: PodInfo | None = None):
    """
    ## Why it matters
    These errors come after `fi_getinfo` succeeded, on the data path, so
    they are never -61: `Error 4126: Unresponsive receiver (reachable by EFA
    device but handshake failed)`, completion status 15 `Unreachable remote
    - never received a response` (whose help text names security group
    rules and instances in different subnets), and aws-ofi-nccl's `Unable to
    insert remote address into address vector`. NCCL hangs at its first
    collective, then times out. The usual cause is a security group on the
    EFA interfaces without self-referencing ALL-traffic rules in both
    directions; an egress rule to 0.0.0.0/0 does not cover EFA traffic.
    Status 13 and 4124 ("was previously responsive") mean a peer stopped
    answering after the connection had worked: look at that peer.

    ## Fix
    Add an inbound and an outbound rule for all traffic whose source and
    destination is the security group itself, on the security group(s) of
    every EFA interface of the job's nodes, and keep the nodes in one subnet.
    `efadoctor run --node NODE` checks the rules (AWS004) and prints the
    exact `aws ec2 authorize-security-group-*` commands.
    """
    unreachable = [h for h in log_facts.hosts if _kinds(h, UNREACHABLE)]
    unresponsive = [h for h in log_facts.hosts if _kinds(h, ("unresponsive",))]
    if not unreachable and not unresponsive:
        talked = libfabric_hosts(log_facts) or [h for h in log_facts.hosts if h.ofi.providers]
        if not talked:
            return skipped("the log shows no EFA traffic to judge (no aws-ofi-nccl provider or channel lines)")
        return passed(f"no unreachable-peer error (4126, status 15, address vector){on_hosts([h.host for h in talked])}")
    if not unreachable:
        evidence = [e for h in unresponsive for e in quote(h, _lines(h, ("unresponsive",)), 2)][:6]
        return warned(
            f"EFA peers stopped responding after the connection had worked ({_codes(unresponsive, ('unresponsive',))})"
            f"{on_hosts([h.host for h in unresponsive])}: a peer process or instance went away (not a security group, "
            "which would have blocked the first handshake)",
            fix="Find the rank that died first: read the log of every peer the errors name, around the same time.",
            evidence=evidence,
            confidence=Confidence.MEDIUM,
        )
    names = [h.host for h in unreachable]
    evidence = [e for h in unreachable for e in quote(h, _lines(h, UNREACHABLE), 2)][:8]
    only_av = not any(_kinds(h, ("unreachable",)) for h in unreachable)
    commands = run_node_commands(names, node, pod) or [EFA_NODES]
    return failed(
        f"EFA peers unreachable ({_codes(unreachable, UNREACHABLE)}){on_hosts(names)}: the security group(s) of the "
        "EFA interfaces most likely lack self-referencing all-traffic inbound and outbound rules (a data-path failure after "
        "fi_getinfo succeeded, not -61)",
        fix="Add self-referencing ALL-traffic rules in both directions to the security group(s) of every EFA interface of the "
        "job's nodes (egress to 0.0.0.0/0 does not cover EFA) and keep the nodes in one subnet. efadoctor run --node checks "
        "the rules of each node and prints the exact commands"
        + ("" if node is not None or any(named(n) for n in names) else " (the log names no host: list the nodes, then run it for each)")
        + ":",
        commands=commands,
        evidence=evidence,
        confidence=Confidence.MEDIUM if only_av else Confidence.HIGH,
        observed=[Symptom.UNREACHABLE],
    )


def _kinds(host: HostLogFacts, kinds: tuple[str, ...]) -> bool:
    return any(e.kind in kinds for e in host.errors)


def _lines(host: HostLogFacts, kinds: tuple[str, ...]):
    return [line for e in host.errors if e.kind in kinds for line in e.evidence]


def _codes(hosts: list[HostLogFacts], kinds: tuple[str, ...]) -> str:
    """"4126 x2, status 15 x1, address vector x1": codes under 100 are completion statuses."""
    counts: dict[str, int] = {}
    for host in hosts:
        for error in host.errors:
            if error.kind in kinds:
                label = "address-vector insert" if error.kind == "av_insert" else (
                    f"status {error.code}" if error.code is not None and error.code < 100 else str(error.code or error.kind)
                )
                counts[label] = counts.get(label, 0) + error.count
    return ", ".join(f"{label} x{count}" for label, count in counts.items())
