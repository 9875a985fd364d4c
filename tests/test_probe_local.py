"""`efadoctor probe --local` and its local transport, with the real script on this machine.

Why: `probe --local` must judge this machine (or the image efadoctor is installed in) with the very
script, parser and checks `efadoctor pod` uses. CI installs Debian's libfabric-bin (1.17.0, no EFA
device here): its `fi_info -p efa` genuinely prints `fi_getinfo: -61`, and the report must name the
local cause, never the network. Stub `fi_info` executables on PATH stand in for hung or other builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from efadoctor.clients.local_exec import run_script
from tests.helpers import invoke, invoke_json

DEBIAN_FI_INFO = "libfabric: 1.17.0"


def debian_libfabric() -> str | None:
    path = shutil.which("fi_info")
    if path is None:
        return "fi_info is not installed (apt-get install -y libfabric-bin)"
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    if DEBIAN_FI_INFO not in version:
        return f"expects Debian bookworm's libfabric 1.17.0, found: {version.strip()!r}"
    if Path("/dev/infiniband").exists() or Path("/sys/class/infiniband").exists():
        return "this machine has RDMA devices; the test expects none"
    return None


# ---- the local transport ----------------------------------------------------------------------------


def test_stdout_stderr_and_status_apart():
    output = run_script(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout_s=10, max_bytes=1000)
    assert (output.stdout, output.stderr, output.exit_code, output.timed_out, output.truncated) == (b"out\n", b"err\n", 3, False, False)


def test_byte_budget_kills_the_writer():
    started = time.monotonic()
    output = run_script(["sh", "-c", "while :; do echo xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; done"], timeout_s=20, max_bytes=100_000)
    assert output.truncated and len(output.stdout) == 100_000 and output.exit_code is None
    assert time.monotonic() - started < 5


def test_deadline_kills_the_whole_process_group(tmp_path):
    marker = tmp_path / "survived"
    started = time.monotonic()
    output = run_script(["sh", "-c", f"echo started; (sleep 3; touch {marker}) & sleep 30"], timeout_s=1, max_bytes=1000)
    assert output.timed_out and output.stdout == b"started\n" and output.exit_code is None
    assert time.monotonic() - started < 3
    time.sleep(3.5)
    assert not marker.exists()  # the background child died with the group


def test_no_shell():
    output = run_script(["/nonexistent/sh", "-c", "true"], timeout_s=5, max_bytes=100)
    assert output.no_shell and "No such file or directory" in output.failure


# ---- the command ------------------------------------------------------------------------------------


def test_local_is_required():
    result = invoke("probe")
    assert result.exit_code == 2 and "efadoctor probe needs --local" in result.output
    assert "efadoctor pod NAMESPACE/POD" in result.output


def test_help_says_why_local_is_required():
    result = invoke("probe", "--help")
    assert result.exit_code == 0 and "--local is required" in result.output


def test_debian_libfabric_says_the_cause_is_local_not_the_network():
    skip = debian_libfabric()
    if skip:
        pytest.skip(skip)
    code, report = invoke_json("probe", "--local")
    assert code == 1 and report["target"]["kind"] == "local"
    assert report["symptom"] == "enodata" and report["symptom_source"] == "PRB004"
    top = report["causes"][0]
    # no EFA device is visible here, which is exactly why libfabric answers -61
    assert top["check_id"] == "PRB003" and "this machine has no EFA device" in top["summary"]
    assert top["consequences"] == ["PRB004"]
    assert not [c for c in report["causes"] if c["layer"].startswith("aws")]
    assert "security group" not in str(report["causes"]).replace("so security groups cannot cause it", "")
    # Debian's libfabric 1.17 hides efa from `fi_info -l` without a device: the report says it cannot tell,
    # rather than claiming the provider is missing (this build links libefa and ships the efa provider)
    prb002 = next(c for c in report["could_not_check"] if c["check_id"] == "PRB002")
    assert "libfabric 1.17.0 (before 2.1.0)" in prb002["reason"]
    prb004 = next(c for c in report["checks"] if c["check_id"] == "PRB004")
    assert {"source": "local probe: fi_info -p efa -t FI_EP_RDM (stderr)", "detail": "fi_info_efa_stderr:1: fi_getinfo: -61"} in prb004["evidence"]
    assert report["api_calls"]["total"] == 0


def test_runs_under_busybox_sh(tmp_path, monkeypatch):
    skip = debian_libfabric()
    busybox = shutil.which("busybox")
    if skip or busybox is None:
        pytest.skip(skip or "busybox is not installed")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "sh").symlink_to(busybox)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    code, report = invoke_json("probe", "--local", "--only", "PRB003,PRB004")
    assert code == 1 and report["causes"][0]["check_id"] == "PRB003"


def test_a_hung_fi_info_is_cut_at_the_deadline(tmp_path, monkeypatch):
    stub = tmp_path / "bin" / "fi_info"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\n# stub: a fi_info that hangs (e.g. on a wedged device)\nexec sleep 60\n")
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{stub.parent}:{os.environ['PATH']}")
    started = time.monotonic()
    _, report = invoke_json("probe", "--local", "--timeout", "4")  # the probe gets 4 - 2 = 2 s
    assert time.monotonic() - started < 8
    prb004 = next(c for c in report["checks"] if c["check_id"] == "PRB004")
    assert prb004["status"] == "skip" and "probe timed out after 2s on this machine" in prb004["summary"]
    assert next(c for c in report["checks"] if c["check_id"] == "PRB008")["status"] != "skip"  # the early sections arrived
