"""`efadoctor run --node NODE`: diagnose EFA on one node."""

from __future__ import annotations

import click

from ..context import Options
from .diagnose import finish, load_registry, run_checks, select
from .options import aws_options, check_node_name, diagnosis_options, kube_options, output_options, selection_options


@click.command(name="run")
@click.option("--node", required=True, help="The node to diagnose (as in `kubectl get nodes`).")
@kube_options
@aws_options
@output_options
@selection_options
@diagnosis_options
def command(node, kubeconfig, kube_context, profile, region, output, output_file, only, skip, checks_dir, no_plugins, symptom, timeout, debug):
    """Diagnose EFA on a node: instance, EFA interfaces, security groups, device plugin, capacity."""
    options = Options(
        target="node",
        node=check_node_name(node),
        kubeconfig=kubeconfig,
        kube_context=kube_context,
        profile=profile,
        region=region,
        timeout_s=timeout,
        debug=debug,
    )
    registry = load_registry(checks_dir, no_plugins)
    checks = select(registry, "node", only, skip)
    finish(run_checks(options, checks, symptom=symptom, registry=registry), output, output_file)
