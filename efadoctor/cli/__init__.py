"""The command line: a thin layer that maps options to a run and picks the exit code.

Commands are imported only when invoked, so `efadoctor --help` loads click and
nothing else (no boto3, no kubernetes, no rich).
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from .. import __version__

# command name -> module under efadoctor.cli (each module defines `command`)
COMMANDS = {
    "run": "run",
    "pod": "pod",
    "probe": "probe",
    "logs": "logs",
    "lint": "lint",
    "instance-types": "instance_types",
    "checks": "checks",
    "explain": "explain",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, module in COMMANDS.items() if importlib.util.find_spec(f"{__name__}.{module}") is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None or importlib.util.find_spec(f"{__name__}.{module}") is None:
            return None
        return importlib.import_module(f"{__name__}.{module}").command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="efadoctor")
def main() -> None:
    """Diagnose AWS EFA on Amazon EKS: ranked root causes, evidence and exact fixes.

    \b
    efadoctor pod NAMESPACE/POD     walk pod -> node -> device plugin -> EC2 -> libfabric in the pod
    efadoctor run --node NODE       the same for a node
    efadoctor logs FILE...          what NCCL / libfabric / the device plugin logged
    efadoctor lint FILE|DIR...      EFA mistakes in manifests, before they are deployed

    Read-only: the only write-like call is the optional in-pod probe (pods/exec).
    Exit codes: 0 healthy, 1 causes found, 2 usage error, 3 inconclusive.
    """


def kubectl_main() -> None:
    """`kubectl efadoctor …`: kubectl runs `kubectl-efadoctor` from PATH; help and errors then name the plugin form."""
    main(prog_name="kubectl efadoctor")
