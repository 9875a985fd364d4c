from efadoctor import Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.aws_fixes import region_flag
from efadoctor.facts.aws import InstanceInfo, PlacementGroupInfo
from efadoctor.facts.kube import NodeInfo

GROUP_NAME = "ec2:DescribeInstances Reservations[].Instances[].Placement.GroupName"
STRATEGY = "ec2:DescribePlacementGroups PlacementGroups[].Strategy"


@check(
    id="AWS005",
    title="The instance is in a cluster placement group",
    layer=Layer.AWS_NETWORK,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED,),
)
def instance_in_cluster_placement_group(node: NodeInfo, ec2_instance: InstanceInfo, placement_group: PlacementGroupInfo | None):
    """
    ## Why it matters
    A cluster placement group packs instances close together in one
    Availability Zone, which gives EFA the lowest latency and the full
    per-flow bandwidth between nodes. Without one (or with a spread or
    partition group) training still works, but all-reduce is slower and less
    predictable. It is not a cause of `fi_getinfo: -61` or of hangs.

    ## Fix
    Create a placement group with `--strategy cluster` and launch the EFA
    nodes into it: the launch template's `Placement.GroupName`, eksctl's
    `efaEnabled: true` (which creates one), or Karpenter v1.11 and later with
    the EC2NodeClass `spec.placementGroupSelector` (`name` or `id`; there is
    no `placementGroupName` field). An instance cannot join a placement group
    while it runs, so the nodes are replaced.
    """
    instance = ec2_instance
    if not instance.efa_count:
        return skipped(f"instance {instance.instance_id} has no EFA interface (see AWS002)")
    evidence = [(GROUP_NAME, f"{instance.instance_id}: {instance.placement_group or '(none)'}")]
    if placement_group is not None:
        evidence.append((STRATEGY, f"{placement_group.name}: {placement_group.strategy} ({placement_group.state})"))
        if placement_group.strategy == "cluster":
            summary = f"instance {instance.instance_id} is in cluster placement group {placement_group.name}"
            return passed(summary, evidence=evidence)
    where = f"{placement_group.strategy} placement group {placement_group.name}" if placement_group else "no placement group"
    group = f"efa-{instance.availability_zone}" if instance.availability_zone else "efa-cluster"
    commands = [f"aws ec2 create-placement-group{region_flag(instance.region)} --group-name {group} --strategy cluster"]
    how = f"launch template Placement.GroupName={group}"
    if node.nodepool:
        commands.append(f"kubectl get nodepool {node.nodepool} -o jsonpath='{{.spec.template.spec.nodeClassRef.name}}'")
        selector = f"spec.placementGroupSelector: {{name: {group}}}"
        how += f", or (Karpenter v1.11+) {selector} in NodePool {node.nodepool}'s EC2NodeClass"
    return warned(
        f"instance {instance.instance_id} of node {node.name} is in {where}: "
        "inter-node EFA latency and bandwidth are not the best possible",
        fix=f"Launch the EFA nodes into a cluster placement group in {instance.availability_zone or 'one Availability Zone'}: "
        f"{how}; running instances cannot join one, so replace the nodes.",
        commands=commands,
        evidence=evidence,
    )
