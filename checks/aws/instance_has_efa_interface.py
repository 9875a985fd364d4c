from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.aws_fixes import relaunch_with_efa
from efadoctor.facts.aws import INTERFACE_TYPES_SOURCE, InstanceInfo, InstanceTypeInfo
from efadoctor.facts.kube import EFA_RESOURCE, NodeInfo


@check(
    id="AWS002",
    title="The instance has at least one EFA interface",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.PENDING, Symptom.SOCKET_FALLBACK),
    caused_by=("AWS001",),  # a type without EFA cannot have an EFA interface
)
def instance_has_efa_interface(node: NodeInfo, ec2_instance: InstanceInfo, instance_type_info: InstanceTypeInfo | None = None):
    """
    ## Why it matters
    An EFA-capable instance type gets EFA only if it was launched with
    network interfaces of type `efa` or `efa-only`; otherwise every interface
    is a plain ENA `interface`. Such a node has no EFA device: the device plugin
    finds none, the node advertises no `vpc.amazonaws.com/efa`, EFA pods stay
    Pending, and any container on it gets `fi_getinfo: -61` (NCCL falls back
    to sockets). This is the usual root cause of -61 on a node without EFA.
    Karpenter attaches EFA interfaces only when the pod that triggered the
    launch requests `vpc.amazonaws.com/efa`, so a node launched for a pod
    without the request has none.

    ## Fix
    EFA cannot be attached to a running instance (only at launch, or to a
    stopped one): replace the node with one launched with EFA interfaces.
    Launch template: `NetworkInterfaces[].InterfaceType` `efa` or `efa-only`,
    one per network card (`efa-only` needs VPC CNI 1.18.5 or later and is
    never the primary interface). eksctl: `efaEnabled: true` on the node group.
    Karpenter: the pods must request `vpc.amazonaws.com/efa` (Karpenter then
    adds one EFA per network card); Karpenter v1.11 and later can also
    declare them in the EC2NodeClass `spec.networkInterfaces`. Either way the
    pod must request `vpc.amazonaws.com/efa` to get the devices.
    """
    instance = ec2_instance
    evidence = [(INTERFACE_TYPES_SOURCE, f"{instance.instance_id}: {instance.layout}")]
    if instance.efa_count:
        return passed(
            f"instance {instance.instance_id} of node {node.name} has {instance.efa_count} EFA interface(s)",
            evidence=evidence,
        )
    max_efa = instance_type_info.max_efa_interfaces if instance_type_info else None
    cards = instance_type_info.max_network_cards if instance_type_info else None
    wanted = f" ({instance.instance_type} takes {max_efa})" if max_efa else ""
    how = (
        f"Node {node.name} was launched by Karpenter (NodePool {node.nodepool}): make the EFA pods request "
        f"{EFA_RESOURCE}: {max_efa or 'N'} in requests and limits (Karpenter v1.11+: or list the interfaces in the "
        "EC2NodeClass spec.networkInterfaces), then drain this node so Karpenter replaces it with an EFA node."
        if node.nodepool
        else "Add one EFA interface per network card to the launch template (eksctl: efaEnabled: true), "
        f"then replace the node group's instances; pods must request {EFA_RESOURCE}. The layout below uses "
        "efa-only interfaces, which need VPC CNI 1.18.5 or later; with an older CNI use InterfaceType efa."
    )
    return failed(
        f"instance {instance.instance_id} ({instance.instance_type}) of node {node.name} has no EFA interface: "
        f"all {len(instance.interfaces)} interfaces are ENA-only 'interface'",
        fix=f"EFA cannot be attached to a running instance: the node must be replaced by one launched with EFA{wanted}. {how}",
        commands=relaunch_with_efa(instance, node, max_efa, cards),
        evidence=evidence,
    )
