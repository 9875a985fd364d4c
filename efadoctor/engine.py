"""Gather only the facts the selected checks need, then evaluate each check.

Collectors run concurrently, each as soon as the facts it depends on are in,
so the number of sequential network rounds is the depth of the fact graph, not
the number of facts. Every collector runs at most once per run. A collector
that cannot know its fact turns the checks that need it into SKIP with the
reason; one that crashes turns them into ERROR. Unknown never counts as pass.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from .model import (
    BackendUnreachable,
    Check,
    Collector,
    FactUnavailable,
    Finding,
    Status,
    UsageError,
    Verdict,
)

FATAL = (UsageError, BackendUnreachable)  # the whole run is meaningless: stop and say so


class CollectorFailed(Exception):
    """A collector raised something unexpected: a bug or an outage, reported as ERROR."""

    def __init__(self, fact: str, error: BaseException, trace: str):
        super().__init__(f"collecting {fact} failed: {type(error).__name__}: {error}")
        self.fact = fact
        self.trace = trace


@dataclass
class _Slot:
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None
    duration_s: float = 0.0


class Facts:
    """A memoised, concurrent view of the facts of one run."""

    def __init__(self, collectors: Mapping[str, Collector], context: Any, *, timeout_s: float, provided: Mapping[str, Any] | None = None):
        self._collectors = collectors
        self._context = context
        self._timeout_s = timeout_s
        self._deadline = time.monotonic() + timeout_s
        self._slots: dict[str, _Slot] = {}
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        for name, value in (provided or {}).items():
            slot = _Slot(value=value)
            slot.done.set()
            self._slots[name] = slot

    def start(self, names: Iterable[str]) -> None:
        """Start every collector these facts need (dependencies first), without waiting."""
        for name in names:
            self._start(name)

    def _start(self, name: str) -> _Slot:
        with self._lock:
            slot = self._slots.get(name)
            if slot is not None:
                return slot
            slot = self._slots[name] = _Slot()
        collector = self._collectors.get(name)
        if collector is None:
            slot.error = FactUnavailable(f"no collector gathers {name!r}")
            slot.done.set()
            return slot
        for dependency in collector.needs:
            self._start(dependency)
        # daemon threads: a collector stuck past the deadline must not keep the process alive
        threading.Thread(target=self._run, args=(collector, slot), name=f"collect-{name}", daemon=True).start()
        return slot

    def _run(self, collector: Collector, slot: _Slot) -> None:
        started = time.perf_counter()
        try:
            kwargs = {}
            for dependency in collector.needs:
                try:
                    kwargs[dependency] = self.get(dependency)
                except FactUnavailable:
                    if dependency not in collector.optional:
                        raise
            if collector.wants_context:
                kwargs["context"] = self._context
            with self._lock:
                self.calls[collector.fact] = self.calls.get(collector.fact, 0) + 1
            slot.value = collector.gather(**kwargs)
        except (FactUnavailable, CollectorFailed, *FATAL) as error:  # CollectorFailed: a dependency crashed
            slot.error = error
        except Exception as error:  # noqa: BLE001 - one broken collector must not hide the others
            slot.error = CollectorFailed(collector.fact, error, traceback.format_exc())
        finally:
            slot.duration_s = time.perf_counter() - started
            slot.done.set()

    def get(self, name: str) -> Any:
        slot = self._start(name)
        if not slot.done.wait(max(0.0, self._deadline - time.monotonic())):
            raise FactUnavailable(f"timed out after {self._timeout_s:g}s gathering {name}")
        if slot.error is not None:
            raise slot.error
        return slot.value

    def gathered(self, name: str) -> Any:
        """The fact if this run already gathered it, else None; never starts a collector or waits."""
        slot = self._slots.get(name)
        if slot is None or not slot.done.is_set() or slot.error is not None:
            return None
        return slot.value

    def fatal(self) -> BaseException | None:
        """The first run-ending error any finished collector hit (node not found, API unreachable)."""
        for slot in list(self._slots.values()):
            if slot.done.is_set() and isinstance(slot.error, FATAL):
                return slot.error
        return None

    def durations(self) -> dict[str, float]:
        return {name: round(slot.duration_s, 4) for name, slot in self._slots.items() if slot.done.is_set()}


def evaluate(check: Check, facts: Facts, *, debug: bool = False) -> Finding:
    started = time.perf_counter()
    verdict = _evaluate(check, facts, debug)
    return Finding(check, verdict, time.perf_counter() - started)


def _evaluate(check: Check, facts: Facts, debug: bool) -> Verdict:
    inputs: dict[str, Any] = {}
    for name in check.needs:
        try:
            inputs[name] = facts.get(name)
        except FactUnavailable as missing:
            if name in check.optional:
                continue
            if missing.not_applicable:
                return Verdict(Status.SKIP, missing.reason)
            return Verdict(Status.SKIP, missing.reason, missing_permission=missing.missing_permission, unavailable=True)
        except FATAL as fatal:
            return Verdict(Status.SKIP, str(fatal), unavailable=True)
        except CollectorFailed as failure:
            return Verdict(Status.ERROR, _debug(str(failure), failure.trace, debug))
    try:
        verdict = check.evaluate(**inputs)
    except Exception as error:  # noqa: BLE001 - a bug in one check must not hide the others
        return Verdict(Status.ERROR, _debug(f"{check.id} raised {type(error).__name__}: {error}", traceback.format_exc(), debug))
    if not isinstance(verdict, Verdict):
        return Verdict(Status.ERROR, f"{check.id} returned {type(verdict).__name__}, not a Verdict")
    if verdict.status in (Status.FAIL, Status.WARN) and verdict.fix is None:
        return Verdict(Status.ERROR, f"{check.id} reported {verdict.status.value} without a fix")
    return verdict


def _debug(message: str, trace: str, debug: bool) -> str:
    return f"{message}\n{trace}" if debug else message


@dataclass
class RunResult:
    findings: list[Finding]
    facts: Facts
    duration_s: float


def run(
    checks: Iterable[Check],
    collectors: Mapping[str, Collector],
    context: Any,
    *,
    timeout_s: float = 30.0,
    provided: Mapping[str, Any] | None = None,
    debug: bool = False,
) -> RunResult:
    """Gather what the checks need (concurrently), then evaluate them in id order."""
    started = time.perf_counter()
    selected = sorted(checks, key=lambda c: c.id)
    facts = Facts(collectors, context, timeout_s=timeout_s, provided=provided)
    facts.start(name for check in selected for name in check.needs)
    findings = [evaluate(check, facts, debug=debug) for check in selected]
    fatal = facts.fatal()
    if fatal is not None:
        raise fatal
    return RunResult(findings, facts, time.perf_counter() - started)
