"""`efadoctor logs FILE…|-`: what NCCL, aws-ofi-nccl, libfabric and the EFA device plugin logged, judged.

Offline: no cluster and no AWS account is touched. People paste or attach these logs to tickets and grep
them for "Using network"; this reads them (any size, gzip, stdin, many hosts interleaved) and ranks what
they show like every other diagnosis: which network NCCL used, whether the plugin loaded, how many NICs,
GPUDirect RDMA, and the failure signatures (-61 in disguise, unreachable peers, memlock).
"""

from __future__ import annotations

import re

import click

from ..context import Options
from ..model import Symptom
from .diagnose import finish, load_registry, run_checks, select
from .options import output_options, selection_options

_INSTANCE_TYPE = re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$")


def _instance_type(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:  # noqa: ARG001 - click's signature
    if value is None:
        return None
    name = value.strip().lower()
    if not _INSTANCE_TYPE.match(name):
        raise click.BadParameter(f"{value!r} is not an EC2 instance type like p5.48xlarge")
    return name


@click.command(name="logs")
@click.argument("paths", nargs=-1, required=True, metavar="FILE…|-")
@click.option(
    "--instance-type",
    callback=_instance_type,
    metavar="TYPE",
    help="The instance type the job ran on (e.g. p5.48xlarge); default: what aws-ofi-nccl logged (`Running on TYPE platform`).",
)
@output_options
@selection_options
@click.option("--symptom", type=click.Choice([s.value for s in Symptom]), help="What you see, if the log does not show it.")
@click.option(
    "--timeout",
    type=click.FloatRange(1, 3600),
    default=600.0,
    show_default=True,
    help="Seconds for the whole diagnosis (reading runs at about 100 MB/s).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks of crashed checks.")
def command(paths, instance_type, output, output_file, only, skip, checks_dir, no_plugins, symptom, timeout, debug):
    """Read NCCL / aws-ofi-nccl / libfabric / EFA device-plugin logs and say what the network really did.

    \b
    Reads files (gzip too, recognised by content) and - (stdin), any number and size, streaming, with
    many hosts interleaved (host:pid:tid prefixes, kubectl --prefix, CloudWatch, CRI, mpirun tags).
    Run the job with NCCL_DEBUG=INFO: NCCL prints its network only then.

    \b
    Examples:
      efadoctor logs nccl-tests.log --instance-type p5.48xlarge
      kubectl logs --prefix -l job-name=nccl-tests | efadoctor logs -
      efadoctor logs rank-*.log.gz -o json

    \b
    Exit codes: 0 healthy, 1 causes found, 2 unusable input (a missing or unreadable file),
    3 inconclusive (nothing recognisable, or EFA expectation unknown: give --instance-type).
    """
    options = Options(target="logs", paths=tuple(paths), instance_type=instance_type, timeout_s=timeout, debug=debug)
    registry = load_registry(checks_dir, no_plugins)
    checks = select(registry, "logs", only, skip)
    report = run_checks(options, checks, symptom=symptom, registry=registry)
    report["target"]["name"] = ", ".join("<stdin>" if p == "-" else p for p in paths)
    if instance_type:
        report["target"]["instance_type"] = instance_type
    finish(report, output, output_file)
