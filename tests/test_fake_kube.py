"""The fake Kubernetes API server, driven by the real `kubernetes` client through a kubeconfig.

These tests pin the fake to the behaviour of a real API server that efadoctor's collectors rely on
(selectors, Status errors, RBAC denials, logs, the exec channel protocol), so collector tests built
on the fake mean something. The client is configured only by `load_kube_config(config_file=...)`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import kubernetes_validate
import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from tests.fakes import kube_objects as ko
from tests.fakes.kube import UNREACHABLE_CONTEXT, ExecResult, FakeKube

P5 = "ip-10-0-1-10.us-east-1.compute.internal"
P5_TAINTED = "ip-10-0-1-11.us-east-1.compute.internal"
G5 = "ip-10-0-2-20.us-east-1.compute.internal"
CPU = "ip-10-0-3-30.us-east-1.compute.internal"

# samples/20_efa_device_plugin_logs_found_devices.txt, SOURCE (b): https://github.com/aws/eks-charts/pull/1110
PLUGIN_LOG = """\
2024/05/24 23:12:29 Fetching EFA devices.
2024/05/24 23:12:29 device: rdmap79s0,uverbs0,/sys/class/infiniband_verbs/uverbs0,/sys/class/infiniband/rdmap79s0
2024/05/24 23:12:29 device: rdmap80s0,uverbs1,/sys/class/infiniband_verbs/uverbs1,/sys/class/infiniband/rdmap80s0
2024/05/24 23:12:29 device: rdmap81s0,uverbs2,/sys/class/infiniband_verbs/uverbs2,/sys/class/infiniband/rdmap81s0
"""
# samples/21_efa_device_plugin_logs_no_devices_crashloop.txt,
# SOURCE (a): https://github.com/aws/sagemaker-hyperpod-cli/issues/367
PLUGIN_NO_DEVICES_LOG = """\
2026/02/03 15:23:32 Fetching EFA devices.
2026/02/03 15:23:32 Error to get IB device: %v. No valid EFA devices found
"""
# samples/local-fi_info-p-efa.txt (libfabric 1.17.0, no EFA device): exit code 61, this text on stderr
FI_INFO_ENODATA = b"fi_getinfo: -61\n"
# samples/01_fi_info_efa_ok_ec2-userguide_libfabric1x.txt, SOURCE: https://github.com/awsdocs/amazon-ec2-user-guide/
# blob/d289961421fa79447add68ca26e3ec5ae96fdf41/doc_source/efa-start.md (markdown indentation removed)
FI_INFO_OK = b"""provider: efa
    fabric: EFA-fe80::94:3dff:fe89:1b70
    domain: efa_0-rdm
    version: 2.0
    type: FI_EP_RDM
    protocol: FI_PROTO_EFA
"""

HELM_DS = ko.device_plugin_daemonset_helm(desired=2, ready=1)


def cluster_objects() -> list[dict[str, Any]]:
    pending = ko.workload_pod("nccl-pending-0", "training")
    running = ko.workload_pod("nccl-0", "training", P5, env={"NCCL_DEBUG": "INFO"}, capabilities=["IPC_LOCK"])
    return [
        ko.node(P5),
        ko.node(P5_TAINTED, taints=["nvidia.com/gpu=:NoSchedule"], efa=None, labels={"team": "ml"}),
        ko.node(G5, instance_type="g5.8xlarge", efa=1, gpus=1, hugepages_2mi="0"),
        ko.node(CPU, instance_type="c5.large", efa=None, gpus=None, labels={"team": "infra"}),
        HELM_DS,
        ko.device_plugin_daemonset_manifest_v050(),
        ko.device_plugin_pod(HELM_DS, P5),
        ko.device_plugin_pod(HELM_DS, G5, ready=False, restarts=4, waiting_reason="CrashLoopBackOff"),
        running,
        pending,
        ko.workload_pod("debug", "training", P5, efa=None, gpus=None, hugepages=None, phase="Succeeded"),
        ko.event(pending),
        ko.event(running, reason="Pulled", message='Successfully pulled image "nccl-tests:latest"', type="Normal"),
    ]


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeKube]:
    with FakeKube(cluster_objects()) as server:
        server.write_kubeconfig(tmp_path / "kubeconfig")
        yield server


def api_client(kubeconfig: Path | None, context: str | None = None) -> client.ApiClient:
    """A client configured only from the kubeconfig file, as efadoctor configures its own."""
    assert kubeconfig is not None
    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), context=context, client_configuration=configuration)
    return client.ApiClient(configuration)


@pytest.fixture
def core(fake: FakeKube) -> client.CoreV1Api:
    return client.CoreV1Api(api_client(fake.kubeconfig))


def error_body(error: ApiException) -> dict[str, Any]:
    return json.loads(error.body)


# --- builders --------------------------------------------------------------------------------

BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "node p5": lambda: ko.node(P5),
    "node tainted, no efa": lambda: ko.node(P5_TAINTED, taints=["nvidia.com/gpu=:NoSchedule"], efa=None),
    "node cpu": lambda: ko.node(CPU, instance_type="c5.large", efa=None, gpus=None),
    "daemonset helm v0.5.30": lambda: ko.device_plugin_daemonset_helm(),
    "daemonset helm v0.5.5 release efa": lambda: ko.device_plugin_daemonset_helm("v0.5.5", "v0.5.4", release="efa"),
    "daemonset manifest v0.5.0": ko.device_plugin_daemonset_manifest_v050,
    "plugin pod running": lambda: ko.device_plugin_pod(HELM_DS, P5),
    "plugin pod crashloop": lambda: ko.device_plugin_pod(HELM_DS, G5, ready=False, restarts=3,
                                                         waiting_reason="CrashLoopBackOff"),
    "workload pod running": lambda: ko.workload_pod("nccl-0", "training", P5, env={"FI_PROVIDER": "efa"},
                                                    owner={"apiVersion": "batch/v1", "kind": "Job", "name": "nccl"}),
    "workload pod pending": lambda: ko.workload_pod("nccl-pending-0", "training"),
    "workload pod succeeded": lambda: ko.workload_pod("debug", "training", P5, efa=None, phase="Succeeded"),
    "plugin pod of manifest v0.5.0": lambda: ko.device_plugin_pod(ko.device_plugin_daemonset_manifest_v050(), P5),
    "event failed scheduling": lambda: ko.event(ko.workload_pod("nccl-pending-0", "training")),
}


@pytest.mark.parametrize("name", BUILDERS)
def test_builder_output_is_schema_valid(name: str) -> None:
    kubernetes_validate.validate(BUILDERS[name](), "1.31.0", strict=True)


def test_resource_slice_is_valid_against_the_first_schema_with_resource_v1() -> None:
    slice_ = ko.resource_slice(P5, "dra.example.com", ["efa-0", "efa-1"])
    kubernetes_validate.validate(slice_, "1.34.0", strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):  # resource.k8s.io/v1 is GA from 1.34
        kubernetes_validate.validate(slice_, "1.31.0", strict=True)


def test_schema_validation_catches_a_misspelled_field() -> None:
    """The control for the validation tests above: strict mode does reject a wrong field name."""
    pod = ko.workload_pod("nccl-0", "training", P5)
    pod["spec"]["nodename"] = pod["spec"].pop("nodeName")
    with pytest.raises(kubernetes_validate.ValidationError, match="nodename"):
        kubernetes_validate.validate(pod, "1.31.0", strict=True)


def test_builders_follow_the_chart_and_samples() -> None:
    helm = ko.device_plugin_daemonset_helm()
    assert helm["spec"]["selector"] == {"matchLabels": {"name": "aws-efa-k8s-device-plugin"}}
    assert helm["spec"]["template"]["spec"]["tolerations"] == [{"key": "CriticalAddonsOnly", "operator": "Exists"}]
    terms = helm["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    assert terms[1] == {"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["auto"]}
    assert "p5.48xlarge" in terms[0]["values"] and "p5en.48xlarge" in terms[0]["values"]
    old = ko.device_plugin_daemonset_helm("v0.5.5", "v0.5.4", release="efa")
    assert old["metadata"]["name"] == "efa-aws-efa-k8s-device-plugin"
    old_terms = old["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    assert len(old_terms) == 1 and "p5en.48xlarge" not in old_terms[0]["values"]
    manifest = ko.device_plugin_daemonset_manifest_v050()
    assert manifest["metadata"]["name"] == "aws-efa-k8s-device-plugin-daemonset"
    manifest_terms = manifest["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
    assert len(manifest_terms[0]["values"]) == 107  # sample 30 lists 107 instance types
    node = ko.node(P5, instance_id="i-0123456789abcdef0")
    assert node["spec"]["providerID"] == "aws:///us-east-1a/i-0123456789abcdef0"
    assert node["status"]["allocatable"]["vpc.amazonaws.com/efa"] == "32"
    assert "vpc.amazonaws.com/efa" not in ko.node(CPU, efa=None)["status"]["capacity"]
    limits = ko.workload_pod("w", node_name=P5)["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": "8", "hugepages-2Mi": "5120Mi", "vpc.amazonaws.com/efa": "32",
                      "memory": "32000Mi"}


# --- reads and selectors ---------------------------------------------------------------------

def test_nodes_by_label_selector(core: client.CoreV1Api) -> None:
    def names(selector: str) -> set[str]:
        return {n.metadata.name for n in core.list_node(label_selector=selector).items}

    assert names("node.kubernetes.io/instance-type=p5.48xlarge") == {P5, P5_TAINTED}
    assert names("node.kubernetes.io/instance-type==g5.8xlarge") == {G5}
    assert names("node.kubernetes.io/instance-type in (g5.8xlarge, c5.large)") == {G5, CPU}
    assert names("node.kubernetes.io/instance-type notin (p5.48xlarge)") == {G5, CPU}
    assert names("team!=ml") == {P5, G5, CPU}  # != also matches nodes without the label
    assert names("team") == {P5_TAINTED, CPU}
    assert names("!team") == {P5, G5}
    assert names("team=infra,kubernetes.io/os=linux") == {CPU}
    with pytest.raises(ApiException) as error:
        core.list_node(label_selector="team in ml")
    assert error.value.status == 400


def test_node_get_and_allocatable(core: client.CoreV1Api) -> None:
    node = core.read_node(P5)
    assert node.status.allocatable["vpc.amazonaws.com/efa"] == "32"
    assert node.spec.provider_id.startswith("aws:///us-east-1a/i-0")
    assert "vpc.amazonaws.com/efa" not in core.read_node(P5_TAINTED).status.allocatable
    assert core.read_node(P5_TAINTED).spec.taints[0].key == "nvidia.com/gpu"
    with pytest.raises(ApiException) as error:
        core.read_node("ip-10-9-9-9.us-east-1.compute.internal")
    assert error.value.status == 404
    body = error_body(error.value)
    assert body["message"] == 'nodes "ip-10-9-9-9.us-east-1.compute.internal" not found'
    assert body["reason"] == "NotFound"
    assert body["details"] == {"name": "ip-10-9-9-9.us-east-1.compute.internal", "kind": "nodes"}


def test_pods_by_field_selector(core: client.CoreV1Api) -> None:
    def names(namespace: str | None = None, **selectors: str) -> set[str]:
        if namespace:
            return {p.metadata.name for p in core.list_namespaced_pod(namespace, **selectors).items}
        return {p.metadata.name for p in core.list_pod_for_all_namespaces(**selectors).items}

    on_p5 = names(field_selector=f"spec.nodeName={P5}")
    assert on_p5 == {"nccl-0", "debug", ko.device_plugin_pod(HELM_DS, P5)["metadata"]["name"]}
    assert names("training", field_selector=f"spec.nodeName=={P5},status.phase!=Succeeded") == {"nccl-0"}
    assert names("training", field_selector="spec.nodeName=") == {"nccl-pending-0"}
    assert names(field_selector="status.phase=Pending") == {"nccl-pending-0"}
    assert names(field_selector="metadata.namespace=kube-system", label_selector="name=aws-efa-k8s-device-plugin") == {
        ko.device_plugin_pod(HELM_DS, P5)["metadata"]["name"], ko.device_plugin_pod(HELM_DS, G5)["metadata"]["name"]}
    assert names("training", field_selector="metadata.name=nccl-0") == {"nccl-0"}
    with pytest.raises(ApiException) as error:
        core.list_pod_for_all_namespaces(field_selector="spec.hostname=x")
    assert error.value.status == 400
    assert error_body(error.value)["message"] == "field label not supported: spec.hostname"
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod("nope", "training")
    assert error_body(error.value)["message"] == 'pods "nope" not found'


def test_list_shape_and_pagination(fake: FakeKube, core: client.CoreV1Api) -> None:
    raw = core.list_node(_preload_content=False)
    body = json.loads(raw.data)
    assert body["kind"] == "NodeList" and body["apiVersion"] == "v1"
    assert int(body["metadata"]["resourceVersion"]) > 1000
    assert "kind" not in body["items"][0]  # typed lists carry no per-item kind, as from a real server
    first = core.list_node(limit=3)
    assert len(first.items) == 3 and first.metadata.remaining_item_count == 1
    rest = core.list_node(limit=3, _continue=first.metadata._continue)
    assert [n.metadata.name for n in first.items + rest.items] == sorted([P5, P5_TAINTED, G5, CPU])
    watched = core.list_node(watch=True, timeout_seconds=0, label_selector="team", _preload_content=False)
    events = [json.loads(line) for line in watched.data.splitlines()]
    assert [(e["type"], e["object"]["kind"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "Node", P5_TAINTED), ("ADDED", "Node", CPU)]


def test_daemonsets_all_namespaces_and_by_name(fake: FakeKube) -> None:
    apps = client.AppsV1Api(api_client(fake.kubeconfig))
    helm = apps.list_daemon_set_for_all_namespaces(label_selector="app.kubernetes.io/name=aws-efa-k8s-device-plugin")
    assert [d.metadata.name for d in helm.items] == ["aws-efa-k8s-device-plugin"]
    assert helm.items[0].status.number_ready == 1 and helm.items[0].status.desired_number_scheduled == 2
    assert len(apps.list_namespaced_daemon_set("kube-system").items) == 2
    assert apps.list_namespaced_daemon_set("default").items == []
    manifest = apps.read_namespaced_daemon_set("aws-efa-k8s-device-plugin-daemonset", "kube-system")
    assert manifest.spec.template.spec.containers[0].image.endswith("/eks/aws-efa-k8s-device-plugin:v0.5.0")
    with pytest.raises(ApiException) as error:
        apps.read_namespaced_daemon_set("efa", "kube-system")
    assert error_body(error.value)["message"] == 'daemonsets.apps "efa" not found'
    assert error_body(error.value)["details"] == {"name": "efa", "group": "apps", "kind": "daemonsets"}


def test_events_by_involved_object(core: client.CoreV1Api) -> None:
    pending_uid = ko.uid_for("Pod", "training", "nccl-pending-0")
    by_name = core.list_namespaced_event(
        "training", field_selector="involvedObject.kind=Pod,involvedObject.name=nccl-pending-0")
    assert [e.reason for e in by_name.items] == ["FailedScheduling"]
    assert "Insufficient vpc.amazonaws.com/efa" in by_name.items[0].message
    by_uid = core.list_event_for_all_namespaces(field_selector=f"involvedObject.uid={pending_uid}")
    assert [e.involved_object.name for e in by_uid.items] == ["nccl-pending-0"]
    warnings = core.list_event_for_all_namespaces(field_selector="type=Warning,involvedObject.namespace=training")
    assert len(warnings.items) == 1
    assert len(core.list_namespaced_event("training").items) == 2
    with pytest.raises(ApiException) as error:
        core.list_namespaced_event("training", field_selector="involvedObject.node=x")
    assert error_body(error.value)["message"] == "field label not supported: involvedObject.node"


def test_resource_slices_only_when_dra_is_served(fake: FakeKube) -> None:
    resource = client.ResourceV1Api(api_client(fake.kubeconfig))
    with pytest.raises(ApiException) as error:
        resource.list_resource_slice()
    assert error.value.status == 404
    fake.add(ko.resource_slice(P5, "dra.example.com", ["efa-0", "efa-1"]))
    fake.add(ko.resource_slice(G5, "dra.example.com", ["efa-0"]))
    slices = resource.list_resource_slice(field_selector=f"spec.nodeName={P5}")
    assert [len(s.spec.devices) for s in slices.items] == [2]
    assert "resource.k8s.io" in [g.name for g in client.ApisApi(resource.api_client).get_api_versions().groups]


# --- logs ------------------------------------------------------------------------------------

def test_pod_logs_tail_limit_previous_and_container(fake: FakeKube, core: client.CoreV1Api) -> None:
    running = ko.device_plugin_pod(HELM_DS, P5)["metadata"]["name"]
    crashing = ko.device_plugin_pod(HELM_DS, G5)["metadata"]["name"]
    fake.set_log("kube-system", running, PLUGIN_LOG)
    fake.set_log("kube-system", crashing, PLUGIN_NO_DEVICES_LOG, previous=True)
    assert core.read_namespaced_pod_log(running, "kube-system") == PLUGIN_LOG
    assert core.read_namespaced_pod_log(running, "kube-system", tail_lines=2) == "".join(
        PLUGIN_LOG.splitlines(keepends=True)[-2:])
    first_line = "2024/05/24 23:12:29 Fetching EFA devices."
    assert core.read_namespaced_pod_log(running, "kube-system", limit_bytes=len(first_line)) == first_line
    assert "No valid EFA devices found" in core.read_namespaced_pod_log(
        crashing, "kube-system", container="aws-efa-k8s-device-plugin", previous=True)
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log(running, "kube-system", previous=True)
    assert error.value.status == 400
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log(running, "kube-system", container="efa")
    assert error_body(error.value)["message"] == f"container efa is not valid for pod {running}"


def test_pod_log_denied_by_rbac(fake: FakeKube, core: client.CoreV1Api) -> None:
    running = ko.device_plugin_pod(HELM_DS, P5)["metadata"]["name"]
    fake.set_log("kube-system", running, PLUGIN_LOG)
    fake.deny("get", "pods", subresource="log", namespace="kube-system")
    with pytest.raises(ApiException) as error:
        core.read_namespaced_pod_log(running, "kube-system")
    assert error.value.status == 403
    body = error_body(error.value)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        f'pods "{running}" is forbidden: User "system:serviceaccount:default:efadoctor" cannot get resource '
        f'"pods/log" in API group "" in the namespace "kube-system"')
    assert core.read_namespaced_pod(running, "kube-system").metadata.name == running  # only the log is denied


def test_list_denied_at_cluster_scope(fake: FakeKube, core: client.CoreV1Api) -> None:
    fake.deny("list", "nodes")
    with pytest.raises(ApiException) as error:
        core.list_node()
    assert error_body(error.value)["message"] == (
        'nodes is forbidden: User "system:serviceaccount:default:efadoctor" cannot list resource "nodes" '
        'in API group "" at the cluster scope')
    assert core.read_node(P5).metadata.name == P5


# --- exec ------------------------------------------------------------------------------------

def close_ws(ws: Any) -> None:
    """Close a WSClient for good: after the server's close frame, WSClient.close() leaves the socket open."""
    ws.close()
    ws.sock.shutdown()


def run_exec(fake: FakeKube, pod: str, command: list[str], namespace: str = "training",
             **kwargs: Any) -> tuple[str, str, str, Any]:
    """Exec as efadoctor must: a dedicated ApiClient, _preload_content=False, raw channel 3."""
    exec_api = client.CoreV1Api(api_client(fake.kubeconfig))
    ws = stream(exec_api.connect_get_namespaced_pod_exec, pod, namespace, command=command, stderr=True,
                stdin=False, stdout=True, tty=False, _preload_content=False, **kwargs)
    ws.run_forever(timeout=5)
    close_ws(ws)
    return ws.read_stdout(), ws.read_stderr(), ws.read_channel(3), ws


def test_exec_success_and_non_zero_exit(fake: FakeKube) -> None:
    calls = []

    def handler(namespace: str, pod: str, container: str, argv: list[str], stdin: bytes | None) -> ExecResult:
        calls.append((namespace, pod, container, argv, stdin))
        if argv == ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"]:
            return ExecResult(stdout=FI_INFO_OK)
        return ExecResult(stderr=FI_INFO_ENODATA, exit_code=61)

    fake.exec_handler = handler
    stdout, stderr, status, ws = run_exec(fake, "nccl-0", ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"])
    assert stdout == FI_INFO_OK.decode() and stderr == ""
    assert json.loads(status) == {"metadata": {}, "status": "Success"}
    assert ws.subprotocol == "v5.channel.k8s.io"
    assert calls == [("training", "nccl-0", "nccl-tests-worker", ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"], None)]

    stdout, stderr, status, ws = run_exec(fake, "nccl-0", ["fi_info", "-p", "efa"])
    assert (stdout, stderr) == ("", FI_INFO_ENODATA.decode())
    parsed = json.loads(status)
    assert parsed["reason"] == "NonZeroExitCode"
    assert parsed["details"]["causes"] == [{"reason": "ExitCode", "message": "61"}]
    ws._channels[3] = status  # put it back: the client's own returncode parses channel 3 too
    assert ws.returncode == 61


def test_exec_binary_missing_is_an_internal_error(fake: FakeKube) -> None:
    # no handler: every command behaves as an executable missing from the image
    stdout, stderr, status, ws = run_exec(fake, "nccl-0", ["fi_info", "-p", "efa"])
    parsed = json.loads(status)
    assert (stdout, stderr) == ("", "")
    assert parsed["reason"] == "InternalError" and parsed["code"] == 500
    assert parsed["message"].startswith("Internal error occurred: error executing command in container: ")
    assert '"fi_info": executable file not found in $PATH' in parsed["details"]["causes"][0]["message"]
    ws._channels[3] = status
    with pytest.raises(ValueError):  # testing.md pitfall 2: the real client cannot parse this status
        ws.returncode  # noqa: B018


def test_exec_with_stdin_over_v5(fake: FakeKube) -> None:
    fake.exec_handler = lambda ns, pod, c, argv, stdin: ExecResult(stdout=(stdin or b"").upper())
    exec_api = client.CoreV1Api(api_client(fake.kubeconfig))
    ws = stream(exec_api.connect_get_namespaced_pod_exec, "nccl-0", "training", command=["sh", "-s"], stderr=True,
                stdin=True, stdout=True, tty=False, _preload_content=False)
    ws.write_stdin("ls /dev/infiniband\n")
    ws.close_channel(0)
    ws.run_forever(timeout=5)
    close_ws(ws)
    assert ws.read_stdout() == "LS /DEV/INFINIBAND\n"
    assert ws.returncode == 0


def test_exec_handshake_errors(fake: FakeKube) -> None:
    with pytest.raises(ApiException) as error:
        run_exec(fake, "nccl-pending-0", ["true"])
    assert error.value.status == 0 and "400" in error.value.reason
    assert "pod nccl-pending-0 does not have a host assigned" in error.value.reason
    with pytest.raises(ApiException) as error:
        run_exec(fake, "nccl-0", ["true"], container="sidecar")
    assert "container sidecar is not valid for pod nccl-0" in error.value.reason
    with pytest.raises(ApiException) as error:
        run_exec(fake, "ghost", ["true"])
    assert "404" in error.value.reason and 'pods \\"ghost\\" not found' in error.value.reason


def test_exec_denied_at_handshake(fake: FakeKube) -> None:
    fake.exec_handler = lambda *args: ExecResult(stdout=b"should not run")
    fake.deny("create", "pods/exec")
    with pytest.raises(ApiException) as error:
        run_exec(fake, "nccl-0", ["fi_info", "-p", "efa"])
    assert error.value.status == 0 and "Handshake status 403 Forbidden" in error.value.reason
    assert 'cannot create resource \\"pods/exec\\"' in error.value.reason


def test_exec_that_hangs_lets_the_client_time_out(fake: FakeKube) -> None:
    fake.exec_handler = lambda *args: ExecResult(stdout=b"late", delay_s=30)
    exec_api = client.CoreV1Api(api_client(fake.kubeconfig))
    ws = stream(exec_api.connect_get_namespaced_pod_exec, "nccl-0", "training", command=["fi_info"], stderr=True,
                stdin=False, stdout=True, tty=False, _preload_content=False)
    started = time.monotonic()
    ws.run_forever(timeout=0.3)
    assert ws.is_open() and ws.returncode is None and ws.peek_stdout() == ""
    close_ws(ws)
    assert time.monotonic() - started < 5


def test_exec_post_upgrade_v4_and_go_booleans(fake: FakeKube) -> None:
    """kubectl-style POST upgrade, a v4-only client, and `True` as kubernetes-client 36 sends it."""
    fake.exec_handler = lambda ns, pod, c, argv, stdin: ExecResult(stdout=b"out", stderr=b"err", exit_code=3)

    async def run() -> tuple[str | None, list[bytes]]:
        url = f"{fake.url}/api/v1/namespaces/training/pods/nccl-0/exec"
        query = [("command", "sh"), ("command", "-c"), ("command", "exit 3"), ("stdout", "True"), ("stderr", "1")]
        async with aiohttp.ClientSession() as session, session.ws_connect(
                url, method="POST", params=query, protocols=("v4.channel.k8s.io",),
                headers={"Authorization": f"Bearer {fake.token}"}) as ws:
            return ws.protocol, [message.data async for message in ws]

    protocol, frames = asyncio.run(run())
    assert protocol == "v4.channel.k8s.io"
    assert frames[:3] == [b"\x01", b"\x01out", b"\x02err"]
    assert json.loads(frames[3][1:])["details"]["causes"][0]["message"] == "3"


# --- configuration, latency, scale -----------------------------------------------------------

def test_context_from_kubeconfig(fake: FakeKube, tmp_path: Path) -> None:
    kubeconfig = fake.write_kubeconfig(tmp_path / "two-contexts", context="eks-p5", current_context=UNREACHABLE_CONTEXT)
    assert client.CoreV1Api(api_client(kubeconfig, context="eks-p5")).read_node(P5).metadata.name == P5
    unreachable = client.CoreV1Api(api_client(kubeconfig))
    unreachable.api_client.configuration.retries = 0
    with pytest.raises(Exception, match="Connection refused|Max retries"):
        unreachable.read_node(P5)


def test_wrong_token_is_unauthorized_and_writes_are_refused(fake: FakeKube, core: client.CoreV1Api,
                                                           tmp_path: Path) -> None:
    stale = tmp_path / "stale-token"
    assert fake.kubeconfig is not None
    stale.write_text(fake.kubeconfig.read_text().replace(fake.token, "expired-token"))
    with pytest.raises(ApiException) as error:
        client.CoreV1Api(api_client(stale)).list_node()
    assert error.value.status == 401
    with pytest.raises(ApiException) as error:
        core.delete_namespaced_pod("nccl-0", "training")
    assert error.value.status == 405
    assert error_body(error.value)["reason"] == "MethodNotAllowed"


def test_latency_is_injected_per_request_and_counted(fake: FakeKube, core: client.CoreV1Api) -> None:
    fake.exec_handler = lambda *args: ExecResult(stdout=b"ok")
    core.read_node(P5)  # warm the client so the timed part is only round trips
    fake.reset_requests()
    fake.delay_s = 0.1
    started = time.monotonic()
    core.read_node(P5)
    core.list_namespaced_pod("training")
    run_exec(fake, "nccl-0", ["true"])
    elapsed = time.monotonic() - started
    assert [method for method, _ in fake.requests] == ["GET", "GET", "GET"]
    assert fake.requests[0][1] == f"/api/v1/nodes/{P5}"
    assert fake.requests[2][1].startswith("/api/v1/namespaces/training/pods/nccl-0/exec?command=true")
    assert elapsed >= 3 * 0.1


def test_big_cluster_list_by_node_uses_the_index(tmp_path: Path) -> None:
    nodes = [f"ip-10-1-{i // 250}-{i % 250 + 1}.us-east-1.compute.internal" for i in range(1000)]
    with FakeKube([ko.node(name) for name in nodes]) as server:
        pods = [ko.workload_pod(f"w-{i}-{j}", "training", name) for i, name in enumerate(nodes) for j in range(5)]
        for pod in pods:
            server.add(pod)
        core = client.CoreV1Api(api_client(server.write_kubeconfig(tmp_path / "big")))
        for name in nodes[::100]:
            on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}")
            assert len(on_node.items) == 5
            assert {p.spec.node_name for p in on_node.items} == {name}
        everything = json.loads(core.list_pod_for_all_namespaces(_preload_content=False).data)
        assert len(everything["items"]) == 5000
        assert len(json.loads(core.list_node(_preload_content=False).data)["items"]) == 1000
        moved = dict(pods[0], spec=dict(pods[0]["spec"], nodeName=nodes[1]))
        server.add(moved)  # re-adding a pod on another node moves it in the index
        assert len(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={nodes[0]}").items) == 4
        assert len(core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={nodes[1]}").items) == 6
