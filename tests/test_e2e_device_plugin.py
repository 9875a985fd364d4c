"""The Kubernetes layer end to end: device plugin, node capacity and pod spec scenarios of issue 4.

Every test drives the real CLI against the fake API server (real HTTP, real kubernetes client) with
objects shaped like an EKS cluster's. AWS is configured to have no credentials, so the EC2 cross-check
facts are unavailable here quickly; tests/test_e2e_ec2_crosscheck.py covers them with the fake EC2.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.fakes import kube_objects as k
from tests.fakes.kube import FakeKube
from tests.helpers import cause_ids, invoke_json, status_of, waves

NODE = "ip-10-0-1-10.ec2.internal"
NO_EC2 = ("--skip", "K8S007")  # K8S007 compares with EC2, which these tests do not serve
SEED_TAINT = "efa-workload=true:NoSchedule"  # the seed runbook's NodePool taint
# the line shapes of sample 20 (eks-charts PR test logs), for a p5.48xlarge's 32 devices
FOUND = "2024/05/24 23:12:29 Fetching EFA devices.\n" + "".join(
    f"2024/05/24 23:12:29 device: rdmap{79 + i}s0,uverbs{i},/sys/class/infiniband_verbs/uverbs{i},/sys/class/infiniband/rdmap{79 + i}s0\n"
    for i in range(32)) + "2024/05/24 23:12:29 Registered device plugin with Kubelet\n"
NO_DEVICES = "2026/02/03 15:23:32 Fetching EFA devices.\n2026/02/03 15:23:32 Error to get IB device: %v. No valid EFA devices found\n"
STS = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "trainer"}


pytestmark = pytest.mark.usefixtures("no_aws")  # tests/conftest.py: EC2 cannot be asked


class Cluster:
    def __init__(self, tmp_path: Path, objects: list[dict], logs: dict[str, str] | None = None):
        self.fake = FakeKube(objects)
        self.tmp_path = tmp_path
        self.logs = logs or {}

    def __enter__(self) -> Cluster:
        self.fake.start()
        for pod_name, text in self.logs.items():
            self.fake.set_log("kube-system", pod_name, text)
        self.kubeconfig = self.fake.write_kubeconfig(self.tmp_path / "kubeconfig")
        return self

    def __exit__(self, *exc: object) -> None:
        self.fake.stop()

    def node(self, *args: str, name: str = NODE) -> tuple[int, dict]:
        return invoke_json("run", "--node", name, "--kubeconfig", self.kubeconfig, *args)

    def pod(self, ref: str, *args: str) -> tuple[int, dict]:
        return invoke_json("pod", ref, "--kubeconfig", self.kubeconfig, "--no-exec", *args)


def entry(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["check_id"] == check_id)


def cause(report: dict, check_id: str) -> dict:
    return next(c for c in report["causes"] if c["check_id"] == check_id)


# -- node: the device plugin does not land ------------------------------------------------------------

def test_seed_runbook_taint_is_not_tolerated(tmp_path):
    """The seed's NodePool taints EFA nodes `efa-workload=true:NoSchedule`; its `helm install` passes no tolerations."""
    objects = [k.node(NODE, efa=None, taints=[SEED_TAINT]), k.device_plugin_daemonset_helm(desired=0)]
    with Cluster(tmp_path, objects) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 1
    assert cause_ids(report)[0] == "K8S004"
    root = cause(report, "K8S004")
    assert {"K8S002", "K8S006"} <= set(root["consequences"])
    assert "does not tolerate taint(s) efa-workload=true:NoSchedule of node " + NODE in root["summary"]
    words = shlex.split(root["fix"]["commands"][-1])
    assert words[:10] == ["helm", "upgrade", "--install", "aws-efa-k8s-device-plugin", "eks/aws-efa-k8s-device-plugin",
                          "-n", "kube-system", "--reuse-values", "--version", "v0.5.30"]
    assert [w for w in words if w.startswith("tolerations")] == [
        "tolerations[0].key=efa-workload", "tolerations[0].operator=Equal", "tolerations[0].value=true",
        "tolerations[0].effect=NoSchedule"]
    assert words[words.index("tolerations[0].value=true") - 1] == "--set-string"  # a string, as the API requires


def test_nvidia_gpu_taint_keeps_the_release_and_its_tolerations(tmp_path):
    efa_toleration = {"key": "aws.amazon.com/efa", "operator": "Exists", "effect": "NoSchedule"}
    ds = k.device_plugin_daemonset_helm(release="efa", namespace="efa-system", tolerations=[efa_toleration], desired=0)
    objects = [k.node(NODE, efa=None, taints=["nvidia.com/gpu=true:NoSchedule", "aws.amazon.com/efa:NoSchedule"]), ds]
    with Cluster(tmp_path, objects) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 1 and cause_ids(report)[0] == "K8S004"
    command = cause(report, "K8S004")["fix"]["commands"][-1]
    assert command.startswith("helm upgrade --install efa eks/aws-efa-k8s-device-plugin -n efa-system --reuse-values --version v0.5.30 ")
    sets = [w for w in shlex.split(command) if w.startswith("tolerations")]
    assert sets[:3] == ["tolerations[0].key=aws.amazon.com/efa", "tolerations[0].operator=Exists", "tolerations[0].effect=NoSchedule"]
    assert "tolerations[1].key=nvidia.com/gpu" in sets and "tolerations[1].value=true" in sets


def test_manifest_install_gets_a_kubectl_patch(tmp_path):
    objects = [k.node(NODE, efa=None, taints=["nvidia.com/gpu:NoSchedule"]), k.device_plugin_daemonset_manifest_v050(desired=0)]
    with Cluster(tmp_path, objects) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 1 and cause_ids(report)[0] == "K8S004"
    (command,) = cause(report, "K8S004")["fix"]["commands"]
    assert command.startswith("kubectl -n kube-system patch daemonset aws-efa-k8s-device-plugin-daemonset --type json -p ")


def test_p5en_with_a_pre_v056_chart(tmp_path):
    objects = [k.node(NODE, instance_type="p5en.48xlarge", efa=None),
               k.device_plugin_daemonset_helm(version="v0.5.5", app_version="v0.5.4", desired=0)]
    with Cluster(tmp_path, objects) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 1 and cause_ids(report)[0] == "K8S005"
    root = cause(report, "K8S005")
    assert "chart v0.5.5 predates p5en.48xlarge, which the chart lists since v0.5.6" in root["summary"]
    assert {"K8S002", "K8S006"} <= set(root["consequences"])
    assert root["fix"]["commands"][-1] == (
        "helm upgrade --install aws-efa-k8s-device-plugin eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values")


def test_auto_mode_node_is_excluded_by_design_not_broken(tmp_path):
    auto = k.node(NODE, efa=32, labels={"eks.amazonaws.com/compute-type": "auto"})  # Auto Mode advertises EFA itself
    with Cluster(tmp_path, [auto, k.device_plugin_daemonset_helm(desired=0)]) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 0 and report["verdict"] == "healthy", report["headline"]
    for check_id in ("K8S004", "K8S005", "K8S006"):
        assert status_of(report, check_id) == "skip"
    assert "by design" in entry(report, "K8S005")["summary"] and "not a fault" in entry(report, "K8S005")["summary"]
    assert not report["could_not_check"]


# -- node: the plugin pod and its log ---------------------------------------------------------------

def _running_plugin(node_name: str = NODE, **kw):
    ds = k.device_plugin_daemonset_helm()
    return ds, k.device_plugin_pod(ds, node_name, **kw)


def test_healthy_plugin_one_call_per_kind_and_a_bounded_log_read(tmp_path):
    ds, pod = _running_plugin()
    other = k.node("ip-10-0-1-11.ec2.internal")
    _, other_pod = _running_plugin("ip-10-0-1-11.ec2.internal")
    objects = [k.node(NODE), other, ds, pod, other_pod, k.workload_pod("nccl-0", node_name=NODE)]
    with Cluster(tmp_path, objects, {pod["metadata"]["name"]: FOUND}) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
        requests = list(cluster.fake.requests)
    assert code == 0, report["headline"]
    assert "found 32 EFA device(s)" in entry(report, "K8S006")["summary"]
    assert report["api_calls"]["by_operation"] == {
        "kubernetes:get nodes": 1, "kubernetes:get pods/log": 1, "kubernetes:list daemonsets.apps": 1,
        "kubernetes:list pods": 1, "kubernetes:list resourceslices.resource.k8s.io": 1}
    (log_read,) = [path for _, path in requests if path.endswith("/log") or "/log?" in path]
    assert f"/pods/{pod['metadata']['name']}/log?" in log_read and "tailLines=200" in log_read and "limitBytes=65536" in log_read
    (pods_list,) = [path for _, path in requests if path.startswith("/api/v1/pods?")]
    assert "fieldSelector=spec.nodeName%3D" + NODE in pods_list


def test_missing_rbac_for_pods_log_is_a_skip_naming_the_permission(tmp_path):
    ds, pod = _running_plugin()
    with Cluster(tmp_path, [k.node(NODE), ds, pod], {pod["metadata"]["name"]: FOUND}) as cluster:
        cluster.fake.deny("get", "pods/log")
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 3 and report["verdict"] == "inconclusive"  # not a failure: could not decide
    assert status_of(report, "K8S006") == "skip" and not report["causes"]
    (missing,) = [c for c in report["could_not_check"] if c["check_id"] == "K8S006"]
    assert missing["missing_permission"] == "get pods/log" and "Running and Ready" in missing["reason"]
    assert status_of(report, "K8S002") == "pass"


def test_missing_rbac_for_daemonsets_still_finds_the_plugin_pod_by_its_image(tmp_path):
    ds, pod = _running_plugin()
    with Cluster(tmp_path, [k.node(NODE), ds, pod], {pod["metadata"]["name"]: FOUND}) as cluster:
        cluster.fake.deny("list", "daemonsets")
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 3
    missing = {c["check_id"]: c["missing_permission"] for c in report["could_not_check"]}
    assert missing == {"K8S003": "list daemonsets.apps", "K8S004": "list daemonsets.apps", "K8S005": "list daemonsets.apps",
                       "K8S006": "list daemonsets.apps"}


def test_dra_node_is_reported_not_misread_as_a_missing_resource(tmp_path):
    slice_ = k.resource_slice(NODE, "dra.net", [
        {"name": f"pci-0000-{16 + i:02x}-19-0", "attributes": {
            "dra.net/pciDevice": {"string": "Elastic Fabric Adapter (EFA)"}, "dra.net/rdmaDevice": {"string": f"rdmap{16 + i}s25"}}}
        for i in range(32)])
    with Cluster(tmp_path, [k.node(NODE, efa=None), slice_]) as cluster:
        code, report = cluster.node("--only", "K8S", *NO_EC2)
    assert code == 1 and cause_ids(report) == ["K8S008"]
    root = cause(report, "K8S008")
    assert "through DRA (32 device(s), driver dra.net)" in root["summary"]
    assert "K8S002" in root["consequences"] and "K8S003" in root["consequences"]


def test_device_plugin_facts_cost_two_rounds(tmp_path):
    """DaemonSets, the node's pods and the slices start beside GET node; only the log read waits (for the pod)."""
    ds, pod = _running_plugin()
    with Cluster(tmp_path, [k.node(NODE), ds, pod], {pod["metadata"]["name"]: FOUND}) as cluster:
        cluster.fake.delay_s = delay = 0.5
        cluster.fake.reset_requests()
        code, _ = cluster.node("--only", "K8S", *NO_EC2)
        rounds = waves(cluster.fake.arrivals, delay)
    assert code == 0
    paths = [path.split("?")[0] for _, path in cluster.fake.requests]
    by_round = {}
    for path, wave in zip(paths, rounds):
        by_round.setdefault(wave, []).append(path)
    assert max(rounds) == 1, by_round  # 3 or more would mean a call waits for one it does not need
    assert all(path.endswith("/log") for path in by_round[1]), by_round


# -- pod: the spec ------------------------------------------------------------------------------------

def test_pod_without_efa_request(tmp_path):
    with Cluster(tmp_path, [k.node(NODE), k.workload_pod("no-efa-0", node_name=NODE, efa=None)]) as cluster:
        code, report = cluster.pod("default/no-efa-0", "--only", "POD")
    assert code == 1 and cause_ids(report) == ["POD001"]
    for check_id in ("POD004", "POD005"):
        assert status_of(report, check_id) == "skip"


def test_pod_with_one_of_32_efa_devices_is_degraded(tmp_path):
    with Cluster(tmp_path, [k.node(NODE), k.workload_pod("one-nic-0", node_name=NODE, efa=1, owner=STS)]) as cluster:
        code, report = cluster.pod("default/one-nic-0", "--only", "POD")
    assert code == 1 and cause_ids(report) == ["POD004"]
    root = report["causes"][0]
    assert root["severity"] == "medium" and "NCCL will use 1 EFA NIC(s), 1/32 of the node's EFA bandwidth" in root["summary"]
    assert root["fix"]["commands"] == ["kubectl -n default edit statefulset trainer  # set the EFA count in container "
                                       "nccl-tests-worker of StatefulSet trainer's pod template to 32"]


def test_host_infiniband_mount_fails(tmp_path):
    worker = {"name": "worker", "image": "nccl-tests:latest", "securityContext": {"privileged": True},
              "volumeMounts": [{"name": "infiniband", "mountPath": "/dev/infiniband"}, {"name": "shm", "mountPath": "/dev/shm"}],
              "resources": {"limits": {"vpc.amazonaws.com/efa": "8", "hugepages-2Mi": "5120Mi", "memory": "32000Mi"},
                            "requests": {"vpc.amazonaws.com/efa": "8", "hugepages-2Mi": "5120Mi", "memory": "32000Mi"}}}
    volumes = [{"name": "infiniband", "hostPath": {"path": "/dev/infiniband", "type": ""}},
               {"name": "shm", "emptyDir": {"medium": "Memory"}}]
    objects = [k.node(NODE, instance_type="p6-b200.48xlarge", efa=8),
               k.workload_pod("hostib-0", node_name=NODE, containers=[worker], volumes=volumes,
                              node_selector={"node.kubernetes.io/instance-type": "p6-b200.48xlarge"})]
    with Cluster(tmp_path, objects) as cluster:
        code, report = cluster.pod("default/hostib-0", "--only", "POD")
    assert code == 1 and cause_ids(report) == ["POD006"]
    assert "fi_getinfo -61" in report["causes"][0]["summary"]


def test_env_folklore_is_explained(tmp_path):
    env = {"FI_PROVIDER": "efa", "NCCL_P2P_DISABLE": "1", "NCCL_IB_DISABLE": "1", "NCCL_DEBUG": "INFO"}
    with Cluster(tmp_path, [k.node(NODE), k.workload_pod("folk-0", node_name=NODE, env=env)]) as cluster:
        code, report = cluster.pod("default/folk-0", "--only", "POD")
    assert code == 1 and cause_ids(report) == ["POD011"]
    assert status_of(report, "POD009") == "pass"  # FI_PROVIDER=efa is harmless on an EFA node


# -- pod: Pending -------------------------------------------------------------------------------------

def _pending_cluster(pod_tolerates_taint: bool) -> list[dict]:
    tolerations = [{"key": "efa-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"}] if pod_tolerates_taint else []
    pending = k.workload_pod("trainer-0", node_name=None, phase="Pending", owner=STS, tolerations=tolerations)
    nodes = [k.node(f"ip-10-0-1-{i}.ec2.internal", efa=None, taints=[SEED_TAINT]) for i in (20, 21, 22)]
    message = ("0/3 nodes are available: 3 Insufficient vpc.amazonaws.com/efa." if pod_tolerates_taint else
               "0/3 nodes are available: 3 node(s) had untolerated taint {efa-workload: true}.")
    return [*nodes, k.node("ip-10-0-9-9.ec2.internal", instance_type="m5.large", efa=None, gpus=None,
                           labels={"node.kubernetes.io/instance-type": "m5.large"}),
            k.device_plugin_daemonset_helm(desired=0), pending, k.event(pending, message=message)]


def test_pending_with_insufficient_efa_is_ranked_under_the_device_plugin(tmp_path):
    """The seed runbook end to end: the pod tolerates the NodePool taint, the plugin does not."""
    with Cluster(tmp_path, _pending_cluster(pod_tolerates_taint=True)) as cluster:
        code, report = cluster.pod("default/trainer-0", "--only", "POD,K8S", *NO_EC2)
        requests = list(cluster.fake.requests)
    assert code == 1
    assert report["symptom"] == "pending" and report["symptom_source"] == "POD003"
    assert cause_ids(report)[0] == "K8S004"
    root = report["causes"][0]
    assert "POD003" in root["consequences"] and "none of the 3 EFA-capable node(s)" in root["summary"]
    assert status_of(report, "POD008") == "pass"
    (listing,) = [unquote(path) for _, path in requests if path.startswith("/api/v1/nodes?")]
    assert listing == "/api/v1/nodes?labelSelector=node.kubernetes.io/instance-type=p5.48xlarge"


def test_pending_for_an_untolerated_taint_is_not_an_efa_shortage(tmp_path):
    with Cluster(tmp_path, _pending_cluster(pod_tolerates_taint=False)) as cluster:
        code, report = cluster.pod("default/trainer-0", "--only", "POD", *NO_EC2)
    assert code == 1 and cause_ids(report)[0] == "POD008"
    assert "POD003" in report["causes"][0]["consequences"]
    assert "efa-workload=true:NoSchedule" in report["causes"][0]["summary"]
