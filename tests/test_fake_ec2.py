"""Tests of the fake EC2, through a plain boto3 client configured only by environment variables.

Why: every AWS-side test of efadoctor trusts this fake. These tests pin what it must show (EFA interface
types, network cards, security groups, placement groups), that injected faults reach boto3 as real EC2
errors, and that the moto patch still applies to the installed moto.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.fakes import ec2_scenarios
from tests.fakes.ec2 import FakeEC2, check_moto_internals, is_patched
from tests.fakes.ec2_scenarios import SCENARIOS, Ec2Scenario


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeEC2]:
    with FakeEC2() as server:
        yield server


@pytest.fixture()
def ec2(fake: FakeEC2, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A fresh fake and a boto3 EC2 client that knows nothing but the environment."""
    fake.reset()
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    for key, value in fake.env().items():
        monkeypatch.setenv(key, value)
    return boto3.client("ec2")


def _enis(ec2: Any, instance_id: str) -> list[dict[str, Any]]:
    return ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [instance_id]}]
    )["NetworkInterfaces"]


def _instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    (reservation,) = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    (instance,) = reservation["Instances"]
    return instance


def _layout(interfaces: list[dict[str, Any]]) -> set[tuple[int, int, str]]:
    return {
        (n["Attachment"]["NetworkCardIndex"], n["Attachment"]["DeviceIndex"], n["InterfaceType"])
        for n in interfaces
    }


# Expected (network card, device index, InterfaceType) per scenario, written out independently of the
# scenario code: what EC2 would report for the launch each scenario describes.
P5_ALL = {(0, 0, "efa")} | {(card, 0, "efa-only") for card in range(1, 32)}
EXPECTED_LAYOUT: dict[str, tuple[str, set[tuple[int, int, str]]]] = {
    "healthy_p5": ("p5.48xlarge", P5_ALL),
    "no_efa_eni": ("p5.48xlarge", {(0, 0, "interface"), (0, 1, "interface")}),
    "partial_efa": ("p5.48xlarge", {(0, 0, "efa"), (1, 0, "efa-only"), (2, 0, "efa-only"), (3, 0, "efa-only")}),
    "sg_egress_only_world": ("p5.48xlarge", P5_ALL),
    "sg_ingress_self_missing": ("p5.48xlarge", P5_ALL),
    "sg_tcp_only_self": ("p5.48xlarge", P5_ALL),
    "no_placement_group": ("p5.48xlarge", P5_ALL),
    "no_efa_type": ("g5.2xlarge", {(0, 0, "interface")}),
    "two_sgs_one_closed": ("p5.48xlarge", P5_ALL),
    "healthy_p5en": (
        "p5en.48xlarge",
        {(0, 0, "interface"), (0, 1, "efa-only")} | {(card, 0, "efa-only") for card in range(1, 16)},
    ),
    "healthy_p4d": ("p4d.24xlarge", {(0, 0, "efa"), (1, 1, "efa"), (2, 1, "efa"), (3, 1, "efa")}),
}
WITHOUT_PLACEMENT_GROUP = {"no_placement_group", "no_efa_type"}


def test_every_scenario_has_an_expectation() -> None:
    assert set(SCENARIOS) == set(EXPECTED_LAYOUT)


def test_patch_applies_to_installed_moto(fake: FakeEC2) -> None:
    assert check_moto_internals() == []
    assert is_patched()


def test_internals_check_names_what_a_moto_upgrade_removed(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto.ec2.models.instances import Instance

    monkeypatch.delattr(Instance, "attach_eni")
    problems = check_moto_internals()
    assert any("Instance.attach_eni is missing" in p for p in problems)
    assert any("moto 5.2.5" in p for p in problems)


@pytest.mark.parametrize("name", sorted(EXPECTED_LAYOUT))
def test_scenario_interfaces(ec2: Any, name: str) -> None:
    scenario: Ec2Scenario = SCENARIOS[name](ec2)
    instance_type, layout = EXPECTED_LAYOUT[name]
    assert scenario.instance_type == instance_type

    instance = _instance(ec2, scenario.instance_id)
    assert instance["InstanceType"] == instance_type
    assert instance["PrivateDnsName"] == scenario.private_dns_name
    assert instance["Placement"]["AvailabilityZone"] == scenario.availability_zone
    assert _layout(instance["NetworkInterfaces"]) == layout
    assert len(instance["NetworkInterfaces"]) == len(layout) == scenario.interfaces

    enis = _enis(ec2, scenario.instance_id)
    assert _layout(enis) == layout
    efa = [n for n in enis if n["InterfaceType"] in ("efa", "efa-only")]
    assert len(efa) == scenario.efa_interfaces
    for eni in enis:
        assert sorted(g["GroupId"] for g in eni["Groups"]) == sorted(scenario.security_group_ids)
        assert eni["SubnetId"] == scenario.subnet_id
        if eni["InterfaceType"] == "efa-only":  # EFA without ENA: no IP address
            assert "PrivateIpAddress" not in eni and eni["PrivateIpAddresses"] == []
        else:
            assert eni["PrivateIpAddress"].startswith("10.")

    if name in WITHOUT_PLACEMENT_GROUP:
        assert scenario.placement_group_name is None
        assert instance["Placement"]["GroupName"] == ""
    else:
        assert instance["Placement"]["GroupName"] == scenario.placement_group_name
        (group,) = ec2.describe_placement_groups(GroupNames=[scenario.placement_group_name])["PlacementGroups"]
        assert group["Strategy"] == "cluster" and group["State"] == "available"


def _rules(ec2: Any, sg_id: str) -> set[tuple[bool, str, int | None, int | None, str]]:
    """(egress?, protocol, from, to, peer) for each rule of a group; peer is 'self' or a CIDR."""
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg_id]}])[
        "SecurityGroupRules"
    ]
    out = set()
    for rule in rules:
        peer = "self" if rule.get("ReferencedGroupInfo", {}).get("GroupId") == sg_id else rule.get("CidrIpv4", "?")
        out.add((rule["IsEgress"], rule["IpProtocol"], rule.get("FromPort"), rule.get("ToPort"), peer))
    return out


ALL_IN = (False, "-1", -1, -1, "self")
ALL_OUT = (True, "-1", -1, -1, "self")
WORLD_OUT = (True, "-1", -1, -1, "0.0.0.0/0")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("healthy_p5", {ALL_IN, ALL_OUT, WORLD_OUT}),
        ("sg_egress_only_world", {ALL_IN, WORLD_OUT}),
        ("sg_ingress_self_missing", {ALL_OUT, WORLD_OUT}),
        ("sg_tcp_only_self", {(False, "tcp", 0, 65535, "self"), (True, "tcp", 0, 65535, "self")}),
    ],
)
def test_scenario_security_group_rules(ec2: Any, name: str, expected: set[Any]) -> None:
    scenario = SCENARIOS[name](ec2)
    (sg_id,) = scenario.security_group_ids
    assert _rules(ec2, sg_id) == expected


def test_two_groups_one_closed(ec2: Any) -> None:
    scenario = ec2_scenarios.two_sgs_one_closed(ec2)
    open_sg, closed_sg = scenario.security_group_ids
    assert _rules(ec2, open_sg) == {ALL_IN, ALL_OUT, WORLD_OUT}
    assert _rules(ec2, closed_sg) == set()


def test_scenarios_share_one_fake_without_collisions(ec2: Any) -> None:
    a = ec2_scenarios.healthy_p4d(ec2)
    b = ec2_scenarios.healthy_p4d(ec2)
    assert a.private_dns_name != b.private_dns_name
    found = ec2.describe_instances(Filters=[{"Name": "private-dns-name", "Values": [b.private_dns_name]}])
    assert [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]] == [b.instance_id]
    by_group = ec2.describe_instances(Filters=[{"Name": "placement-group-name", "Values": [a.placement_group_name]}])
    assert [i["InstanceId"] for r in by_group["Reservations"] for i in r["Instances"]] == [a.instance_id]


def test_interface_type_filter_and_create_network_interface(ec2: Any) -> None:
    scenario = ec2_scenarios.healthy_p4d(ec2)
    efa = ec2.describe_network_interfaces(Filters=[{"Name": "interface-type", "Values": ["efa"]}])
    assert len(efa["NetworkInterfaces"]) == 4
    eni = ec2.create_network_interface(SubnetId=scenario.subnet_id, InterfaceType="efa")["NetworkInterface"]
    assert eni["InterfaceType"] == "efa"
    only = ec2.create_network_interface(SubnetId=scenario.subnet_id, InterfaceType="efa-only")["NetworkInterface"]
    assert only["InterfaceType"] == "efa-only" and "PrivateIpAddress" not in only


def test_efa_only_primary_is_rejected(ec2: Any) -> None:
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    with pytest.raises(ClientError) as err:
        ec2.run_instances(
            ImageId=ec2_scenarios.AMI_ID,
            MinCount=1,
            MaxCount=1,
            InstanceType="p5.48xlarge",
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "InterfaceType": "efa-only"}],
        )
    assert err.value.response["Error"]["Code"] == "InvalidParameterCombination"


def test_placement_groups(ec2: Any) -> None:
    created = ec2.create_placement_group(GroupName="pg-a", Strategy="cluster")
    assert created["PlacementGroup"]["GroupName"] == "pg-a"
    ec2.create_placement_group(GroupName="pg-b", Strategy="spread")
    names = {g["GroupName"] for g in ec2.describe_placement_groups()["PlacementGroups"]}
    assert names == {"pg-a", "pg-b"}
    cluster = ec2.describe_placement_groups(Filters=[{"Name": "strategy", "Values": ["cluster"]}])
    assert [g["GroupName"] for g in cluster["PlacementGroups"]] == ["pg-a"]
    by_id = ec2.describe_placement_groups(GroupIds=[created["PlacementGroup"]["GroupId"]])
    assert [g["GroupName"] for g in by_id["PlacementGroups"]] == ["pg-a"]
    for call, code in [
        (lambda: ec2.create_placement_group(GroupName="pg-a", Strategy="cluster"), "InvalidPlacementGroup.Duplicate"),
        (lambda: ec2.describe_placement_groups(GroupNames=["nope"]), "InvalidPlacementGroup.Unknown"),
        (
            lambda: ec2.run_instances(
                ImageId=ec2_scenarios.AMI_ID, MinCount=1, MaxCount=1, Placement={"GroupName": "nope"}
            ),
            "InvalidPlacementGroup.Unknown",
        ),
    ]:
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == code
    ec2.delete_placement_group(GroupName="pg-b")
    assert [g["GroupName"] for g in ec2.describe_placement_groups()["PlacementGroups"]] == ["pg-a"]


def test_deny_answers_unauthorized_operation(fake: FakeEC2, ec2: Any) -> None:
    scenario = ec2_scenarios.healthy_p4d(ec2)
    fake.reset_calls()
    fake.deny("DescribeSecurityGroups")
    with pytest.raises(ClientError) as err:
        ec2.describe_security_groups(GroupIds=list(scenario.security_group_ids))
    error = err.value.response["Error"]
    assert error["Code"] == "UnauthorizedOperation"
    assert "is not authorized to perform: ec2:DescribeSecurityGroups" in error["Message"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert _instance(ec2, scenario.instance_id)["InstanceId"] == scenario.instance_id  # others still work
    assert fake.actions() == ["DescribeSecurityGroups", "DescribeInstances"]
    fake.allow("DescribeSecurityGroups")
    assert ec2.describe_security_groups(GroupIds=list(scenario.security_group_ids))["SecurityGroups"]


def test_throttle_is_retried_by_standard_mode(fake: FakeEC2, ec2: Any) -> None:
    scenario = ec2_scenarios.healthy_p4d(ec2)
    client = boto3.client("ec2", config=Config(retries={"mode": "standard", "max_attempts": 3}))
    fake.reset_calls()
    fake.throttle("DescribeInstances", 2)
    response = client.describe_instances(InstanceIds=[scenario.instance_id])
    assert response["Reservations"][0]["Instances"][0]["InstanceId"] == scenario.instance_id
    assert response["ResponseMetadata"]["RetryAttempts"] == 2
    assert fake.actions() == ["DescribeInstances"] * 3


def test_throttle_surfaces_request_limit_exceeded(fake: FakeEC2, ec2: Any) -> None:
    # botocore's "max_attempts" counts retries; "total_max_attempts" counts the first attempt too.
    client = boto3.client("ec2", config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    fake.throttle("DescribeInstances", 1)
    with pytest.raises(ClientError) as err:
        client.describe_instances()
    assert err.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert client.describe_instances()["Reservations"] == []  # the throttle was used up


def test_delay_is_applied_per_request_and_requests_overlap(fake: FakeEC2, ec2: Any) -> None:
    ec2.describe_instances()  # warm the connection and moto's EC2 app
    start = time.perf_counter()
    ec2.describe_instances()
    undelayed = time.perf_counter() - start

    fake.delay_s = 0.3
    start = time.perf_counter()
    ec2.describe_instances()
    delayed = time.perf_counter() - start
    assert delayed >= 0.3
    assert delayed - undelayed >= 0.15

    # Four concurrent requests take about one delay, not four: the server is threaded, so the
    # sequential-round-trip count (wall_d - wall_0) / d measures the depth of a call graph.
    fake.reset_calls()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: ec2.describe_instances(), range(4)))
    assert time.perf_counter() - start < 2 * 0.3
    assert len(fake.calls) == 4


def test_describe_instance_types(ec2: Any) -> None:
    types = ec2.describe_instance_types(InstanceTypes=["p5.48xlarge", "g5.2xlarge"])["InstanceTypes"]
    by_name = {t["InstanceType"]: t["NetworkInfo"] for t in types}
    assert by_name["p5.48xlarge"]["EfaSupported"] is True
    assert by_name["p5.48xlarge"]["EfaInfo"]["MaximumEfaInterfaces"] == 32
    assert by_name["p5.48xlarge"]["MaximumNetworkCards"] == 32
    assert by_name["g5.2xlarge"]["EfaSupported"] is False
    assert "EfaInfo" not in by_name["g5.2xlarge"]


def test_reset_forgets_everything(fake: FakeEC2, ec2: Any) -> None:
    scenario = ec2_scenarios.healthy_p4d(ec2)
    fake.deny("DescribeInstances")
    fake.delay_s = 0.05
    fake.reset()
    assert fake.calls == [] and fake.delay_s == 0
    assert ec2.describe_instances()["Reservations"] == []
    assert ec2.describe_placement_groups()["PlacementGroups"] == []
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(InstanceIds=[scenario.instance_id])
    assert err.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_env_drives_a_subprocess(fake: FakeEC2, ec2: Any) -> None:
    scenario = ec2_scenarios.healthy_p4d(ec2)
    env = fake.env({**os.environ, "AWS_PROFILE": "someone-elses-profile", "AWS_SESSION_TOKEN": "x"})
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["AWS_ENDPOINT_URL"] == fake.url and env["AWS_EC2_METADATA_DISABLED"] == "true"
    script = (
        "import boto3, json; c = boto3.client('ec2'); "
        "r = c.describe_instances(Filters=[{'Name': 'private-dns-name', 'Values': [%r]}]); "
        "print(json.dumps([c.meta.endpoint_url, [i['InstanceId'] for x in r['Reservations'] for i in x['Instances']]]))"
    ) % scenario.private_dns_name
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [fake.url, [scenario.instance_id]]
