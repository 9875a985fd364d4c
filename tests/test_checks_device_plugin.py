"""K8S003-K8S008 as pure functions of facts built from realistic objects (no server, no engine)."""

import shlex
from dataclasses import replace

import pytest
from efadoctor.checks.kube.device_plugin_affinity_admits_node import device_plugin_affinity_admits_node as K8S005
from efadoctor.checks.kube.device_plugin_installed import device_plugin_installed as K8S003
from efadoctor.checks.kube.device_plugin_pod_healthy_on_node import device_plugin_pod_healthy_on_node as K8S006
from efadoctor.checks.kube.device_plugin_tolerates_node_taints import device_plugin_tolerates_node_taints as K8S004
from efadoctor.checks.kube.efa_not_published_by_dra import efa_not_published_by_dra as K8S008
from efadoctor.checks.kube.node_efa_count_matches_ec2 import node_efa_count_matches_ec2 as K8S007

from efadoctor.facts.aws import instance_from_api
from efadoctor.facts.device_plugin import daemonset_from_json, plugin_pod_from_json
from efadoctor.facts.dra import resource_slices_from_list
from efadoctor.facts.kube import node_from_json
from efadoctor.model import Confidence, Status
from tests.fakes import kube_objects as k

NODE = "ip-10-0-1-10.ec2.internal"
FOUND_32 = "".join(f"2024/05/24 23:12:29 device: rdmap{79 + i}s0,uverbs{i},/sys/class/infiniband_verbs/uverbs{i},"
                   f"/sys/class/infiniband/rdmap{79 + i}s0\n" for i in range(32)) + "2024/05/24 23:12:29 Registered device plugin with Kubelet\n"
NO_DEVICES = "2026/02/03 15:23:32 Fetching EFA devices.\n2026/02/03 15:23:32 Error to get IB device: %v. No valid EFA devices found\n"


def node(**kw):
    return node_from_json(k.node(NODE, **kw))


def ds(obj=None, **kw):
    return daemonset_from_json(obj if obj is not None else k.device_plugin_daemonset_helm(**kw))


def instance(efa: int, total: int | None = None, instance_type="p5.48xlarge"):
    """A DescribeInstances Instances[] element: `efa` EFA interfaces, the rest plain ENA."""
    total = efa if total is None else total
    nics = [{"NetworkInterfaceId": f"eni-{i:017x}", "InterfaceType": "efa" if i < efa else "interface",
             "Attachment": {"NetworkCardIndex": i, "DeviceIndex": 0}} for i in range(total)]
    return instance_from_api({"InstanceId": "i-0123456789abcdef0", "InstanceType": instance_type, "NetworkInterfaces": nics},
                             region="us-east-1")


def run(check, **facts):
    verdict = check.evaluate(**facts)
    assert verdict.status not in (Status.FAIL, Status.WARN) or verdict.fix is not None
    return verdict


def test_k8s003_missing_plugin_installs_with_the_node_taints():
    verdict = run(K8S003, device_plugin_daemonsets=(), node=node(taints=["nvidia.com/gpu=true:NoSchedule"]))
    assert verdict.status is Status.FAIL
    install = verdict.fix.commands[-1]
    assert install.startswith("helm install aws-efa-k8s-device-plugin --namespace kube-system eks/aws-efa-k8s-device-plugin")
    # --set-string: plain --set would make `true` a boolean, which the API server rejects as a toleration value
    assert shlex.split(install)[-8:] == ["--set-string", "tolerations[0].key=nvidia.com/gpu", "--set-string", "tolerations[0].operator=Equal",
                                          "--set-string", "tolerations[0].value=true", "--set-string", "tolerations[0].effect=NoSchedule"]


def test_k8s003_auto_mode_node_needs_no_chart_and_desired_zero_warns():
    auto = node(labels={"eks.amazonaws.com/compute-type": "auto"})
    assert run(K8S003, device_plugin_daemonsets=(), node=auto).status is Status.SKIP
    idle = run(K8S003, device_plugin_daemonsets=(ds(desired=0),))
    assert idle.status is Status.WARN and "runs on no node" in idle.summary
    assert run(K8S003, device_plugin_daemonsets=(ds(desired=3),)).status is Status.PASS


@pytest.mark.parametrize("taint", ["efa-workload=true:NoSchedule", "nvidia.com/gpu:NoSchedule"])
def test_k8s004_untolerated_taint_gives_the_helm_command_keeping_existing_tolerations(taint):
    efa = {"key": "aws.amazon.com/efa", "operator": "Exists", "effect": "NoSchedule"}
    plugin = ds(release="efa", namespace="ml-infra", tolerations=[efa])
    verdict = run(K8S004, device_plugin_daemonsets=(plugin,), node=node(taints=[taint, "aws.amazon.com/efa:NoSchedule"]))
    assert verdict.status is Status.FAIL and f"does not tolerate taint(s) {taint} of node {NODE}" in verdict.summary
    words = shlex.split(verdict.fix.commands[-1])
    assert words[:9] == ["helm", "upgrade", "--install", "efa", "eks/aws-efa-k8s-device-plugin", "-n", "ml-infra", "--reuse-values", "--version"]
    assert words[9] == "v0.5.30"  # the chart stays where it is
    sets = [w for w in words if w.startswith("tolerations[")]
    assert sets[:3] == ["tolerations[0].key=aws.amazon.com/efa", "tolerations[0].operator=Exists", "tolerations[0].effect=NoSchedule"]
    key = taint.split("=")[0].split(":")[0]
    assert f"tolerations[1].key={key}" in sets and "tolerations[1].effect=NoSchedule" in sets


def test_k8s004_manifest_install_is_patched_in_place():
    plugin = ds(k.device_plugin_daemonset_manifest_v050())
    verdict = run(K8S004, device_plugin_daemonsets=(plugin,), node=node(taints=["nvidia.com/gpu:NoSchedule"]))
    assert verdict.status is Status.FAIL
    command = verdict.fix.commands[0]
    assert command.startswith("kubectl -n kube-system patch daemonset aws-efa-k8s-device-plugin-daemonset --type json -p ")
    assert '"path":"/spec/template/spec/tolerations/-"' in command and '"key":"nvidia.com/gpu","operator":"Exists"' in command


def test_k8s004_passes_condition_and_tolerated_taints():
    gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    plugin = ds(tolerations=[gpu])
    tainted = node(taints=["nvidia.com/gpu=true:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule", "x=y:PreferNoSchedule"])
    assert run(K8S004, device_plugin_daemonsets=(plugin,), node=tainted).status is Status.PASS


def test_k8s004_judges_candidate_nodes_of_a_pending_pod():
    candidates = tuple(node_from_json(k.node(f"ip-10-0-1-{i}.ec2.internal", efa=None, taints=["efa-workload=true:NoSchedule"]))
                       for i in (20, 21))
    verdict = run(K8S004, device_plugin_daemonsets=(ds(),), node=None, candidate_nodes=candidates)
    assert verdict.status is Status.FAIL and "none of the 2 EFA-capable node(s)" in verdict.summary
    assert "tolerations[0].key=efa-workload" in verdict.fix.commands[-1]
    assert run(K8S004, device_plugin_daemonsets=(ds(),), node=None, candidate_nodes=()).status is Status.SKIP


def test_k8s005_p5en_with_a_pre_v056_chart_names_the_version_that_added_it():
    verdict = run(K8S005, device_plugin_daemonsets=(ds(version="v0.5.5", app_version="v0.5.4"),), node=node(instance_type="p5en.48xlarge"))
    assert verdict.status is Status.FAIL
    assert "chart v0.5.5 predates p5en.48xlarge, which the chart lists since v0.5.6" in verdict.summary
    assert verdict.fix.commands[-1] == "helm upgrade --install aws-efa-k8s-device-plugin eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values"


def test_k8s005_p6_b200_before_v059_and_custom_lists():
    old = run(K8S005, device_plugin_daemonsets=(ds(version="v0.5.7"),), node=node(instance_type="p6-b200.48xlarge"))
    assert old.status is Status.FAIL and "since v0.5.9" in old.summary
    custom = ds(instance_types=["p5.48xlarge"])  # chart v0.5.30 with the user's own list
    verdict = run(K8S005, device_plugin_daemonsets=(custom,), node=node(instance_type="p5en.48xlarge"))
    assert verdict.status is Status.FAIL and "sets its own supportedInstanceLabels.values" in verdict.summary
    assert verdict.fix.commands[0].startswith("helm get values aws-efa-k8s-device-plugin -n kube-system -o yaml > ")


def test_k8s005_manifest_gets_a_json_patch_adding_the_type():
    verdict = run(K8S005, device_plugin_daemonsets=(ds(k.device_plugin_daemonset_manifest_v050()),), node=node(instance_type="p5en.48xlarge"))
    assert verdict.status is Status.FAIL
    assert ("nodeSelectorTerms/0/matchExpressions/0/values/-" in verdict.fix.commands[0]
            and '"value":"p5en.48xlarge"' in verdict.fix.commands[0])


def test_k8s005_auto_mode_is_by_design_and_no_efa_type_is_not_the_plugins_fault():
    auto = run(K8S005, device_plugin_daemonsets=(ds(),), node=node(labels={"eks.amazonaws.com/compute-type": "auto"}))
    assert auto.status is Status.SKIP and "by design" in auto.summary and "not a fault" in auto.summary
    no_efa = run(K8S005, device_plugin_daemonsets=(ds(),), node=node(instance_type="g5.2xlarge", efa=None))
    assert no_efa.status is Status.SKIP and "has no EFA" in no_efa.summary
    assert run(K8S005, device_plugin_daemonsets=(ds(),), node=node()).status is Status.PASS


def plugin_pod(log=None, log_error=None, permission=None, **kw):
    pod = plugin_pod_from_json(k.device_plugin_pod(k.device_plugin_daemonset_helm(), NODE, **kw))
    return replace(pod, log_tail=log, log_error=log_error, log_missing_permission=permission)


def test_k8s006_no_devices_on_an_efa_instance_is_the_host_driver():
    pod = plugin_pod(NO_DEVICES, restarts=6, waiting_reason="CrashLoopBackOff")
    verdict = run(K8S006, node=node(efa=None), device_plugin_daemonsets=(ds(),), device_plugin_pod=pod, ec2_instance=instance(32))
    assert verdict.status is Status.FAIL and "host EFA driver" in verdict.summary and "32 EFA interface(s)" in verdict.summary
    assert any("lsmod | grep -w efa" in c for c in verdict.fix.commands)


def test_k8s006_no_devices_on_an_instance_without_efa_blames_the_instance():
    pod = plugin_pod(NO_DEVICES, restarts=6, waiting_reason="CrashLoopBackOff")
    verdict = run(K8S006, node=node(efa=None), device_plugin_daemonsets=(ds(),), device_plugin_pod=pod, ec2_instance=instance(0, 2))
    assert verdict.status is Status.FAIL and "has no EFA interface" in verdict.summary and "not the plugin" in verdict.summary
    assert "AWS002" in K8S006.caused_by  # so the ranker folds it under "the instance has no EFA interface"
    assert verdict.fix.commands[0].startswith("aws ec2 describe-instances --region us-east-1 --instance-ids i-0123456789abcdef0 ")
    unknown_ec2 = run(K8S006, node=node(efa=None), device_plugin_daemonsets=(ds(),), device_plugin_pod=pod)
    assert unknown_ec2.status is Status.FAIL and unknown_ec2.confidence is Confidence.MEDIUM
    # without EC2's view the same command is built from the node's providerID and zone
    target = node(efa=None)
    assert unknown_ec2.fix.commands[0].startswith(
        f"aws ec2 describe-instances --region {target.region} --instance-ids {target.instance_id} ")


def test_k8s006_healthy_unreadable_log_and_missing_pod():
    healthy = run(K8S006, node=node(), device_plugin_daemonsets=(ds(),), device_plugin_pod=plugin_pod(FOUND_32))
    assert healthy.status is Status.PASS and "found 32 EFA device(s)" in healthy.summary
    denied = run(K8S006, node=node(), device_plugin_daemonsets=(ds(),),
                 device_plugin_pod=plugin_pod(None, "forbidden: pods/log", "get pods/log"))
    assert denied.status is Status.SKIP and denied.unavailable and denied.missing_permission == "get pods/log"
    missing = run(K8S006, node=node(efa=None), device_plugin_daemonsets=(ds(),), device_plugin_pod=None)
    assert missing.status is Status.FAIL and "no EFA device plugin pod runs on node" in missing.summary
    auto = node(labels={"eks.amazonaws.com/compute-type": "auto"})
    assert run(K8S006, node=auto, device_plugin_daemonsets=(ds(),), device_plugin_pod=None).status is Status.SKIP
    pulling = run(K8S006, node=node(), device_plugin_daemonsets=(ds(),), device_plugin_pod=plugin_pod(None, "waiting", waiting_reason="ImagePullBackOff"))
    assert pulling.status is Status.FAIL and "cannot pull its image" in pulling.summary


def test_k8s007_counts_against_ec2():
    p5 = node(efa=32)
    assert run(K8S007, node=p5, ec2_instance=instance(32)).status is Status.PASS
    zero = run(K8S007, node=node(efa=None), ec2_instance=instance(32))
    assert zero.status is Status.FAIL and "advertises no vpc.amazonaws.com/efa although EC2 attached 32" in zero.summary
    partial = run(K8S007, node=node(efa=4), device_plugin_daemonsets=(ds(),), ec2_instance=instance(32))
    assert partial.status is Status.WARN and "4 of the 32" in partial.summary
    assert "--field-selector spec.nodeName=" + NODE in partial.fix.commands[0]
    assert run(K8S007, node=node(efa=None), ec2_instance=instance(0, 2)).status is Status.PASS
    assert run(K8S007, node=p5).status is Status.SKIP  # no EC2 view: cannot decide


def test_k8s007_p6_b200_counting_10_instead_of_8():
    p6 = node(instance_type="p6-b200.48xlarge", efa=10)
    old = ds(version="v0.5.9", app_version="v0.5.5")
    verdict = run(K8S007, node=p6, device_plugin_daemonsets=(old,), ec2_instance=instance(8, instance_type="p6-b200.48xlarge"))
    assert verdict.status is Status.FAIL and "advertises 10" in verdict.summary and "EC2 attached" in verdict.summary
    assert "ibp*" in verdict.summary and "v0.5.10" in verdict.summary
    assert verdict.fix.commands[-1].endswith("--reuse-values")
    without_ec2 = run(K8S007, node=p6, device_plugin_daemonsets=(old,))  # the instance type alone allows 8
    assert without_ec2.status is Status.FAIL and "the instance type allows 8" in without_ec2.summary
    fixed = ds(app_version="v0.5.20")
    after = run(K8S007, node=p6, device_plugin_daemonsets=(fixed,), ec2_instance=instance(8, instance_type="p6-b200.48xlarge"))
    assert after.status is Status.FAIL and "ibp*" not in after.summary  # still wrong, but not that bug


def test_k8s008_dra_published_node():
    dranet = k.resource_slice(NODE, "dra.net", [{"name": f"pci-{i}", "attributes": {
        "dra.net/pciDevice": {"string": "Elastic Fabric Adapter (EFA)"}}} for i in range(8)])
    slices = resource_slices_from_list({"items": [dranet]})
    only_dra = run(K8S008, node=node(efa=None), efa_resource_slices=slices)
    assert only_dra.status is Status.WARN and "through DRA (8 device(s), driver dra.net)" in only_dra.summary
    both = run(K8S008, node=node(efa=32), efa_resource_slices=slices)
    assert both.status is Status.WARN and "published twice" in both.summary
    assert run(K8S008, node=node(), efa_resource_slices=()).status is Status.PASS


def test_k8s005_type_no_chart_lists_says_where_to_start_the_list():
    """A values list replaces the chart's: adding one type to an empty values file would drop every default type."""
    verdict = run(K8S005, device_plugin_daemonsets=(ds(),), node=node(instance_type="c5n.18xlarge"))
    assert verdict.status is Status.FAIL and "knows no chart version" in verdict.summary
    assert "helm show values eks/aws-efa-k8s-device-plugin --version v0.5.30" in verdict.fix.commands[0]
    listed = run(K8S005, device_plugin_daemonsets=(ds(instance_types=["p5.48xlarge"]),), node=node(instance_type="p5en.48xlarge"))
    assert "helm show values" not in listed.fix.commands[0]  # that release has its own list already
