from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.pod._template_fix import env_value, unset_env_commands
from efadoctor.facts.device_rdma import UNKNOWN, conflict, describe
from efadoctor.facts.kube import INSTANCE_TYPE_LABEL, ContainerInfo, NodeInfo, PodInfo
from efadoctor.instance_types import lookup

ENV = "k8s: Pod spec.containers[].env"


@check(
    id="POD010",
    title="FI_EFA_USE_DEVICE_RDMA matches the instance type's RDMA support",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    targets=("pod",),
)
def pod_env_device_rdma_supported(pod: PodInfo, workload_container: ContainerInfo, node: NodeInfo | None = None):
    """
    ## Why it matters
    `FI_EFA_USE_DEVICE_RDMA=1` forces RDMA read. On an instance type whose EFA
    has none (p3dn, g4dn, g5, g6, g6e) libfabric aborts the process:
    `FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no rdma-read
    capability. Application will abort().` The opposite, `=0`, on a type where
    aws-ofi-nccl requires GPUDirect RDMA (p4d/p4de, p5/p5e/p5en, p6, g7e.12xl+,
    trn) makes its initialization fail (`GDR disabled on GDR-supported
    instance type`) and NCCL falls back to sockets. Since libfabric 1.18 the
    default follows the hardware, so the variable is never needed.

    ## Fix
    Remove `FI_EFA_USE_DEVICE_RDMA` from the container.
    """
    container = workload_container
    raw = container.env.get("FI_EFA_USE_DEVICE_RDMA")
    evidence = [(ENV, f"{container.name}: FI_EFA_USE_DEVICE_RDMA={raw if raw is not None else '(unset)'}")]
    if raw is None:
        return passed(f"container {container.name} of pod {pod.ref} leaves FI_EFA_USE_DEVICE_RDMA unset (the default follows the hardware)", evidence=evidence)
    value = env_value(raw)
    if value is None:
        return skipped(f"FI_EFA_USE_DEVICE_RDMA of container {container.name} comes {raw.strip('<>')}: the in-pod probe reads its value")
    instance_type = node.instance_type if node else pod.node_selector.get(INSTANCE_TYPE_LABEL)
    info = lookup(instance_type) if instance_type else None
    if info is None:
        return skipped(f"FI_EFA_USE_DEVICE_RDMA={value} is set, but the instance type of pod {pod.ref}'s node is not known")
    evidence.append(describe(info))
    fix = f"Remove FI_EFA_USE_DEVICE_RDMA from container {container.name}: libfabric picks the right default for {info.instance_type}."
    problem = conflict(value, info)
    if problem == UNKNOWN:
        return skipped(f"FI_EFA_USE_DEVICE_RDMA={value} is set; no source states whether {info.instance_type} has RDMA read")
    if problem is not None:
        return failed(
            f"container {container.name} of pod {pod.ref} sets FI_EFA_USE_DEVICE_RDMA={value} on {info.instance_type}, {problem}",
            fix=fix,
            commands=unset_env_commands(pod, container.name, ["FI_EFA_USE_DEVICE_RDMA"]),
            evidence=evidence,
        )
    return passed(f"container {container.name} of pod {pod.ref} sets FI_EFA_USE_DEVICE_RDMA={value}, which {info.instance_type} supports", evidence=evidence)
