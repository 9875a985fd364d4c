"""`efadoctor run --node` on every EC2 scenario of issue 3, against the fake API server and the fake EC2.

Why end to end: the AWS layer is only right if the real boto3 client, configured by nothing but the
standard environment, asks the right questions once each, and the ranker then names the right root
cause with this instance's real IDs in evidence and fix. The fakes are real HTTP endpoints (moto with
the EFA patch, an aiohttp Kubernetes API), so request signing, error parsing and botocore's retries are
the production code paths.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.fakes import ec2_scenarios
from tests.fakes import kube_objects as k
from tests.fakes.ec2 import FakeEC2
from tests.fakes.ec2_scenarios import Ec2Scenario
from tests.fakes.kube import FakeKube
from tests.helpers import cause_ids, invoke, invoke_json, status_of

ROOT = Path(__file__).resolve().parents[1]
ONLY = ("--only", "AWS,K8S001,K8S002")  # this layer and the node checks it explains; other layers have their own tests
ALL_FOUR = {"DescribeInstances", "DescribeInstanceTypes", "DescribeSecurityGroups", "DescribePlacementGroups"}


class Diagnosis:
    """Seed a scenario, serve its node from the fake API server, run `efadoctor run --node`."""

    def __init__(self, fake: FakeEC2, client: Any, tmp_path: Path):
        self.fake, self.client, self.tmp_path = fake, client, tmp_path

    def seed(self, name: str) -> Ec2Scenario:
        return ec2_scenarios.SCENARIOS[name](self.client)

    def node_for(self, scenario: Ec2Scenario, efa: int | None = -1, **kwargs: Any) -> dict:
        # the node advertises what a working device plugin would: one device per EFA interface
        count = (scenario.efa_interfaces or None) if efa == -1 else efa
        return k.node(scenario.private_dns_name, instance_type=scenario.instance_type, zone=scenario.availability_zone,
                      instance_id=scenario.instance_id, efa=count, **kwargs)

    def run(self, node: dict, *args: str) -> tuple[int, dict]:
        self.fake.reset_calls()
        with FakeKube([node]) as kube:
            kubeconfig = kube.write_kubeconfig(self.tmp_path / "kubeconfig")
            return invoke_json("run", "--node", node["metadata"]["name"], "--kubeconfig", kubeconfig, *ONLY, *args)

    def scenario(self, name: str, *args: str, efa: int | None = -1) -> tuple[Ec2Scenario, int, dict]:
        seeded = self.seed(name)
        code, report = self.run(self.node_for(seeded, efa=efa), *args)
        return seeded, code, report

    def actions(self) -> Counter:
        return Counter(self.fake.actions())


@pytest.fixture()
def diagnose(fake_ec2: FakeEC2, ec2: Any, tmp_path: Path) -> Diagnosis:
    return Diagnosis(fake_ec2, ec2, tmp_path)


def check_entry(report: dict, check_id: str) -> dict:
    return next(c for c in report["checks"] if c["check_id"] == check_id)


def text_of(entry: dict) -> str:
    """Everything a person reads for one finding: summary, evidence, fix and its commands."""
    fix = entry.get("fix") or {}
    return "\n".join([entry["summary"], *(f"{e['source']}: {e['detail']}" for e in entry["evidence"]),
                      fix.get("summary", ""), *fix.get("commands", [])])


# -- the scenarios of issue 3 ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["healthy_p5", "healthy_p4d", "healthy_p5en", "two_sgs_one_closed"])
def test_healthy_instances_pass_every_aws_check(diagnose: Diagnosis, name: str) -> None:
    scenario, code, report = diagnose.scenario(name)
    assert code == 0, report["headline"]
    assert report["verdict"] == "healthy"
    for check_id in ("AWS001", "AWS002", "AWS003", "AWS004", "AWS005"):
        assert status_of(report, check_id) == "pass", check_entry(report, check_id)["summary"]
    assert scenario.instance_id in check_entry(report, "AWS002")["summary"]
    assert report["target"]["instance_id"] == scenario.instance_id
    # one call per EC2 operation: batched ids, no call per ENI or per security group
    assert diagnose.actions() == Counter(ALL_FOUR)
    assert report["api_calls"]["by_operation"] == {
        "ec2:DescribeInstanceTypes": 1, "ec2:DescribeInstances": 1, "ec2:DescribePlacementGroups": 1,
        "ec2:DescribeSecurityGroups": 1, "kubernetes:get nodes": 1}


def test_two_security_groups_union_is_judged_not_each_group(diagnose: Diagnosis) -> None:
    scenario, code, report = diagnose.scenario("two_sgs_one_closed")
    assert code == 0
    open_group, closed_group = scenario.security_group_ids
    evidence = " ".join(e["detail"] for e in check_entry(report, "AWS004")["evidence"])
    assert open_group in evidence and closed_group in evidence  # both were read, the union passed


def test_no_efa_interface_is_the_root_cause(diagnose: Diagnosis) -> None:
    scenario, code, report = diagnose.scenario("no_efa_eni")
    assert code == 1
    assert cause_ids(report) == ["AWS002"]
    cause = report["causes"][0]
    assert cause["consequences"] == ["K8S002"]  # the node advertises no EFA *because* the instance has none
    text = text_of(cause)
    assert scenario.instance_id in cause["summary"] and "no EFA interface" in cause["summary"]
    assert "cannot be attached to a running instance" in cause["fix"]["summary"]
    assert "vpc.amazonaws.com/efa" in cause["fix"]["summary"]
    assert f"--instance-ids {scenario.instance_id}" in text
    template = next(c for c in cause["fix"]["commands"] if "launch-template" in c)
    data = json.loads(re.search(r"--launch-template-data '(.*)'$", template).group(1))
    interfaces = data["NetworkInterfaces"]
    assert sum(i["InterfaceType"] in ("efa", "efa-only") for i in interfaces) == 32  # p5.48xlarge takes 32
    assert interfaces[0] == {"NetworkCardIndex": 0, "DeviceIndex": 0, "InterfaceType": "interface",
                             "Groups": list(scenario.security_group_ids)}
    assert status_of(report, "AWS003") == "skip" and status_of(report, "AWS004") == "skip"
    assert "DescribeSecurityGroups" not in diagnose.actions()  # no EFA interface: no EFA security group to read


def test_karpenter_node_without_efa_gets_the_karpenter_fix(diagnose: Diagnosis) -> None:
    seeded = diagnose.seed("no_efa_eni")
    node = diagnose.node_for(seeded, efa=None, labels={"karpenter.sh/nodepool": "gpu-efa"})
    code, report = diagnose.run(node)
    assert code == 1 and cause_ids(report) == ["AWS002"]
    fix = report["causes"][0]["fix"]
    assert "NodePool gpu-efa" in fix["summary"] and "spec.networkInterfaces" in fix["summary"]
    assert "vpc.amazonaws.com/efa: 32" in fix["summary"]
    assert f"kubectl drain {seeded.private_dns_name} --ignore-daemonsets --delete-emptydir-data" in fix["commands"]


def test_partial_efa_warns_degraded_with_the_missing_cards(diagnose: Diagnosis) -> None:
    scenario, code, report = diagnose.scenario("partial_efa")
    assert code == 1
    assert cause_ids(report) == ["AWS003"]
    cause = report["causes"][0]
    assert cause["status"] == "warn"
    assert "4 of 32 EFA interfaces" in cause["summary"] and "network card(s) 4-31 have none" in cause["summary"]
    assert scenario.instance_id in cause["summary"]
    assert status_of(report, "AWS004") == "pass" and status_of(report, "AWS002") == "pass"


@pytest.mark.parametrize(
    ("name", "missing", "phrase"),
    [
        ("sg_egress_only_world", ["egress"], "0.0.0.0/0 egress does not count"),
        ("sg_ingress_self_missing", ["ingress"], "no inbound all-traffic rule from itself"),
        ("sg_tcp_only_self", ["ingress", "egress"], "TCP/port-range self rules do not count"),
    ],
)
def test_security_group_without_self_rules_is_the_cause(diagnose: Diagnosis, name: str, missing: list[str], phrase: str) -> None:
    scenario, code, report = diagnose.scenario(name)
    assert code == 1
    assert cause_ids(report) == ["AWS004"]
    cause = report["causes"][0]
    (group,) = scenario.security_group_ids
    assert group in cause["summary"] and scenario.instance_id in cause["summary"]
    assert phrase in cause["summary"]
    directions = [m.group(1) for c in cause["fix"]["commands"] if (m := re.match(r"aws ec2 authorize-security-group-(\w+) ", c))]
    assert directions == missing
    assert all(f"--region {scenario.region} --group-id {group} " in c for c in cause["fix"]["commands"][: len(missing)])
    # a security group never causes -61: this check must not claim it
    explain = invoke("explain", "AWS004").output
    assert "can cause: unreachable" in explain


def test_applying_the_suggested_security_group_commands_fixes_it(diagnose: Diagnosis) -> None:
    """Run the printed commands (their boto3 equivalent) against the fake EC2, then diagnose again."""
    for name in ("sg_egress_only_world", "sg_ingress_self_missing", "sg_tcp_only_self"):
        scenario, code, report = diagnose.scenario(name)
        assert code == 1 and cause_ids(report) == ["AWS004"]
        applied = 0
        for command in report["causes"][0]["fix"]["commands"]:
            if command.startswith("aws ec2 authorize-security-group-"):
                apply_cli_command(diagnose.client, command)
                applied += 1
        assert applied
        code, report = diagnose.run(diagnose.node_for(scenario))
        assert code == 0, report["headline"]
        assert status_of(report, "AWS004") == "pass"


_AUTHORIZE = re.compile(
    r"^aws ec2 authorize-security-group-(?P<direction>ingress|egress) --region (?P<region>[a-z0-9-]+) "
    r"--group-id (?P<group>sg-[0-9a-f]+) --ip-permissions 'IpProtocol=-1,UserIdGroupPairs=\[\{GroupId=(?P<peer>sg-[0-9a-f]+)\}\]'$"
)


def apply_cli_command(client: Any, command: str) -> None:
    """The boto3 call an `aws ec2 authorize-security-group-*` command makes (efa-domain.md A.5 gives the mapping).

    The pattern is strict on purpose: a command that is not exactly in the documented form fails here.
    """
    match = _AUTHORIZE.match(command)
    assert match, f"not the documented authorize form: {command}"
    assert match["region"] == client.meta.region_name
    permission = {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": match["peer"]}]}
    call = client.authorize_security_group_ingress if match["direction"] == "ingress" else client.authorize_security_group_egress
    call(GroupId=match["group"], IpPermissions=[permission])


def test_no_placement_group_warns_degraded(diagnose: Diagnosis) -> None:
    scenario, code, report = diagnose.scenario("no_placement_group")
    assert code == 1
    assert cause_ids(report) == ["AWS005"]
    cause = report["causes"][0]
    assert cause["status"] == "warn" and "no placement group" in cause["summary"]
    assert f"aws ec2 create-placement-group --region {scenario.region} --group-name efa-{scenario.availability_zone} --strategy cluster" in cause["fix"]["commands"]
    assert "DescribePlacementGroups" not in diagnose.actions()  # nothing to describe


def test_instance_type_without_efa_is_the_root_cause(diagnose: Diagnosis) -> None:
    scenario, code, report = diagnose.scenario("no_efa_type")
    assert code == 1
    assert cause_ids(report) == ["AWS001"]
    cause = report["causes"][0]
    assert sorted(cause["consequences"]) == ["AWS002", "K8S002"]
    assert "g5.2xlarge" in cause["summary"] and "does not support EFA" in cause["summary"]
    assert "g5.8xlarge" in cause["fix"]["summary"]  # the closest EFA-capable size of the family
    assert any(e["source"].startswith("ec2:DescribeInstanceTypes") and "False" in e["detail"] for e in cause["evidence"])


# -- access problems: never a crash, never "healthy" -----------------------------------------------------

def test_access_denied_on_security_groups_is_an_unknown_with_the_permission(diagnose: Diagnosis) -> None:
    diagnose.fake.deny("DescribeSecurityGroups")
    _, code, report = diagnose.scenario("healthy_p5")
    assert code == 3 and report["verdict"] == "inconclusive"
    assert status_of(report, "AWS004") == "skip"
    (entry,) = [c for c in report["could_not_check"] if c["check_id"] == "AWS004"]
    assert entry["missing_permission"] == "ec2:DescribeSecurityGroups"
    assert "not allowed to call ec2:DescribeSecurityGroups" in entry["reason"]
    for check_id in ("AWS001", "AWS002", "AWS003", "AWS005"):
        assert status_of(report, check_id) == "pass"


def test_throttling_is_retried_then_succeeds(diagnose: Diagnosis) -> None:
    diagnose.fake.throttle("DescribeInstances", 2)
    _, code, report = diagnose.scenario("healthy_p5")
    assert code == 0, report["headline"]
    assert diagnose.actions()["DescribeInstances"] == 3  # botocore's standard mode: two retries
    assert report["api_calls"]["by_operation"]["ec2:DescribeInstances"] == 1


def test_throttling_that_outlasts_the_retries_is_reported(diagnose: Diagnosis) -> None:
    diagnose.fake.throttle("DescribeInstances", 5)
    _, code, report = diagnose.scenario("healthy_p5")
    assert code == 3
    assert diagnose.actions()["DescribeInstances"] == 3
    entry = next(c for c in report["could_not_check"] if c["check_id"] == "AWS002")
    assert "throttled ec2:DescribeInstances (RequestLimitExceeded)" in entry["reason"]
    assert entry["missing_permission"] is None
    assert status_of(report, "AWS001") == "pass"  # the instance type was still read


def test_missing_instance_is_a_clear_unknown(diagnose: Diagnosis) -> None:
    seeded = diagnose.seed("healthy_p5")
    node = k.node("ip-10-9-9-9.ec2.internal", instance_id="i-0123456789abcdef0", zone=seeded.availability_zone)
    code, report = diagnose.run(node)
    assert code == 3
    entry = next(c for c in report["could_not_check"] if c["check_id"] == "AWS002")
    assert "EC2 instance i-0123456789abcdef0 of node ip-10-9-9-9.ec2.internal was not found in us-east-1" in entry["reason"]
    assert "InvalidInstanceID.NotFound" in entry["reason"]


def test_non_ec2_node_makes_aws_checks_not_applicable(diagnose: Diagnosis) -> None:
    node = k.node("fargate-ip-10-0-9-9.ec2.internal", instance_type=None, efa=None, gpus=None,
                  provider_id="aws:///us-east-1a/4f2a7a1e1c/fargate-ip-10-0-9-9.ec2.internal",
                  labels={"eks.amazonaws.com/compute-type": "fargate"})
    code, report = diagnose.run(node)
    assert code == 1 and cause_ids(report)[0] == "K8S001"
    for check_id in ("AWS001", "AWS002", "AWS004"):
        assert status_of(report, check_id) == "skip"
    assert not any(c["check_id"].startswith("AWS") for c in report["could_not_check"])  # not applicable, not unknown
    assert diagnose.actions() == Counter()


def test_without_credentials_the_type_still_comes_from_offline_data(diagnose: Diagnosis, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = diagnose.seed("no_efa_type")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, report = diagnose.run(diagnose.node_for(seeded))
    assert cause_ids(report) == ["AWS001"]  # g5.2xlarge has no EFA, whatever the credentials
    assert "offline" in check_entry(report, "AWS001")["evidence"][0]["source"]
    entry = next(c for c in report["could_not_check"] if c["check_id"] == "AWS002")
    assert "no AWS credentials found" in entry["reason"] and "--profile" in entry["reason"]
    assert diagnose.actions() == Counter()


def test_unreachable_endpoint_is_an_unknown_naming_it(diagnose: Diagnosis, monkeypatch: pytest.MonkeyPatch) -> None:
    seeded = diagnose.seed("healthy_p5")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    code, report = diagnose.run(diagnose.node_for(seeded))
    assert code == 3
    entry = next(c for c in report["could_not_check"] if c["check_id"] == "AWS002")
    assert "cannot reach http://127.0.0.1:1" in entry["reason"]


def test_unknown_profile_is_a_usage_error(diagnose: Diagnosis, tmp_path: Path) -> None:
    seeded = diagnose.seed("healthy_p5")
    node = diagnose.node_for(seeded)
    with FakeKube([node]) as kube:
        kubeconfig = kube.write_kubeconfig(tmp_path / "kc")
        result = invoke("run", "--node", node["metadata"]["name"], "--kubeconfig", kubeconfig, "--profile", "nope", *ONLY)
    assert result.exit_code == 2
    assert "AWS profile 'nope' is not configured" in result.output


def test_region_option_overrides_the_node_zone(diagnose: Diagnosis) -> None:
    seeded = diagnose.seed("healthy_p5")
    code, report = diagnose.run(diagnose.node_for(seeded), "--region", "eu-west-1")
    assert code == 3  # the instance lives in us-east-1: asking eu-west-1 must not find it
    entry = next(c for c in report["could_not_check"] if c["check_id"] == "AWS002")
    assert "not found in eu-west-1" in entry["reason"]


# -- rounds: what runs concurrently ------------------------------------------------------------------------

def test_independent_ec2_calls_overlap(diagnose: Diagnosis) -> None:
    """DescribeInstances and DescribeInstanceTypes start together; so do the two calls that need the instance."""
    seeded = diagnose.seed("healthy_p5")
    diagnose.fake.delay_s = 0.5
    code, _ = diagnose.run(diagnose.node_for(seeded))
    assert code == 0
    at = {call.action: call.at for call in diagnose.fake.calls}
    assert abs(at["DescribeInstances"] - at["DescribeInstanceTypes"]) < 0.25
    assert abs(at["DescribeSecurityGroups"] - at["DescribePlacementGroups"]) < 0.25
    assert at["DescribeSecurityGroups"] - at["DescribeInstances"] >= 0.45  # after the instance's answer


# -- the IAM policy and read-only code -------------------------------------------------------------------

def policy_actions() -> set[str]:
    policy = json.loads((ROOT / "docs" / "iam-policy.json").read_text())
    return {action for statement in policy["Statement"] for action in statement["Action"]}


def test_iam_policy_lists_exactly_the_recorded_operations(diagnose: Diagnosis) -> None:
    recorded: set[str] = set()
    for name in ("healthy_p5", "no_efa_eni"):
        _, _, report = diagnose.scenario(name)
        recorded |= {op for op in report["api_calls"]["by_operation"] if op.startswith("ec2:")}
    started = len(diagnose.fake.calls)
    result = invoke("instance-types", "p5.48xlarge", "-o", "json")
    assert result.exit_code == 0 and json.loads(result.output)["source"].startswith("ec2:DescribeInstanceTypes")
    recorded |= {f"ec2:{c.action}" for c in diagnose.fake.calls[started:]}
    assert recorded == policy_actions()
    assert all(action.startswith("ec2:Describe") for action in recorded)


def test_efadoctor_code_names_only_describe_operations() -> None:
    """No EC2 operation other than Describe* appears in the product code, in either spelling boto3 accepts."""
    import botocore.session

    operations = set(botocore.session.get_session().get_service_model("ec2").operation_names)
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower(): op for op in operations}
    found: set[str] = set()
    called: set[str] = set()
    for path in [*(ROOT / "efadoctor").rglob("*.py"), *(ROOT / "checks").rglob("*.py")]:
        text = path.read_text()
        found |= {op for op in operations if re.search(rf"\b{op}\b", text)}
        found |= {snake[name] for name in re.findall(r"\.([a-z][a-z0-9_]+)\(", text) if name in snake}
        called |= set(re.findall(r"\.(?:call|pages)\(\s*\"(\w+)\"", text))
    assert found and called, "the scan found nothing: it does not work"
    writes = sorted(op for op in found if not op.startswith("Describe"))
    assert not writes, f"efadoctor must be read-only but names {writes}"
    assert {f"ec2:{op}" for op in called} == policy_actions()  # every call site is in the policy, and nothing more


def test_the_aws_layer_refuses_write_operations() -> None:
    from efadoctor.clients.aws import AwsAccess
    from efadoctor.clients.calls import CallRecorder
    from efadoctor.context import Options

    with pytest.raises(ValueError, match="read-only"):
        AwsAccess(Options(target="node"), CallRecorder()).call("TerminateInstances", region="us-east-1", InstanceIds=["i-1"])
