"""`efadoctor pod NS/POD` end to end: pod spec -> node -> device plugin -> EC2 -> libfabric inside the container.

Why end to end: the diagnosis is only right if the whole walk names the right root cause, with the other
layers either explaining it (one cause, its consequences folded under it) or ruled out. Each scenario is
served by the real-HTTP fakes (FakeKube for the API server, exec included; FakeEC2, moto with the EFA patch)
and the in-pod probe is the REAL probe.sh, run by the fake API server's exec in a simulated container
(tests/fakes/probe_container.py): device nodes, sysfs, the image's libfabric, env and limits chosen per
scenario. Simulated containers need a private mount namespace (root); without one these tests skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from efadoctor.probe import SCRIPT
from tests.fakes import kube_objects as k
from tests.fakes.ec2_scenarios import Ec2Scenario, healthy_p5, no_efa_eni
from tests.fakes.kube import FakeKube
from tests.fakes.probe_container import (
    EFA_INSTALLER_2_1,
    SOURCE_BUILD_WITHOUT_EFA,
    SimulatedContainer,
    namespaces_available,
    runtime_capabilities,
)
from tests.helpers import cause_ids, invoke_json, status_of

UNAVAILABLE = namespaces_available()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=UNAVAILABLE or "")

POD = "nccl-test-0"
# the line shapes of the device plugin's log (sample 20), for n devices found
def plugin_log(count: int) -> str:
    lines = ["2024/05/24 23:12:29 Fetching EFA devices."]
    lines += [f"2024/05/24 23:12:29 device: {SimulatedContainer.device_name(i)},uverbs{i},/sys/class/infiniband_verbs/uverbs{i},"
              f"/sys/class/infiniband/{SimulatedContainer.device_name(i)}" for i in range(count)]
    lines.append("2024/05/24 23:12:29 Registered device plugin with Kubelet")
    return "\n".join(lines) + "\n"


# sample 21: the plugin on a node without EFA devices, which then exits and restarts
NO_DEVICES_LOG = "2026/02/03 15:23:32 Fetching EFA devices.\n2026/02/03 15:23:32 Error to get IB device: %v. No valid EFA devices found\n"


# `ec2` (tests/conftest.py): the session's fake EC2, emptied, with boto3's environment pointing at it.
class Walk:
    """One cluster: an EC2 instance, its node, the device plugin on it, a workload pod, its container."""

    def __init__(self, ec2: Any, tmp_path: Path):
        self.ec2, self.tmp_path = ec2, tmp_path

    def diagnose(
        self,
        container: dict[str, Any] | None = None,
        *,
        scenario: str = "healthy_p5",
        pod: dict[str, Any] | None = None,
        args: tuple[str, ...] = (),
    ) -> tuple[int, dict, SimulatedContainer]:
        seeded: Ec2Scenario = (healthy_p5 if scenario == "healthy_p5" else no_efa_eni)(self.ec2)
        devices = seeded.efa_interfaces
        node = k.node(seeded.private_dns_name, instance_type=seeded.instance_type, zone=seeded.availability_zone,
                      instance_id=seeded.instance_id, efa=devices or None)
        daemonset = k.device_plugin_daemonset_helm()
        if devices:
            plugin = k.device_plugin_pod(daemonset, node["metadata"]["name"])
            log = plugin_log(devices)
        else:  # sample 21: no device, the plugin exits "Completed" and is restarted
            plugin = k.device_plugin_pod(daemonset, node["metadata"]["name"], restarts=4, waiting_reason="CrashLoopBackOff")
            log = NO_DEVICES_LOG
        spec = {"capabilities": ["IPC_LOCK"], **(pod or {})}
        workload = k.workload_pod(POD, node_name=node["metadata"]["name"], **spec)
        # the container gets the pod spec's env and added capabilities, and the device nodes only when it requests EFA
        options = {"node_devices": devices, "passed_devices": devices if spec.get("efa", 32) else 0,
                   "env": dict(spec.get("env") or {}), "capabilities": runtime_capabilities(spec.get("capabilities") or ()),
                   **(container or {})}
        simulated = SimulatedContainer(self.tmp_path / "container", **options)
        with FakeKube([node, daemonset, plugin, workload]) as kube:
            kube.set_log(plugin["metadata"]["namespace"], plugin["metadata"]["name"], log)
            kube.exec_handler = simulated.handler
            kubeconfig = kube.write_kubeconfig(self.tmp_path / "kubeconfig")
            code, report = invoke_json("pod", f"default/{POD}", "--kubeconfig", kubeconfig, *args)
        return code, report, simulated


@pytest.fixture()
def walk(ec2: Any, tmp_path: Path) -> Walk:
    return Walk(ec2, tmp_path)


def top(report: dict) -> dict:
    assert report["causes"], report["headline"]
    return report["causes"][0]


def entry(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["check_id"] == check_id)


def text(report: dict) -> str:
    return str(report)


def assert_network_not_blamed(report: dict) -> None:
    """-61 is local: no security-group, subnet or placement finding may be ranked as its cause."""
    assert not [c for c in report["causes"] if c["layer"] == "aws-network"], cause_ids(report)


def test_healthy_p5_is_healthy_and_rules_everything_out(walk: Walk) -> None:
    code, report, container = walk.diagnose()
    failing = [(c["check_id"], c["summary"]) for c in report["checks"] if c["status"] in ("fail", "warn", "error")]
    assert code == 0 and report["verdict"] == "healthy", (failing, report["could_not_check"])
    assert report["could_not_check"] == []
    ruled_out = {r["check_id"] for r in report["ruled_out"]}
    # every layer of the walk was looked at and ruled out: EC2, node, device plugin, pod spec, image, runtime
    assert {"AWS002", "AWS004", "K8S002", "K8S006", "POD001", "PRB001", "PRB002", "PRB003", "PRB004", "PRB005",
            "PRB006", "PRB008", "PRB010"} <= ruled_out
    assert "lists 32 EFA device(s) (as many as the 32 requested)" in entry(report, "PRB004")["summary"]
    # memlock is this machine's (often finite); the container's root holds the IPC_LOCK its spec adds
    assert "unlimited" in entry(report, "PRB008")["summary"] or "holds CAP_IPC_LOCK (CapEff)" in entry(report, "PRB008")["summary"]
    assert all(e["source"].startswith(("pod exec", "k8s:")) for e in entry(report, "PRB004")["evidence"])
    # exactly one exec, exactly the fixed script as one argument: nothing interpolated
    assert container.calls == [["sh", "-c", SCRIPT]]
    assert report["api_calls"]["by_operation"]["kubernetes:create pods/exec"] == 1


def test_pod_without_efa_request(walk: Walk) -> None:
    code, report, _ = walk.diagnose(pod={"efa": None})
    assert code == 1 and report["symptom"] == "enodata" and report["symptom_source"] == "PRB004"
    cause = top(report)
    assert cause["check_id"] == "POD001"
    assert {"PRB003", "PRB004"} <= set(cause["consequences"])
    assert "has no /dev/infiniband/uverbs* although the node has 32 EFA device(s)" in entry(report, "PRB003")["summary"]
    assert status_of(report, "AWS002") == "pass" and status_of(report, "K8S002") == "pass"
    assert_network_not_blamed(report)


def test_image_libfabric_without_efa(walk: Walk) -> None:
    code, report, _ = walk.diagnose({"libfabric": SOURCE_BUILD_WITHOUT_EFA})
    assert code == 1 and report["symptom"] == "enodata"
    cause = top(report)
    assert cause["check_id"] == "PRB002" and "PRB004" in cause["consequences"]
    assert cause["summary"].startswith("the image's libfabric has no efa provider")
    assert any("fi_info_list" in e["detail"] for e in cause["evidence"])
    assert status_of(report, "PRB003") == "pass"  # the devices are there: the image is at fault
    assert_network_not_blamed(report)


def test_fi_info_missing(walk: Walk) -> None:
    code, report, _ = walk.diagnose({"libfabric": None, "ofi_nccl": False})
    assert code == 1
    cause = top(report)
    assert cause["check_id"] == "PRB001" and "lacks the EFA user space" in cause["summary"]
    assert "PRB010" in cause["consequences"]  # no plugin either: the same missing user space
    assert any("efa_installer.sh" in command for command in cause["fix"]["commands"])
    assert status_of(report, "PRB002") == "skip" and status_of(report, "PRB004") == "skip"


def test_fi_provider_tcp(walk: Walk) -> None:
    code, report, _ = walk.diagnose(pod={"env": {"FI_PROVIDER": "tcp"}})
    assert code == 1 and report["symptom"] == "enodata"
    cause = top(report)
    assert cause["check_id"] == "POD009"  # the pod spec sets it; the probe sees the same from inside
    assert {"PRB005", "PRB004"} <= set(cause["consequences"])
    assert "FI_PROVIDER=tcp" in entry(report, "PRB005")["summary"]
    assert status_of(report, "PRB002") == "skip"  # FI_PROVIDER hides efa from fi_info -l: not an image fault


def test_fi_efa_iface_filtering_everything(walk: Walk) -> None:
    code, report, _ = walk.diagnose({"libfabric": EFA_INSTALLER_2_1}, pod={"env": {"FI_EFA_IFACE": "rdmap16s27"}})
    assert code == 1 and report["symptom"] == "enodata"
    cause = top(report)
    assert cause["check_id"] == "PRB006" and "PRB004" in cause["consequences"]
    assert "names none of its EFA devices (rdmap79s0" in cause["summary"]
    assert_network_not_blamed(report)


def test_memlock_64_kib(walk: Walk) -> None:
    code, report, _ = walk.diagnose({"memlock_kib": 64}, pod={"capabilities": []})
    assert code == 1
    assert cause_ids(report) == ["PRB008"], [(c["check_id"], c["summary"]) for c in report["causes"]]
    cause = top(report)
    assert "limited to 64 KiB" in cause["summary"] and cause["evidence"][0]["detail"] == "memlock:1: 64"
    assert "the process lacks CAP_IPC_LOCK" in cause["summary"]  # seen by the probe: containerd's defaults lack it
    assert any("IPC_LOCK" in command for command in cause["fix"]["commands"])


def test_no_efa_interface_folds_the_whole_cascade(walk: Walk) -> None:
    code, report, _ = walk.diagnose(scenario="no_efa_eni", pod={"efa": None})
    assert code == 1 and report["symptom"] == "enodata"
    cause = top(report)
    assert cause["check_id"] == "AWS002"
    # no EFA ENI => the node advertises none => the container gets no device => -61: one cause
    assert {"K8S002", "PRB003", "PRB004"} <= set(cause["consequences"]), cause["consequences"]
    assert not {"K8S002", "PRB003", "PRB004"} & set(cause_ids(report)[1:])
    assert "kernel shows no EFA device" in entry(report, "PRB003")["summary"]
    assert_network_not_blamed(report)


def test_busybox_image(walk: Walk) -> None:
    if not Path("/usr/bin/busybox").exists() and not Path("/bin/busybox").exists():
        pytest.skip("busybox is not installed")
    code, report, _ = walk.diagnose({"shell": "busybox"})
    assert code == 0, [(c["check_id"], c["summary"]) for c in report["causes"]]


def test_no_exec_stays_read_only(walk: Walk) -> None:
    code, report, container = walk.diagnose(args=("--no-exec",))
    assert container.calls == []
    assert "kubernetes:create pods/exec" not in report["api_calls"]["by_operation"]
    assert all(c["status"] == "skip" and "--no-exec" in c["summary"] for c in report["checks"] if c["check_id"].startswith("PRB"))
    assert code == 0  # skipped by choice is not "could not check"
