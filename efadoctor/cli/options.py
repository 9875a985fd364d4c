"""Options shared by the diagnosing commands, spelled as kubectl and the AWS CLI spell them."""

from __future__ import annotations

import re
from typing import Callable

import click

from ..model import Symptom

OUTPUTS = ("table", "json", "markdown")

# DNS-1123 label (namespaces) and subdomain (pod and node names), as the API server validates them
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
NAMESPACE = re.compile(rf"^{_LABEL}$")
SUBDOMAIN = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")


class UsageFailure(click.ClickException):
    """Bad input the user can fix: exit 2, one line, no traceback."""

    exit_code = 2


class Inconclusive(click.ClickException):
    """Nothing could be diagnosed (e.g. the API server is unreachable): exit 3."""

    exit_code = 3


def compose(*decorators: Callable) -> Callable:
    def apply(function: Callable) -> Callable:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


output_options = compose(
    click.option("-o", "--output", type=click.Choice(OUTPUTS), default="table", show_default=True, help="Report format."),
    click.option("--output-file", type=click.Path(dir_okay=False, writable=True), help="Write the report here instead of stdout."),
)

selection_options = compose(
    click.option("--only", multiple=True, metavar="ID", help="Run only these checks (ID, name or prefix such as AWS; repeatable)."),
    click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (ID, name or prefix; repeatable)."),
    click.option("--checks-dir", multiple=True, type=click.Path(file_okay=False), help="Also load checks from *.py in DIR (repeatable)."),
    click.option("--no-plugins", is_flag=True, help="Do not load checks from installed plugins (also: EFADOCTOR_DISABLE_PLUGIN_AUTOLOAD=1)."),
)

diagnosis_options = compose(
    click.option("--symptom", type=click.Choice([s.value for s in Symptom]), help="What you see, if the evidence does not show it."),
    click.option("--timeout", type=click.FloatRange(1, 600), default=30.0, show_default=True, help="Seconds for the whole diagnosis."),
    click.option("--debug", is_flag=True, help="Show tracebacks of crashed checks and collectors."),
)

kube_options = compose(
    click.option("--kubeconfig", type=click.Path(dir_okay=False), envvar=None, help="Path to the kubeconfig (default: $KUBECONFIG, ~/.kube/config)."),
    click.option("--context", "kube_context", help="The kubeconfig context to use."),
)

aws_options = compose(
    click.option("--profile", help="AWS CLI profile (default: AWS_PROFILE / the default chain)."),
    click.option("--region", help="AWS region (default: the node's zone, then AWS_REGION / the profile)."),
)


def split_ref(value: str) -> tuple[str, str]:
    """NAMESPACE/NAME, both validated as the API server would."""
    namespace, sep, name = value.partition("/")
    if not sep or not namespace or not name:
        raise UsageFailure(f"expected NAMESPACE/NAME, got {value!r} (for example: efadoctor pod default/nccl-test-0)")
    if not NAMESPACE.match(namespace):
        raise UsageFailure(f"{namespace!r} is not a valid namespace name (lowercase letters, digits and '-', at most 63)")
    if not SUBDOMAIN.match(name):
        raise UsageFailure(f"{name!r} is not a valid pod name (lowercase letters, digits, '-' and '.')")
    return namespace, name


def check_node_name(value: str) -> str:
    if not SUBDOMAIN.match(value):
        raise UsageFailure(f"{value!r} is not a valid node name (lowercase letters, digits, '-' and '.')")
    return value
