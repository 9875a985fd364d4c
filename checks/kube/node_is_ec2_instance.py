from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.facts.kube import NodeInfo


@check(
    id="K8S001",
    title="The node is an EC2 instance",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.PENDING),
)
def node_is_ec2_instance(node: NodeInfo):
    """
    ## Why it matters
    EFA is a network device of EC2 instances. A Fargate node, a node of another
    cloud or a local cluster has no EFA device: pods there either stay Pending
    (they request `vpc.amazonaws.com/efa`) or see `fi_getinfo: -61`.
    The node's `spec.providerID` (`aws:///<zone>/<instance-id>`) is how
    Kubernetes links a node to its EC2 instance; every AWS check starts there.

    ## Fix
    Run EFA workloads on EC2 nodes of an EFA-capable instance type (a managed or
    self-managed node group, or a Karpenter NodePool), not on Fargate.
    """
    evidence = [("k8s: Node spec.providerID", f"{node.name}: {node.provider_id or '(none)'}")]
    if node.instance_id:
        return passed(f"node {node.name} is EC2 instance {node.instance_id} in {node.zone}", evidence=evidence)
    what = "a Fargate node" if node.is_fargate else "not an EC2 instance"
    return failed(
        f"node {node.name} is {what} (providerID {node.provider_id or 'missing'}): it cannot have EFA",
        fix="Schedule EFA workloads on EC2 nodes of an EFA-capable instance type; list the EC2 nodes that advertise EFA:",
        commands=[
            "kubectl get nodes -o custom-columns='NAME:.metadata.name,TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,"
            "EFA:.status.allocatable.vpc\\.amazonaws\\.com/efa,PROVIDER:.spec.providerID'"
        ],
        evidence=evidence,
    )
