"""docs/rbac.yaml grants exactly what efadoctor's diagnoses do: every call is allowed, every rule is used.

The report records each Kubernetes call under the RBAC permission it needs ("list daemonsets.apps",
"get pods/log"), so running the diagnoses against the fake API server and reading `api_calls` gives the
calls efadoctor really makes. The probe's exec role may be present and is not required to be used here.
"""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.fakes import kube_objects as k
from tests.fakes.kube import FakeKube
from tests.helpers import invoke_json

ROOT = Path(__file__).resolve().parents[1]
NODE = "ip-10-0-1-10.ec2.internal"
READER, PROBE = "efadoctor-reader", "efadoctor-probe"


def documents() -> list[dict]:
    return [d for d in yaml.safe_load_all((ROOT / "docs" / "rbac.yaml").read_text()) if d]


def rules_of(name: str) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) granted by the ClusterRole `name`."""
    role = next(d for d in documents() if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)
    return {(group, resource, verb) for rule in role["rules"] for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def permission(operation: str) -> tuple[str, str, str]:
    """'list daemonsets.apps' -> ('apps', 'daemonsets', 'list'); 'get pods/log' -> ('', 'pods/log', 'get')."""
    verb, resource = operation.split(" ", 1)
    name, _, group = resource.partition(".")
    return group, name, verb


pytestmark = pytest.mark.usefixtures("no_aws")


def recorded_operations(tmp_path: Path) -> set[str]:
    """Every Kubernetes permission the node, pod and Pending-pod diagnoses use, with every check selected."""
    ds = k.device_plugin_daemonset_helm()
    plugin = k.device_plugin_pod(ds, NODE)
    pending = k.workload_pod("pending-0", node_name=None, phase="Pending")
    objects = [k.node(NODE), ds, plugin, k.workload_pod("nccl-0", node_name=NODE), pending, k.event(pending),
               k.resource_slice("ip-10-0-1-11.ec2.internal", "gpu.nvidia.com", ["gpu-0"])]  # serves resource.k8s.io
    operations: set[str] = set()
    with FakeKube(objects) as fake:
        fake.set_log("kube-system", plugin["metadata"]["name"], "Registered device plugin with Kubelet\n")
        kubeconfig = fake.write_kubeconfig(tmp_path / "kubeconfig")
        runs = [
            ("run", "--node", NODE),
            ("pod", "default/nccl-0", "--no-exec"),
            ("pod", "default/pending-0", "--no-exec"),
        ]
        for args in runs:
            _, report = invoke_json(*args, "--kubeconfig", kubeconfig)
            for key in report["api_calls"]["by_operation"]:
                service, _, operation = key.partition(":")
                if service == "kubernetes":
                    operations.add(operation)
    return operations


def test_rbac_yaml_is_valid_kubernetes():
    for document in documents():
        kubernetes_validate.validate(document, "1.31.0", strict=True)
    kinds = sorted(d["kind"] for d in documents())
    assert kinds.count("ClusterRole") == 2
    assert rules_of(PROBE) <= {("", "pods/exec", "create"), ("", "pods/exec", "get")}  # exec, and nothing else, for the probe
    assert not {r for r in rules_of(READER) if r[2] not in ("get", "list")}  # the reader never writes, never execs


def test_every_call_is_allowed_and_every_rule_is_used(tmp_path):
    used = {permission(operation) for operation in recorded_operations(tmp_path)}
    granted = rules_of(READER)
    allowed = granted | rules_of(PROBE)
    assert used - allowed == set(), f"calls docs/rbac.yaml does not allow: {sorted(used - allowed)}"
    assert granted - used == set(), f"rules no diagnosis uses (not minimal): {sorted(granted - used)}"
