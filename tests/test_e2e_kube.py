"""`run --node` and `pod NS/NAME` end to end against the fake API server, through a real kubeconfig."""

import json

import pytest

from tests.fakes import kube_objects as k
from tests.fakes.kube import FakeKube
from tests.helpers import cause_ids, invoke, invoke_json, status_of, validate_report

CORE = ("--only", "K8S001,K8S002,POD001,POD002,POD003")


@pytest.fixture
def cluster(tmp_path):
    pending = k.workload_pod("pending-0", node_name=None, phase="Pending")
    fake = FakeKube([
        k.node("ip-10-0-1-10.ec2.internal", instance_type="p5.48xlarge", efa=32),
        k.node("ip-10-0-1-11.ec2.internal", instance_type="p5.48xlarge", efa=None),
        k.node("fargate-ip-10-0-9-9.ec2.internal", instance_type=None, efa=None, gpus=None,
               provider_id="aws:///us-east-1a/4f2a7a1e1c/fargate-ip-10-0-9-9.ec2.internal",
               labels={"eks.amazonaws.com/compute-type": "fargate"}),
        k.workload_pod("nccl-test-0", node_name="ip-10-0-1-10.ec2.internal"),
        k.workload_pod("no-efa-0", node_name="ip-10-0-1-10.ec2.internal", efa=None),
        pending,
    ])
    fake.add(k.event(pending, "FailedScheduling",
                     "0/3 nodes are available: 1 Insufficient vpc.amazonaws.com/efa, 2 node(s) didn't match Pod's node "
                     "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."))
    with fake:
        yield fake, fake.write_kubeconfig(tmp_path / "kubeconfig")


def test_healthy_node(cluster):
    fake, kubeconfig = cluster
    code, report = invoke_json("run", "--node", "ip-10-0-1-10.ec2.internal", "--kubeconfig", kubeconfig, *CORE)
    assert code == 0, report["headline"]
    assert report["verdict"] == "healthy"
    assert report["target"]["instance_id"] and report["target"]["region"] == "us-east-1"
    assert report["target"]["instance_type"] == "p5.48xlarge"
    assert status_of(report, "K8S002") == "pass"
    assert report["api_calls"]["by_operation"] == {"kubernetes:get nodes": 1}


def test_node_without_efa_resource_is_the_cause(cluster):
    _, kubeconfig = cluster
    code, report = invoke_json("run", "--node", "ip-10-0-1-11.ec2.internal", "--kubeconfig", kubeconfig, *CORE)
    assert code == 1
    assert cause_ids(report) == ["K8S002"]
    assert "ip-10-0-1-11.ec2.internal" in report["causes"][0]["summary"]


def test_fargate_node_is_not_ec2(cluster):
    _, kubeconfig = cluster
    code, report = invoke_json("run", "--node", "fargate-ip-10-0-9-9.ec2.internal", "--kubeconfig", kubeconfig, *CORE)
    assert code == 1
    assert cause_ids(report)[0] == "K8S001"
    assert "Fargate" in report["causes"][0]["summary"]


def test_missing_node_is_exit_2_naming_the_context(cluster):
    _, kubeconfig = cluster
    result = invoke("run", "--node", "ghost", "--kubeconfig", kubeconfig, *CORE)
    assert result.exit_code == 2
    assert "node ghost not found in context fake" in result.output


def test_pod_without_efa_request(cluster):
    _, kubeconfig = cluster
    code, report = invoke_json("pod", "default/no-efa-0", "--kubeconfig", kubeconfig, "--no-exec", *CORE)
    assert code == 1
    assert cause_ids(report) == ["POD001"]
    cause = report["causes"][0]
    assert "does not request vpc.amazonaws.com/efa" in cause["summary"]
    assert "vpc.amazonaws.com/efa: 32" in cause["fix"]["summary"]  # the node's real count, not a placeholder


def test_pending_pod_for_insufficient_efa(cluster):
    _, kubeconfig = cluster
    code, report = invoke_json("pod", "default/pending-0", "--kubeconfig", kubeconfig, "--no-exec", *CORE)
    assert code == 1
    assert report["symptom"] == "pending" and report["symptom_source"] == "POD003"
    assert cause_ids(report) == ["POD003"]
    assert status_of(report, "K8S002") == "skip"  # no node to look at: not applicable, not unknown
    assert "Insufficient vpc.amazonaws.com/efa" in report["causes"][0]["summary"]


def test_missing_pod_is_exit_2(cluster):
    _, kubeconfig = cluster
    result = invoke("pod", "default/ghost", "--kubeconfig", kubeconfig, *CORE)
    assert result.exit_code == 2 and "pod default/ghost not found in context fake" in result.output


def test_context_option_is_honoured(cluster, tmp_path):
    fake, _ = cluster
    kubeconfig = fake.write_kubeconfig(tmp_path / "two-contexts", current_context="unreachable")
    code, _ = invoke_json("run", "--node", "ip-10-0-1-10.ec2.internal", "--kubeconfig", kubeconfig, "--context", "fake", *CORE)
    assert code == 0
    result = invoke("run", "--node", "ip-10-0-1-10.ec2.internal", "--kubeconfig", kubeconfig, *CORE)
    assert result.exit_code == 3 and "127.0.0.1:1" in result.output


@pytest.mark.parametrize("output", ["table", "markdown"])
def test_human_formats_show_cause_and_fix(cluster, output, tmp_path):
    _, kubeconfig = cluster
    result = invoke("pod", "default/no-efa-0", "--kubeconfig", kubeconfig, "--no-exec", *CORE, "-o", output)
    assert result.exit_code == 1
    assert "POD001" in result.output and "vpc.amazonaws.com/efa" in result.output
    assert "\x1b[" not in result.output  # not a terminal: no color codes
    assert "Traceback" not in result.output


def test_output_file(cluster, tmp_path):
    _, kubeconfig = cluster
    out = tmp_path / "report.json"
    result = invoke("run", "--node", "ip-10-0-1-10.ec2.internal", "--kubeconfig", kubeconfig, *CORE, "-o", "json", "--output-file", out)
    assert result.exit_code == 0 and result.output == ""
    validate_report(json.loads(out.read_text()))


def test_rejected_credentials_end_the_run_with_one_message(cluster, tmp_path):
    fake, kubeconfig = cluster
    expired = tmp_path / "expired"
    expired.write_text(kubeconfig.read_text().replace(fake.token, "expired-token"))
    result = invoke("run", "--node", "ip-10-0-1-10.ec2.internal", "--kubeconfig", expired, *CORE)
    assert result.exit_code == 3
    assert "rejected the credentials of context fake (401 Unauthorized)" in result.output
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_check_selection_without_node_checks_reads_no_node(cluster):
    """The target line shows the node only when a check needed it: no GET just to decorate the report."""
    _, kubeconfig = cluster
    code, report = invoke_json("pod", "default/nccl-test-0", "--kubeconfig", kubeconfig, "--no-exec", "--only", "POD002")
    assert code == 0, report["headline"]
    assert report["api_calls"]["by_operation"] == {"kubernetes:get pods": 1}
    assert "node" not in report["target"]


def test_a_slow_answer_loses_that_fact_not_the_run(cluster):
    """A read timeout is not "connection refused": the server was reached, only this request is lost."""
    from efadoctor.clients.calls import CallRecorder
    from efadoctor.clients.kube import KubeClient
    from efadoctor.model import BackendUnreachable, FactUnavailable

    fake, kubeconfig = cluster
    client = KubeClient(kubeconfig=str(kubeconfig), context=None, recorder=CallRecorder(), request_timeout_s=0.2)
    fake.delay_s = 1.0
    with pytest.raises(FactUnavailable, match="did not answer GET /api/v1/nodes/x within 0.2s") as raised:
        client.get("/api/v1/nodes/x", permission="get nodes")
    assert not isinstance(raised.value, BackendUnreachable)
