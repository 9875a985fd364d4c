"""Shared by the log checks (no check lives here): quoting log lines per host, whether EFA was expected,
and commands that point at the hosts a log names.

Why: every log check quotes the exact lines it decided on (`log FILE:LINE`, with the host that printed
them), reports per host when a job spans several, and must not call a missing aws-ofi-nccl a fault on
a machine that was never meant to use EFA ("No plugin found" is what NCCL prints on every machine
without a net plugin). What the log itself cannot say (which pod, which node) comes from the pod
diagnosis when there is one.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from efadoctor.checks.pod._template_fix import unset_env_commands
from efadoctor.facts.kube import ContainerInfo, NodeInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import OVERFLOW_HOST, UNKNOWN_HOST, HostLogFacts, LogFacts, LogLine

LIBFABRIC = ("AWS Libfabric", "Libfabric")  # aws-ofi-nccl's network name before / since 1.13.0
DATA = "efadoctor instance-type data"
MAX_QUOTED = 3  # lines quoted per host and finding
MAX_HOSTS_NAMED = 4
_NODE_LIKE = re.compile(r"^(?:ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}|i-[0-9a-f]{8,17})$")


def named(host: str) -> bool:
    """A real host or pod name, not the parser's "unknown" or overflow pool."""
    return host not in (UNKNOWN_HOST, OVERFLOW_HOST)


def where(line: LogLine) -> str:
    return f"log {line.file}:{line.line_no}"


def quote(host: HostLogFacts | str, lines: Iterable[LogLine], limit: int = MAX_QUOTED) -> list[tuple[str, str]]:
    """Evidence entries quoting log lines: (`log FILE:LINE`, `HOST: text`)."""
    name = host.host if isinstance(host, HostLogFacts) else host
    prefix = f"{name}: " if named(name) else ""
    return [(where(line), prefix + line.text.strip()) for line in list(lines)[:limit]]


def on_hosts(names: Sequence[str], limit: int = MAX_HOSTS_NAMED) -> str:
    """" on host a", " on hosts a, b and c", " on hosts a, b, c, d and 5 more", or "" when the log names no host."""
    real = list(dict.fromkeys(n for n in names if named(n)))
    if not real:
        return ""
    if len(real) == 1:
        return f" on host {real[0]}"
    shown = real[:limit]
    if len(real) > limit:
        return f" on hosts {', '.join(shown)} and {len(real) - limit} more"
    return f" on hosts {', '.join(shown[:-1])} and {shown[-1]}"


def signature_lines(host: HostLogFacts, *sig_ids: str) -> list[LogLine]:
    lines: list[LogLine] = []
    for sig_id in sig_ids:
        hit = host.signature(sig_id)
        if hit is not None:
            lines.extend(hit.evidence)
    return lines


def env_settings(facts: LogFacts, name: str) -> list[tuple[HostLogFacts, str, LogLine]]:
    """(host, value, line) for every value the log shows for `name` (NCCL's echo first on each host)."""
    found = []
    for host in facts.hosts:
        for setting in sorted(host.env, key=lambda s: s.source != "nccl"):
            if setting.name == name:
                found.append((host, setting.value, setting.evidence))
    return found


ON = ("1", "true", "yes", "on", "y")
OFF = ("0", "false", "no", "off", "n")


def settings_among(facts: LogFacts, name: str, values: Sequence[str]) -> list[tuple[HostLogFacts, str, LogLine]]:
    """The settings of `name` whose value, unquoted and in any case, is one of `values` (lower case)."""
    return [(h, v, line) for h, v, line in env_settings(facts, name) if v.strip().strip("'\"").lower() in values]


def unset_in_pod(pod: PodInfo | None, container: ContainerInfo | None, names: Sequence[str]) -> list[str]:
    """Commands that remove variables from the workload's template; none when the log came without a pod."""
    return unset_env_commands(pod, container.name, names) if pod is not None and container is not None else []


def enabled(value: str) -> bool:
    """NCCL reads its switches as integers: any non-zero number turns one on."""
    try:
        return int(value.strip()) != 0
    except ValueError:
        return False


def nccl_hosts(facts: LogFacts) -> list[HostLogFacts]:
    """Hosts whose lines say something about NCCL's network (not just its version)."""
    return [h for h in facts.hosts if h.network or h.transports.net_total or h.plugin.outcome]


def libfabric_hosts(facts: LogFacts) -> list[HostLogFacts]:
    """Hosts where NCCL ran over aws-ofi-nccl: it chose the network, or channels went through it."""
    return [
        h for h in facts.hosts if h.network_kind in LIBFABRIC or any(n.network in LIBFABRIC and n.total for n in h.transports.net)
    ]


def instance_evidence(expected: ExpectedInstanceType) -> list[tuple[str, str]]:
    """Where the instance type came from (the log line, --instance-type or the node), and its offline facts."""
    if expected.evidence is not None:
        evidence = [(where(expected.evidence), expected.evidence.text.strip())]
    else:
        evidence = [(expected.source, expected.name)]
    info = expected.info
    if info is not None:
        maximum = info.max_efa_interfaces if info.max_efa_interfaces is not None else "unknown"
        evidence.append(
            (DATA, f"{info.instance_type}: EFA {'yes' if info.efa_supported else 'no'}, max EFA interfaces {maximum}, GPUDirect RDMA {info.gdr}")
        )
    return evidence


@dataclass(frozen=True)
class Expectation:
    """Whether the job was meant to use EFA: True, False (its instance type has none), None (cannot tell)."""

    expected: bool | None
    reason: str
    evidence: tuple[tuple[str, str], ...] = ()


def efa_expectation(facts: LogFacts, expected: ExpectedInstanceType | None) -> Expectation:
    """The instance type decides when it is known; otherwise lines that only an EFA setup prints do."""
    if expected is not None and expected.info is not None:
        info = expected.info
        evidence = tuple(instance_evidence(expected))
        if info.efa_supported:
            count = f"up to {info.max_efa_interfaces} EFA interfaces" if info.max_efa_interfaces else "EFA"
            return Expectation(True, f"{info.instance_type} has {count}", evidence)
        return Expectation(False, f"{info.instance_type} has no EFA", evidence)
    for host in facts.hosts:
        hint = _efa_hint(host)
        if hint is not None:
            reason, lines = hint
            return Expectation(True, reason, tuple(quote(host, lines, 1)))
    return Expectation(None, "nothing says whether this job was meant to use EFA")


def _efa_hint(host: HostLogFacts) -> tuple[str, list[LogLine]] | None:
    """A line only a machine set up for EFA prints: aws-ofi-nccl at work, an efa fi_getinfo, the device plugin."""
    if any(p.startswith("efa") for p in host.ofi.providers):
        return "aws-ofi-nccl selected the efa provider", signature_lines(host, "ofi_provider")
    if host.ofi.provider_filters or host.ofi.platforms or host.ofi.versions:
        return "aws-ofi-nccl, the EFA plugin for NCCL, ran", signature_lines(host, "ofi_provider_filter", "ofi_platform", "ofi_loaded")
    asked = [line for e in host.errors if e.kind == "enodata" for line in e.evidence if _names_efa_or_ofi(line.text)]
    if asked:
        return "libfabric was asked for the efa provider", asked
    if host.plugin.outcome == "load_failed" and host.plugin.evidence and _mentions_ofi(host.plugin.evidence.text):
        return "the image ships aws-ofi-nccl (NCCL tried to load it)", [host.plugin.evidence]
    for setting in host.env:
        if setting.name == "FI_PROVIDER" and "efa" in setting.value.lower() and not setting.value.startswith("^"):
            return f"FI_PROVIDER={setting.value} was set", [setting.evidence]
    if host.device_plugin.seen:
        return "the EFA device plugin ran", signature_lines(host, "dp_fetching", "dp_device", "dp_no_devices")
    if any(e.provider.startswith("efa") for e in host.fi_info.entries):
        return "fi_info was run for the efa provider", [host.fi_info.entries[0].evidence]
    return None


def _mentions_ofi(text: str) -> bool:
    lowered = text.lower()
    return "ofi" in lowered or "libfabric" in lowered


def _names_efa_or_ofi(text: str) -> bool:
    """aws-ofi-nccl's fi_getinfo failure, or libfabric's `provider efa` line; a bare `fi_getinfo: -61` names no provider."""
    return "NET/OFI" in text or "provider efa " in text


def unknown_expectation_hint(pod: PodInfo | None) -> str:
    if pod is not None:
        return "the node's instance type is not known"
    return "give --instance-type TYPE to say which instance type the job ran on"


def in_container(pod: PodInfo | None, container: ContainerInfo | None, argv: Sequence[str]) -> str:
    """A command to run where the workload runs: `kubectl exec` into the pod, or the command itself to run in the job's container."""
    command = " ".join(shlex.quote(a) for a in argv)
    if pod is not None and container is not None:
        return f"kubectl exec -n {pod.namespace} {pod.name} -c {container.name} -- {command}"
    return command


def node_of_host(host: str) -> str:
    """The node behind a name NCCL printed: the node itself when the pod used the host network (EC2 hostnames
    look like ip-10-0-1-10 or i-0abc…), else a pod of that name (in a pod, the hostname is the pod's name)."""
    if _NODE_LIKE.match(host):
        pattern = host.replace(".", r"\.")
        return f"$(kubectl get nodes -o name | grep -m1 -e '^node/{pattern}$' -e '^node/{pattern}\\.' | cut -d/ -f2)"
    return f"$(kubectl get pods -A --field-selector metadata.name={host} -o jsonpath='{{.items[0].spec.nodeName}}')"


def run_node_commands(hosts: Sequence[str], node: NodeInfo | None, pod: PodInfo | None = None, limit: int = MAX_HOSTS_NAMED) -> list[str]:
    """`efadoctor run --node` for the node of each host the log names; the pod's own node by name when it is known."""
    commands = [f"efadoctor run --node {node.name}"] if node is not None else []
    for host in [h for h in hosts if named(h)][:limit]:
        if node is not None and (host.split(".")[0] == node.name.split(".")[0] or (pod is not None and host == pod.name)):
            continue  # the pod's own node, already named
        commands.append(f'efadoctor run --node "{node_of_host(host)}"')
    return commands


EFA_NODES = "kubectl get nodes -o custom-columns='NAME:.metadata.name,TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,EFA:.status.allocatable.vpc\\.amazonaws\\.com/efa'"
"""Lists every node with its instance type and EFA count: where to run `efadoctor run --node` when a log names no host."""
