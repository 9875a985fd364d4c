"""Small phrases shared by the human renderers."""

from __future__ import annotations

from typing import Any, Mapping


def target_line(report: Mapping[str, Any]) -> str:
    target = report["target"]
    name = f"{target['namespace']}/{target.get('name', '')}" if target.get("namespace") else target.get("name", "")
    parts = [f"{target.get('kind', '?')} {name}".strip()]
    node_bits = [target.get(k) for k in ("instance_type", "instance_id", "region") if target.get(k)]
    if target.get("node") and target.get("kind") != "node":
        parts.append(f"node {target['node']}")
    if node_bits:
        parts.append("(" + ", ".join(node_bits) + ")")
    if report.get("symptom"):
        parts.append(f"· symptom {report['symptom']} (from {report.get('symptom_source')})")
    return " ".join(parts)


def check_rows(report: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """(id, status, layer, first line of summary) per check, for the all-checks table.

    Checks skipped for one shared reason ("the pod's log was not read") collapse into one row
    ("LOG001…LOG014"): a person scanning the table needs the reason once, the JSON keeps them all.
    """
    unknown = {c["check_id"] for c in report.get("could_not_check", ())}
    rows: list[list[str]] = []
    run: list[str] = []
    for entry in report["checks"]:
        summary = entry["summary"].splitlines()[0] if entry["summary"] else ""
        status, layer = entry["status"], entry["layer"]
        collapsible = status == "skip" and entry["check_id"] not in unknown
        if collapsible and rows and run and rows[-1][1] == "skip" and rows[-1][3] == summary:
            run.append(entry["check_id"])
            rows[-1][0] = f"{run[0]}…{run[-1]}"
            if rows[-1][2] != layer:
                rows[-1][2] = "(several)"
            continue
        run = [entry["check_id"]] if collapsible else []
        rows.append([entry["check_id"], status, layer, summary])
    return [tuple(row) for row in rows]  # type: ignore[misc]
