"""Helpers shared by the end-to-end tests: run the CLI in-process and validate its JSON."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from efadoctor.cli import main

ROOT = Path(__file__).resolve().parents[1]


@lru_cache(maxsize=1)
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "docs" / "report-schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def validate_report(report: dict) -> dict:
    """Every JSON report a test sees must match docs/report-schema.json."""
    errors = sorted(_validator().iter_errors(report), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return report


def invoke(*args: str, input: str | None = None):  # noqa: A002 - click's name
    """Run the CLI in-process; never swallow a traceback (that would hide a crash as a failed assertion)."""
    return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)


def invoke_json(*args: str) -> tuple[int, dict]:
    result = invoke(*args, "-o", "json")
    try:
        report = json.loads(result.output)
    except ValueError as error:
        raise AssertionError(f"not JSON (exit {result.exit_code}):\n{result.output}") from error
    return result.exit_code, validate_report(report)


def cause_ids(report: dict) -> list[str]:
    return [c["check_id"] for c in report["causes"]]


def status_of(report: dict, check_id: str) -> str:
    return next(c["status"] for c in report["checks"] if c["check_id"] == check_id)


def waves(arrivals: list[float], delay_s: float) -> list[int]:
    """Which sequential round each request belongs to, from its arrival time under an injected per-request delay.

    A request that waits for another arrives at least `delay_s` after it; requests that do not wait for each
    other arrive together. Counting rounds this way measures the depth of the fact graph, not the machine's speed.
    """
    rounds, start, current = [], None, 0
    for at in sorted(arrivals):
        if start is None:
            start = at
        elif at - start > delay_s / 2:
            current, start = current + 1, at
        rounds.append(current)
    return rounds
