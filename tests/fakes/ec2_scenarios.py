"""EC2 states efadoctor must diagnose, seeded into the fake EC2 through ordinary boto3 calls.

Why through boto3: a scenario built with the same public API calls an operator would make (create a VPC,
a security group with its rules, a placement group, RunInstances with ``NetworkInterfaces``) stays valid
whatever moto does inside, and reads like the fix commands efadoctor prints.

Each function takes a boto3 EC2 client pointed at ``FakeEC2`` and returns an ``Ec2Scenario`` with the IDs
a test needs. Every call creates its own VPC (10.N.0.0/16, N = VPCs already present), so several scenarios
can live in one fake and their private DNS names never collide.

Interface layouts (which ENI sits on which network card and device index) follow the EC2 user guide page
on accelerated instance types: the primary interface (card 0, device 0) carries ENA, so it is ``efa`` or
``interface`` and never ``efa-only``; on the other cards device 0 holds the EFA. ``healthy_p4d`` uses
Karpenter's automatic layout instead (``efa`` on card 0 device 0 and on device 1 of every other card),
so checks are exercised against both. The literal AMI id keeps moto's AMI catalogue out of the picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

AMI_ID = "ami-12c6146b"
PLACEMENT_GROUP = "efa-cluster-pg"


@dataclass(frozen=True)
class Ec2Scenario:
    """What a seeded scenario created: the IDs to look up and the counts a test can assert on."""

    name: str
    instance_id: str
    instance_type: str
    region: str
    availability_zone: str
    vpc_id: str
    subnet_id: str
    security_group_ids: tuple[str, ...]  # the SGs on the instance's ENIs, in creation order
    placement_group_name: str | None
    private_dns_name: str  # the EKS node name for this instance
    interfaces: int  # ENIs attached at launch
    efa_interfaces: int  # of those, InterfaceType efa or efa-only


# -- security-group rules (IpPermissions as boto3 takes them) ----------------------------------------
def all_self(sg_id: str) -> dict[str, Any]:
    """All traffic to/from the group itself: what EFA needs in both directions."""
    return {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": sg_id}]}


def tcp_self(sg_id: str) -> dict[str, Any]:
    """TCP 0-65535 to/from the group itself: looks complete, but EFA's SRD traffic is not TCP."""
    return {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": sg_id}]}


WORLD_EGRESS: dict[str, Any] = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}

RuleFactory = Callable[[str], dict[str, Any]]


# -- building blocks ---------------------------------------------------------------------------------
def _network(ec2: Any) -> tuple[str, str, str]:
    """A fresh VPC with DNS hostnames (as EKS requires) and one subnet; returns (vpc, subnet, az)."""
    index = len(ec2.describe_vpcs()["Vpcs"])
    region = ec2.meta.region_name
    az = f"{region}a"
    vpc_id = ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.{index}.0.0/20", AvailabilityZone=az)[
        "Subnet"
    ]["SubnetId"]
    return vpc_id, subnet_id, az


def _security_group(
    ec2: Any,
    vpc_id: str,
    name: str,
    ingress: Sequence[RuleFactory] = (),
    egress: Sequence[RuleFactory] = (),
    keep_world_egress: bool = True,
) -> str:
    """A security group with exactly the given rules.

    EC2 gives every new group an egress rule to 0.0.0.0/0; ``keep_world_egress=False`` revokes it, so a
    scenario's egress is exactly what it names.
    """
    sg_id = ec2.create_security_group(GroupName=name, Description=f"efadoctor test: {name}", VpcId=vpc_id)[
        "GroupId"
    ]
    if not keep_world_egress:
        ec2.revoke_security_group_egress(GroupId=sg_id, IpPermissions=[WORLD_EGRESS])
    if ingress:
        ec2.authorize_security_group_ingress(GroupId=sg_id, IpPermissions=[rule(sg_id) for rule in ingress])
    if egress:
        ec2.authorize_security_group_egress(GroupId=sg_id, IpPermissions=[rule(sg_id) for rule in egress])
    return sg_id


def _nic(card: int, device: int, interface_type: str) -> dict[str, Any]:
    return {"NetworkCardIndex": card, "DeviceIndex": device, "InterfaceType": interface_type}


def efa_on_every_card(cards: int) -> list[dict[str, Any]]:
    """EC2 user guide layout: ``efa`` primary on card 0, ``efa-only`` on device 0 of cards 1..N-1."""
    return [_nic(0, 0, "efa")] + [_nic(card, 0, "efa-only") for card in range(1, cards)]


def efa_only_behind_ena_primary(cards: int) -> list[dict[str, Any]]:
    """EC2 user guide layout with an ENA-only primary: ``interface`` on card 0 device 0, ``efa-only`` on
    card 0 device 1 and on device 0 of cards 1..N-1 (one EFA per card)."""
    return [_nic(0, 0, "interface"), _nic(0, 1, "efa-only")] + [
        _nic(card, 0, "efa-only") for card in range(1, cards)
    ]


def karpenter_efa_layout(cards: int) -> list[dict[str, Any]]:
    """Karpenter's automatic layout: ``efa`` on card 0 device 0 and on device 1 of cards 1..N-1."""
    return [_nic(0, 0, "efa")] + [_nic(card, 1, "efa") for card in range(1, cards)]


def _launch(
    ec2: Any,
    name: str,
    instance_type: str,
    layout: list[dict[str, Any]],
    ingress: Sequence[RuleFactory] = (all_self,),
    egress: Sequence[RuleFactory] = (all_self,),
    keep_world_egress: bool = True,
    extra_closed_group: bool = False,
    placement_group: bool = True,
) -> Ec2Scenario:
    """Create network, SG(s), optionally a cluster placement group, and launch one instance."""
    vpc_id, subnet_id, az = _network(ec2)
    groups = [
        _security_group(ec2, vpc_id, f"{name}-efa", ingress, egress, keep_world_egress=keep_world_egress)
    ]
    if extra_closed_group:
        groups.append(_security_group(ec2, vpc_id, f"{name}-closed", keep_world_egress=False))
    group_name = None
    extra: dict[str, Any] = {}
    if placement_group:
        group_name = f"{PLACEMENT_GROUP}-{vpc_id}"
        ec2.create_placement_group(GroupName=group_name, Strategy="cluster")
        extra["Placement"] = {"GroupName": group_name}
    interfaces = [dict(nic, SubnetId=subnet_id, Groups=list(groups)) for nic in layout]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": f"efadoctor-{name}"}]}]
    instance = ec2.run_instances(
        ImageId=AMI_ID,
        MinCount=1,
        MaxCount=1,
        InstanceType=instance_type,
        NetworkInterfaces=interfaces,
        TagSpecifications=tags,
        **extra,
    )["Instances"][0]
    return Ec2Scenario(
        name=name,
        instance_id=instance["InstanceId"],
        instance_type=instance_type,
        region=ec2.meta.region_name,
        availability_zone=az,
        vpc_id=vpc_id,
        subnet_id=subnet_id,
        security_group_ids=tuple(groups),
        placement_group_name=group_name,
        private_dns_name=instance["PrivateDnsName"],
        interfaces=len(layout),
        efa_interfaces=sum(nic["InterfaceType"] in ("efa", "efa-only") for nic in layout),
    )


# -- the scenarios -----------------------------------------------------------------------------------
def healthy_p5(ec2: Any) -> Ec2Scenario:
    """p5.48xlarge with one EFA per network card (32), self-referencing all-traffic rules both ways,
    a cluster placement group."""
    return _launch(ec2, "healthy_p5", "p5.48xlarge", efa_on_every_card(32))


def no_efa_eni(ec2: Any) -> Ec2Scenario:
    """p5.48xlarge launched without EFA: the primary ENI and one VPC CNI secondary ENI, both ``interface``.
    Cause of ``fi_getinfo: -61`` on every pod of the node."""
    return _launch(ec2, "no_efa_eni", "p5.48xlarge", [_nic(0, 0, "interface"), _nic(0, 1, "interface")])


def partial_efa(ec2: Any) -> Ec2Scenario:
    """p5.48xlarge with 4 of its 32 possible EFA interfaces: works, with an eighth of the bandwidth."""
    return _launch(ec2, "partial_efa", "p5.48xlarge", efa_on_every_card(4))


def sg_egress_only_world(ec2: Any) -> Ec2Scenario:
    """Self ingress present; egress only the default 0.0.0.0/0, which does not satisfy EFA."""
    return _launch(ec2, "sg_egress_only_world", "p5.48xlarge", efa_on_every_card(32), egress=())


def sg_ingress_self_missing(ec2: Any) -> Ec2Scenario:
    """Self egress present (plus the default 0.0.0.0/0 egress); no ingress rule at all."""
    return _launch(ec2, "sg_ingress_self_missing", "p5.48xlarge", efa_on_every_card(32), ingress=())


def sg_tcp_only_self(ec2: Any) -> Ec2Scenario:
    """The only rules are self-referencing TCP 0-65535 in and out; EFA needs all traffic."""
    return _launch(
        ec2,
        "sg_tcp_only_self",
        "p5.48xlarge",
        efa_on_every_card(32),
        ingress=(tcp_self,),
        egress=(tcp_self,),
        keep_world_egress=False,
    )


def no_placement_group(ec2: Any) -> Ec2Scenario:
    """healthy_p5 without a placement group: runs, but inter-node latency is not guaranteed."""
    return _launch(ec2, "no_placement_group", "p5.48xlarge", efa_on_every_card(32), placement_group=False)


def no_efa_type(ec2: Any) -> Ec2Scenario:
    """g5.2xlarge: an instance type without EFA support at all (the EFA sizes of g5 start at 8xlarge)."""
    return _launch(ec2, "no_efa_type", "g5.2xlarge", [_nic(0, 0, "interface")], placement_group=False)


def two_sgs_one_closed(ec2: Any) -> Ec2Scenario:
    """Every EFA ENI is in two SGs: one with the self rules, one with no rules at all.

    EC2 evaluates the union of the rules of all groups on an ENI, and every EFA ENI is a member of the
    first group, so EFA traffic between them is allowed. A check that judges each group on its own and
    blames the closed one is wrong here.
    """
    return _launch(ec2, "two_sgs_one_closed", "p5.48xlarge", efa_on_every_card(32), extra_closed_group=True)


def healthy_p5en(ec2: Any) -> Ec2Scenario:
    """p5en.48xlarge (16 network cards, 16 EFA) with an ENA-only primary and ``efa-only`` EFAs."""
    return _launch(ec2, "healthy_p5en", "p5en.48xlarge", efa_only_behind_ena_primary(16))


def healthy_p4d(ec2: Any) -> Ec2Scenario:
    """p4d.24xlarge (4 network cards, 4 EFA) in Karpenter's automatic layout, all ``efa``."""
    return _launch(ec2, "healthy_p4d", "p4d.24xlarge", karpenter_efa_layout(4))


SCENARIOS: dict[str, Callable[[Any], Ec2Scenario]] = {
    fn.__name__: fn
    for fn in (
        healthy_p5,
        no_efa_eni,
        partial_efa,
        sg_egress_only_world,
        sg_ingress_self_missing,
        sg_tcp_only_self,
        no_placement_group,
        no_efa_type,
        two_sgs_one_closed,
        healthy_p5en,
        healthy_p4d,
    )
}
