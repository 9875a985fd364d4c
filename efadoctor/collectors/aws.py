"""Collectors for what only EC2 knows about a node: its instance, instance type, security groups, placement.

The fact graph is shaped for rounds, not calls. The node (one Kubernetes GET) gives the instance id,
zone and instance type, so DescribeInstances and DescribeInstanceTypes start together as soon as it
arrives; DescribeSecurityGroups and DescribePlacementGroups need the instance's interfaces and
placement and start together after it. `aws_config` needs nothing, so the boto3 session and the EC2
service model load while the node is being fetched. Each operation runs once per run, with every id
it needs in one request.
"""

from __future__ import annotations

from ..clients.aws import AwsConfig, AwsNotFound, access
from ..facts.aws import (
    InstanceInfo,
    InstanceTypeInfo,
    PlacementGroupInfo,
    SecurityGroupInfo,
    instance_type_from_api,
    instance_type_offline,
    instances_from_api,
    placement_group_from_api,
    security_group_from_api,
)
from ..facts.kube import NodeInfo
from ..model import FactUnavailable, collector


@collector
def aws_config(context) -> AwsConfig:
    """The session this run uses; building it early takes boto3's start-up off the critical path."""
    return access(context).config()


def _region(context, node: NodeInfo) -> str | None:
    return context.options.region or node.region


def _require_ec2(node: NodeInfo) -> str:
    if not node.instance_id:
        raise FactUnavailable(
            f"node {node.name} is not an EC2 instance (providerID {node.provider_id or 'missing'}): no EC2 facts",
            not_applicable=True,
        )
    return node.instance_id


@collector
def ec2_instance(context, node: NodeInfo, aws_config: AwsConfig | None = None) -> InstanceInfo:
    instance_id = _require_ec2(node)  # "not EC2" outranks "no credentials"
    aws = access(context)
    aws.config()  # re-raises why the session could not be built, if it could not
    region = _region(context, node)
    where = f"{region or 'the default region'}"
    try:
        response = aws.call("DescribeInstances", region=region, InstanceIds=[instance_id])
    except AwsNotFound as missing:
        raise FactUnavailable(
            f"EC2 instance {instance_id} of node {node.name} was not found in {where} ({missing.code}): it was terminated, "
            f"or these credentials belong to another account (check --profile and --region)"
        ) from None
    instances = [i for i in instances_from_api(response, region) if i.instance_id == instance_id]
    if not instances:
        raise FactUnavailable(f"EC2 instance {instance_id} of node {node.name} was not found in {where}")
    return instances[0]


@collector
def instance_type_info(context, node: NodeInfo, aws_config: AwsConfig | None = None) -> InstanceTypeInfo:
    """Live from DescribeInstanceTypes; the shipped data when EC2 cannot be asked (the facts are fixed per type)."""
    _require_ec2(node)
    name = node.instance_type
    if not name:
        raise FactUnavailable(f"node {node.name} has no node.kubernetes.io/instance-type label")
    reason, permission = "no AWS session", None
    try:
        aws = access(context)
        aws.config()
        response = aws.call("DescribeInstanceTypes", region=_region(context, node), InstanceTypes=[name])
        for item in response.get("InstanceTypes") or ():
            if item.get("InstanceType") == name:
                return instance_type_from_api(item)
        reason = f"ec2:DescribeInstanceTypes does not list {name}"
    except FactUnavailable as error:
        reason, permission = error.reason, error.missing_permission
    offline = instance_type_offline(name, reason)
    if offline is not None:
        return offline
    raise FactUnavailable(f"instance type {name} is unknown: {reason}", missing_permission=permission)


@collector
def efa_security_groups(context, ec2_instance: InstanceInfo) -> tuple[SecurityGroupInfo, ...]:
    """Every security group on any EFA interface, in one request."""
    if not ec2_instance.efa_interfaces:
        raise FactUnavailable(
            f"instance {ec2_instance.instance_id} has no EFA interface: no EFA security groups", not_applicable=True
        )
    group_ids = list(ec2_instance.efa_group_ids)
    if not group_ids:
        return ()
    try:
        response = access(context).call("DescribeSecurityGroups", region=ec2_instance.region, GroupIds=group_ids)
    except AwsNotFound as missing:
        raise FactUnavailable(f"security groups {', '.join(group_ids)} of {ec2_instance.instance_id}: {missing.reason}") from None
    return tuple(security_group_from_api(g) for g in response.get("SecurityGroups") or ())


@collector
def placement_group(context, ec2_instance: InstanceInfo) -> PlacementGroupInfo | None:
    """The instance's placement group with its strategy; None when the instance is in none."""
    name = ec2_instance.placement_group
    if not name:
        return None
    try:
        response = access(context).call("DescribePlacementGroups", region=ec2_instance.region, GroupNames=[name])
    except AwsNotFound as missing:
        raise FactUnavailable(f"placement group {name} of {ec2_instance.instance_id}: {missing.reason}") from None
    for item in response.get("PlacementGroups") or ():
        if item.get("GroupName") == name:
            return placement_group_from_api(item)
    raise FactUnavailable(f"placement group {name} of {ec2_instance.instance_id} is not listed by ec2:DescribePlacementGroups")
