"""`efadoctor logs FILE…|-` end to end: every real sample log with its verdict and top cause, several hosts
interleaved, and input that must never crash it (binary, empty, missing, stdin, gzip, a 2 GiB stream)."""

from __future__ import annotations

import gzip
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from efadoctor.collectors.logs import read_files
from efadoctor.model import UsageError
from tests.helpers import cause_ids, invoke, invoke_json, status_of, validate_report

DATA = Path(__file__).parent / "data" / "logs"


def sample(prefix: str) -> Path:
    (found,) = DATA.glob(f"{prefix}*.txt")
    return found


def check(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["check_id"] == check_id)


def consequences(report: dict, cause_id: str) -> list[str]:
    return next(c["consequences"] for c in report["causes"] if c["check_id"] == cause_id)


# --------------------------------------------------------------------------------------------------
# Every sample log: verdict, exit code, top cause and the symptom the log itself shows
# --------------------------------------------------------------------------------------------------

SAMPLES = [
    # (file prefix, extra args, exit code, verdict, top cause, observed symptom)
    ("01_", (), 0, "healthy", None, None),
    ("02_", (), 0, "healthy", None, None),
    ("03_", (), 0, "healthy", None, None),
    ("05_", (), 0, "healthy", None, None),
    ("07_", (), 1, "causes_found", "LOG004", "enodata"),
    ("10_", (), 0, "healthy", None, None),
    ("12_", (), 0, "healthy", None, None),
    ("13_", (), 3, "inconclusive", None, None),  # sockets, but nothing says EFA was meant
    ("13_", ("--instance-type", "p4d.24xlarge"), 1, "causes_found", "LOG003", "socket-fallback"),
    ("13_", ("--instance-type", "m5.large"), 0, "healthy", None, None),
    ("15_", (), 1, "causes_found", "LOG010", "memlock"),
    ("16_", (), 1, "causes_found", "LOG009", "unreachable"),
    ("20_", (), 0, "healthy", None, None),
    ("20_", ("--instance-type", "p5.48xlarge"), 1, "causes_found", "LOG014", None),  # 7 of 32 devices in the excerpt
    ("21_", (), 1, "causes_found", "LOG014", None),
    ("local-fi_info-l", (), 3, "inconclusive", None, None),  # libfabric 1.17 hides efa when it sees no device
    ("local-fi_info-p-efa", (), 1, "causes_found", "LOG004", "enodata"),
    ("local-fi_info-version", (), 3, "inconclusive", None, None),  # versions only: nothing to judge
]


@pytest.mark.parametrize(("prefix", "args", "code", "verdict", "top", "symptom"), SAMPLES, ids=lambda v: str(v))
def test_every_sample_log(prefix, args, code, verdict, top, symptom):
    exit_code, report = invoke_json("logs", sample(prefix), *args)
    assert (exit_code, report["verdict"]) == (code, verdict), report["headline"]
    assert report["target"]["kind"] == "logs" and report["target"]["name"] == str(sample(prefix))
    assert (cause_ids(report) or [None])[0] == top
    assert report["symptom"] == symptom
    assert report["api_calls"]["total"] == 0  # offline
    assert not [c for c in report["checks"] if c["status"] == "error"]


def test_healthy_log_says_what_the_network_did_in_json_and_table():
    _, report = invoke_json("logs", sample("10_"))
    summary = "NCCL 2.9.9 over AWS Libfabric/efa, GDRDMA on all 7 NET channel connections (2 hosts)"
    assert (check(report, "LOG001")["status"], check(report, "LOG001")["summary"]) == ("pass", summary)
    assert "p4d.24xlarge: EFA yes, max EFA interfaces 4, GPUDirect RDMA yes" in json.dumps(check(report, "LOG008")["evidence"])
    table = invoke("logs", sample("10_")).output
    assert table.startswith("Healthy") and summary in table


def test_minus_61_in_disguise_names_the_host_the_line_and_the_local_fix():
    _, report = invoke_json("logs", sample("07_"))
    top = report["causes"][0]
    assert "ip-172-31-3-90" in top["summary"] and "-61" in top["summary"] and "security group" in top["summary"]
    assert top["evidence"][0]["source"].endswith("07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt:7")
    assert "NET/OFI OFI fi_getinfo() call failed: No data available" in top["evidence"][0]["detail"]
    assert top["fix"]["commands"] == ["fi_info -p efa -t FI_EP_RDM", "ls -l /dev/infiniband/"]


def test_missing_plugin_on_an_efa_type_folds_the_socket_fallback_under_it():
    _, report = invoke_json("logs", sample("13_"), "--instance-type", "p4d.24xlarge")
    assert cause_ids(report) == ["LOG003"] and consequences(report, "LOG003") == ["LOG002"]
    assert "ds-ml-01-0" in report["causes"][0]["summary"]
    assert report["target"]["instance_type"] == "p4d.24xlarge"
    _, unknown = invoke_json("logs", sample("13_"))
    reasons = {c["check_id"]: c["reason"] for c in unknown["could_not_check"]}
    assert set(reasons) == {"LOG002", "LOG003"} and "--instance-type" in reasons["LOG003"]


def test_security_group_failure_outranks_the_memlock_line_the_same_sample_quotes():
    _, report = invoke_json("logs", sample("16_"))
    assert "self-referencing" in report["causes"][0]["summary"] and "not -61" in report["causes"][0]["summary"]
    assert [c["check_id"] for c in report["next_failures"]] == ["LOG010"]


def test_logs_command_loads_no_cloud_client():
    code = (
        "import sys; from click.testing import CliRunner; from efadoctor.cli import main; "
        f"r = CliRunner().invoke(main, ['logs', {str(sample('10_'))!r}, '-o', 'json']); "
        "print(r.exit_code, sorted(m for m in ('boto3', 'botocore', 'kubernetes', 'rich') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0 []"


def test_bad_instance_type_is_a_usage_error():
    result = invoke("logs", sample("10_"), "--instance-type", "p5 48xlarge")
    assert result.exit_code == 2 and "is not an EC2 instance type" in result.output


# --------------------------------------------------------------------------------------------------
# Several hosts interleaved, built from real lines re-prefixed per host
# --------------------------------------------------------------------------------------------------

W0, W1, W2 = "nccl-tests-efa-16-worker-0", "nccl-tests-efa-16-worker-1", "nccl-tests-efa-16-worker-2"


def _lines(prefix: str, contains: str) -> list[str]:
    return [line for line in sample(prefix).read_text().splitlines() if contains in line]


def _as_host(line: str, old: str, new: str) -> str:
    return line.replace(f"{old}:", f"{new}:", 1)


def _interleave(*streams: list[str], seed: int = 3) -> list[str]:
    """Merge lists the way concurrent ranks write: random order across lists, each list's own order kept."""
    rng = random.Random(seed)
    queues = [list(s) for s in streams if s]
    merged = []
    while queues:
        queue = rng.choice(queues)
        merged.append(queue.pop(0))
        if not queue:
            queues.remove(queue)
    return merged


def test_one_host_without_the_plugin_among_healthy_hosts_is_named(tmp_path):
    healthy = _lines("10_", "NCCL INFO")
    fallen = [_as_host(line, "ds-ml-01-0", W2) for line in _lines("13_", "ds-ml-01-0:17754")]
    log = tmp_path / "job.log"
    log.write_text("\n".join(_interleave(healthy, fallen)) + "\n")
    code, report = invoke_json("logs", log)
    assert code == 1 and cause_ids(report) == ["LOG003"]
    top = report["causes"][0]
    assert W2 in top["summary"] and W0 not in top["summary"]  # expected from worker-0's aws-ofi-nccl lines
    details = [e["detail"] for e in top["evidence"]]
    assert [d for d in details if "No plugin found" in d] and all(d.startswith(f"{W2}: ") for d in details if "No plugin found" in d)
    assert any(f"{W0}:25:25" in d and "Running on P4d platform" in d for d in details)  # why EFA was expected: P4d has EFA
    assert status_of(report, "LOG008") == "pass"  # the other hosts' channels still used GDRDMA
    assert W2 in check(report, "LOG002")["summary"] and W0 not in check(report, "LOG002")["summary"]


def test_minus_61_on_one_host_while_the_others_run(tmp_path):
    failing = _lines("07_", "fi_getinfo() call failed")
    healthy = _lines("10_", "NCCL INFO")
    log = tmp_path / "job.log"
    log.write_text("\n".join(_interleave(healthy, failing * 3)) + "\n")
    _, report = invoke_json("logs", log)
    assert cause_ids(report)[0] == "LOG004" and report["symptom"] == "enodata"
    assert "through aws-ofi-nccl on host ip-172-31-3-90 (" in report["causes"][0]["summary"]


def test_unreachable_peers_point_at_each_hosts_node(tmp_path):
    # the exact error text quoted in gardener-extension-provider-aws#1832 (sample 16), framed by `kubectl logs --prefix`
    error = "Error 4126: Unresponsive receiver (reachable by EFA device but handshake failed)"
    lines = _interleave(
        [f"[pod/{W0}/nccl] {error}"],
        [f"[pod/{W1}/nccl] {error}"],
        ["ip-10-0-1-10:25:25 [0] NCCL INFO NET/OFI Selected Provider is efa", f"ip-10-0-1-10:25:66 [0] NCCL WARN NET/OFI {error}"],
    )
    log = tmp_path / "job.log"
    log.write_text("\n".join(lines) + "\n")
    _, report = invoke_json("logs", log)
    top = report["causes"][0]
    assert top["check_id"] == "LOG009" and report["symptom"] == "unreachable"
    commands = top["fix"]["commands"]
    assert f"efadoctor run --node \"$(kubectl get pods -A --field-selector metadata.name={W0} -o jsonpath='{{.items[0].spec.nodeName}}')\"" in commands
    assert "efadoctor run --node \"$(kubectl get nodes -o name | grep -m1 -e '^node/ip-10-0-1-10$' -e '^node/ip-10-0-1-10\\.' | cut -d/ -f2)\"" in commands
    assert {W0, W1, "ip-10-0-1-10"} <= {e["detail"].split(":")[0] for e in top["evidence"]}


# --------------------------------------------------------------------------------------------------
# Input that must not crash: binary, empty, missing, directory, stdin, gzip, truncated gzip
# --------------------------------------------------------------------------------------------------


def test_binary_file_is_inconclusive_not_healthy(tmp_path):
    path = tmp_path / "core.bin"
    path.write_bytes(bytes(random.Random(9).randrange(256) for _ in range(200_000)))
    code, report = invoke_json("logs", path)
    assert (code, report["verdict"]) == (3, "inconclusive")
    assert [c["check_id"] for c in report["could_not_check"]] == ["LOG001"]
    assert "no NCCL network, aws-ofi-nccl, libfabric or EFA device-plugin lines" in report["could_not_check"][0]["reason"]


def test_empty_file_is_inconclusive(tmp_path):
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    code, report = invoke_json("logs", path)
    assert code == 3 and report["could_not_check"][0]["reason"] == f"{path}: empty, nothing to judge"


def test_missing_path_and_directory_exit_2_naming_the_path(tmp_path):
    missing = tmp_path / "nope.log"
    result = invoke("logs", sample("10_"), missing)
    assert result.exit_code == 2 and f"{missing}: no such file" in result.output
    result = invoke("logs", tmp_path)
    assert result.exit_code == 2 and f"{tmp_path} is a directory" in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_exits_2(tmp_path):
    path = tmp_path / "secret.log"
    path.write_text("x\n")
    path.chmod(0)
    result = invoke("logs", path)
    assert result.exit_code == 2 and f"{path}: permission denied" in result.output


def test_stdin():
    result = invoke("logs", "-", "-o", "json", input=sample("07_").read_text())
    report = validate_report(json.loads(result.output))
    assert result.exit_code == 1 and cause_ids(report) == ["LOG004"] and report["target"]["name"] == "<stdin>"
    assert report["causes"][0]["evidence"][0]["source"] == "log <stdin>:7"


def test_gzip_file_and_a_truncated_one(tmp_path):
    packed = tmp_path / "job.log.gz"
    packed.write_bytes(gzip.compress(sample("16_").read_bytes()))
    _, report = invoke_json("logs", packed)
    assert cause_ids(report) == ["LOG009"]
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(gzip.compress(sample("10_").read_bytes() * 50)[:-30])
    result = invoke("logs", cut)
    assert result.exit_code == 2 and f"cannot read {cut}" in result.output  # half a log must not pass as healthy


def test_read_files_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        read_files((str(tmp_path / "nope"),))
    with pytest.raises(UsageError, match="no log file given"):
        read_files(())


class NoiseStream(io.RawIOBase):
    """`total` bytes of a repeating noise block, read like a pipe; samples this process's RSS as it is read."""

    def __init__(self, block: bytes, total: int) -> None:
        self.block, self.left, self.offset = block, total, 0
        self.rss: list[int] = []

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        size = min(len(buffer), self.left)
        done = 0
        while done < size:
            take = min(size - done, len(self.block) - self.offset)
            buffer[done : done + take] = self.block[self.offset : self.offset + take]
            done += take
            self.offset = (self.offset + take) % len(self.block)
        self.left -= size
        with open("/proc/self/statm") as statm:
            self.rss.append(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
        return size


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc")
def test_two_gibibytes_of_noise_on_stdin_stream_in_bounded_time_and_memory(monkeypatch):
    """A 2 GiB stream goes through `-` in bounded time without growing memory. It loops one block: a 4 MiB run
    without a newline (the reader must cut it, never hold it) and 16 KiB of random bytes (invalid UTF-8, NULs,
    about 64 short lines for the per-line prefilter)."""
    rng = random.Random(11)
    run = bytes(rng.choice(b"\x00\x01\x7fABCxyz0123 \t:|[]") for _ in range(4 << 20))
    noise = bytes(b for b in (rng.randrange(256) for _ in range(16 << 10)) if b != 13)
    stream = NoiseStream(run + noise, 2 << 30)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(stream, 1 << 20), encoding="utf-8", errors="replace"))
    started = time.perf_counter()
    facts = read_files(("-",))
    elapsed = time.perf_counter() - started
    assert stream.left == 0 and facts.lines > 30_000 and facts.truncated_lines >= 500
    assert elapsed < 30, f"2 GiB of noise took {elapsed:.1f}s"
    settled = stream.rss[len(stream.rss) // 10 :]  # after the first reads (buffers, caches)
    assert max(settled) - min(settled) < 24 << 20, f"RSS grew by {(max(settled) - min(settled)) >> 20} MiB while streaming"
