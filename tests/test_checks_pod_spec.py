"""POD004-POD011 as pure functions of pod facts built from realistic pod objects."""

import pytest
from efadoctor.checks.pod.pod_does_not_mount_host_infiniband import pod_does_not_mount_host_infiniband as POD006
from efadoctor.checks.pod.pod_env_device_rdma_supported import pod_env_device_rdma_supported as POD010
from efadoctor.checks.pod.pod_env_fi_provider_efa import pod_env_fi_provider_efa as POD009
from efadoctor.checks.pod.pod_env_no_tcp_folklore import pod_env_no_tcp_folklore as POD011
from efadoctor.checks.pod.pod_hugepages_for_efa import pod_hugepages_for_efa as POD005
from efadoctor.checks.pod.pod_not_pending_for_efa import pod_not_pending_for_efa as POD003
from efadoctor.checks.pod.pod_requests_full_efa_count import pod_requests_full_efa_count as POD004
from efadoctor.checks.pod.pod_shm_large_enough import pod_shm_large_enough as POD007
from efadoctor.checks.pod.pod_tolerates_node_taints import pod_tolerates_node_taints as POD008

from efadoctor.facts.kube import node_from_json, pod_from_json
from efadoctor.model import Status, Symptom
from tests.fakes import kube_objects as k

NODE = "ip-10-0-1-10.ec2.internal"
STS = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "trainer"}


def pod(name="trainer-0", **kw):
    info = pod_from_json(k.workload_pod(name, **{"node_name": NODE, **kw}))
    return info, info.efa_container


def node(**kw):
    return node_from_json(k.node(NODE, **kw))


def run(check, **facts):
    verdict = check.evaluate(**facts)
    assert verdict.status not in (Status.FAIL, Status.WARN) or verdict.fix is not None
    return verdict


def test_pod004_one_of_32_warns_degraded():
    info, container = pod(efa=1)
    verdict = run(POD004, pod=info, workload_container=container, node=node())
    assert verdict.status is Status.WARN and "requests 1 vpc.amazonaws.com/efa" in verdict.summary
    assert "1/32 of the node's EFA bandwidth" in verdict.summary and Symptom.DEGRADED in POD004.symptoms
    full, container = pod()
    assert run(POD004, pod=full, workload_container=container, node=node()).status is Status.PASS


def test_pod004_gpu_share_and_unscheduled_pods_use_the_instance_type():
    info, container = pod(efa=4, gpus=1)  # 1 of 8 GPUs: 4 of 32 EFA is its share
    assert run(POD004, pod=info, workload_container=container, node=node()).status is Status.PASS
    info, container = pod(efa=64, node_name=None, phase="Pending")
    over = run(POD004, pod=info, workload_container=container, node=None)
    assert over.status is Status.FAIL and "more than a p5.48xlarge node has (32)" in over.summary
    info, container = pod(efa=None)
    assert run(POD004, pod=info, workload_container=container, node=node()).status is Status.SKIP


def test_pod005_hugepages():
    info, container = pod()
    assert run(POD005, pod=info, workload_container=container, node=node()).status is Status.PASS
    info, container = pod(hugepages=None)
    verdict = run(POD005, pod=info, workload_container=container, node=node())
    assert verdict.status is Status.WARN and "hugepages-2Mi: 5120Mi" in verdict.fix.summary
    bottlerocket = node(instance_type="g5.8xlarge", efa=1, hugepages_2mi="0")  # sample 23: no huge pages reserved
    only_env = run(POD005, pod=info, workload_container=container, node=bottlerocket)
    assert only_env.status is Status.WARN and "FI_EFA_USE_HUGE_PAGE=0" in only_env.fix.summary and "5120Mi" not in only_env.fix.summary
    info, container = pod(hugepages=None, env={"FI_EFA_USE_HUGE_PAGE": "0"})
    assert run(POD005, pod=info, workload_container=container, node=node()).status is Status.PASS


@pytest.mark.parametrize("host,inside,bad", [
    ("/dev/infiniband", "/dev/infiniband", True),
    ("/dev/infiniband/", "/dev/infiniband", True),
    ("/dev", "/dev", True),
    ("/dev/infiniband", "/host/dev/infiniband", False),
    ("/dev/shm", "/dev/shm", False),
])
def test_pod006_host_infiniband(host, inside, bad):
    containers = [{"name": "worker", "image": "nccl-tests:latest", "securityContext": {"privileged": True},
                   "volumeMounts": [{"name": "ib", "mountPath": inside}],
                   "resources": {"limits": {"vpc.amazonaws.com/efa": "32"}, "requests": {"vpc.amazonaws.com/efa": "32"}}}]
    volumes = [{"name": "ib", "hostPath": {"path": host, "type": ""}}]
    info, _ = pod(containers=containers, volumes=volumes, owner=STS)
    verdict = run(POD006, pod=info)
    assert verdict.status is (Status.FAIL if bad else Status.PASS)
    if bad:
        assert "fi_getinfo -61" in verdict.summary and list(verdict.fix.commands) == ["kubectl -n default edit statefulset trainer  # remove volume(s) ib and their volumeMounts"]


def test_pod007_shm():
    info, container = pod()  # sample 32: the host's /dev/shm
    assert run(POD007, pod=info, workload_container=container).status is Status.PASS
    info, container = pod(volumes=[], containers=[{"name": "w", "image": "i", "resources": {"limits": {"nvidia.com/gpu": "8"}}}])
    none = run(POD007, pod=info, workload_container=container)
    assert none.status is Status.WARN and "64 MiB" in none.summary
    small = [{"name": "w", "image": "i", "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
              "resources": {"limits": {"nvidia.com/gpu": "8"}}}]
    info, container = pod(containers=small, volumes=[{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}}])
    assert run(POD007, pod=info, workload_container=container).status is Status.WARN
    info, container = pod(containers=small, volumes=[{"name": "shm", "emptyDir": {"medium": "Memory"}}])
    assert run(POD007, pod=info, workload_container=container).status is Status.PASS


def test_pod008_pending_pod_and_tainted_candidates():
    tainted = tuple(node_from_json(k.node(f"ip-10-0-2-{i}.ec2.internal", taints=["efa-workload=true:NoSchedule"])) for i in (1, 2))
    info = pod_from_json(k.workload_pod("trainer-0", node_name=None, phase="Pending", owner=STS))
    verdict = run(POD008, pod=info, node=None, candidate_nodes=tainted)
    assert verdict.status is Status.FAIL and "efa-workload=true:NoSchedule" in verdict.summary
    assert "{key: efa-workload, operator: Equal, value: 'true', effect: NoSchedule}" in verdict.fix.summary
    tolerant = pod_from_json(k.workload_pod("trainer-0", node_name=None, phase="Pending", tolerations=[
        {"key": "efa-workload", "operator": "Equal", "value": "true", "effect": "NoSchedule"}]))
    assert run(POD008, pod=tolerant, node=None, candidate_nodes=tainted).status is Status.PASS
    scheduled, _ = pod()
    assert run(POD008, pod=scheduled, node=node(taints=["nvidia.com/gpu:NoSchedule"])).status is Status.PASS


def test_pod003_pending_for_a_taint_is_explained_by_pod008():
    assert "POD008" in POD003.caused_by and {"K8S004", "K8S005", "K8S006", "K8S007", "AWS002"} <= set(POD003.caused_by)


def test_pod003_reads_the_scheduler_message_up_to_its_full_stop():
    raw = k.workload_pod("trainer-0", node_name=None, phase="Pending")
    info = pod_from_json(raw)
    verdict = run(POD003, pod=info, pod_events=())  # status.conditions carries k.FAILED_SCHEDULING_EFA ("...efa. preemption:")
    assert verdict.status is Status.FAIL
    assert "Insufficient vpc.amazonaws.com/efa (it requests vpc.amazonaws.com/efa=32)" in verdict.summary


@pytest.mark.parametrize("value,status", [
    (None, Status.PASS), ("efa", Status.PASS), ("efa,shm", Status.PASS), ("^tcp", Status.PASS),
    ("tcp", Status.FAIL), ("sockets", Status.FAIL), ("^efa", Status.FAIL), ("verbs;ofi_rxm", Status.FAIL),
])
def test_pod009_fi_provider(value, status):
    info, container = pod(env={"FI_PROVIDER": value} if value is not None else None, owner=STS)
    verdict = run(POD009, pod=info, workload_container=container)
    assert verdict.status is status
    if status is Status.FAIL:
        assert list(verdict.fix.commands) == ["kubectl -n default set env statefulset/trainer -c nccl-tests-worker FI_PROVIDER-"]


def test_pod009_value_from_a_configmap_is_left_to_the_probe():
    raw = k.workload_pod("trainer-0", node_name=NODE)
    raw["spec"]["containers"][0]["env"] = [{"name": "FI_PROVIDER", "valueFrom": {"configMapKeyRef": {"name": "nccl", "key": "provider"}}}]
    info = pod_from_json(raw)
    assert run(POD009, pod=info, workload_container=info.efa_container).status is Status.SKIP


@pytest.mark.parametrize("instance_type,value,status", [
    ("g5.48xlarge", "1", Status.FAIL),  # no RDMA read: libfabric aborts
    ("p5.48xlarge", "1", Status.PASS),
    ("p5.48xlarge", "0", Status.FAIL),  # aws-ofi-nccl requires GDR on p5
    ("g5.48xlarge", "0", Status.PASS),
])
def test_pod010_device_rdma(instance_type, value, status):
    info, container = pod(env={"FI_EFA_USE_DEVICE_RDMA": value})
    verdict = run(POD010, pod=info, workload_container=container, node=node(instance_type=instance_type))
    assert verdict.status is status
    if instance_type == "g5.48xlarge" and status is Status.FAIL:
        assert "no RDMA read" in verdict.summary and "aborts" in verdict.summary


def test_pod011_tcp_folklore():
    info, container = pod(env={"NCCL_P2P_DISABLE": "1", "NCCL_IB_DISABLE": "1"})
    folklore = run(POD011, pod=info, workload_container=container)
    assert folklore.status is Status.WARN and "does not force TCP" in folklore.summary
    info, container = pod(env={"NCCL_NET": "Socket"})
    forced = run(POD011, pod=info, workload_container=container)
    assert forced.status is Status.FAIL and "forces NCCL's socket transport" in forced.summary
    info, container = pod(env={"NCCL_NET": "Libfabric", "NCCL_P2P_DISABLE": "0"})
    assert run(POD011, pod=info, workload_container=container).status is Status.PASS


def test_pod001_a_job_is_re_created_not_edited():
    """A Job's pod template is immutable: `kubectl edit job` cannot add the EFA request, re-creating the Job can."""
    from efadoctor.checks.pod.pod_requests_efa import pod_requests_efa as POD001

    job = {"apiVersion": "batch/v1", "kind": "Job", "name": "nccl-allreduce"}
    info, container = pod(efa=None, owner=job)
    verdict = run(POD001, pod=info, workload_container=container, node=node(efa=32))
    assert verdict.status is Status.FAIL
    assert not any(" edit " in c for c in verdict.fix.commands)
    assert verdict.fix.commands[0].startswith("kubectl -n default get job nccl-allreduce -o yaml > nccl-allreduce.yaml")
    assert "delete spec.selector" in verdict.fix.commands[0]
    assert verdict.fix.commands[1].startswith("kubectl replace --force -f nccl-allreduce.yaml")
    sts, sts_container = pod(efa=None, owner=STS)
    patch = run(POD001, pod=sts, workload_container=sts_container, node=node(efa=32)).fix.commands
    assert patch[0].startswith("kubectl -n default patch statefulset trainer -p ")


@pytest.mark.parametrize("amount", ["1.2.3Mi", ".", "5120Mi.."])
def test_pod005_unreadable_hugepages_quantity_is_no_request_not_a_crash(amount):
    info, container = pod(hugepages=amount)
    assert run(POD005, pod=info, workload_container=container, node=node()).status is Status.WARN
