"""`efadoctor lint FILE…|DIR|-`: EFA mistakes in manifests, caught before they are deployed.

Offline: no cluster and no AWS account is touched. The same check API, report, renderers and
exit codes as every other command, except that `--fail-on` picks which findings fail the run, so the
command drops into a CI pipeline.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Mapping

import click

from ..context import Options
from .diagnose import emit, load_registry, run_checks, select
from .options import output_options, selection_options

FAIL_ON = {"warn": ("fail", "warn"), "fail": ("fail",)}
_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?$")


def _version(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:  # noqa: ARG001 - click's signature
    """Accept 1.11, v1.11 or v1.11.0; hand the checks one spelling ("1.11.0")."""
    if value is None:
        return None
    match = _VERSION.match(value.strip())
    if not match:
        raise click.BadParameter(f"{value!r} is not a version like 1.11 or v1.11.0")
    return f"{match.group(1)}.{match.group(2)}.{match.group(3) or 0}"


def exit_code(report: Mapping[str, Any], fail_on: str) -> int:
    """1 when a finding at or above --fail-on exists; else 3 if a check could not run or decide; else 0."""
    statuses = {entry["status"] for entry in report["checks"]}
    if statuses & set(FAIL_ON[fail_on]):
        return 1
    if report["could_not_check"]:
        return 3
    return 0


@click.command(name="lint")
@click.argument("paths", nargs=-1, required=True, metavar="FILE…|DIR|-")
@click.option(
    "--fail-on",
    type=click.Choice(sorted(FAIL_ON)),
    default="warn",
    show_default=True,
    help="Exit 1 when a finding at this level or above exists (warn: warnings and failures; fail: failures only).",
)
@click.option("--kube-version", callback=_version, metavar="X.Y", help="Kubernetes version the manifests target (e.g. 1.33).")
@click.option(
    "--karpenter-version",
    callback=_version,
    metavar="X.Y[.Z]",
    help="Karpenter release the NodePools/EC2NodeClasses are for (e.g. 1.10: no placementGroupSelector yet).",
)
@output_options
@selection_options
@click.option("--debug", is_flag=True, help="Show tracebacks of crashed checks.")
def command(paths, fail_on, kube_version, karpenter_version, output, output_file, only, skip, checks_dir, no_plugins, debug):
    """Check Kubernetes and Karpenter manifests for EFA mistakes, offline.

    \b
    Reads files, directories (recursively, *.yaml and *.yml) and - (stdin); multi-document files and
    rendered Helm output work as they are. Pods and every workload that embeds a pod template,
    Karpenter NodePools and EC2NodeClasses, the EFA device plugin DaemonSet or its Helm values.

    \b
    Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 unusable input (nothing could be
    read: a missing path, a binary file, a file over 20 MB, an alias bomb), 3 no finding but a check
    could not decide (e.g. a NodePool that selects instance families the offline data only partly
    lists). When some inputs are readable, the unreadable ones are LINT001 failures instead.
    """
    options = Options(
        target="manifests",
        paths=tuple(paths),
        kube_version=kube_version,
        karpenter_version=karpenter_version,
        debug=debug,
    )
    registry = load_registry(checks_dir, no_plugins)
    checks = select(registry, "manifests", only, skip)
    report = run_checks(options, checks, symptom=None, registry=registry)
    emit(report, output, output_file)
    sys.exit(exit_code(report, fail_on))
