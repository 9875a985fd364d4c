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
