"""`efadoctor instance-types`: the runbook's first step (which types take EFA, how many, which GPUs) in one command.

Why these tests: the seed runbook starts with `describe-instance-types --filters
Name=network-info.efa-supported,Values=true` restricted to GPU types, then one query per type. The command
must list at least what that runbook listed, from EC2 when it can (here the fake EC2, whose instance-type
data is moto's copy of the real catalogue) and from the shipped data when it cannot, and say which.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from efadoctor.cli import main
from tests.fakes.ec2 import FakeEC2

# The GPU instance types the seed runbook's section 1 printed for
# `aws ec2 describe-instance-types --filters Name=network-info.efa-supported,Values=true
#  --query "InstanceTypes[?GpuInfo.Gpus!=null].InstanceType"` (order as printed there).
SEED_SECTION_1 = (
    "g5.16xlarge p4d.24xlarge g5.8xlarge g4dn.8xlarge g6e.24xlarge gr6.8xlarge g5.48xlarge g6.24xlarge "
    "g6e.48xlarge g6e.8xlarge g6.48xlarge g4dn.metal g6e.16xlarge g4dn.12xlarge g6.8xlarge g5.24xlarge "
    "g6e.12xlarge g5.12xlarge p5en.48xlarge g6.16xlarge g6.12xlarge g4dn.16xlarge"
).split()


def run(*args: str):
    return CliRunner().invoke(main, ["instance-types", *args], catch_exceptions=False)


def listed(result) -> list[str]:
    return [row["instance_type"] for row in json.loads(result.stdout)["instance_types"]]


@pytest.fixture()
def live(fake_ec2: FakeEC2, no_aws: None, monkeypatch: pytest.MonkeyPatch) -> FakeEC2:
    fake_ec2.reset()
    for key, value in fake_ec2.env().items():
        monkeypatch.setenv(key, value)
    return fake_ec2


def test_offline_default_lists_every_type_of_the_seed_runbook(no_aws: None) -> None:
    result = run("--offline", "-o", "json")
    assert result.exit_code == 0
    names = listed(result)
    assert set(SEED_SECTION_1) <= set(names)
    assert {"p5.48xlarge", "p5e.48xlarge", "p6-b200.48xlarge", "trn1.32xlarge", "trn2.48xlarge"} <= set(names)
    assert not any(n.startswith(("c5n.", "hpc", "m6i.")) for n in names)  # GPU/accelerator types only by default
    assert "g5.2xlarge" not in names  # no EFA


def test_live_default_lists_every_type_of_the_seed_runbook(live: FakeEC2) -> None:
    result = run("-o", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["source"] == "ec2:DescribeInstanceTypes (us-east-1)" and payload["note"] is None
    assert set(SEED_SECTION_1) <= set(listed(result))
    # the seed's filter, once: paginated, not one call per type
    assert live.actions() == ["DescribeInstanceTypes"]
    p5 = next(r for r in payload["instance_types"] if r["instance_type"] == "p5.48xlarge")
    assert (p5["max_efa_interfaces"], p5["max_network_cards"], p5["gpu_count"], p5["gpu_name"], p5["gdr"]) == (32, 32, 8, "H100", "yes")
    assert p5["card_interface_types"][0] == ["interface", "efa", "efa-only"]


def test_sorted_by_family_then_size(no_aws: None) -> None:
    names = listed(run("--offline", "-o", "json"))
    families = [n.split(".")[0] for n in names]
    order = ["g4dn", "g5", "g6", "g6e", "p4d", "p5", "p5e", "p5en"]
    positions = [families.index(f) for f in order]
    assert positions == sorted(positions)
    g5 = [n for n in names if n.startswith("g5.")]
    assert g5 == ["g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge"]  # by vCPUs: 32, 48, 64, 96, 192


def test_all_families(no_aws: None) -> None:
    names = listed(run("--offline", "--all", "-o", "json"))
    assert "c5n.18xlarge" in names and "hpc7a.96xlarge" in names and "p5.48xlarge" in names


def test_named_types_show_details(no_aws: None) -> None:
    result = run("--offline", "p5.48xlarge", "g5.2xlarge")
    assert result.exit_code == 0
    text = result.stdout
    p5 = text[text.index("p5.48xlarge"):]
    assert "max EFA interfaces         32" in p5 and "GPUDirect RDMA over EFA    yes" in p5 and "8x H100" in p5
    g5 = text[text.index("g5.2xlarge"):text.index("p5.48xlarge")]
    assert "EFA supported              no" in g5
    assert "closest EFA-capable sizes  g5.8xlarge, g5.16xlarge" in g5


def test_family_name_lists_its_efa_sizes(no_aws: None) -> None:
    assert listed(run("--offline", "g6e", "-o", "json")) == [
        "g6e.8xlarge", "g6e.12xlarge", "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge"]


def test_live_named_types_are_one_call(live: FakeEC2) -> None:
    result = run("p4d.24xlarge", "p5en.48xlarge", "-o", "json")
    assert result.exit_code == 0
    rows = {r["instance_type"]: r for r in json.loads(result.stdout)["instance_types"]}
    assert (rows["p4d.24xlarge"]["max_efa_interfaces"], rows["p5en.48xlarge"]["max_efa_interfaces"]) == (4, 16)
    assert live.actions() == ["DescribeInstanceTypes"]


@pytest.mark.parametrize("offline", [True, False])
def test_unknown_type_is_exit_2(live: FakeEC2, offline: bool) -> None:
    result = run("p5.48xlarge", "p9.huge", *(["--offline"] if offline else []))
    assert result.exit_code == 2
    assert "p9.huge" in result.output and "Traceback" not in result.output


def test_without_aws_access_falls_back_to_offline_data_with_a_note(no_aws: None) -> None:
    result = run("p5.48xlarge")
    assert result.exit_code == 0
    assert "note: EC2 could not be asked" in result.stderr and "offline" in result.stderr
    assert "offline instance-type data" in result.stdout
    payload = json.loads(run("-o", "json").stdout)
    assert payload["source"] == "efadoctor offline instance-type data" and "could not be asked" in payload["note"]


def test_access_denied_falls_back_with_the_reason(live: FakeEC2) -> None:
    live.deny("DescribeInstanceTypes")
    payload = json.loads(run("-o", "json").stdout)
    assert "not allowed to call ec2:DescribeInstanceTypes" in payload["note"]
    assert set(SEED_SECTION_1) <= {r["instance_type"] for r in payload["instance_types"]}


def test_markdown_table(no_aws: None) -> None:
    result = run("--offline", "-o", "markdown")
    assert result.stdout.startswith("| TYPE ") and "| p5.48xlarge " in result.stdout


def test_help_imports_no_heavy_library() -> None:
    out = subprocess.run([sys.executable, "-X", "importtime", "-m", "efadoctor", "instance-types", "--help"],
                         capture_output=True, text=True, check=True)
    modules = {line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")}
    assert "click" in modules
    assert not [m for m in modules if m.split(".")[0] in ("boto3", "botocore", "kubernetes", "rich", "tabulate")]
