"""The one report value every renderer shows: a plain, JSON-ready dict.

Its keys are versioned (`schema_version`) and published as
docs/report-schema.json, because the JSON is what gets attached to incident
tickets and read by other tools.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping, Sequence

from . import __version__
from .model import Cause, Finding, Ranking
from .rank import verdict_of

SCHEMA_VERSION = 1


def _evidence(finding: Finding) -> list[dict[str, str]]:
    return [{"source": e.source, "detail": e.detail} for e in finding.verdict.evidence]


def _fix(finding: Finding) -> dict[str, Any] | None:
    fix = finding.verdict.fix
    return None if fix is None else {"summary": fix.summary, "commands": list(fix.commands)}


def _check_entry(finding: Finding) -> dict[str, Any]:
    check, verdict = finding.check, finding.verdict
    entry: dict[str, Any] = {
        "check_id": check.id,
        "name": check.name,
        "title": check.title,
        "layer": check.layer.value,
        "severity": check.severity.value,
        "status": verdict.status.value,
        "summary": verdict.summary,
        "evidence": _evidence(finding),
        "origin": check.origin,
    }
    if verdict.fix is not None:
        entry["fix"] = _fix(finding)
    return entry


def _cause_entry(cause: Cause) -> dict[str, Any]:
    finding = cause.finding
    check = finding.check
    return {
        "rank": cause.rank,
        "check_id": check.id,
        "title": check.title,
        "layer": check.layer.value,
        "severity": check.severity.value,
        "status": finding.verdict.status.value,
        "confidence": finding.verdict.confidence.value,
        "summary": finding.verdict.summary,
        "evidence": _evidence(finding),
        "fix": _fix(finding),
        "consequences": [c.check.id for c in cause.consequences],
        "docs": f"efadoctor explain {check.id}",
    }


def headline(ranking: Ranking, verdict: str) -> str:
    """One sentence for the top of every rendering."""
    symptom = f" for symptom '{ranking.symptom.value}'" if ranking.symptom else ""
    if verdict == "healthy":
        return f"Healthy{symptom}: every check that could be run passed."
    if verdict == "inconclusive":
        return f"Inconclusive{symptom}: nothing failed, but {len(ranking.could_not_check)} check(s) could not run."
    if ranking.causes:
        top = ranking.causes[0].finding
        more = f" (+{len(ranking.causes) - 1} more)" if len(ranking.causes) > 1 else ""
        return f"Root cause{symptom}: {top.verdict.summary}{more}"
    return f"No cause{symptom} found, but {len(ranking.next_failures)} other problem(s) need fixing."


def build(
    *,
    target: Mapping[str, Any],
    findings: Sequence[Finding],
    ranking: Ranking,
    api_calls: Mapping[str, Any],
    timings: Mapping[str, Any],
) -> dict[str, Any]:
    verdict = verdict_of(ranking)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "efadoctor", "version": __version__},
        "generated_at": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "target": dict(target),
        "symptom": ranking.symptom.value if ranking.symptom else None,
        "symptom_source": ranking.symptom_source,
        "observed_symptoms": [s.value for s in ranking.observed],
        "verdict": verdict,
        "headline": headline(ranking, verdict),
        "causes": [_cause_entry(c) for c in ranking.causes],
        "next_failures": [_cause_entry(c) for c in ranking.next_failures],
        "ruled_out": [
            {"check_id": f.check.id, "title": f.check.title, "summary": f.verdict.summary, "evidence": _evidence(f)}
            for f in ranking.ruled_out
        ],
        "could_not_check": [
            {
                "check_id": f.check.id,
                "title": f.check.title,
                "status": f.verdict.status.value,
                "reason": f.verdict.summary,
                "missing_permission": f.verdict.missing_permission,
            }
            for f in ranking.could_not_check
        ],
        "checks": [_check_entry(f) for f in findings],
        "api_calls": dict(api_calls),
        "timings": dict(timings),
    }


EXIT_CODES = {"healthy": 0, "causes_found": 1, "inconclusive": 3}


def exit_code(report: Mapping[str, Any]) -> int:
    return EXIT_CODES[report["verdict"]]
