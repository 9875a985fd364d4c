"""The command line's contract: fast help, clear errors with exit 2, exit 3 when nothing can be reached."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from efadoctor.cli import main

HEAVY = ("boto3", "botocore", "kubernetes", "rich", "tabulate", "yaml")


def _imported_modules(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "efadoctor", *args], capture_output=True, text=True, check=True)
    modules = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            modules.add(line.rsplit("|", 1)[-1].strip())
    return modules


@pytest.mark.parametrize("args", [("--help",)] + [(c, "--help") for c in ("run", "pod", "logs", "lint", "probe", "instance-types", "checks", "explain")])
def test_help_imports_no_heavy_library(args):
    modules = _imported_modules(*args)
    assert "click" in modules  # the measurement works
    leaked = sorted(m for m in modules if m.split(".")[0] in HEAVY)
    assert not leaked, f"`efadoctor {' '.join(args)}` imported {leaked}"


def _invoke(*args, **kwargs):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kwargs)


def test_version():
    result = _invoke("--version")
    assert result.exit_code == 0 and "efadoctor, version" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (("pod", "foo"), "expected NAMESPACE/NAME"),
        (("pod", "/x"), "expected NAMESPACE/NAME"),
        (("pod", "ns/"), "expected NAMESPACE/NAME"),
        (("pod", "Bad_NS/p"), "not a valid namespace name"),
        (("pod", "ns/Trainer_0"), "not a valid pod name"),
        (("run",), "Missing option '--node'"),
        (("run", "--node", "Node_1"), "not a valid node name"),
        (("run", "--node", "n1", "-o", "yaml"), "Invalid value for '-o'"),
        (("run", "--node", "n1", "--only", "NOPE001"), "unknown check ID or prefix: NOPE001"),
        (("explain", "NOPE001"), "unknown check ID: NOPE001"),
        (("explain",), "name a check ID"),
        (("run", "--node", "n1", "--symptom", "slow"), "Invalid value for '--symptom'"),
    ],
)
def test_bad_input_is_exit_2_with_a_message(args, message):
    result = _invoke(*args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: u
  user: {token: t}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
"""


def test_missing_kubeconfig_is_exit_2(tmp_path):
    result = _invoke("run", "--node", "n1", "--kubeconfig", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_unreadable_kubeconfig_is_exit_2(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text("{{{ not yaml")
    result = _invoke("run", "--node", "n1", "--kubeconfig", str(path))
    assert result.exit_code == 2 and "cannot use kubeconfig" in result.output


def test_unknown_context_is_exit_2(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    result = _invoke("run", "--node", "n1", "--kubeconfig", str(path), "--context", "prod")
    assert result.exit_code == 2 and "prod" in result.output


def test_refused_connection_is_exit_3_with_the_url(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(KUBECONFIG)
    result = _invoke("run", "--node", "n1", "--kubeconfig", str(path), "--timeout", "20")
    assert result.exit_code == 3, result.output
    assert "http://127.0.0.1:1" in result.output and "Traceback" not in result.output


def test_checks_lists_builtins_as_json():
    import json

    result = _invoke("checks", "-o", "json")
    rows = json.loads(result.output)
    assert {"check_id", "layer", "title", "origin"} <= set(rows[0])
    assert any(r["check_id"] == "POD001" for r in rows)


def test_explain_prints_why_and_fix():
    result = _invoke("explain", "POD001")
    assert result.exit_code == 0
    assert "Why it matters" in result.output and "## Fix" in result.output
    assert _invoke("explain", "pod_requests_efa").output == result.output


def test_kubectl_plugin_names_itself_as_kubectl_subcommand():
    import shutil
    from pathlib import Path

    plugin = shutil.which("kubectl-efadoctor", path=str(Path(sys.executable).parent))
    assert plugin, "the kubectl-efadoctor console script is not installed"
    result = subprocess.run([plugin, "--help"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("Usage: kubectl efadoctor ")


def test_kubeconfig_that_is_not_a_file_is_named_so():
    result = _invoke("run", "--node", "n1", "--kubeconfig", "/dev/null")  # a device: click lets it through
    assert result.exit_code == 2 and "is not a file" in result.output
