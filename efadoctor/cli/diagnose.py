"""One diagnosis, from options to a rendered report and an exit code; shared by every diagnosing command."""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import click

from ..context import Context, Options
from ..model import BackendUnreachable, Check, Symptom, UsageError
from .options import Inconclusive, UsageFailure


def load_registry(checks_dir: Sequence[str], no_plugins: bool):
    from ..registry import PluginError, load

    try:
        return load(checks_dirs=checks_dir, plugins=not no_plugins)
    except PluginError as error:
        raise UsageFailure(str(error)) from error


def select(registry, target: str, only: Sequence[str], skip: Sequence[str]) -> list[Check]:
    def expand(selectors: Sequence[str]) -> set[str]:
        ids: set[str] = set()
        for selector in (s for group in selectors for s in group.split(",") if s.strip()):
            found = registry.resolve(selector)
            if not found:
                raise UsageFailure(f"unknown check ID or prefix: {selector} (see `efadoctor checks`)")
            ids.update(c.id for c in found)
        return ids

    checks = registry.for_target(target)
    if only:
        wanted = expand(only)
        checks = [c for c in checks if c.id in wanted]
    if skip:
        unwanted = expand(skip)
        checks = [c for c in checks if c.id not in unwanted]
    return checks


@contextmanager
def _spinner(message: str) -> Iterator[None]:
    """Progress on stderr, only for a person at a terminal: pipes and CI stay clean."""
    if not sys.stderr.isatty() or os.environ.get("CI"):
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(message):
        yield


def _target(options: Options, facts) -> dict[str, Any]:
    """What was diagnosed; the node's details only if a check needed the node (no call just for this line)."""
    target: dict[str, Any] = {"kind": options.target}
    if options.target == "pod":
        target.update(name=options.pod, namespace=options.namespace)
    elif options.target == "node":
        target["name"] = options.node
    elif options.paths:
        target["name"] = ", ".join(options.paths)
    node = facts.gathered("node")
    if node is not None:
        target.update(node=node.name, instance_id=node.instance_id, region=node.region, instance_type=node.instance_type, zone=node.zone)
    if options.region:
        target["region"] = options.region
    return target


def run_checks(
    options: Options,
    checks: Sequence[Check],
    *,
    symptom: str | None,
    registry,
) -> dict[str, Any]:
    """Gather, evaluate, rank and build the report value."""
    from .. import engine
    from ..rank import rank
    from ..report import build

    context = Context(options)
    started = time.perf_counter()
    try:
        with _spinner(f"efadoctor: diagnosing {options.target} …"):
            result = engine.run(checks, registry.collectors, context, timeout_s=options.timeout_s, debug=options.debug)
    except UsageError as error:
        raise UsageFailure(str(error)) from error
    except BackendUnreachable as error:
        raise Inconclusive(str(error)) from error
    ranking = rank(result.findings, symptom=Symptom(symptom) if symptom else None)
    report = build(
        target=_target(options, result.facts),
        findings=result.findings,
        ranking=ranking,
        api_calls=context.recorder.summary(),
        timings={"total_s": round(time.perf_counter() - started, 3), "collectors_s": result.facts.durations()},
    )
    if options.debug:
        for finding in result.findings:
            if finding.verdict.status.value == "error":
                click.echo(f"--- {finding.check.id}\n{finding.verdict.summary}", err=True)
    return report


def emit(report: Mapping[str, Any], output: str, output_file: str | None) -> None:
    from importlib import import_module

    renderer = import_module(f"efadoctor.render.{output}")
    if output_file:
        try:
            with open(output_file, "w", encoding="utf-8") as handle:
                renderer.render(report, handle, color=False)
        except OSError as error:
            raise UsageFailure(f"cannot write {output_file}: {error.strerror}") from error
        return
    color = output == "table" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    renderer.render(report, sys.stdout, color=color)


def finish(report: Mapping[str, Any], output: str, output_file: str | None) -> None:
    from ..report import exit_code

    emit(report, output, output_file)
    sys.exit(exit_code(report))
