"""The device-plugin facts from real shapes: the aws-samples manifest, the chart's DaemonSet, plugin logs, DRA slices."""

from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from efadoctor.facts.device_plugin import (
    DevicePluginDaemonSet,
    chart_first_listing,
    chart_predates,
    daemonset_from_json,
    daemonsets_from_list,
    image_repository,
    image_tag,
    is_daemon_pod,
    is_plugin_pod,
    parse_plugin_log,
    plugin_pod_from_json,
    version_tuple,
)
from efadoctor.facts.dra import resource_slices_from_list
from efadoctor.facts.kube import Taint, node_from_json
from efadoctor.facts.scheduling import efa_candidates
from tests.fakes import kube_objects as k

DATA = Path(__file__).parent / "data"
NODE = "ip-10-0-1-10.ec2.internal"


def _plugin(obj) -> DevicePluginDaemonSet:
    found = daemonset_from_json(obj)
    assert found is not None
    return found


def _yaml_daemonset(name: str) -> dict:
    docs = [d for d in yaml.safe_load_all((DATA / "manifests" / name).read_text()) if d]
    return next(d for d in docs if d.get("kind") == "DaemonSet")


def test_aws_samples_manifest_v050_sample_30():
    raw = _yaml_daemonset("device_plugin_daemonset_v0.5.0.yaml")
    ds = _plugin(raw)
    written = raw["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"][0]["matchExpressions"][0]["values"]
    assert (ds.namespace, ds.name, ds.version, ds.chart_version) == ("kube-system", "aws-efa-k8s-device-plugin-daemonset", "v0.5.0", None)
    assert not ds.helm_managed and ds.helm_release is None
    assert [t.key for t in ds.tolerations] == ["CriticalAddonsOnly", "aws.amazon.com/efa"]
    assert ds.node_affinity_instance_types is not None and "p5.48xlarge" in ds.node_affinity_instance_types
    assert "p5en.48xlarge" not in ds.node_affinity_instance_types
    assert ds.node_affinity_instance_types == tuple(written) and not ds.excludes_auto_mode
    assert ds.pod_selector == {"name": "aws-efa-k8s-device-plugin"} and ds.host_network
    assert ds.affinity_list_position() == (0, 0)


def test_chart_v0530_rendering_excludes_auto_mode_and_is_found_by_container_name():
    ds = _plugin(_yaml_daemonset("helm_rendered_device_plugin.yaml"))
    assert ds.excludes_auto_mode and ds.version == "v0.5.20" and ds.chart_version == "v0.5.30"
    assert ds.helm_managed and ds.helm_release == "aws-efa-k8s-device-plugin"
    assert "p6-b200.48xlarge" in (ds.node_affinity_instance_types or ())


def test_helm_builder_release_namespace_and_values_tolerations():
    gpu = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
    ds = _plugin(k.device_plugin_daemonset_helm(release="efa", namespace="efa-system", tolerations=[gpu]))
    assert ds.name == "efa-aws-efa-k8s-device-plugin" and ds.helm_release == "efa" and ds.helm_namespace == "efa-system"
    assert [t.key for t in ds.tolerations] == ["CriticalAddonsOnly", "nvidia.com/gpu"]
    assert [t.key for t in ds.values_tolerations] == ["nvidia.com/gpu"]  # the chart hard-codes the first


def test_not_a_plugin_and_other_images():
    other = k.device_plugin_daemonset_helm()
    other["spec"]["template"]["spec"]["containers"][0].update(name="nvidia-device-plugin", image="nvcr.io/nvidia/k8s-device-plugin:v0.17.0")
    assert daemon_none(other)
    mirrored = k.device_plugin_daemonset_helm()
    mirrored["spec"]["template"]["spec"]["containers"][0]["image"] = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/efa:v0.5.9"
    ds = _plugin(mirrored)  # still the plugin: its container keeps the chart's name
    assert ds.version == "v0.5.9"
    listed = daemonsets_from_list({"items": [other, mirrored, "junk", {}]})
    assert [d.name for d in listed] == ["aws-efa-k8s-device-plugin"]


def daemon_none(obj) -> bool:
    return daemonset_from_json(obj) is None


def test_image_parts():
    image = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin:v0.5.21-eksbuild.9"
    assert image_tag(image) == "v0.5.21-eksbuild.9" and version_tuple(image_tag(image)) == (0, 5, 21)
    assert image_repository(image).endswith("/eks/aws-efa-k8s-device-plugin")
    assert image_tag("localhost:5000/aws-efa-k8s-device-plugin") is None
    assert image_tag("repo/aws-efa-k8s-device-plugin@sha256:" + "a" * 64) is None
    assert version_tuple("latest") is None


def test_admission_by_allow_list_auto_mode_node_selector_and_fields():
    old = _plugin(k.device_plugin_daemonset_helm(version="v0.5.5", app_version="v0.5.4"))
    p5en = node_from_json(k.node(NODE, instance_type="p5en.48xlarge"))
    result = old.admits(p5en)
    assert not result.admitted and result.instance_type_listed is False
    assert "node.kubernetes.io/instance-type In" in result.unmet[0]
    assert chart_first_listing("p5en.48xlarge") == "v0.5.6" and chart_predates(old, "p5en.48xlarge") == "v0.5.6"
    new = _plugin(k.device_plugin_daemonset_helm())
    assert new.admits(p5en).admitted and chart_predates(new, "p5en.48xlarge") is None
    auto = node_from_json(k.node(NODE, labels={"eks.amazonaws.com/compute-type": "auto"}))
    assert not new.admits(auto).admitted and new.admits(auto).auto_mode_excluded
    assert old.admits(auto).admitted  # before v0.5.6 nothing excluded Auto Mode
    selected = k.device_plugin_daemonset_helm()
    selected["spec"]["template"]["spec"]["nodeSelector"] = {"efa": "present"}
    admission = _plugin(selected).admits(node_from_json(k.node(NODE)))
    assert not admission.admitted and admission.unmet == ("nodeSelector efa=present",)
    pinned_ds = k.device_plugin_daemonset_helm()  # a daemon pod's own affinity: a matchFields term on metadata.name
    pinned_ds["spec"]["template"]["spec"]["affinity"] = k.device_plugin_pod(pinned_ds, NODE)["spec"]["affinity"]
    assert _plugin(pinned_ds).admits(node_from_json(k.node(NODE))).admitted
    assert not _plugin(pinned_ds).admits(node_from_json(k.node("ip-10-0-1-11.ec2.internal"))).admitted


def test_tolerations_rule_and_daemon_controller_defaults():
    ds = _plugin(k.device_plugin_daemonset_manifest_v050())
    taints = [
        Taint("efa-workload", "true", "NoSchedule"),
        Taint("aws.amazon.com/efa", None, "NoSchedule"),  # the manifest tolerates it
        Taint("node.kubernetes.io/unschedulable", None, "NoSchedule"),  # daemon pods tolerate cordons
        Taint("node.kubernetes.io/network-unavailable", None, "NoSchedule"),  # hostNetwork daemon pods too
        Taint("nvidia.com/gpu", None, "PreferNoSchedule"),  # never blocks
    ]
    assert ds.untolerated(taints) == (taints[0],)


def test_plugin_log_samples_20_and_21():
    text = (DATA / "logs" / "20_efa_device_plugin_logs_found_devices.txt").read_text()
    found = parse_plugin_log(text)
    assert ("rdmap79s0", "uverbs0") in found.devices and ("rdmap98s0", "uverbs6") in found.devices
    assert found.registered and found.serving
    p5_topology = next(line for line in text.splitlines() if "32 EFAs" in line)
    assert parse_plugin_log(p5_topology).topology_efas == 32 and parse_plugin_log(p5_topology).device_count == 32
    assert not found.no_devices
    missing = parse_plugin_log((DATA / "logs" / "21_efa_device_plugin_logs_no_devices_crashloop.txt").read_text())
    assert missing.no_devices and not missing.devices
    assert missing.no_devices_line is not None and missing.no_devices_line.endswith("No valid EFA devices found")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_plugin_log_parser_never_raises(text):
    parse_plugin_log(text)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["metadata", "spec", "status", "template", "containers", "image", "name", "tolerations", "affinity", "items",
         "nodeAffinity", "labels", "devices", "driver", "attributes", "containerStatuses", "state", "waiting"]), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_object_parsers_never_raise(obj):
    if isinstance(obj, dict):
        daemonset_from_json(obj)
        daemonsets_from_list(obj)
        plugin_pod_from_json(obj)
        is_daemon_pod(obj)
        resource_slices_from_list(obj)


def test_plugin_pod_state_and_ownership():
    ds_obj = k.device_plugin_daemonset_helm()
    ds = _plugin(ds_obj)
    crashing = k.device_plugin_pod(ds_obj, NODE, restarts=4, waiting_reason="CrashLoopBackOff")
    pod = plugin_pod_from_json(crashing)
    assert pod.waiting_reason == "CrashLoopBackOff" and pod.restarts == 4 and not pod.ready and not pod.running
    assert pod.daemonset == ds.name and pod.last_termination == "Completed (exit 0)"
    assert is_daemon_pod(crashing) and is_plugin_pod(pod, (ds,)) and pod.runs_plugin
    renamed = k.device_plugin_pod(k.device_plugin_daemonset_helm(), NODE)
    renamed["spec"]["containers"][0].update(name="efa", image="registry.example.com/mirror/efa:v1")
    assert is_plugin_pod(plugin_pod_from_json(renamed), (ds,)) and not is_plugin_pod(plugin_pod_from_json(renamed), ())
    workload = k.workload_pod("nccl-0", node_name=NODE)
    assert not is_daemon_pod(workload) and not is_plugin_pod(plugin_pod_from_json(workload), (ds,))


def test_dra_slices_recognise_efa_by_driver_or_device_attributes():
    dranet = k.resource_slice(NODE, "dra.net", [
        {"name": "pci-0000-10-19-0", "attributes": {
            "dra.net/pciDevice": {"string": "Elastic Fabric Adapter (EFA)"}, "dra.net/rdma": {"bool": True},
            "dra.net/rdmaDevice": {"string": "rdmap16s25"}}},
        {"name": "eth0", "attributes": {"dra.net/rdma": {"bool": False}, "dra.net/ifName": {"string": "ens32"}}},
    ])
    gpu = k.resource_slice(NODE, "gpu.nvidia.com", ["gpu-0", "gpu-1"])
    named = k.resource_slice(NODE, "efa.example.com", ["dev-0"])
    slices = resource_slices_from_list({"items": [dranet, gpu, named]})
    assert sorted((s.driver, s.devices, s.total_devices) for s in slices) == [
        ("dra.net", ("pci-0000-10-19-0",), 2), ("efa.example.com", ("dev-0",), 1)]


def test_efa_candidates_keep_efa_capable_and_unknown_types():
    nodes = [node_from_json(k.node(f"n{i}", instance_type=t, efa=None)) for i, t in
             enumerate(["p5.48xlarge", "g5.2xlarge", "x9.unknown"])]
    nodes.append(node_from_json(k.node("n9", instance_type="g5.2xlarge", efa=1)))  # advertises EFA: kept whatever the data says
    assert [n.name for n in efa_candidates(nodes)] == ["n0", "n2", "n9"]
