from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.facts.kube import EFA_RESOURCE, NodeInfo


@check(
    id="K8S002",
    title="The node advertises vpc.amazonaws.com/efa",
    layer=Layer.NODE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    # any of these failing explains an empty allocatable: fold this one under it
    caused_by=("K8S001", "AWS001", "AWS002", "K8S003", "K8S004", "K8S005", "K8S006", "K8S007", "K8S008"),
)
def node_advertises_efa(node: NodeInfo):
    """
    ## Why it matters
    A pod gets EFA devices only by requesting the extended resource
    `vpc.amazonaws.com/efa`, which the EFA device plugin registers on the node.
    With no (or zero) `vpc.amazonaws.com/efa` in `status.allocatable`, every pod
    that requests EFA stays Pending (`Insufficient vpc.amazonaws.com/efa`), and a
    pod that drops the request to get scheduled sees `fi_getinfo: -61`.
    The usual reasons: the instance has no EFA interface, the device plugin
    is not running on the node (an untolerated taint, an instance type missing
    from the chart's allow-list), or the host's EFA driver is missing.

    ## Fix
    Find which of those it is (the other checks of this report say), then make
    the device plugin run on the node; the node then advertises one device per
    EFA interface (32 on p5.48xlarge, 4 on p4d.24xlarge).
    """
    count = node.allocatable_count(EFA_RESOURCE)
    raw = node.allocatable.get(EFA_RESOURCE)
    evidence = [
        ("k8s: Node status.allocatable", f'{node.name}: {EFA_RESOURCE}={raw if raw is not None else "(absent)"}'),
        ("k8s: Node status.capacity", f'{node.name}: {EFA_RESOURCE}={node.capacity.get(EFA_RESOURCE, "(absent)")}'),
    ]
    if count and count > 0:
        return passed(f"node {node.name} advertises {count} EFA device(s) ({node.instance_type})", evidence=evidence)
    return failed(
        f"node {node.name} ({node.instance_type or 'unknown type'}) advertises no {EFA_RESOURCE}"
        + (f" (allocatable {raw})" if raw is not None else ""),
        fix="Make the EFA device plugin run on this node; check that its pod is there and what it logged:",
        commands=[
            "kubectl get daemonsets -A -o wide | grep -i efa",
            f"kubectl get pods -A -o wide --field-selector spec.nodeName={node.name} | grep -i efa",
            f"kubectl describe node {node.name}",
        ],
        evidence=evidence,
    )
