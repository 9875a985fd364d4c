"""`efadoctor probe --local`: the in-container checks (PRB*) on this machine or inside this image.

Why a local mode: efadoctor installed in a training image (or run on a node) can judge that image
with the very script, parser and checks `efadoctor pod` runs through pods/exec, without a cluster.
"""

from __future__ import annotations

import click

from ..context import Options
from .diagnose import finish, load_registry, run_checks, select
from .options import UsageFailure, diagnosis_options, output_options, selection_options


@click.command(name="probe")
@click.option("--local", "local", is_flag=True, help="Probe this machine / this container (required for now).")
@output_options
@selection_options
@diagnosis_options
def command(local, output, output_file, only, skip, checks_dir, no_plugins, symptom, timeout, debug):
    """Run the in-container EFA probe here: fi_info, /dev/infiniband, FI_* env, memlock, huge pages, aws-ofi-nccl.

    \b
    --local is required: to probe a pod, run `efadoctor pod NAMESPACE/POD`,
    which runs the same probe in the pod's container through pods/exec.
    The probe runs one fixed read-only shell script (sh -c), at most 20 s.
    """
    if not local:
        raise UsageFailure("efadoctor probe needs --local (to probe a pod: efadoctor pod NAMESPACE/POD)")
    options = Options(target="local", timeout_s=timeout, debug=debug)
    registry = load_registry(checks_dir, no_plugins)
    checks = select(registry, "local", only, skip)
    finish(run_checks(options, checks, symptom=symptom, registry=registry), output, output_file)
