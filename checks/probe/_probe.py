"""Shared by the probe checks (no check lives here): quoting the probe's lines, and where it ran.

Why: every probe check quotes the exact lines it decided on ("pod exec: fi_info -p efa -t FI_EP_RDM",
`fi_info_efa_stderr:1: fi_getinfo: -61`), says why a value could not be known (a section missing, the
probe cut short), and gives commands for where the probe ran: `kubectl exec` into the pod's container,
or the same command on this machine for `efadoctor probe --local`.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence

from efadoctor.checks.pod._template_fix import unset_env_commands
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.fi_info import SourceLine
from efadoctor.parsers.probe_output import Observed, ProbeReport

# What produced each section of the probe's output, for evidence sources.
SECTION_COMMANDS = {
    "tools": "command -v fi_info fi_pingpong timeout",
    "identity": "id -u",
    "dev_infiniband": "ls -la /dev/infiniband/",
    "sys_infiniband": "ls /sys/class/infiniband (driver of each)",
    "sys_infiniband_verbs": "/sys/class/infiniband_verbs/*/ibdev",
    "memlock": "ulimit -l",
    "capabilities": "/proc/self/status Cap* lines, /proc/self/uid_map",
    "hugepages": "/proc/meminfo (node-wide)",
    "shm": "df -kP /dev/shm",
    "env": "environment (FI_*, NCCL_*, OFI_NCCL_*, LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES)",
    "libs": "libfabric/libefa/NCCL library search",
    "efa_installed_packages": "/opt/amazon/efa_installed_packages",
    "fi_info_version": "fi_info --version",
    "fi_info_list": "fi_info -l",
    "fi_info_efa": "fi_info -p efa -t FI_EP_RDM (stdout)",
    "fi_info_efa_stderr": "fi_info -p efa -t FI_EP_RDM (stderr)",
}

MAX_QUOTED = 12


def where(container: ContainerInfo | None) -> str:
    """The evidence prefix: the probe ran through pods/exec, or on this machine."""
    return "pod exec" if container is not None else "local probe"


def quote(lines: Iterable[SourceLine], container: ContainerInfo | None, limit: int = MAX_QUOTED) -> list[tuple[str, str]]:
    """Evidence entries quoting probe lines: (source: the command, detail: `section:N: text`)."""
    quoted = []
    for line in list(lines)[:limit]:
        command = SECTION_COMMANDS.get(line.source, line.source)
        quoted.append((f"{where(container)}: {command}", str(line)))
    return quoted


def not_set(container: ContainerInfo | None, name: str) -> tuple[str, str]:
    """Evidence that the probe's environment listing has no `name`."""
    return (f"{where(container)}: {SECTION_COMMANDS['env']}", f"{name} is not set")


def unknown_reason(report: ProbeReport, observed: Observed, what: str) -> str:
    """Why `what` could not be read: the fact's own note, plus how the probe ended when it was cut."""
    reason = f"{what} could not be read from the probe: {observed.note or 'not reported'}"
    if not report.complete and report.notes and report.notes[0] not in reason:
        reason += f" ({report.notes[0]})"
    return reason


def target(pod: PodInfo | None, container: ContainerInfo | None) -> str:
    """How a summary names where the probe looked."""
    if pod is not None and container is not None:
        return f"container {container.name} of pod {pod.ref}"
    return "this machine"


def located(pod: PodInfo | None, container: ContainerInfo | None) -> str:
    """Where the probe looked, as a phrase: "in container X of pod NS/NAME" or "on this machine"."""
    if pod is not None and container is not None:
        return f"in container {container.name} of pod {pod.ref}"
    return "on this machine"


def run_here(pod: PodInfo | None, container: ContainerInfo | None, argv: Sequence[str]) -> str:
    """A command to run where the probe ran: `kubectl exec` into the container, or as is locally."""
    command = " ".join(shlex.quote(part) for part in argv)
    if pod is None or container is None:
        return command
    return f"kubectl -n {pod.namespace} exec {pod.name} -c {container.name} -- {command}"


def unset_here(pod: PodInfo | None, container: ContainerInfo | None, name: str) -> list[str]:
    """Commands that remove an environment variable where the probe ran: from the workload's template, or this shell."""
    if pod is None or container is None:
        return [f"unset {name}"]
    return unset_env_commands(pod, container.name, [name])


def requested(container: ContainerInfo | None, resource: str) -> str | None:
    """What the container asks for of `resource`: its request, or its limit (which then is the request too)."""
    if container is None:
        return None
    request, limit = container.resource(resource)
    return request if request is not None else limit
