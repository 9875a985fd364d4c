"""The report as Markdown, to paste into a ticket: headline, causes with fixes, then every check."""

from __future__ import annotations

from typing import Any, Mapping, TextIO

from tabulate import tabulate

from .text import check_rows, target_line


def _first(text: str) -> str:
    return (text.splitlines() or [""])[0]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cause(cause: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = [
        f"### {cause['rank']}. {cause['check_id']} — {cause['title']}",
        "",
        f"**{cause['summary']}**  ",
        f"layer `{cause['layer']}` · severity `{cause['severity']}` · confidence `{cause['confidence']}`",
        "",
    ]
    if cause["evidence"]:
        lines += ["Evidence:", ""] + [f"- `{e['source']}`: {e['detail']}" for e in cause["evidence"]] + [""]
    fix = cause.get("fix")
    if fix:
        lines += [f"Fix: {_first(fix['summary'])}", ""]
        rest = fix["summary"].splitlines()[1:]
        if rest:
            lines += ["```yaml", *rest, "```", ""]
        if fix["commands"]:
            lines += ["```sh", *fix["commands"], "```", ""]
    if cause["consequences"]:
        lines += ["Explains:", ""]
        lines += [f"- {cid}: {checks[cid]['summary']}" for cid in cause["consequences"] if cid in checks] + [""]
    return lines


def render(report: Mapping[str, Any], out: TextIO, *, color: bool = False) -> None:  # noqa: ARG001
    checks = {c["check_id"]: c for c in report["checks"]}
    lines = [f"## efadoctor: {report['verdict'].replace('_', ' ')}", "", f"**{report['headline']}**", "", target_line(report), ""]
    if report["causes"]:
        lines += ["## Root causes", ""]
        for cause in report["causes"]:
            lines += _cause(cause, checks)
    if report["next_failures"]:
        lines += ["## Next failures (not the cause of this symptom)", ""]
        for cause in report["next_failures"]:
            lines += _cause(cause, checks)
    if report["ruled_out"]:
        lines += ["## Ruled out", ""] + [f"- {r['check_id']} {r['title']}: {r['summary']}" for r in report["ruled_out"]] + [""]
    if report["could_not_check"]:
        lines += ["## Could not check", ""]
        for c in report["could_not_check"]:
            perm = f" (missing permission: `{c['missing_permission']}`)" if c.get("missing_permission") else ""
            lines.append(f"- {c['check_id']} {c['title']}: {_first(c['reason'])}{perm}")
        lines.append("")
    rows = [[check_id, status.upper(), layer, _cell(summary)] for check_id, status, layer, summary in check_rows(report)]
    lines += ["## All checks", "", tabulate(rows, headers=["ID", "Status", "Layer", "Summary"], tablefmt="github"), ""]
    out.write("\n".join(lines))
