"""Collectors for logs: what NCCL, aws-ofi-nccl, libfabric or the device plugin printed, and on which instance type.

- `log_facts`: in `efadoctor logs FILE…|-`, the files streamed through the log parser (constant memory,
  gzip and stdin too); in `efadoctor pod NS/POD --logs`, ONE bounded read of the workload container's own
  log (`tailLines` and `limitBytes`, so a week-long training log costs the same as a short one).
  A path that is missing, a directory or unreadable is the user's mistake: exit 2 naming it, before any
  parsing. A file that breaks while being read (a truncated .gz) is too, since a half-read log would
  make "no error found" untrue.
- `expected_instance_type`: `--instance-type`, else the platform aws-ofi-nccl printed, else the node's type.
"""

from __future__ import annotations

import os
import stat

from ..clients.kube import NotFound
from ..facts.kube import ContainerInfo, NodeInfo, PodInfo
from ..facts.logs import ExpectedInstanceType, from_log
from ..instance_types import lookup
from ..model import FactUnavailable, UsageError, collector
from ..parsers.logs import LogFacts, parse_log_files, parse_log_lines

GET_POD_LOG = "get pods/log"
LOG_LIMIT_BYTES = 4 * 1024 * 1024  # the API server stops here even if tailLines lines are longer (NCCL lines are ~150 B)


@collector
def log_facts(context, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None) -> LogFacts:
    options = context.options
    if options.target == "logs":
        return read_files(options.paths)
    if options.target != "pod":
        raise FactUnavailable("no log was given (`efadoctor logs FILE…`, or `efadoctor pod NS/POD --logs`)", not_applicable=True)
    if not options.read_logs:
        raise FactUnavailable("the pod's log was not read (add --logs to read what NCCL printed)", not_applicable=True)
    if pod is None or workload_container is None:
        raise FactUnavailable("the pod or its workload container could not be read, so neither could its log")
    return read_pod_log(context, pod, workload_container)


def read_files(paths: tuple[str, ...]) -> LogFacts:
    """Parse the files (and "-" for stdin) in order; any path that cannot be read in full is a usage error."""
    if not paths:
        raise UsageError("no log file given (name files, or - for stdin)")
    for path in paths:
        if path != "-":
            _check_readable(path)
    facts = parse_log_files(list(paths))
    if facts.read_errors:
        first = facts.read_errors[0]
        more = f" (and {len(facts.read_errors) - 1} more)" if len(facts.read_errors) > 1 else ""
        raise UsageError(f"cannot read {first.file}: {first.error}{more}")
    return facts


def _check_readable(path: str) -> None:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except OSError as error:
        raise UsageError(f"{path}: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise UsageError(f"{path} is a directory: name the log files in it (for example {os.path.join(path, '*.log')})")
    if not os.access(path, os.R_OK):
        raise UsageError(f"{path}: permission denied")


def read_pod_log(context, pod: PodInfo, container: ContainerInfo) -> LogFacts:
    """ONE GET of the container's log tail; a 403 becomes FactUnavailable naming `get pods/log` (the client does that)."""
    tail = context.options.log_tail_lines
    try:
        text = context.kube().get_text(
            f"/api/v1/namespaces/{pod.namespace}/pods/{pod.name}/log",
            {"container": container.name, "tailLines": tail, "limitBytes": LOG_LIMIT_BYTES},
            permission=GET_POD_LOG,
            limit_bytes=LOG_LIMIT_BYTES,
        )
    except NotFound as gone:
        raise FactUnavailable(f"the log of pod {pod.ref} container {container.name} is gone: {gone}") from None
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return parse_log_lines(lines, source=f"pods/log {pod.namespace}/{pod.name} -c {container.name} (last {tail} lines)")


@collector
def expected_instance_type(context, log_facts: LogFacts | None = None, node: NodeInfo | None = None) -> ExpectedInstanceType:
    given = context.options.instance_type
    if given:
        name = given.strip().lower()
        return ExpectedInstanceType(name, "--instance-type", lookup(name))
    if log_facts is not None:
        found = from_log(log_facts)
        if found is not None:
            return found
    if node is not None and node.instance_type:
        return ExpectedInstanceType(node.instance_type, "k8s: Node label node.kubernetes.io/instance-type", lookup(node.instance_type))
    raise FactUnavailable(
        "the instance type is not known (give --instance-type; aws-ofi-nccl 1.11+ also logs `Running on TYPE platform`)",
        not_applicable=True,
    )
