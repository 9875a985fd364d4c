from efadoctor import Layer, Severity, Symptom, check, failed, passed, warned
from efadoctor.checks.pod._template_fix import EDITABLE, edit_commands
from efadoctor.facts.kube import EFA_RESOURCE, GPU_RESOURCE, ContainerInfo, NodeInfo, PodInfo, quantity_int


@check(
    id="POD001",
    title="The workload container requests vpc.amazonaws.com/efa",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    caused_by=("POD002",),
)
def pod_requests_efa(pod: PodInfo, workload_container: ContainerInfo, node: NodeInfo | None = None):
    """
    ## Why it matters
    The EFA device plugin passes `/dev/infiniband/uverbs*` into a container only
    when that container requests `vpc.amazonaws.com/efa`. Without the device
    node, libibverbs drops the EFA device even though sysfs shows it, libfabric's
    efa provider finds nothing, and `fi_info -p efa` prints `fi_getinfo: -61`;
    under NCCL, aws-ofi-nccl fails `fi_getinfo` and NCCL quietly falls back to
    sockets. The request must be in the container that runs NCCL: a request in
    a sidecar gives the devices to the sidecar. For extended resources the
    request must equal the limit.

    ## Fix
    Add `vpc.amazonaws.com/efa: N` to both `requests` and `limits` of the
    workload container, with N the node's allocatable count (32 on
    p5.48xlarge, 4 on p4d.24xlarge). Privileged mode and a hostPath
    `/dev/infiniband` are not the fix: the plugin does not need them.
    """
    container = workload_container
    request, limit = container.resource(EFA_RESOURCE)
    wanted = node.allocatable_count(EFA_RESOURCE) if node else None
    count = str(wanted) if wanted else "N"
    evidence = [
        ("k8s: Pod spec.containers[].resources", f"{container.name}: requests {EFA_RESOURCE}={request or '(none)'}, limits {EFA_RESOURCE}={limit or '(none)'}")
    ]
    others = [c.name for c in pod.containers if c.name != container.name and EFA_RESOURCE in (set(c.requests) | set(c.limits))]
    if others:
        evidence.append(("k8s: Pod spec.containers[].resources", f"{EFA_RESOURCE} requested by other container(s): {', '.join(others)}"))
    if node is not None:
        evidence.append(("k8s: Node status.allocatable", f"{node.name}: {EFA_RESOURCE}={node.allocatable.get(EFA_RESOURCE, '(absent)')}"))
    snippet = _snippet(container.name, count)
    if request is None and limit is None:
        where = f" (it is requested by {', '.join(others)} instead)" if others else ""
        return failed(
            f"container {container.name} of pod {pod.ref} does not request {EFA_RESOURCE}{where}: it gets no EFA device",
            fix=f"Request EFA in container {container.name} of {pod.template_owner}'s pod template, then redeploy:\n{snippet}",
            commands=_commands(pod, container.name, count),
            evidence=evidence,
        )
    effective_request = container.requested(EFA_RESOURCE)
    if limit is not None and effective_request != limit:
        return failed(
            f"container {container.name} of pod {pod.ref} requests {effective_request} but limits {limit} of {EFA_RESOURCE}",
            fix=f"Set the same count in requests and limits of container {container.name}:\n{snippet}",
            commands=_commands(pod, container.name, count),
            evidence=evidence,
        )
    if (quantity_int(effective_request) or 0) <= 0:
        return failed(
            f"container {container.name} of pod {pod.ref} requests {effective_request} {EFA_RESOURCE}: it gets no EFA device",
            fix=f"Request at least one EFA device (normally the node's full count) in container {container.name}:\n{snippet}",
            commands=_commands(pod, container.name, count),
            evidence=evidence,
        )
    gpu_elsewhere = [c.name for c in pod.containers if c.name != container.name and GPU_RESOURCE in (set(c.requests) | set(c.limits))]
    if gpu_elsewhere and GPU_RESOURCE not in (set(container.requests) | set(container.limits)):
        return warned(
            f"container {container.name} of pod {pod.ref} gets the EFA devices but {', '.join(gpu_elsewhere)} gets the GPUs: "
            "NCCL in the GPU container will see no EFA device",
            fix=f"Move the {EFA_RESOURCE} request to the container that runs NCCL (the one with the GPUs).",
            evidence=evidence,
        )
    return passed(f"container {container.name} of pod {pod.ref} requests {effective_request} {EFA_RESOURCE}", evidence=evidence)


def _snippet(container: str, count: str) -> str:
    return (
        f"  containers:\n  - name: {container}\n    resources:\n"
        f"      limits:\n        {EFA_RESOURCE}: {count}\n      requests:\n        {EFA_RESOURCE}: {count}"
    )


def _commands(pod: PodInfo, container: str, count: str) -> list[str]:
    """A strategic-merge patch where the controller's template can change in place; otherwise what the owner takes
    (a Job's pod template is immutable, a pod's spec too: those are re-created)."""
    if pod.controller and pod.controller[0] in EDITABLE and count != "N":
        body = (
            '{"spec":{"template":{"spec":{"containers":[{"name":"%s","resources":{"limits":{"%s":"%s"},"requests":{"%s":"%s"}}}]}}}}'
            % (container, EFA_RESOURCE, count, EFA_RESOURCE, count)
        )
        return [f"kubectl -n {pod.namespace} patch {pod.controller[0].lower()} {pod.controller[1]} -p '{body}'"]
    return edit_commands(pod, f"add the resources above to container {container}")
