"""`efadoctor pod NAMESPACE/NAME`: the whole walk for one workload pod."""

from __future__ import annotations

import click

from ..context import Options
from .diagnose import finish, load_registry, run_checks, select
from .options import aws_options, diagnosis_options, kube_options, output_options, selection_options, split_ref


@click.command(name="pod")
@click.argument("ref", metavar="NAMESPACE/POD")
@click.option("-c", "--container", help="The container to judge and probe (default: the one requesting vpc.amazonaws.com/efa).")
@click.option("--no-exec", is_flag=True, help="Do not run the probe inside the pod: strictly read-only.")
@click.option("--logs", "read_logs", is_flag=True, help="Also read the container's log (bounded tail) for NCCL/libfabric lines.")
@kube_options
@aws_options
@output_options
@selection_options
@diagnosis_options
def command(ref, container, no_exec, read_logs, kubeconfig, kube_context, profile, region, output, output_file, only, skip, checks_dir, no_plugins, symptom, timeout, debug):
    """Diagnose EFA for a pod: pod spec -> node -> device plugin -> EC2 -> libfabric inside the container."""
    namespace, name = split_ref(ref)
    options = Options(
        target="pod",
        namespace=namespace,
        pod=name,
        container=container,
        exec_probe=not no_exec,
        read_logs=read_logs,
        kubeconfig=kubeconfig,
        kube_context=kube_context,
        profile=profile,
        region=region,
        timeout_s=timeout,
        debug=debug,
    )
    registry = load_registry(checks_dir, no_plugins)
    checks = select(registry, "pod", only, skip)
    finish(run_checks(options, checks, symptom=symptom, registry=registry), output, output_file)
