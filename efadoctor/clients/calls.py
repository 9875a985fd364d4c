"""One ledger of every API call a run makes, for the report's `api_calls` and for benchmarks."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class ApiCall:
    service: str  # "ec2", "kubernetes"
    operation: str  # "DescribeInstances", "GET /api/v1/nodes/x"
    started_s: float  # seconds since the recorder was created
    duration_s: float
    ok: bool
    error: str | None = None
    detail: str | None = None  # e.g. the request path




class CallRecorder:
    """Thread-safe: collectors run concurrently and all record here."""

    def __init__(self) -> None:
        self._calls: list[ApiCall] = []
        self._lock = threading.Lock()
        self._origin = time.perf_counter()

    def record(
        self, service: str, operation: str, duration_s: float, *, ok: bool, error: str | None = None, detail: str | None = None
    ) -> None:
        started = time.perf_counter() - duration_s - self._origin
        with self._lock:
            self._calls.append(ApiCall(service, operation, round(started, 4), round(duration_s, 4), ok, error, detail))

    @property
    def calls(self) -> list[ApiCall]:
        with self._lock:
            return list(self._calls)

    def summary(self) -> dict:
        calls = self.calls
        by_operation: dict[str, int] = {}
        for call in calls:
            key = f"{call.service}:{call.operation}"
            by_operation[key] = by_operation.get(key, 0) + 1
        return {
            "total": len(calls),
            "failed": sum(1 for c in calls if not c.ok),
            "by_operation": dict(sorted(by_operation.items())),
        }
