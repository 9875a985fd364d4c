from efadoctor import Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.aws_fixes import relaunch_with_efa, show_interfaces
from efadoctor.facts.aws import INTERFACE_TYPES_SOURCE, InstanceInfo, InstanceTypeInfo
from efadoctor.facts.kube import NodeInfo


@check(
    id="AWS003",
    title="The instance has as many EFA interfaces as its type allows, in a valid layout",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED,),
)
def efa_interface_count_matches_max(node: NodeInfo, ec2_instance: InstanceInfo, instance_type_info: InstanceTypeInfo):
    """
    ## Why it matters
    Each EFA interface is one network card's share of the bandwidth: a
    p5.48xlarge takes 32 (3200 Gbps in all), a p4d.24xlarge 4. An instance
    launched with fewer works, but NCCL finds fewer NICs
    (`Selected provider is efa ... (found 4 nics)`) and collectives run at a
    fraction of the speed. The primary interface (network card 0, device 0)
    carries the instance's IP traffic, so it must be `interface` or `efa`,
    never `efa-only`.

    ## Fix
    EFA interfaces cannot be added to a running instance: relaunch the node
    with one EFA interface per network card (the launch template's
    `NetworkInterfaces`, or Karpenter's automatic layout for pods that request
    `vpc.amazonaws.com/efa`), and make the pods request the node's full count.
    """
    instance, info = ec2_instance, instance_type_info
    if not instance.efa_count:
        return skipped(f"instance {instance.instance_id} has no EFA interface (see AWS002)")
    maximum = info.max_efa_interfaces
    efa = instance.efa_interfaces
    cards = sorted({i.network_card_index for i in efa})
    evidence = [
        (
            INTERFACE_TYPES_SOURCE,
            f"{instance.instance_id}: {instance.efa_count} EFA interface(s) on network card(s) {_ranges(cards)}",
        ),
        (f"{info.source} NetworkInfo.EfaInfo.MaximumEfaInterfaces", f"{info.instance_type}: {maximum}"),
    ]
    problems = []
    primary = next((i for i in instance.interfaces if i.is_primary), None)
    if primary is not None and primary.interface_type == "efa-only":
        problems.append(f"the primary interface {primary.eni_id} (card 0 device 0) is efa-only, which carries no IP traffic")
    if maximum and instance.efa_count < maximum:
        missing = ""
        if info.max_network_cards == maximum:
            absent = [c for c in range(maximum) if c not in cards]
            missing = f"; network card(s) {_ranges(absent)} have none"
        problems.append(f"{instance.efa_count} of {maximum} EFA interfaces{missing}")
    if not problems:
        if maximum is None:
            return skipped(f"the maximum EFA interface count of {info.instance_type} is not known")
        return passed(
            f"instance {instance.instance_id} has all {instance.efa_count} EFA interfaces of {info.instance_type}",
            evidence=evidence,
        )
    commands = relaunch_with_efa(instance, node, maximum, info.max_network_cards) if maximum else [show_interfaces(instance)]
    return warned(
        f"instance {instance.instance_id} ({info.instance_type}) of node {node.name}: {'; '.join(problems)}",
        fix=f"Relaunch the node with one EFA interface per network card ({maximum} on {info.instance_type}); "
        "EFA interfaces cannot be added to a running instance. Pods should then request the node's full "
        "vpc.amazonaws.com/efa count.",
        commands=commands,
        evidence=evidence,
    )


def _ranges(numbers: list[int]) -> str:
    """[0, 1, 2, 5] -> "0-2, 5": 28 card numbers in a row read better as one range."""
    if not numbers:
        return "(none)"
    parts, start, previous = [], numbers[0], numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)
