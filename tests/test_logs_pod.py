"""`efadoctor pod NS/POD --logs`: the workload container's own log, read through the API (one bounded GET),
feeds the same log checks, and what the pod walk finds explains what the log shows."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fakes import kube_objects as k
from tests.fakes.kube import FakeKube
from tests.helpers import cause_ids, invoke_json, status_of

NODE = "ip-10-0-1-10.ec2.internal"
DATA = Path(__file__).parent / "data" / "logs"
SAMPLE_07 = DATA / "07_fi_info_efa_fail_-61_and_nccl_ofi_enodata.txt"
SAMPLE_10 = DATA / "10_nccl_efa_ok_p4d_nccl2.9.9_aws-ofi-nccl_eks.txt"
P = "nccl-test-0:25:25 [0] NCCL INFO "


@pytest.fixture
def cluster(tmp_path):
    fake = FakeKube([
        k.node(NODE, instance_type="p5.48xlarge", efa=32),
        k.workload_pod("nccl-test-0", node_name=NODE),
        k.workload_pod("no-efa-0", node_name=NODE, efa=None),
    ])
    with fake:
        yield fake, fake.write_kubeconfig(tmp_path / "kubeconfig")


def pod(kubeconfig, name, *args):
    return invoke_json("pod", f"default/{name}", "--logs", "--no-exec", "--kubeconfig", kubeconfig, *args)


def log_requests(fake):
    return [urlsplit(path) for method, path in fake.requests if urlsplit(path).path.endswith("/log")]


def test_healthy_pod_log_through_the_api(cluster):
    fake, kubeconfig = cluster
    fake.set_log("default", "nccl-test-0", SAMPLE_10.read_text())
    code, report = pod(kubeconfig, "nccl-test-0", "--only", "LOG")
    assert (code, report["verdict"]) == (0, "healthy"), report["headline"]
    assert status_of(report, "LOG001") == "pass" and "AWS Libfabric/efa" in next(
        c["summary"] for c in report["checks"] if c["check_id"] == "LOG001"
    )
    (request,) = log_requests(fake)
    query = parse_qs(request.query)
    assert request.path == "/api/v1/namespaces/default/pods/nccl-test-0/log"
    assert query["container"] == ["nccl-tests-worker"] and query["tailLines"] == ["2000"] and query["limitBytes"] == ["4194304"]
    assert report["api_calls"]["by_operation"]["kubernetes:get pods/log"] == 1


def test_node_instance_type_is_the_expectation_when_the_log_names_none(cluster):
    fake, kubeconfig = cluster
    # aws-ofi-nccl 1.14.0 "Selected provider is %s, fabric is %s (found %d nics)"
    fake.set_log("default", "nccl-test-0", P + "NET/OFI Selected provider is efa, fabric is efa (found 4 nics)\n" + P + "Using network Libfabric\n")
    code, report = pod(kubeconfig, "nccl-test-0", "--only", "LOG")
    assert code == 1 and cause_ids(report) == ["LOG007"]
    top = report["causes"][0]
    assert "4 of the 32 EFA NICs of p5.48xlarge" in top["summary"]
    assert f"efadoctor run --node {NODE}" in top["fix"]["commands"]
    assert ["k8s: Node label node.kubernetes.io/instance-type", "p5.48xlarge"] in [[e["source"], e["detail"]] for e in top["evidence"]]


def test_minus_61_in_the_log_folds_under_the_missing_efa_request(cluster):
    fake, kubeconfig = cluster
    fake.set_log("default", "no-efa-0", SAMPLE_07.read_text())
    code, report = pod(kubeconfig, "no-efa-0", "--only", "LOG,POD001")
    assert code == 1 and report["symptom"] == "enodata" and report["symptom_source"] == "LOG004"
    assert cause_ids(report) == ["POD001"]  # the pod never asked for EFA devices: that explains the -61
    assert report["causes"][0]["consequences"] == ["LOG004"]
    log_check = next(c for c in report["checks"] if c["check_id"] == "LOG004")
    assert log_check["fix"]["commands"][0] == "kubectl exec -n default no-efa-0 -c nccl-tests-worker -- fi_info -p efa -t FI_EP_RDM"


def test_forbidden_pod_log_is_a_skip_naming_the_permission(cluster):
    fake, kubeconfig = cluster
    fake.set_log("default", "nccl-test-0", SAMPLE_10.read_text())
    fake.deny("get", "pods/log")
    code, report = pod(kubeconfig, "nccl-test-0", "--only", "LOG")
    assert (code, report["verdict"]) == (3, "inconclusive")
    skipped = {c["check_id"]: c for c in report["could_not_check"]}
    assert "LOG001" in skipped and skipped["LOG001"]["missing_permission"] == "get pods/log"
    assert all(c["status"] == "skip" for c in report["checks"])


def test_without_logs_flag_the_log_checks_do_not_apply(cluster):
    fake, kubeconfig = cluster
    code, report = invoke_json("pod", "default/nccl-test-0", "--no-exec", "--kubeconfig", kubeconfig, "--only", "LOG,POD001")
    assert (code, report["verdict"]) == (0, "healthy")
    assert all(c["status"] == "skip" for c in report["checks"] if c["check_id"].startswith("LOG"))
    assert not log_requests(fake)


def test_a_pod_log_without_nccl_lines_does_not_make_the_pod_inconclusive(cluster):
    fake, kubeconfig = cluster
    fake.set_log("default", "nccl-test-0", "epoch 1 loss 2.31\nepoch 2 loss 1.97\n")
    code, report = pod(kubeconfig, "nccl-test-0", "--only", "LOG,POD001")
    assert (code, report["verdict"]) == (0, "healthy")
    assert "NCCL_DEBUG=INFO" in next(c["summary"] for c in report["checks"] if c["check_id"] == "LOG001")
