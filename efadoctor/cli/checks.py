"""`efadoctor checks`: every check that would run, where it comes from, and what it can explain."""

from __future__ import annotations

import json

import click

from .diagnose import load_registry
from .options import OUTPUTS


@click.command(name="checks")
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="table", show_default=True)
@click.option("--checks-dir", multiple=True, type=click.Path(file_okay=False), help="Also load checks from *.py in DIR.")
@click.option("--no-plugins", is_flag=True, help="Do not load checks from installed plugins.")
def command(output, checks_dir, no_plugins):
    """List the checks: id, layer, title, origin."""
    registry = load_registry(checks_dir, no_plugins)
    rows = [
        {
            "check_id": c.id,
            "name": c.name,
            "layer": c.layer.value,
            "severity": c.severity.value,
            "symptoms": [s.value for s in c.symptoms],
            "targets": list(c.targets),
            "title": c.title,
            "origin": c.origin,
        }
        for c in sorted(registry.checks.values(), key=lambda c: c.id)
    ]
    if output == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    from tabulate import tabulate

    table = [[r["check_id"], r["layer"], r["title"], r["origin"]] for r in rows]
    click.echo(tabulate(table, headers=["ID", "Layer", "Title", "Origin"], tablefmt="github" if output == "markdown" else "simple"))
