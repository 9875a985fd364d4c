"""The vocabulary of a diagnosis: checks, collectors, verdicts and findings.

Everything here is a frozen value with no I/O, so every stage of the pipeline
(collectors -> facts -> checks -> ranker -> report) can be tested on its own.
"""

from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence


class Status(str, enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"  # not applicable, or a needed fact could not be gathered
    ERROR = "error"  # the check or a collector raised: a bug or an outage


class Layer(str, enum.Enum):
    """Where a cause lives, root-most first: the ranker orders causes by this."""

    AWS_INSTANCE = "aws-instance"  # the instance type, its ENIs
    AWS_NETWORK = "aws-network"  # security groups, subnets, placement
    NODE = "node"  # the host: kernel driver, node object, capacity
    DEVICE_PLUGIN = "device-plugin"  # the EFA device plugin DaemonSet and its pod
    POD_SPEC = "pod-spec"  # what the workload asks Kubernetes for
    IMAGE = "image"  # what the container image ships (libfabric, aws-ofi-nccl)
    RUNTIME = "runtime"  # environment, limits and what the process did

    @property
    def order(self) -> int:
        return list(Layer).index(self)


class Symptom(str, enum.Enum):
    """What the user sees; a check declares which of these its failure can cause."""

    ENODATA = "enodata"  # fi_getinfo -61 / "No data available"
    PENDING = "pending"  # pod Pending: Insufficient vpc.amazonaws.com/efa
    UNREACHABLE = "unreachable"  # EFA 4126 / completion status 15 / first collective hangs
    SOCKET_FALLBACK = "socket-fallback"  # NCCL used NET/Socket
    DEGRADED = "degraded"  # works, but fewer NICs, no GPUDirect RDMA, no placement group
    MEMLOCK = "memlock"  # -12 Cannot allocate memory / 4112


# When evidence shows several symptoms at once, the first of these is the one to explain.
SYMPTOM_PRIORITY = (
    Symptom.ENODATA,
    Symptom.PENDING,
    Symptom.SOCKET_FALLBACK,
    Symptom.UNREACHABLE,
    Symptom.MEMLOCK,
    Symptom.DEGRADED,
)


class Severity(str, enum.Enum):
    CRITICAL = "critical"  # the job cannot use EFA at all
    HIGH = "high"  # the job fails or hangs
    MEDIUM = "medium"  # the job runs slower than it should
    LOW = "low"  # hygiene; may bite later

    @property
    def order(self) -> int:
        return list(Severity).index(self)


class Confidence(str, enum.Enum):
    HIGH = "high"  # the evidence decides it
    MEDIUM = "medium"  # likely, from indirect evidence
    LOW = "low"  # a hint

    @property
    def order(self) -> int:
        return list(Confidence).index(self)


@dataclass(frozen=True)
class Evidence:
    """One observed value and where it came from (an API call and field, or a command and line)."""

    source: str  # e.g. "ec2:DescribeNetworkInterfaces", "pod exec: fi_info -p efa", "k8s: Node status.allocatable"
    detail: str


@dataclass(frozen=True)
class Fix:
    """What to do: a sentence, and exact commands for this very resource."""

    summary: str
    commands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    """What a check concludes, with the evidence that decided it."""

    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()
    fix: Fix | None = None
    confidence: Confidence = Confidence.HIGH
    observed: tuple[Symptom, ...] = ()  # symptoms this check SAW happen (e.g. the probe saw -61)
    missing_permission: str | None = None  # on SKIP: the permission that would have let us know
    unavailable: bool = False  # on SKIP: a needed fact could not be gathered (as opposed to "not applicable")


EvidenceLike = Evidence | tuple[str, str]


def _evidence(items: Sequence[EvidenceLike]) -> tuple[Evidence, ...]:
    return tuple(item if isinstance(item, Evidence) else Evidence(*item) for item in items)


def _fix(fix: Fix | str, commands: Sequence[str]) -> Fix:
    return fix if isinstance(fix, Fix) else Fix(fix, tuple(commands))


def passed(summary: str, *, evidence: Sequence[EvidenceLike] = (), observed: Sequence[Symptom] = ()) -> Verdict:
    return Verdict(Status.PASS, summary, _evidence(evidence), observed=tuple(observed))


def failed(
    summary: str,
    *,
    fix: Fix | str,
    commands: Sequence[str] = (),
    evidence: Sequence[EvidenceLike] = (),
    confidence: Confidence = Confidence.HIGH,
    observed: Sequence[Symptom] = (),
) -> Verdict:
    """A failure; the fix is required (a summary, plus commands for this resource)."""
    return Verdict(Status.FAIL, summary, _evidence(evidence), _fix(fix, commands), confidence, tuple(observed))


def warned(
    summary: str,
    *,
    fix: Fix | str,
    commands: Sequence[str] = (),
    evidence: Sequence[EvidenceLike] = (),
    confidence: Confidence = Confidence.HIGH,
    observed: Sequence[Symptom] = (),
) -> Verdict:
    return Verdict(Status.WARN, summary, _evidence(evidence), _fix(fix, commands), confidence, tuple(observed))


def skipped(summary: str, *, evidence: Sequence[EvidenceLike] = ()) -> Verdict:
    """Not applicable here (e.g. no pod was given): this is not an unknown."""
    return Verdict(Status.SKIP, summary, _evidence(evidence))


def unknown(summary: str, *, missing_permission: str | None = None, evidence: Sequence[EvidenceLike] = ()) -> Verdict:
    """Could not decide: counts against a "healthy" verdict."""
    return Verdict(Status.SKIP, summary, _evidence(evidence), missing_permission=missing_permission, unavailable=True)


class FactUnavailable(Exception):
    """A collector cannot know its fact here (no access, no target, timeout).

    Every check that needs the fact becomes SKIP with this reason; it never
    turns into an empty value that looks like "nothing there".
    """

    def __init__(self, reason: str, *, missing_permission: str | None = None, not_applicable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.missing_permission = missing_permission
        self.not_applicable = not_applicable  # e.g. "no pod given": a SKIP, not an unknown


class UsageError(Exception):
    """The user's input cannot be used (bad kubeconfig, unknown context, missing file): exit 2."""


class TargetNotFound(UsageError):
    """The node or pod the user named does not exist: a usage error (exit 2), not a finding."""


class BackendUnreachable(Exception):
    """The API server cannot be used at all (refused the connection, rejected the credentials):
    nothing can be diagnosed, so the run ends with exit 3 and one message instead of every check skipping."""


CHECK_ID = re.compile(r"^[A-Z][A-Z0-9]*[0-9]{3}$")
RESERVED = frozenset({"context"})


def _needs(function: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(name for name in inspect.signature(function).parameters if name not in RESERVED)


def _optional(function: Callable[..., Any]) -> frozenset[str]:
    parameters = inspect.signature(function).parameters.values()
    return frozenset(p.name for p in parameters if p.default is not inspect.Parameter.empty)


@dataclass(frozen=True)
class Check:
    """A pure function from named facts to a Verdict, plus what to call it."""

    id: str
    title: str
    layer: Layer
    severity: Severity
    symptoms: tuple[Symptom, ...]
    evaluate: Callable[..., Verdict]
    caused_by: tuple[str, ...] = ()  # check ids whose failure explains this one's (folded as a consequence)
    targets: tuple[str, ...] = ("node", "pod")  # which commands run it: node, pod, logs, manifests
    origin: str = "built-in"

    @property
    def name(self) -> str:
        return self.evaluate.__name__

    @property
    def needs(self) -> tuple[str, ...]:
        return _needs(self.evaluate)

    @property
    def optional(self) -> frozenset[str]:
        return _optional(self.evaluate)

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.evaluate.__doc__ or "")


def check(
    *,
    id: str,  # noqa: A002 - the public name of the field
    title: str,
    layer: Layer,
    severity: Severity = Severity.HIGH,
    symptoms: Sequence[Symptom] = (),
    caused_by: Sequence[str] = (),
    targets: Sequence[str] = ("node", "pod"),
) -> Callable[[Callable[..., Verdict]], Check]:
    """Declare a check; its parameter names are the facts it reads.

    A parameter with a default value is an optional fact: when it cannot be
    gathered, the check still runs and receives the default.
    """

    def declare(evaluate: Callable[..., Verdict]) -> Check:
        return Check(id, title, layer, severity, tuple(symptoms), evaluate, tuple(caused_by), tuple(targets))

    return declare


@dataclass(frozen=True)
class Collector:
    """The only code that does I/O: gathers one named fact (its function name)."""

    gather: Callable[..., Any]
    timeout_s: float | None = None
    origin: str = "built-in"

    @property
    def fact(self) -> str:
        return self.gather.__name__

    @property
    def needs(self) -> tuple[str, ...]:
        return _needs(self.gather)

    @property
    def wants_context(self) -> bool:
        return "context" in inspect.signature(self.gather).parameters

    @property
    def optional(self) -> frozenset[str]:
        return _optional(self.gather)


def collector(function: Callable[..., Any] | None = None, *, timeout_s: float | None = None):
    """Declare a collector: the fact it yields is its function name; parameters are other facts (and `context`)."""

    def declare(gather: Callable[..., Any]) -> Collector:
        return Collector(gather, timeout_s)

    return declare(function) if function is not None else declare


@dataclass(frozen=True)
class Finding:
    """A check together with what it concluded in this run."""

    check: Check
    verdict: Verdict
    duration_s: float = 0.0

    @property
    def failing(self) -> bool:
        return self.verdict.status in (Status.FAIL, Status.WARN)


@dataclass(frozen=True)
class Cause:
    """A ranked root cause: the failing finding and what it explains."""

    rank: int
    finding: Finding
    consequences: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Ranking:
    symptom: Symptom | None
    symptom_source: str | None  # "--symptom", or the check id that observed it
    causes: tuple[Cause, ...]
    ruled_out: tuple[Finding, ...]
    next_failures: tuple[Finding, ...]
    could_not_check: tuple[Finding, ...]
    observed: tuple[Symptom, ...] = field(default=())
