"""Tests of the offline instance-type facts (efadoctor.instance_types and its generated JSON).

Why: checks trust these numbers to say "this node should have 32 EFA interfaces" or "GPUDirect RDMA is
not available here". They are pinned here against an independent public source and the curated GDR
facts, and the shipped JSON must match what the generator produces from the installed data.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from efadoctor import instance_types
from efadoctor.instance_types import closest_efa_sizes, gdr_supported, lookup

ROOT = Path(__file__).resolve().parent.parent

# vpc.amazonaws.com/efa per instance type, copied from Karpenter's generated instance-type reference
# (built from EC2 DescribeInstanceTypes NetworkInfo.EfaInfo.MaximumEfaInterfaces).
# SOURCE: https://github.com/aws/karpenter-provider-aws/blob/1d927085dd81a9df9301e613f371dac5b4d16bfe/website/content/en/preview/reference/instance-types.md
KARPENTER_MAX_EFA = {
    "dl2q.24xlarge": 1, "g4dn.8xlarge": 1, "g4dn.12xlarge": 1, "g4dn.16xlarge": 1, "g4dn.metal": 1,
    "g5.8xlarge": 1, "g5.12xlarge": 1, "g5.16xlarge": 1, "g5.24xlarge": 1, "g5.48xlarge": 1,
    "g6.8xlarge": 1, "g6.12xlarge": 1, "g6.16xlarge": 1, "g6.24xlarge": 1, "g6.48xlarge": 1,
    "g6e.8xlarge": 1, "g6e.12xlarge": 1, "g6e.16xlarge": 1, "g6e.24xlarge": 2, "g6e.48xlarge": 4,
    "g7.8xlarge": 1, "g7.12xlarge": 1, "g7.24xlarge": 1, "g7.48xlarge": 2,
    "g7e.8xlarge": 1, "g7e.12xlarge": 1, "g7e.24xlarge": 2, "g7e.48xlarge": 4,
    "inf1.24xlarge": 1, "p3dn.24xlarge": 1, "p4d.24xlarge": 4, "p4de.24xlarge": 4,
    "p5.4xlarge": 1, "p5.48xlarge": 32, "p5e.48xlarge": 32, "p5en.48xlarge": 16,
    "p6-b200.48xlarge": 8, "p6-b300.48xlarge": 16,
    "trn1.32xlarge": 8, "trn1n.32xlarge": 16, "trn2.48xlarge": 16,
}  # fmt: skip


@pytest.mark.parametrize(("name", "count"), sorted(KARPENTER_MAX_EFA.items()))
def test_max_efa_matches_karpenter_reference(name: str, count: int) -> None:
    info = lookup(name)
    assert info is not None and info.efa_supported
    assert info.max_efa_interfaces == count


def test_p5_48xlarge() -> None:
    info = lookup("p5.48xlarge")
    assert info is not None
    assert (info.max_efa_interfaces, info.max_network_cards, info.vcpus) == (32, 32, 192)
    assert info.gpus is not None and (info.gpus.count, info.gpus.manufacturer, info.gpus.name) == (8, "NVIDIA", "H100")
    assert info.gpus.memory_mib_total == 8 * 81920
    assert info.network_performance == "3200 Gigabit"
    assert (info.gdr, info.gdr_required) == ("yes", True)


def test_p4d_and_p5en() -> None:
    p4d, p5en = lookup("p4d.24xlarge"), lookup("p5en.48xlarge")
    assert p4d is not None and p5en is not None
    assert (p4d.max_efa_interfaces, p4d.max_network_cards) == (4, 4)
    assert (p5en.max_efa_interfaces, p5en.max_network_cards) == (16, 16)


def test_g5_2xlarge_has_no_efa_and_points_at_the_efa_sizes() -> None:
    info = lookup("g5.2xlarge")
    assert info is not None
    assert info.efa_supported is False and info.max_efa_interfaces == 0
    assert info.gpus is not None and info.gpus.count == 1
    # Same GPU count first (8xl, 16xl have 1 GPU), then the nearest vCPU count.
    assert closest_efa_sizes("g5.2xlarge") == [
        "g5.8xlarge", "g5.16xlarge", "g5.12xlarge", "g5.24xlarge", "g5.48xlarge",
    ]  # fmt: skip


def test_closest_sizes_edges() -> None:
    assert "p5.48xlarge" not in closest_efa_sizes("p5.48xlarge")
    assert closest_efa_sizes("p5.48xlarge") == ["p5.4xlarge"]
    assert closest_efa_sizes("trn1.2xlarge") == ["trn1.32xlarge"]
    assert closest_efa_sizes("m5.large") == []  # family without EFA
    assert closest_efa_sizes("nope") == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("p4d.24xlarge", True),
        ("p5.48xlarge", True),
        ("p6-b300.48xlarge", True),
        ("p6e-gb200.36xlarge", True),
        ("g7e.12xlarge", True),
        ("g7e.48xlarge", True),
        ("p3dn.24xlarge", False),
        ("g4dn.12xlarge", False),
        ("g5.48xlarge", False),
        ("g6.48xlarge", False),
        ("g6e.48xlarge", False),
        ("g7e.8xlarge", False),
        ("p5.4xlarge", None),  # no source states it
        ("g7.48xlarge", None),
        ("c5n.18xlarge", None),
        ("unknown.type", None),
    ],
)
def test_gdr_supported(name: str, expected: bool | None) -> None:
    assert gdr_supported(name) is expected


@pytest.mark.parametrize(
    ("name", "required"),
    [
        ("p4d.24xlarge", True),
        ("p5en.48xlarge", True),
        ("g7e.24xlarge", True),
        ("trn1.32xlarge", True),
        ("trn2.48xlarge", True),
        ("p3dn.24xlarge", False),
        ("p5.4xlarge", False),
        ("g5.48xlarge", False),
        ("g7e.8xlarge", False),
        ("g5.12xlarge", None),
        ("g6e.48xlarge", None),
    ],
)
def test_gdr_required(name: str, required: bool | None) -> None:
    info = lookup(name)
    assert info is not None and info.gdr_required is required


def test_type_added_by_hand_says_so() -> None:
    info = lookup("p6e-gb200.36xlarge")
    assert info is not None and info.efa_supported
    assert info.max_efa_interfaces is None  # unknown, not zero
    assert "not in moto" in info.source
    assert lookup("p5.48xlarge").source.startswith("moto ")  # type: ignore[union-attr]


def test_lookup_is_forgiving_and_values_are_frozen() -> None:
    info = lookup("  P5.48XLARGE ")
    assert info is not None and info.instance_type == "p5.48xlarge" and info.family == "p5"
    assert lookup("p6-b200.48xlarge").family == "p6-b200"  # type: ignore[union-attr]
    m5 = lookup("m5.large")  # known by name only: no EFA, nothing else claimed
    assert m5 is not None and not m5.efa_supported and m5.max_efa_interfaces == 0 and m5.vcpus is None
    assert lookup("x9.nonexistent") is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.max_efa_interfaces = 1  # type: ignore[misc]


def test_all_types_covers_every_efa_type_and_only_accelerated_non_efa_sizes() -> None:
    types = instance_types.all_types()
    assert sum(t.efa_supported for t in types) > 300
    non_efa = [t for t in types if not t.efa_supported and t.vcpus is not None]  # those with facts kept
    assert non_efa and all(t.gpus is not None or t.family.startswith(("trn", "inf")) for t in non_efa)
    assert {"c6i.8xlarge", "m5.large"} <= {t.instance_type for t in types if not t.efa_supported}


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_instance_types", ROOT / "scripts" / "gen_instance_types.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_json_is_what_the_generator_produces() -> None:
    shipped = (ROOT / "efadoctor" / "data" / "instance_types.json").read_text(encoding="utf-8")
    assert shipped == _generator().build()
    lines = shipped.splitlines()
    rows = [line for line in lines if line.startswith('{"instance_type"')]
    assert len(rows) == len(json.loads(shipped)["types"])  # one line per type


def test_import_reads_nothing_until_first_use() -> None:
    code = (
        "import sys, efadoctor.instance_types as m; "
        "assert m._table.cache_info().currsize == 0; "
        "assert not any(n in sys.modules for n in ('boto3', 'botocore', 'kubernetes', 'rich')); "
        "m.lookup('p5.48xlarge'); assert m._table.cache_info().currsize == 1"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
