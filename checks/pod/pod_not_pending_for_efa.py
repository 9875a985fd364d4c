import re

from efadoctor import Layer, Severity, Symptom, check, failed, passed, warned
from efadoctor.facts.kube import EFA_RESOURCE, HUGEPAGES_2MI, EventInfo, PodInfo

_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]*[\w-])")  # the scheduler ends the reason with "." or ","


@check(
    id="POD003",
    title="The pod is not Pending for lack of EFA devices or huge pages",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING,),
    # the node side explains "no node has free vpc.amazonaws.com/efa" (the plugin is missing, not scheduled on the
    # EFA nodes, finds no device, or the nodes have too few EFA interfaces); an untolerated node taint explains a
    # Pending pod that is not short of EFA at all
    caused_by=(
        "POD002", "POD008", "K8S001", "K8S002", "K8S003", "K8S004", "K8S005", "K8S006", "K8S007", "K8S008",
        "AWS001", "AWS002", "AWS003",
    ),
)
def pod_not_pending_for_efa(pod: PodInfo, pod_events: tuple[EventInfo, ...]):
    """
    ## Why it matters
    A pod that requests `vpc.amazonaws.com/efa` (or `hugepages-2Mi`) is only
    scheduled on a node that advertises enough of it. `Insufficient
    vpc.amazonaws.com/efa` means no node does: the device plugin is not running
    on the EFA nodes, the nodes have no EFA interface, or the pod asks for more
    devices than one node has (p4d.24xlarge has 4, p5.48xlarge 32).
    `Insufficient hugepages-2Mi` means the nodes have no (or too few) 2 MiB
    huge pages reserved.

    ## Fix
    Look at the node side first (this report's node and device-plugin checks,
    or `efadoctor run --node NODE` on a node meant for the pod). Ask for at
    most the node's allocatable count. For huge pages, request what the nodes
    reserve, or set `FI_EFA_USE_HUGE_PAGE=0` and drop the request.
    """
    messages = [e.message for e in pod_events if e.reason == "FailedScheduling"]
    if pod.unschedulable_message:
        messages.append(pod.unschedulable_message)
    evidence = [("k8s: Pod status.phase", f"{pod.ref}: {pod.phase}")]
    if pod.phase != "Pending" or pod.node_name:
        return passed(f"pod {pod.ref} is scheduled (phase {pod.phase}, node {pod.node_name or '-'})", evidence=evidence)
    if not messages:
        return passed(f"pod {pod.ref} is Pending, but the scheduler reported no failure (yet)", evidence=evidence)
    latest = messages[-1]
    evidence.append(("k8s: Events FailedScheduling" if pod_events else "k8s: Pod status.conditions[PodScheduled]", latest))
    short = sorted({m for m in _INSUFFICIENT.findall(latest)})
    efa_related = [name for name in short if name in (EFA_RESOURCE, HUGEPAGES_2MI) or "efa" in name.lower()]
    if not efa_related:
        return warned(
            f"pod {pod.ref} is Pending, not for EFA: {latest[:200]}",
            fix="Read the scheduler's message; it names what no node can offer.",
            commands=[f"kubectl -n {pod.namespace} describe pod {pod.name}"],
            evidence=evidence,
            observed=[Symptom.PENDING],
        )
    requested = ", ".join(f"{name}={_requested(pod, name)}" for name in efa_related)
    return failed(
        f"pod {pod.ref} is Pending: {', '.join('Insufficient ' + n for n in efa_related)} (it requests {requested})",
        fix="No node offers enough of it. Check which nodes advertise it and how much, then diagnose one of them:",
        commands=[
            "kubectl get nodes" + _selector(pod) + " -o custom-columns='NAME:.metadata.name,"
            "TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,"
            "EFA:.status.allocatable.vpc\\.amazonaws\\.com/efa,HUGEPAGES:.status.allocatable.hugepages-2Mi'",
            "efadoctor run --node <node-name-from-above>",
        ],
        evidence=evidence,
        observed=[Symptom.PENDING],
    )


def _requested(pod: PodInfo, name: str) -> str:
    return "+".join(v for v in (c.requested(name) for c in pod.containers) if v) or "0"


def _selector(pod: PodInfo) -> str:
    """The pod's own nodeSelector, so the listing shows only the nodes it may land on."""
    if not pod.node_selector:
        return ""
    return " -l '" + ",".join(f"{k}={v}" for k, v in sorted(pod.node_selector.items())) + "'"
