"""efadoctor: find why EFA does not work for a pod or node on Amazon EKS.

This module is the public API for writing checks (see docs/writing-checks.md):
a check is a pure function of named facts, declared with `@check`, returning
`passed(...)`, `failed(...)`, `warned(...)`, `skipped(...)` or `unknown(...)`.
It imports nothing heavy, so `efadoctor --help` stays fast.
"""

from .model import (
    Check,
    Collector,
    Confidence,
    Evidence,
    FactUnavailable,
    Fix,
    Layer,
    Severity,
    Status,
    Symptom,
    Verdict,
    check,
    collector,
    failed,
    passed,
    skipped,
    unknown,
    warned,
)

__version__ = "0.1.0"

__all__ = [
    "Check",
    "Collector",
    "Confidence",
    "Evidence",
    "FactUnavailable",
    "Fix",
    "Layer",
    "Severity",
    "Status",
    "Symptom",
    "Verdict",
    "__version__",
    "check",
    "collector",
    "failed",
    "passed",
    "skipped",
    "unknown",
    "warned",
]
