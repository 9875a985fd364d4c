"""The probe's transport through pods/exec, and every way it can go wrong, against the fake API server.

Why: the exec is the one call of a diagnosis that runs something in the user's pod, through a client
with known pitfalls (merged streams, a `returncode` that raises, no byte limit, no deadline). These tests
drive the real kubernetes client's websocket against FakeKube's kubelet-framed exec and check that each
failure (no shell, RBAC denial, a hung exec, 10 MB of output, binary garbage, a pod that is not running)
becomes one clear reason on the probe checks while the rest of the report stays intact, never a traceback.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from efadoctor.clients.pod_exec import exec_script
from efadoctor.context import Context, Options
from efadoctor.model import FactUnavailable
from efadoctor.probe import MAX_OUTPUT_BYTES, SCRIPT
from tests.fakes import kube_objects as k
from tests.fakes.kube import ExecResult, FakeKube
from tests.fakes.probe_text import probe_output
from tests.helpers import invoke_json, status_of

NODE = "ip-10-0-1-10.ec2.internal"
ONLY = ("--only", "POD001,PRB")  # the pod spec's EFA request and the probe: the rest of the walk has its own tests


pytestmark = pytest.mark.usefixtures("no_aws")  # tests/conftest.py: EC2 cannot be asked


@pytest.fixture()
def cluster(tmp_path: Path):
    pods = [
        k.workload_pod("trainer-0", node_name=NODE, capabilities=["IPC_LOCK"]),
        k.workload_pod("pending-0", node_name=None, phase="Pending"),
        k.workload_pod("two-0", node_name=NODE, containers=[
            {"name": "sidecar", "image": "busybox"},
            {"name": "worker", "image": "nccl-tests:latest",
             "resources": {"limits": {"vpc.amazonaws.com/efa": "32"}, "requests": {"vpc.amazonaws.com/efa": "32"}}}]),
    ]
    crashing = k.workload_pod("crash-0", node_name=NODE)
    crashing["status"]["containerStatuses"][0]["state"] = {"waiting": {"reason": "CrashLoopBackOff"}}
    crashing["status"]["containerStatuses"][0]["ready"] = False
    with FakeKube([k.node(NODE), *pods, crashing]) as fake:
        fake.kubeconfig_path = fake.write_kubeconfig(tmp_path / "kubeconfig")
        yield fake


def diagnose(fake: FakeKube, pod: str = "trainer-0", *args: str) -> tuple[int, dict]:
    return invoke_json("pod", f"default/{pod}", "--kubeconfig", fake.kubeconfig_path, *ONLY, *args)


def probe_entries(report: dict) -> list[dict]:
    return [c for c in report["checks"] if c["check_id"].startswith("PRB")]


def context_for(fake: FakeKube) -> Context:
    return Context(Options(target="pod", namespace="default", pod="trainer-0", kubeconfig=str(fake.kubeconfig_path)))


# ---- the transport itself ---------------------------------------------------------------------------


def test_stdout_stderr_and_exit_status_arrive_apart(cluster):
    seen = []

    def handler(namespace, pod, container, argv, stdin):
        seen.append((namespace, pod, container, argv, stdin))
        return ExecResult(stdout=b"out\n", stderr=b"err\n", exit_code=61)

    cluster.exec_handler = handler
    context = context_for(cluster)
    output = exec_script(context, namespace="default", pod="trainer-0", container="nccl-tests-worker",
                         argv=["sh", "-c", SCRIPT], timeout_s=10, max_bytes=MAX_OUTPUT_BYTES)
    assert (output.stdout, output.stderr, output.exit_code, output.failure) == (b"out\n", b"err\n", 61, None)
    assert seen == [("default", "trainer-0", "nccl-tests-worker", ["sh", "-c", SCRIPT], None)]  # no stdin: nothing fed in
    calls = context.recorder.calls
    assert [(c.service, c.operation, c.ok) for c in calls] == [("kubernetes", "create pods/exec", True)]


def test_success_and_a_stream_without_status(cluster):
    context = context_for(cluster)
    cluster.exec_handler = lambda *_: ExecResult(stdout=b"ok\n", exit_code=0)
    assert exec_script(context, namespace="default", pod="trainer-0", container="nccl-tests-worker", argv=["sh"],
                       timeout_s=10, max_bytes=100).exit_code == 0
    cluster.exec_handler = lambda *_: ExecResult(stdout=b"partial\n", exit_code=None)  # the node went away
    output = exec_script(context, namespace="default", pod="trainer-0", container="nccl-tests-worker", argv=["sh"],
                         timeout_s=10, max_bytes=100)
    assert output.stdout == b"partial\n" and output.exit_code is None and output.failure is None


def test_byte_budget_stops_reading(cluster):
    cluster.exec_handler = lambda *_: ExecResult(stdout=b"x" * (3 * 1024 * 1024), stderr=b"y" * 1024)
    started = time.monotonic()
    output = exec_script(context_for(cluster), namespace="default", pod="trainer-0", container="nccl-tests-worker",
                         argv=["sh"], timeout_s=10, max_bytes=256 * 1024)
    assert output.truncated and len(output.stdout) + len(output.stderr) == 256 * 1024 and output.exit_code is None
    assert time.monotonic() - started < 5


def test_handshake_failures_name_the_reason(cluster):
    context = context_for(cluster)
    with pytest.raises(FactUnavailable) as refused:
        exec_script(context, namespace="default", pod="pending-0", container="nccl-tests-worker", argv=["sh"],
                    timeout_s=10, max_bytes=100)
    assert "HTTP 400" in refused.value.reason and "does not have a host assigned" in refused.value.reason
    cluster.deny("create", "pods/exec")
    with pytest.raises(FactUnavailable) as denied:
        exec_script(context, namespace="default", pod="trainer-0", container="nccl-tests-worker", argv=["sh"],
                    timeout_s=10, max_bytes=100)
    assert denied.value.missing_permission == "create pods/exec" and "forbidden" in denied.value.reason
    assert [c.ok for c in context.recorder.calls] == [False, False]


# ---- through `efadoctor pod`: each failure is one clear finding -------------------------------------


def test_the_exec_is_exactly_sh_c_script_in_the_efa_container(cluster):
    calls = []
    cluster.exec_handler = lambda ns, pod, container, argv, stdin: calls.append((container, argv)) or ExecResult(stdout=probe_output())
    _, report = diagnose(cluster, "two-0")
    assert calls == [("worker", ["sh", "-c", SCRIPT])]  # the container that requests EFA, not the first one
    assert status_of(report, "PRB004") == "pass"


def test_no_shell_in_image(cluster):
    cluster.exec_handler = lambda ns, pod, container, argv, stdin: ExecResult.missing_binary(argv[0])
    code, report = diagnose(cluster)
    assert code == 3 and report["verdict"] == "inconclusive"  # not an EFA failure, but not a pass either
    for entry in probe_entries(report):
        assert entry["status"] == "skip" and entry["summary"].startswith("could not probe: no shell in image")
    assert status_of(report, "POD001") == "pass"  # the rest of the report is intact


def test_exec_forbidden_names_the_permission(cluster):
    cluster.deny("create", "pods/exec")
    code, report = diagnose(cluster)
    assert code == 3
    missing = {c["check_id"]: c["missing_permission"] for c in report["could_not_check"]}
    assert {missing[c["check_id"]] for c in probe_entries(report)} == {"create pods/exec"}
    assert status_of(report, "POD001") == "pass"


def test_exec_timeout(cluster):
    cluster.exec_handler = lambda *_: ExecResult(stdout=probe_output(), delay_s=30)
    started = time.monotonic()
    code, report = diagnose(cluster, "trainer-0", "--timeout", "5")  # the probe gets 5 - 2 = 3 s
    assert time.monotonic() - started < 10
    assert code == 3
    for entry in probe_entries(report):
        assert entry["status"] == "skip" and "probe timed out after 3s" in entry["summary"]
    assert report["api_calls"]["failed"] == 1


def test_ten_megabytes_of_output(cluster):
    # a debug FI_LOG_LEVEL flooding fi_info's stderr: the probe's sections arrive, then the flood
    flood = "libfabric:42:1:efa:core:efa_device_list_initialize():99<debug> noise\n" * (10 * 1024 * 1024 // 70)
    head = probe_output(stop_after="fi_info_list")
    cluster.exec_handler = lambda *_: ExecResult(stdout=head + "@@begin fi_info_efa\n" + flood)
    started = time.monotonic()
    _, report = diagnose(cluster)
    assert time.monotonic() - started < 15
    assert status_of(report, "PRB003") == "pass" and status_of(report, "PRB002") == "pass"  # what arrived is used
    prb004 = next(c for c in report["checks"] if c["check_id"] == "PRB004")
    assert prb004["status"] == "skip" and f"probe output truncated: efadoctor stopped reading after {MAX_OUTPUT_BYTES} bytes" in prb004["summary"]


def test_binary_garbage(cluster):
    garbage = random.Random(5).randbytes(64 * 1024)
    cluster.exec_handler = lambda *_: ExecResult(stdout=garbage, stderr=garbage[:100])
    code, report = diagnose(cluster)
    assert code == 3
    for entry in probe_entries(report):
        assert entry["status"] == "skip" and entry["summary"].startswith("the probe's output in container nccl-tests-worker")
        assert "unreadable" in entry["summary"]
    assert status_of(report, "POD001") == "pass"


def test_killed_shell_keeps_what_arrived(cluster):
    cluster.exec_handler = lambda *_: ExecResult(stdout=probe_output(stop_after="env"), exit_code=137)
    _, report = diagnose(cluster)
    assert status_of(report, "PRB003") == "pass" and status_of(report, "PRB005") == "pass"
    prb004 = next(c for c in report["checks"] if c["check_id"] == "PRB004")
    assert "the probe's shell exited with status 137" in prb004["summary"]


@pytest.mark.parametrize("pod, reason", [("pending-0", "is not scheduled on a node"),
                                         ("crash-0", "is not running (waiting: CrashLoopBackOff)")])
def test_nothing_to_probe_is_not_applicable(cluster, pod, reason):
    calls = []
    cluster.exec_handler = lambda *args: calls.append(args) or ExecResult()
    _, report = diagnose(cluster, pod)
    assert calls == [] and not any("pods/exec" in op for op in report["api_calls"]["by_operation"])
    for entry in probe_entries(report):
        assert entry["status"] == "skip" and reason in entry["summary"]
    assert not [c for c in report["could_not_check"] if c["check_id"].startswith("PRB")]


def test_the_exec_runs_in_round_two_beside_the_node(cluster):
    """The probe needs only the pod: it must not wait for the node/EC2 walk (nor make it wait)."""
    cluster.exec_handler = lambda *_: ExecResult(stdout=probe_output())
    cluster.reset_requests()
    cluster.delay_s = delay = 0.4
    diagnose(cluster, "trainer-0", "--only", "POD001,PRB,K8S002")
    arrivals = {path.split("?")[0]: at for (method, path), at in zip(cluster.requests, cluster.arrivals)}
    pod_at = arrivals["/api/v1/namespaces/default/pods/trainer-0"]
    exec_at = arrivals["/api/v1/namespaces/default/pods/trainer-0/exec"]
    node_at = arrivals[f"/api/v1/nodes/{NODE}"]
    assert delay * 0.9 < exec_at - pod_at < delay * 1.6  # right after the pod arrived: round two
    assert abs(exec_at - node_at) < delay / 2  # beside the node, not after it


def test_a_handshake_that_never_answers_times_out(cluster):
    cluster.exec_handler = lambda *_: ExecResult(stdout=b"late\n")
    cluster.delay_s = 3.0  # the API server sits on the upgrade request
    context = context_for(cluster)
    started = time.monotonic()
    with pytest.raises(FactUnavailable) as slow:
        exec_script(context, namespace="default", pod="trainer-0", container="nccl-tests-worker", argv=["sh"],
                    timeout_s=1, max_bytes=100)
    assert time.monotonic() - started < 2
    assert slow.value.reason.startswith("probe timed out after 1s: the exec session into default/trainer-0 did not open")
    assert [(c.operation, c.ok, c.error) for c in context.recorder.calls] == [("create pods/exec", False, "timeout")]
    cluster.delay_s = 0.0
