"""The report for a terminal: the verdict, ranked causes with evidence and fixes, then every check.

Written for someone in the middle of an incident: the first lines answer
"what is wrong and what do I type", the details follow. No color when the
output is not a terminal or NO_COLOR is set (rich honours both).
"""

from __future__ import annotations

from typing import Any, Mapping, TextIO

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .text import check_rows, target_line

STATUS_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim", "error": "magenta"}
VERDICT_STYLE = {"healthy": "bold green", "causes_found": "bold red", "inconclusive": "bold yellow"}


def _cause(console: Console, cause: Mapping[str, Any], checks: Mapping[str, Mapping[str, Any]]) -> None:
    style = STATUS_STYLE.get(cause["status"], "")
    console.print(
        f"[{style}]{cause['rank']}. {cause['check_id']}[/] [bold]{escape(cause['title'])}[/]  "
        f"[dim]{cause['layer']} · {cause['severity']} · {cause['confidence']} confidence[/]"
    )
    console.print(f"   {escape(cause['summary'])}")
    for item in cause["evidence"]:
        console.print(f"   [dim]evidence[/] [cyan]{escape(item['source'])}[/]: {escape(item['detail'])}")
    fix = cause.get("fix")
    if fix:
        summary, *rest = fix["summary"].splitlines() or [""]
        console.print(f"   [bold]fix[/] {escape(summary)}")
        for line in rest:
            console.print(f"     {escape(line)}")
        for command in fix["commands"]:
            console.print(f"     [green]$[/] {escape(command)}")
    for cid in cause["consequences"]:
        if cid in checks:
            console.print(f"   [dim]explains {cid}: {escape(checks[cid]['summary'])}[/]")
    console.print()


def render(report: Mapping[str, Any], out: TextIO, *, color: bool = False) -> None:
    # soft_wrap: long lines (commands above all) stay whole, so they can be copied from a pipe or a ticket
    console = Console(file=out, force_terminal=color, no_color=not color, highlight=False, soft_wrap=True, width=None if color else 140)
    checks = {c["check_id"]: c for c in report["checks"]}
    console.print(f"[{VERDICT_STYLE[report['verdict']]}]{escape(report['headline'])}[/]")
    console.print(f"[dim]{escape(target_line(report))}[/]")
    console.print()
    if report["causes"]:
        console.print("[bold underline]Root causes[/]")
        for cause in report["causes"]:
            _cause(console, cause, checks)
    if report["next_failures"]:
        console.print("[bold underline]Next failures[/] [dim](real problems, but not the cause of this symptom)[/]")
        for cause in report["next_failures"]:
            _cause(console, cause, checks)
    if report["ruled_out"]:
        console.print("[bold underline]Ruled out[/]")
        for item in report["ruled_out"]:
            console.print(f"  [green]✓[/] {item['check_id']} {escape(item['summary'])}")
        console.print()
    if report["could_not_check"]:
        console.print("[bold underline]Could not check[/]")
        for item in report["could_not_check"]:
            perm = f" [yellow](missing permission: {escape(item['missing_permission'])})[/]" if item.get("missing_permission") else ""
            console.print(f"  [yellow]?[/] {item['check_id']} {escape(item['reason'])}{perm}")
        console.print()
    table = Table(title="All checks", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
    table.add_column("ID", no_wrap=True)
    table.add_column("Status", no_wrap=True)
    table.add_column("Layer", no_wrap=True)
    table.add_column("Summary")
    for check_id, status, layer, summary in check_rows(report):
        table.add_row(check_id, f"[{STATUS_STYLE[status]}]{status.upper()}[/]", layer, escape(summary))
    console.print(table)
    calls = report.get("api_calls", {})
    timings = report.get("timings", {})
    if calls or timings:
        console.print(
            f"[dim]{calls.get('total', 0)} API call(s) in {timings.get('total_s', 0):.2f}s · "
            f"efadoctor explain ID tells why a check matters[/]"
        )
