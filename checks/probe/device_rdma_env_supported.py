from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown
from efadoctor.checks.probe._probe import located, not_set, quote, unknown_reason, unset_here
from efadoctor.facts.device_rdma import UNKNOWN, conflict, describe
from efadoctor.facts.kube import ContainerInfo, NodeInfo, PodInfo
from efadoctor.instance_types import lookup
from efadoctor.parsers.probe_output import ProbeReport


@check(
    id="PRB007",
    title="FI_EFA_USE_DEVICE_RDMA in the container matches the instance type's RDMA support",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    caused_by=("POD010",),  # the pod spec sets it: the same finding, seen from inside
    targets=("pod", "local"),
)
def device_rdma_env_supported(
    probe_report: ProbeReport,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
    node: NodeInfo | None = None,
):
    """
    ## Why it matters
    `FI_EFA_USE_DEVICE_RDMA=1` forces RDMA read. Where the instance type's
    EFA has none (p3dn, g4dn, g5, g6, g6e) libfabric aborts the process
    ("FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no
    rdma-read capability. Application will abort()."). `=0` where
    aws-ofi-nccl requires GPUDirect RDMA (p4d/p4de, p5/p5e/p5en, p6,
    g7e.12xlarge and larger, trn) makes its initialization fail ("GDR
    disabled on GDR-supported instance type") and NCCL falls back to
    sockets. Since libfabric 1.18 the default follows the hardware. The
    probe reads the value the process really gets (image `ENV`, ConfigMaps
    and entrypoints included); the instance type comes from the node.

    ## Fix
    Remove `FI_EFA_USE_DEVICE_RDMA` from the container's environment.
    """
    env = probe_report.env
    if env.value is None:
        return unknown(unknown_reason(probe_report, env, "the container's environment"))
    value = probe_report.env_var("FI_EFA_USE_DEVICE_RDMA")
    at = located(pod, workload_container)
    if value.value is None:
        if env.note:
            return unknown(unknown_reason(probe_report, env, "the container's environment"))
        return passed(f"FI_EFA_USE_DEVICE_RDMA is not set {at}: the default follows the hardware",
                      evidence=[not_set(workload_container, "FI_EFA_USE_DEVICE_RDMA")])
    evidence = quote(value.evidence, workload_container)
    instance_type = node.instance_type if node is not None else None
    info = lookup(instance_type) if instance_type else None
    if info is None:
        where = f"node {node.name}'s instance type {instance_type or '(unlabelled)'}" if node is not None else "the instance type here"
        return skipped(f"FI_EFA_USE_DEVICE_RDMA={value.value} is set {at}, but {where} is not known to efadoctor")
    evidence.append(describe(info))
    problem = conflict(value.value, info)
    if problem == UNKNOWN:
        return skipped(f"FI_EFA_USE_DEVICE_RDMA={value.value} is set {at}; no source states whether {info.instance_type} has RDMA read")
    if problem is not None:
        return failed(
            f"FI_EFA_USE_DEVICE_RDMA={value.value} {at} on {info.instance_type}, {problem}",
            fix=f"Remove FI_EFA_USE_DEVICE_RDMA from the container's environment: libfabric picks the right default for {info.instance_type}.",
            commands=unset_here(pod, workload_container, "FI_EFA_USE_DEVICE_RDMA"),
            evidence=evidence,
        )
    return passed(f"FI_EFA_USE_DEVICE_RDMA={value.value} {at} suits {info.instance_type}", evidence=evidence)
