"""Kubernetes against EC2: the device plugin and node capacity judged with the instance's real interfaces.

The fake API server serves the node, the plugin DaemonSet, its pod and its log; the fake EC2 (moto with
the EFA patch) serves the instance behind the node's providerID. Both are real HTTP endpoints reached
by the unmodified clients, configured only by a kubeconfig and the standard AWS environment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fakes import ec2_scenarios
from tests.fakes import kube_objects as k
from tests.fakes.kube import FakeKube
from tests.helpers import cause_ids, invoke_json, status_of

ONLY = ("--only", "K8S,AWS001,AWS002,AWS003")
NO_DEVICES = "2026/02/03 15:23:32 Fetching EFA devices.\n2026/02/03 15:23:32 Error to get IB device: %v. No valid EFA devices found\n"
REGISTERED = ("2024/08/09 23:55:59 Starting to serve on /var/lib/kubelet/device-plugins/aws-efa-device-plugin.sock\n"
              "2024/08/09 23:55:59 Registered device plugin with Kubelet\n")


def node_for(instance_id: str, instance_type: str, efa: int | None, name: str = "ip-10-0-1-10.ec2.internal", **kw) -> dict:
    return k.node(name, instance_type=instance_type, zone="us-east-1a", instance_id=instance_id, efa=efa, **kw)


def diagnose(tmp_path: Path, node: dict, *objects: dict, log: str | None = None) -> tuple[int, dict]:
    with FakeKube([node, *objects]) as kube:
        for obj in objects:
            if obj["kind"] == "Pod" and log is not None:
                kube.set_log(obj["metadata"]["namespace"], obj["metadata"]["name"], log)
        kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
        return invoke_json("run", "--node", node["metadata"]["name"], "--kubeconfig", kubeconfig, *ONLY)


def cause(report: dict, check_id: str) -> dict:
    return next(c for c in report["causes"] if c["check_id"] == check_id)


def summary(report: dict, check_id: str) -> str:
    return next(c["summary"] for c in report["checks"] if c["check_id"] == check_id)


def crashing_plugin(node_name: str) -> tuple[dict, dict]:
    ds = k.device_plugin_daemonset_helm()
    return ds, k.device_plugin_pod(ds, node_name, restarts=7, waiting_reason="CrashLoopBackOff")


def test_no_devices_on_an_efa_instance_means_the_host_driver(ec2, tmp_path):
    scenario = ec2_scenarios.healthy_p5(ec2)
    node = node_for(scenario.instance_id, "p5.48xlarge", efa=None, name=scenario.private_dns_name)
    code, report = diagnose(tmp_path, node, *crashing_plugin(scenario.private_dns_name), log=NO_DEVICES)
    assert code == 1
    assert status_of(report, "AWS002") == "pass"
    assert cause_ids(report)[0] == "K8S006"
    root = cause(report, "K8S006")
    assert f"EC2 attached 32 EFA interface(s) to {scenario.instance_id}" in root["summary"] and "host EFA driver" in root["summary"]
    assert {"K8S002", "K8S007"} <= set(root["consequences"])


def test_no_devices_on_an_instance_without_efa_is_a_consequence_of_aws002(ec2, tmp_path):
    scenario = ec2_scenarios.no_efa_eni(ec2)
    node = node_for(scenario.instance_id, "p5.48xlarge", efa=None, name=scenario.private_dns_name)
    code, report = diagnose(tmp_path, node, *crashing_plugin(scenario.private_dns_name), log=NO_DEVICES)
    assert code == 1
    assert cause_ids(report)[0] == "AWS002"
    assert "K8S006" in cause(report, "AWS002")["consequences"]
    assert "has no EFA interface" in summary(report, "K8S006") and "not the plugin" in summary(report, "K8S006")
    assert status_of(report, "K8S007") == "pass"  # 0 advertised, 0 attached: consistent


def _launch_p6_b200(ec2: Any) -> str:
    """A p6-b200.48xlarge with one EFA per network card (8), as the EC2 user guide lays them out."""
    vpc = ec2.create_vpc(CidrBlock="10.60.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.60.0.0/20", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="p6-b200-efa", Description="efadoctor test", VpcId=vpc)["GroupId"]
    interfaces = [dict(nic, SubnetId=subnet, Groups=[group]) for nic in ec2_scenarios.efa_on_every_card(8)]
    return ec2.run_instances(ImageId=ec2_scenarios.AMI_ID, MinCount=1, MaxCount=1, InstanceType="p6-b200.48xlarge",
                             NetworkInterfaces=interfaces)["Instances"][0]["InstanceId"]


def test_p6_b200_advertising_10_instead_of_8(ec2, tmp_path):
    instance_id = _launch_p6_b200(ec2)
    node = node_for(instance_id, "p6-b200.48xlarge", efa=10)
    ds = k.device_plugin_daemonset_helm(version="v0.5.9", app_version="v0.5.5")
    pod = k.device_plugin_pod(ds, node["metadata"]["name"])
    code, report = diagnose(tmp_path, node, ds, pod, log=REGISTERED)
    assert code == 1 and cause_ids(report) == ["K8S007"]
    root = report["causes"][0]
    assert f"advertises 10 vpc.amazonaws.com/efa but EC2 attached to {instance_id} 8" in root["summary"]
    assert "plugin image v0.5.5" in root["summary"] and "ibp*" in root["summary"] and "v0.5.10" in root["summary"]
    assert root["fix"]["commands"][-1] == "helm upgrade --install aws-efa-k8s-device-plugin eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values"
    assert status_of(report, "AWS003") == "pass" and status_of(report, "K8S006") == "pass"


def test_zero_advertised_against_32_attached_is_folded_under_the_taint(ec2, tmp_path):
    scenario = ec2_scenarios.healthy_p5(ec2)
    node = node_for(scenario.instance_id, "p5.48xlarge", efa=None, name=scenario.private_dns_name, taints=["nvidia.com/gpu:NoSchedule"])
    code, report = diagnose(tmp_path, node, k.device_plugin_daemonset_helm(desired=0))
    assert code == 1 and cause_ids(report)[0] == "K8S004"
    assert {"K8S002", "K8S006", "K8S007"} <= set(cause(report, "K8S004")["consequences"])
    assert "advertises no vpc.amazonaws.com/efa although EC2 attached 32" in summary(report, "K8S007")


def test_fewer_advertised_than_attached_and_fewer_attached_than_possible(ec2, tmp_path):
    full = ec2_scenarios.healthy_p5(ec2)
    ds = k.device_plugin_daemonset_helm()
    node = node_for(full.instance_id, "p5.48xlarge", efa=16, name=full.private_dns_name)
    code, report = diagnose(tmp_path, node, ds, k.device_plugin_pod(ds, full.private_dns_name), log=REGISTERED)
    assert code == 1 and cause_ids(report) == ["K8S007"]
    assert status_of(report, "K8S007") == "warn"
    assert "advertises 16 of the 32 EFA interface(s)" in report["causes"][0]["summary"]
    partial = ec2_scenarios.partial_efa(ec2)  # 4 of 32 attached, and the node advertises exactly those 4
    node = node_for(partial.instance_id, "p5.48xlarge", efa=4, name=partial.private_dns_name)
    code, report = diagnose(tmp_path, node, ds, k.device_plugin_pod(ds, partial.private_dns_name), log=REGISTERED)
    assert status_of(report, "K8S007") == "pass" and status_of(report, "AWS003") != "pass"
