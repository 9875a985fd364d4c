import math

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.facts.kube import EFA_RESOURCE, GPU_RESOURCE, INSTANCE_TYPE_LABEL, ContainerInfo, NodeInfo, PodInfo, quantity_int
from efadoctor.instance_types import lookup

RESOURCES = "k8s: Pod spec.containers[].resources"


def requested(container: ContainerInfo, resource: str) -> int | None:
    """The count the scheduler gives the container (None when it asks for none, or not as a plain number)."""
    return quantity_int(container.requested(resource))


@check(
    id="POD004",
    title="The pod requests all of the node's EFA devices (or its share by GPUs)",
    layer=Layer.POD_SPEC,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED, Symptom.PENDING),
    caused_by=("POD001", "POD002"),
    targets=("pod",),
)
def pod_requests_full_efa_count(pod: PodInfo, workload_container: ContainerInfo, node: NodeInfo | None = None):
    """
    ## Why it matters
    Each `vpc.amazonaws.com/efa` is one EFA interface, and NCCL (through
    aws-ofi-nccl) uses only the interfaces the container was given. A pod that
    asks for 1 on a p5.48xlarge (32 EFA interfaces) works, but with one NIC:
    1/32 of the node's EFA bandwidth (aws-ofi-nccl reports `found 1 nics`).
    A pod that uses only some of the node's GPUs needs only its share of
    the interfaces (4 per GPU on p5.48xlarge), so the share is what is
    compared. Asking for more than the node has leaves the pod Pending.

    ## Fix
    Request the node's full allocatable count (32 on p5.48xlarge and p5e,
    16 on p5en, 8 on p6-b200, 4 on p4d) in both requests and limits, or the
    share that matches the pod's GPUs.
    """
    have = requested(workload_container, EFA_RESOURCE)
    if not have:
        return skipped(f"container {workload_container.name} of pod {pod.ref} requests no {EFA_RESOURCE} (POD001)")
    instance_type = node.instance_type if node else pod.node_selector.get(INSTANCE_TYPE_LABEL)
    info = lookup(instance_type) if instance_type else None
    full = node.allocatable_count(EFA_RESOURCE) if node else None
    source = f"k8s: Node status.allocatable ({node.name})" if node else ""
    if not full and info and info.max_efa_interfaces:
        full, source = info.max_efa_interfaces, f"instance type {instance_type}: MaximumEfaInterfaces"
    if not full:
        return skipped(f"the EFA device count of pod {pod.ref}'s node is not known (not scheduled, no instance-type nodeSelector)")
    gpus = requested(workload_container, GPU_RESOURCE) or 0
    node_gpus = (node.allocatable_count(GPU_RESOURCE) if node else None) or (info.gpu_count if info else 0)
    share = math.ceil(full * gpus / node_gpus) if gpus and node_gpus and gpus < node_gpus else full
    evidence = [
        (RESOURCES, f"{workload_container.name}: {EFA_RESOURCE}={have}, {GPU_RESOURCE}={gpus or '(none)'}"),
        (source, f"{EFA_RESOURCE}={full}" + (f", {GPU_RESOURCE}={node_gpus}" if node_gpus else "")),
    ]
    where = f"node {node.name} ({node.instance_type})" if node else f"a {instance_type} node"
    what = f"the EFA count in container {workload_container.name} of {pod.template_owner}'s pod template to {share}"
    if have > full:
        return failed(
            f"container {workload_container.name} of pod {pod.ref} requests {have} {EFA_RESOURCE}, more than {where} has ({full}): "
            "no such node can take it",
            fix=f"Request at most {full} (requests and limits).",
            commands=edit_commands(pod, f"set {what}"),
            evidence=evidence,
            observed=[Symptom.PENDING] if pod.phase == "Pending" and not pod.node_name else [],
        )
    if have < share:
        basis = f"its share for {gpus} of {node_gpus} GPUs is {share}" if share != full else f"{where} has {full}"
        return warned(
            f"container {workload_container.name} of pod {pod.ref} requests {have} {EFA_RESOURCE} but {basis}: NCCL will use "
            f"{have} EFA NIC(s), {have}/{full} of the node's EFA bandwidth",
            fix=f"Request {share} {EFA_RESOURCE} (requests and limits) in container {workload_container.name}.",
            commands=edit_commands(pod, f"set {what}"),
            evidence=evidence,
        )
    return passed(
        f"container {workload_container.name} of pod {pod.ref} requests {have} of the {full} EFA devices of {where}"
        + (f" (its share for {gpus} of {node_gpus} GPUs)" if share != full else ""),
        evidence=evidence,
    )
