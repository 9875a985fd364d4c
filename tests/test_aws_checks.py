"""The AWS facts and checks as pure functions: EC2-shaped dicts in, facts out; facts in, verdicts out.

Why separate from the end-to-end tests: the rules themselves (which security-group rules count for EFA,
what a valid interface layout is, what the fix says) are cheaper to pin and easier to read here, on
hand-built facts, including shapes moto never produces (an efa-only primary, a launch-template tag,
a Karpenter node, several groups per interface, malformed API answers).
"""

from __future__ import annotations

import json
import re

import pytest
from efadoctor.checks.aws.efa_interface_count_matches_max import efa_interface_count_matches_max as AWS003
from efadoctor.checks.aws.instance_has_efa_interface import instance_has_efa_interface as AWS002
from efadoctor.checks.aws.instance_in_cluster_placement_group import instance_in_cluster_placement_group as AWS005
from efadoctor.checks.aws.instance_type_supports_efa import instance_type_supports_efa as AWS001
from efadoctor.checks.aws.security_groups_allow_efa_self_traffic import security_groups_allow_efa_self_traffic as AWS004
from hypothesis import given
from hypothesis import strategies as st

from efadoctor import Status, Symptom
from efadoctor.aws_fixes import efa_interface_layout
from efadoctor.facts.aws import (
    InstanceInfo,
    NetworkInterface,
    PlacementGroupInfo,
    Rule,
    SecurityGroupInfo,
    instance_from_api,
    instance_type_from_api,
    instance_type_offline,
    instances_from_api,
    security_group_from_api,
)
from efadoctor.facts.kube import node_from_json
from efadoctor.registry import load
from tests.fakes import kube_objects as k

SG_A, SG_B = "sg-0aaaaaaaaaaaaaaaa", "sg-0bbbbbbbbbbbbbbbb"
IID = "i-0123456789abcdef0"


def node(**kwargs):
    return node_from_json(k.node("ip-10-0-1-10.ec2.internal", instance_id=IID, **kwargs))


def eni(card: int, device: int, kind: str, groups=(SG_A,), n: int = 0) -> NetworkInterface:
    return NetworkInterface(f"eni-{card:02d}{device}{n}", kind, card, device, tuple(groups), "subnet-1", None if kind == "efa-only" else "10.0.0.1")


def instance(interfaces, placement: str | None = "pg-efa", tags=None, instance_type: str = "p5.48xlarge") -> InstanceInfo:
    return InstanceInfo(IID, instance_type, "running", "us-east-1a", "subnet-1", "vpc-1", placement, tuple(interfaces), "us-east-1", tags or {})


def p5(count: int = 32, groups=(SG_A,)) -> InstanceInfo:
    return instance([eni(0, 0, "efa", groups)] + [eni(c, 0, "efa-only", groups) for c in range(1, count)])


def self_rule(group: str, protocol: str = "-1", ports=(None, None)) -> Rule:
    return Rule(protocol, ports[0], ports[1], (group,), ())


WORLD = Rule("-1", None, None, (), ("0.0.0.0/0",))


def sg(group: str, ingress=(), egress=()) -> SecurityGroupInfo:
    return SecurityGroupInfo(group, group.replace("sg-0", "name-"), "vpc-1", tuple(ingress), tuple(egress))


# the checks' pure functions, called with facts
efa_interface_count_matches_max = AWS003.evaluate
instance_has_efa_interface = AWS002.evaluate
instance_in_cluster_placement_group = AWS005.evaluate
instance_type_supports_efa = AWS001.evaluate
security_groups_allow_efa_self_traffic = AWS004.evaluate

P5_TYPE = instance_type_offline("p5.48xlarge")
G5_SMALL = instance_type_offline("g5.2xlarge")


# -- facts from API answers ------------------------------------------------------------------------------

# Shapes as in the EC2 API reference (DescribeInstances InstanceNetworkInterface / GroupIdentifier;
# sample 40 shows "InterfaceType": "efa" on an API answer), trimmed to the fields efadoctor reads.
DESCRIBE_INSTANCES = {
    "Reservations": [{"Instances": [{
        "InstanceId": IID, "InstanceType": "p4d.24xlarge", "State": {"Code": 16, "Name": "running"},
        "Placement": {"AvailabilityZone": "us-west-2b", "GroupName": "train-pg", "Tenancy": "default"},
        "SubnetId": "subnet-0f1", "VpcId": "vpc-0e2",
        "Tags": [{"Key": "aws:ec2launchtemplate:id", "Value": "lt-0abc"}, {"Key": "aws:ec2launchtemplate:version", "Value": "7"}],
        "NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-3", "InterfaceType": "efa", "SubnetId": "subnet-0f1",
             "Attachment": {"DeviceIndex": 1, "NetworkCardIndex": 3}, "Groups": [{"GroupId": SG_A, "GroupName": "efa"}]},
            {"NetworkInterfaceId": "eni-0", "InterfaceType": "efa", "SubnetId": "subnet-0f1", "PrivateIpAddress": "10.0.0.5",
             "Attachment": {"DeviceIndex": 0, "NetworkCardIndex": 0}, "Groups": [{"GroupId": SG_A}, {"GroupId": SG_B}]},
            {"NetworkInterfaceId": "eni-9", "InterfaceType": "interface", "Attachment": {"DeviceIndex": 1}, "Groups": []},
        ],
    }]}],
}


def test_instance_from_describe_instances() -> None:
    (found,) = instances_from_api(DESCRIBE_INSTANCES, "us-west-2")
    assert (found.instance_type, found.state, found.availability_zone, found.placement_group) == ("p4d.24xlarge", "running", "us-west-2b", "train-pg")
    assert [(i.eni_id, i.network_card_index, i.device_index) for i in found.interfaces] == [("eni-0", 0, 0), ("eni-9", 0, 1), ("eni-3", 3, 1)]
    assert found.efa_count == 2 and found.efa_group_ids == (SG_A, SG_B)
    assert (found.launch_template_id, found.launch_template_version, found.region) == ("lt-0abc", "7", "us-west-2")


@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20))
def test_parsers_never_raise(garbage) -> None:
    payload = garbage if isinstance(garbage, dict) else {"Reservations": garbage}
    instances_from_api(payload)
    instance_from_api(payload)
    security_group_from_api(payload)
    instance_type_from_api(payload)


def test_security_group_rules_from_the_api() -> None:
    group = security_group_from_api({
        "GroupId": SG_A, "GroupName": "efa", "VpcId": "vpc-1",
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "UserIdGroupPairs": [{"GroupId": SG_A, "UserId": "1"}]}],
        # EC2 folds the default world egress and a self egress of the same protocol into one permission
        "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "UserIdGroupPairs": [{"GroupId": SG_A}]}],
    })
    assert not group.allows_all_from([SG_A])  # TCP only
    assert group.allows_all_to([SG_A])
    assert str(group.ingress[0]) == f"tcp 0-65535 with {SG_A}"
    assert str(group.egress[0]) == f"all traffic with {SG_A}, 0.0.0.0/0"


def test_instance_type_from_describe_instance_types() -> None:
    info = instance_type_from_api({
        "InstanceType": "trn1.32xlarge", "VCpuInfo": {"DefaultVCpus": 128},
        "NetworkInfo": {"EfaSupported": True, "EfaInfo": {"MaximumEfaInterfaces": 8}, "MaximumNetworkCards": 8,
                        "NetworkPerformance": "8x 100 Gigabit",
                        "NetworkCards": [{"NetworkCardIndex": i, "InterfaceTypes": ["interface", "efa", "efa-only"]} for i in range(8)]},
        "NeuronInfo": {"NeuronDevices": [{"Count": 16, "Name": "Trainium"}]},
    })
    assert (info.max_efa_interfaces, info.max_network_cards, info.gpu_count, info.accelerator) == (8, 8, 0, "16x Trainium")
    assert info.card_interface_types[7] == ("interface", "efa", "efa-only")
    without = instance_type_from_api({"InstanceType": "g5.2xlarge", "NetworkInfo": {"EfaSupported": False}})
    assert (without.efa_supported, without.max_efa_interfaces, without.gdr) == (False, 0, "no")


# -- AWS001 ----------------------------------------------------------------------------------------------

def test_aws001_fails_for_a_type_without_efa_and_lists_the_efa_sizes() -> None:
    verdict = instance_type_supports_efa(node(instance_type="g5.2xlarge"), G5_SMALL)
    assert verdict.status is Status.FAIL
    assert "g5.8xlarge, g5.16xlarge" in verdict.fix.summary
    assert verdict.fix.commands[0] == "efadoctor instance-types g5.8xlarge g5.16xlarge g5.12xlarge g5.24xlarge g5.48xlarge"
    assert "--region us-east-1 --instance-types g5.8xlarge" in verdict.fix.commands[1]
    assert instance_type_supports_efa(node(), P5_TYPE).status is Status.PASS


# -- AWS002 ----------------------------------------------------------------------------------------------

def test_aws002_passes_with_efa_and_fails_without() -> None:
    assert instance_has_efa_interface(node(), p5()).status is Status.PASS
    verdict = instance_has_efa_interface(node(), instance([eni(0, 0, "interface")]), P5_TYPE)
    assert verdict.status is Status.FAIL
    assert "cannot be attached to a running instance" in verdict.fix.summary
    assert "(p5.48xlarge takes 32)" in verdict.fix.summary


def test_aws002_uses_the_instance_launch_template_when_known() -> None:
    launched = instance([eni(0, 0, "interface")], tags={"aws:ec2launchtemplate:id": "lt-0abc", "aws:ec2launchtemplate:version": "3"})
    verdict = instance_has_efa_interface(node(), launched, P5_TYPE)
    command = next(c for c in verdict.fix.commands if "launch-template" in c)
    assert command.startswith("aws ec2 create-launch-template-version --region us-east-1 --launch-template-id lt-0abc --source-version 3 ")
    data = json.loads(re.search(r"--launch-template-data '(.*)'$", command).group(1))
    assert len(data["NetworkInterfaces"]) == 33  # ENA primary + 32 EFA


def test_aws002_quotes_latest_when_the_launch_template_version_is_unknown() -> None:
    launched = instance([eni(0, 0, "interface")], tags={"aws:ec2launchtemplate:id": "lt-0abc"})
    command = next(c for c in instance_has_efa_interface(node(), launched, P5_TYPE).fix.commands if "launch-template" in c)
    # single-quoted: a bare $Latest would be expanded by the shell to nothing
    assert " --source-version '$Latest' " in command


def test_efa_layout_follows_the_ec2_user_guide() -> None:
    layout = efa_interface_layout(4, 4, [SG_A])
    assert [(i["NetworkCardIndex"], i["DeviceIndex"], i["InterfaceType"]) for i in layout] == [
        (0, 0, "interface"), (0, 1, "efa-only"), (1, 0, "efa-only"), (2, 0, "efa-only"), (3, 0, "efa-only")]
    assert all(i["Groups"] == [SG_A] for i in layout)


# -- AWS003 ----------------------------------------------------------------------------------------------

def test_aws003_partial_and_full() -> None:
    assert efa_interface_count_matches_max(node(), p5(32), P5_TYPE).status is Status.PASS
    verdict = efa_interface_count_matches_max(node(), p5(4), P5_TYPE)
    assert verdict.status is Status.WARN and "4 of 32" in verdict.summary and "4-31 have none" in verdict.summary
    assert efa_interface_count_matches_max(node(), instance([eni(0, 0, "interface")]), P5_TYPE).status is Status.SKIP


def test_aws003_flags_an_efa_only_primary() -> None:
    bad = instance([eni(0, 0, "efa-only")] + [eni(c, 0, "efa-only") for c in range(1, 32)])
    verdict = efa_interface_count_matches_max(node(), bad, P5_TYPE)
    assert verdict.status is Status.WARN and "primary interface" in verdict.summary
    good = instance([eni(0, 0, "interface"), eni(0, 1, "efa-only")] + [eni(c, 0, "efa-only") for c in range(1, 32)])
    assert efa_interface_count_matches_max(node(), good, P5_TYPE).status is Status.PASS


# -- AWS004 ----------------------------------------------------------------------------------------------

def full(group: str) -> SecurityGroupInfo:
    return sg(group, [self_rule(group)], [self_rule(group), WORLD])


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        ((full(SG_A),), Status.PASS),
        ((sg(SG_A, [self_rule(SG_A)], [WORLD]),), Status.FAIL),  # egress only to the world
        ((sg(SG_A, [], [self_rule(SG_A)]),), Status.FAIL),  # no ingress
        ((sg(SG_A, [self_rule(SG_A, "tcp", (0, 65535))], [self_rule(SG_A, "tcp", (0, 65535))]),), Status.FAIL),
        ((sg(SG_A, [self_rule(SG_A, "udp", (0, 65535))], [self_rule(SG_A)]),), Status.FAIL),
        ((sg(SG_A, [Rule("-1", None, None, (), ("10.0.0.0/16",))], [self_rule(SG_A)]),), Status.FAIL),  # VPC CIDR is not a group rule
    ],
)
def test_aws004_one_group(groups, expected) -> None:
    assert security_groups_allow_efa_self_traffic(p5(), groups).status is expected


def test_aws004_union_of_groups_on_each_interface() -> None:
    # each interface is in A and B: ingress from B in A, egress to A in B: the union allows EFA traffic
    crossed = (sg(SG_A, [self_rule(SG_B)], [WORLD]), sg(SG_B, [], [self_rule(SG_A)]))
    assert security_groups_allow_efa_self_traffic(p5(groups=(SG_A, SG_B)), crossed).status is Status.PASS
    # the closed group alone on one interface fails for that interface only
    mixed = instance([eni(0, 0, "efa", (SG_A,))] + [eni(c, 0, "efa-only", (SG_B,)) for c in range(1, 4)])
    verdict = security_groups_allow_efa_self_traffic(mixed, (full(SG_A), sg(SG_B)))
    assert verdict.status is Status.FAIL
    assert "3 EFA interface(s) with " + SG_B in verdict.summary
    assert [c.split(" --group-id ")[1].split()[0] for c in verdict.fix.commands if "authorize" in c] == [SG_B, SG_B]


def test_aws004_fixes_the_group_that_already_has_the_other_direction() -> None:
    groups = (sg(SG_A), sg(SG_B, [self_rule(SG_B)], [WORLD]))
    verdict = security_groups_allow_efa_self_traffic(p5(groups=(SG_A, SG_B)), groups)
    assert verdict.fix.commands[0] == (
        f"aws ec2 authorize-security-group-egress --region us-east-1 --group-id {SG_B} "
        f"--ip-permissions 'IpProtocol=-1,UserIdGroupPairs=[{{GroupId={SG_B}}}]'"
    )
    assert len([c for c in verdict.fix.commands if "authorize" in c]) == 1


def test_aws004_never_passes_an_instance_without_efa() -> None:
    plain = instance([eni(0, 0, "interface")])
    assert security_groups_allow_efa_self_traffic(plain, (full(SG_A),)).status is Status.SKIP


def test_aws004_is_about_unreachable_never_enodata() -> None:
    registry = load(plugins=False)
    assert registry.checks["AWS004"].symptoms == (Symptom.UNREACHABLE,)


# -- AWS005 ----------------------------------------------------------------------------------------------

def test_aws005_cluster_other_and_none() -> None:
    cluster = PlacementGroupInfo("pg-efa", "cluster", "available", "pg-1")
    spread = PlacementGroupInfo("pg-efa", "spread", "available", "pg-1")
    assert instance_in_cluster_placement_group(node(), p5(), cluster).status is Status.PASS
    assert instance_in_cluster_placement_group(node(), p5(), spread).status is Status.WARN
    verdict = instance_in_cluster_placement_group(node(labels={"karpenter.sh/nodepool": "gpu"}), instance(p5().interfaces, placement=None), None)
    assert verdict.status is Status.WARN and "placementGroupSelector" in verdict.fix.summary
    assert "placementGroupName" not in verdict.fix.summary  # not a Karpenter field (efa-domain.md D.4)


# -- declarations ---------------------------------------------------------------------------------------

def test_causal_links() -> None:
    checks = load(plugins=False).checks
    assert checks["AWS002"].caused_by == ("AWS001",)
    assert {"AWS001", "AWS002"} <= set(checks["K8S002"].caused_by)
    for check_id in ("AWS003", "AWS005"):
        assert checks[check_id].symptoms == (Symptom.DEGRADED,)
