"""Exact AWS CLI and kubectl commands for the AWS checks' fixes, built from this run's real IDs.

Why a module of its own: several checks print the same commands (show the interfaces, relaunch with
EFA, open a security group to itself), and a fix is only useful if it runs as printed. Keeping the
command text in one place, as pure functions of the facts, lets a test execute what a check suggests.
The security-group form is the one efa-domain.md A.5 verified against the AWS CLI source; the
interface layout follows the EC2 user guide on instances with several network cards (an ENA primary
at card 0 device 0, then one EFA-only interface per card).
"""

from __future__ import annotations

import json
from typing import Sequence

from .facts.aws import InstanceInfo
from .facts.kube import NodeInfo


def region_flag(region: str | None) -> str:
    return f" --region {region}" if region else ""


def show_interfaces(instance: InstanceInfo) -> str:
    """The read-only command that shows what this check read: card, device and type of every interface."""
    return describe_interfaces(instance.instance_id, instance.region)


def describe_interfaces(instance_id: str, region: str | None) -> str:
    """show_interfaces for when only the node is known (EC2 could not be read): its instance id and region."""
    return (
        f"aws ec2 describe-instances{region_flag(region)} --instance-ids {instance_id} "
        "--query 'Reservations[].Instances[].NetworkInterfaces[].[Attachment.NetworkCardIndex,Attachment.DeviceIndex,"
        "InterfaceType,NetworkInterfaceId]' --output table"
    )


def efa_interface_layout(efa_count: int, network_cards: int | None, groups: Sequence[str]) -> list[dict]:
    """Launch-template NetworkInterfaces for `efa_count` EFA devices, one per network card.

    The EC2 user guide's recommended layout: an ENA `interface` as the primary (card 0, device 0; an
    EFA-only interface is not allowed there), an `efa-only` at card 0 device 1, and an `efa-only` at
    device 0 of each further card.
    """
    cards = min(efa_count, network_cards) if network_cards else efa_count
    group_list = list(groups)
    layout = [{"NetworkCardIndex": 0, "DeviceIndex": 0, "InterfaceType": "interface", "Groups": group_list}]
    layout.append({"NetworkCardIndex": 0, "DeviceIndex": 1, "InterfaceType": "efa-only", "Groups": group_list})
    for card in range(1, cards):
        layout.append({"NetworkCardIndex": card, "DeviceIndex": 0, "InterfaceType": "efa-only", "Groups": group_list})
    return layout


def _groups_for_layout(instance: InstanceInfo) -> list[str]:
    primary = next((i for i in instance.interfaces if i.is_primary), None)
    return list(instance.efa_group_ids or (primary.group_ids if primary else ()))


def relaunch_with_efa(
    instance: InstanceInfo, node: NodeInfo | None, efa_count: int | None, network_cards: int | None
) -> list[str]:
    """How to get a node like this one with every EFA interface its type takes.

    EC2 attaches EFA only at launch or to a stopped instance, so every way ends in a new node: for a
    Karpenter node, drain it once the pods request vpc.amazonaws.com/efa (Karpenter then launches a
    replacement with one EFA per network card); otherwise, a new launch-template version with the
    interfaces, then replace the node group's instances.
    """
    commands = [show_interfaces(instance)]
    if node is not None and node.nodepool:
        commands.append(f"kubectl get nodepool {node.nodepool} -o jsonpath='{{.spec.template.spec.nodeClassRef.name}}'")
        commands.append(f"kubectl drain {node.name} --ignore-daemonsets --delete-emptydir-data")
        return commands
    count = efa_count or 1
    interfaces = efa_interface_layout(count, network_cards, _groups_for_layout(instance))
    region = region_flag(instance.region)
    if instance.launch_template_id:
        commands.append(
            f"aws ec2 create-launch-template-version{region} --launch-template-id {instance.launch_template_id} "
            f"--source-version {instance.launch_template_version or _LATEST} --version-description efa-interfaces "
            f"--launch-template-data '{_compact({'NetworkInterfaces': interfaces})}'"
        )
    else:
        name = f"efa-{(instance.instance_type or 'node').replace('.', '-')}"
        commands.append(
            f"aws ec2 create-launch-template{region} --launch-template-name {name} "
            f"--launch-template-data '{_compact({'InstanceType': instance.instance_type, 'NetworkInterfaces': interfaces})}'"
        )
    return commands


# quoted: a shell would expand a bare $Latest to nothing, and the CLI would then get no source version
_LATEST = "'$Latest'"


def _compact(data: dict) -> str:
    return json.dumps(data, separators=(",", ":"))


def authorize_self(direction: str, group_id: str, region: str | None) -> str:
    """`aws ec2 authorize-security-group-ingress|egress` for an all-traffic rule that references the group itself."""
    return (
        f"aws ec2 authorize-security-group-{direction}{region_flag(region)} --group-id {group_id} "
        f"--ip-permissions 'IpProtocol=-1,UserIdGroupPairs=[{{GroupId={group_id}}}]'"
    )


def show_group_rules(group_ids: Sequence[str], region: str | None) -> str:
    return (
        f"aws ec2 describe-security-group-rules{region_flag(region)} --filters Name=group-id,Values={','.join(group_ids)} "
        "--query 'SecurityGroupRules[].[GroupId,IsEgress,IpProtocol,FromPort,ToPort,ReferencedGroupInfo.GroupId,CidrIpv4]' "
        "--output table"
    )
