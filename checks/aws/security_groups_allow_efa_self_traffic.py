from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.aws_fixes import authorize_self, show_group_rules
from efadoctor.facts.aws import InstanceInfo, NetworkInterface, SecurityGroupInfo

SOURCE_IN = "ec2:DescribeSecurityGroups SecurityGroups[].IpPermissions"
SOURCE_OUT = "ec2:DescribeSecurityGroups SecurityGroups[].IpPermissionsEgress"


@check(
    id="AWS004",
    title="The security groups on the EFA interfaces allow all traffic to and from themselves",
    layer=Layer.AWS_NETWORK,
    severity=Severity.HIGH,
    symptoms=(Symptom.UNREACHABLE,),
)
def security_groups_allow_efa_self_traffic(ec2_instance: InstanceInfo, efa_security_groups: tuple[SecurityGroupInfo, ...]):
    """
    ## Why it matters
    EFA traffic between nodes is only allowed by security-group rules that
    reference a security group: an inbound rule for all traffic (protocol -1)
    from a group the interface belongs to, and an outbound rule for all
    traffic to such a group. An outbound rule to 0.0.0.0/0 does not count,
    nor does a TCP-only or port-range rule (EFA's SRD traffic is not TCP).
    Without them `fi_getinfo` still succeeds, but the first collective hangs
    or fails with EFA error 4126 ("Unresponsive receiver") or completion
    status 15 ("Unreachable remote"). A security group never causes
    `fi_getinfo: -61`. EC2 applies the union of all groups on an interface,
    so one group on every EFA interface with both self rules is enough.

    ## Fix
    Add the missing self-referencing all-traffic rules to a security group
    that every EFA interface carries (this opens that group to itself for every
    instance using it):
    `aws ec2 authorize-security-group-ingress --group-id sg-X --ip-permissions 'IpProtocol=-1,UserIdGroupPairs=[{GroupId=sg-X}]'`
    and the same with `authorize-security-group-egress`.
    """
    instance = ec2_instance
    if not instance.efa_count:  # no EFA traffic to allow: passing here would call a node without EFA healthy
        return skipped(f"instance {instance.instance_id} has no EFA interface (see AWS002)")
    groups = {g.group_id: g for g in efa_security_groups}
    evidence = [(f"{SOURCE_IN} / IpPermissionsEgress", _describe(g)) for g in efa_security_groups]
    # interfaces with the same groups share a verdict: judge each distinct set of groups once
    by_groups: dict[tuple[str, ...], list[NetworkInterface]] = {}
    for interface in instance.efa_interfaces:
        by_groups.setdefault(interface.group_ids, []).append(interface)
    missing: list[tuple[tuple[str, ...], list[NetworkInterface], list[str]]] = []
    for group_ids, interfaces in by_groups.items():
        known = [groups[g] for g in group_ids if g in groups]
        lacks = []
        if not any(g.allows_all_from(group_ids) for g in known):
            lacks.append("ingress")
        if not any(g.allows_all_to(group_ids) for g in known):
            lacks.append("egress")
        if lacks:
            missing.append((group_ids, interfaces, lacks))
    if not missing:
        names = ", ".join(groups[g].label for g in instance.efa_group_ids if g in groups)
        return passed(
            f"the security groups on the {instance.efa_count} EFA interfaces of {instance.instance_id} allow all traffic "
            f"in and out among themselves ({names})",
            evidence=evidence,
        )
    commands, sentences = [], []
    for group_ids, interfaces, lacks in missing:
        if group_ids:
            target = _group_to_fix(group_ids, groups, lacks)
            commands.extend(authorize_self(direction, target, instance.region) for direction in lacks)
        count = len(interfaces)
        where = f"all {count} EFA interfaces" if count == instance.efa_count else f"{count} EFA interface(s)"
        phrases = [
            ("no inbound all-traffic rule from " if d == "ingress" else "no outbound all-traffic rule to ") + _these(group_ids)
            for d in lacks
        ]
        worlds = " (0.0.0.0/0 egress does not count)" if "egress" in lacks and _world_egress(group_ids, groups) else ""
        tcp = " (TCP/port-range self rules do not count)" if _partial_self(group_ids, groups, lacks) else ""
        sentences.append(f"{where} with {', '.join(group_ids) or 'no group'}: {' and '.join(phrases)}{worlds}{tcp}")
    commands.append(show_group_rules(instance.efa_group_ids, instance.region))
    return failed(
        f"EFA traffic between nodes will be dropped: on instance {instance.instance_id}, " + "; ".join(sentences),
        fix="Add self-referencing all-traffic rules (protocol -1) to a security group on the EFA interfaces; "
        "EC2 applies the union of an interface's groups, so one group with both rules is enough. "
        "This opens the group to itself for every instance that uses it.",
        commands=commands,
        evidence=evidence,
    )


def _these(group_ids: tuple[str, ...]) -> str:
    return "itself" if len(group_ids) == 1 else "any of these groups"


def _group_to_fix(group_ids: tuple[str, ...], groups: dict[str, SecurityGroupInfo], lacks: list[str]) -> str:
    """Prefer a group that already has the other direction, so both rules end up in one group."""
    for group_id in group_ids:
        group = groups.get(group_id)
        if group is None:
            continue
        if "ingress" not in lacks and group.allows_all_from(group_ids):
            return group_id
        if "egress" not in lacks and group.allows_all_to(group_ids):
            return group_id
    return group_ids[0]


def _world_egress(group_ids: tuple[str, ...], groups: dict[str, SecurityGroupInfo]) -> bool:
    rules = [rule for g in group_ids if g in groups for rule in groups[g].egress]
    return any(r.all_traffic and ("0.0.0.0/0" in r.cidrs or "::/0" in r.cidrs) for r in rules)


def _partial_self(group_ids: tuple[str, ...], groups: dict[str, SecurityGroupInfo], lacks: list[str]) -> bool:
    rules = [
        rule
        for g in group_ids
        if g in groups
        for direction in lacks
        for rule in (groups[g].ingress if direction == "ingress" else groups[g].egress)
    ]
    return any(not r.all_traffic and r.references(group_ids) for r in rules)


def _describe(group: SecurityGroupInfo) -> str:
    inbound = "; ".join(str(r) for r in group.ingress) or "none"
    outbound = "; ".join(str(r) for r in group.egress) or "none"
    return f"{group.label}: inbound [{inbound}] outbound [{outbound}]"
