from efadoctor import Layer, Severity, check, passed, skipped, warned
from efadoctor.checks.pod._template_fix import edit_commands, env_value
from efadoctor.facts.kube import EFA_RESOURCE, HUGEPAGES_2MI, ContainerInfo, NodeInfo, PodInfo, quantity_bytes

RESOURCES = "k8s: Pod spec.containers[].resources"
ENV = "k8s: Pod spec.containers[].env"


@check(
    id="POD005",
    title="The EFA container requests 2 MiB huge pages or turns them off",
    layer=Layer.POD_SPEC,
    severity=Severity.MEDIUM,
    targets=("pod",),
)
def pod_hugepages_for_efa(pod: PodInfo, workload_container: ContainerInfo, node: NodeInfo | None = None):
    """
    ## Why it matters
    libfabric's EFA provider allocates its internal buffers from 2 MiB huge
    pages by default ("By default, EFA provider will use huge page unless
    FI_EFA_FORK_SAFE is set", fi_efa(7)), and the EFA driver pre-allocates
    5128 of them on the host (EKS user guide). In Kubernetes a container may
    use huge pages only up to its `hugepages-2Mi` request: a container that
    requests EFA but no huge pages, on a node that has them, is reported to
    crash (SIGBUS) in libfabric's buffer pools. A node that reserves no huge
    pages (`hugepages-2Mi: 0`, as on the Bottlerocket g5 sample) cannot
    satisfy a request at all: the pod would stay Pending.

    ## Fix
    Request `hugepages-2Mi` in both requests and limits (AWS's p5.48xlarge
    example uses `5120Mi`, with a memory request beside it), or set
    `FI_EFA_USE_HUGE_PAGE=0` in the container so the provider uses regular
    pages.
    """
    container = workload_container
    if EFA_RESOURCE not in container.requests and EFA_RESOURCE not in container.limits:
        return skipped(f"container {container.name} of pod {pod.ref} requests no {EFA_RESOURCE}: huge pages do not matter for EFA here")
    amount = container.requested(HUGEPAGES_2MI)
    switch = container.env.get("FI_EFA_USE_HUGE_PAGE")
    evidence = [
        (RESOURCES, f"{container.name}: {HUGEPAGES_2MI}={amount or '(none)'}"),
        (ENV, f"{container.name}: FI_EFA_USE_HUGE_PAGE={switch if switch is not None else '(unset)'}"),
    ]
    node_pages = node.allocatable.get(HUGEPAGES_2MI) if node else None
    if node is not None:
        evidence.append(("k8s: Node status.allocatable", f"{node.name}: {HUGEPAGES_2MI}={node_pages or '(absent)'}"))
    if amount and (quantity_bytes(amount) or 0) > 0:
        return passed(f"container {container.name} of pod {pod.ref} requests {HUGEPAGES_2MI}: {amount}", evidence=evidence)
    literal = env_value(switch)
    if literal is not None and literal.strip().lower() in ("0", "false", "no", "off"):
        return passed(f"container {container.name} of pod {pod.ref} sets FI_EFA_USE_HUGE_PAGE={switch}: the EFA provider uses regular pages", evidence=evidence)
    if node is not None and (quantity_bytes(node_pages) or 0) == 0:
        fix = (f"Node {node.name} reserves no 2 MiB huge pages, so a request could not be met there: set FI_EFA_USE_HUGE_PAGE=0 "
               f"in container {container.name}.")
        what = f"add env FI_EFA_USE_HUGE_PAGE=0 to container {container.name}"
    else:
        fix = (f"Add `{HUGEPAGES_2MI}: 5120Mi` to both requests and limits of container {container.name} (huge pages also need a "
               "cpu or memory request), or set FI_EFA_USE_HUGE_PAGE=0 in it.")
        what = f"add {HUGEPAGES_2MI} to requests and limits of container {container.name}, or env FI_EFA_USE_HUGE_PAGE=0"
    return warned(
        f"container {container.name} of pod {pod.ref} requests {EFA_RESOURCE} but no {HUGEPAGES_2MI} and does not set "
        "FI_EFA_USE_HUGE_PAGE=0: the EFA provider's huge-page buffers have no allowance in this container",
        fix=fix,
        commands=edit_commands(pod, what),
        evidence=evidence,
    )
