"""Generate efadoctor/data/instance_types.json: offline EFA facts per EC2 instance type.

Why offline data: checks such as "does this node's instance type support EFA, and how many interfaces"
or "is GPUDirect RDMA available here" should not cost an EC2 round trip or an IAM permission, and must
still answer when ec2:DescribeInstanceTypes is denied.

Sources:
- EC2 DescribeInstanceTypes, as bundled with moto (``moto/ec2/resources/instance_types.json.gz`` inside
  the installed moto package): EfaSupported, EfaInfo.MaximumEfaInterfaces, MaximumNetworkCards,
  NetworkPerformance, GpuInfo, VCpuInfo.DefaultVCpus. This is moto's snapshot of the real API output.
- Curated, because no API reports them:
  - ``gdr``: GPUDirect RDMA over EFA (``FI_EFA_USE_DEVICE_RDMA``). "yes" for the P-series from p4d on
    (AWS maintainer, aws/aws-ofi-nccl#547, Aug 2025) and for g7e.12/24/48xlarge (aws-ofi-nccl platform
    table); "no" for p3dn, g4dn, g5, g6, g6e (no RDMA read) and g7e.8xlarge; "unknown" where no source
    states it (p5.4xlarge, g7, trn*, CPU types, ...).
  - ``gdr_required``: the ``gdr_required`` flag of aws/aws-ofi-nccl ``src/platform-aws.cpp`` @2daf7d3
    (true: p4d/p4de, p5/p5e, p5en/p6-b200, p6-b300, g7e.12/24/48xlarge, the "p-series" catch-all
    for p6e-gb200 and later, Trainium ``^trn``; false: p3dn, p5.4xlarge, g5.48xlarge, g7e.8xlarge;
    null: not in the table).
- Types efadoctor must know that moto's data lacks are added by hand below with a ``source`` saying so.

Which types: every EFA-capable type, plus the accelerated (GPU or Neuron) sizes without EFA of the same
families (e.g. g5.2xlarge), so a check can suggest the closest EFA-capable size.

Run from the repository root: ``python scripts/gen_instance_types.py`` (writes the file) or
``python scripts/gen_instance_types.py --check`` (exit 1 if the file is out of date).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parent.parent / "efadoctor" / "data" / "instance_types.json"

# GPUDirect RDMA and aws-ofi-nccl gdr_required, exact types first, then whole families.
GDR_BY_TYPE: dict[str, tuple[str, bool | None]] = {
    "p3dn.24xlarge": ("no", False),
    "p5.4xlarge": ("unknown", False),
    "g5.48xlarge": ("no", False),
    "g7e.8xlarge": ("no", False),
    "g7e.12xlarge": ("yes", True),
    "g7e.24xlarge": ("yes", True),
    "g7e.48xlarge": ("yes", True),
}
GDR_BY_FAMILY: dict[str, tuple[str, bool | None]] = {
    **{f: ("yes", True) for f in ("p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200")},
    **{f: ("no", None) for f in ("g4dn", "g5", "g6", "g6e")},
    **{f: ("unknown", True) for f in ("trn1", "trn1n", "trn2", "trn2u")},
}

# Types named in the project's domain research but absent from moto's data. Unknown numbers stay null.
ADDED: list[dict[str, Any]] = [
    {
        "instance_type": "p6e-gb200.36xlarge",
        "efa_supported": True,
        "max_efa_interfaces": None,
        "max_network_cards": None,
        "network_performance": None,
        "gpus": None,
        "vcpus": None,
        "source": "added by hand, not in moto's DescribeInstanceTypes data: EFA per aws/eks-charts "
        "aws-efa-k8s-device-plugin v0.5.14 (adds it to the node affinity list); GDR per aws/aws-ofi-nccl#547 "
        "(P-series from p4d) and the platform-aws.cpp p-series entry; counts unknown",
    },
]


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def moto_data() -> tuple[dict[str, Any], str]:
    """moto's DescribeInstanceTypes snapshot and the moto version it came with."""
    import moto

    path = Path(moto.__file__).parent / "ec2" / "resources" / "instance_types.json.gz"
    return json.loads(gzip.decompress(path.read_bytes())), moto.__version__


def _gpus(raw: dict[str, Any]) -> dict[str, Any] | None:
    gpus = raw.get("GpuInfo", {}).get("Gpus") or []
    if not gpus:
        return None
    return {
        "count": sum(int(g.get("Count", 0)) for g in gpus),
        "manufacturer": gpus[0].get("Manufacturer"),
        "name": gpus[0].get("Name"),
        "memory_mib_total": raw["GpuInfo"].get("TotalGpuMemoryInMiB"),
    }


def _gdr(instance_type: str) -> dict[str, Any]:
    gdr, required = GDR_BY_TYPE.get(instance_type) or GDR_BY_FAMILY.get(family(instance_type), ("unknown", None))
    return {"gdr": gdr, "gdr_required": required}


def _row(raw: dict[str, Any], source: str) -> dict[str, Any]:
    network = raw.get("NetworkInfo", {})
    efa = bool(network.get("EfaSupported"))
    return {
        "instance_type": raw["InstanceType"],
        "efa_supported": efa,
        "max_efa_interfaces": network.get("EfaInfo", {}).get("MaximumEfaInterfaces") if efa else 0,
        "max_network_cards": network.get("MaximumNetworkCards"),
        "network_performance": network.get("NetworkPerformance"),
        "gpus": _gpus(raw),
        "vcpus": raw.get("VCpuInfo", {}).get("DefaultVCpus"),
        **_gdr(raw["InstanceType"]),
        "source": source,
    }


def _sort_key(instance_type: str) -> tuple[str, int, str]:
    size = instance_type.split(".", 1)[-1]
    digits = "".join(ch for ch in size if ch.isdigit())
    return family(instance_type), int(digits) if digits else 10**6, size  # "metal" last


def build() -> str:
    """The JSON text: a short header, then one compact line per instance type."""
    data, version = moto_data()
    source = f"moto {version} DescribeInstanceTypes"
    efa_families = {family(t) for t, raw in data.items() if raw.get("NetworkInfo", {}).get("EfaSupported")}
    rows = []
    for name, raw in data.items():
        efa = raw.get("NetworkInfo", {}).get("EfaSupported")
        accelerated = bool(raw.get("GpuInfo") or raw.get("NeuronInfo"))
        if efa or (accelerated and family(name) in efa_families):
            rows.append(_row(raw, source))
    for added in ADDED:
        if added["instance_type"] not in data:
            facts = {k: v for k, v in added.items() if k != "source"}
            rows.append({**facts, **_gdr(added["instance_type"]), "source": added["source"]})
    rows.sort(key=lambda r: _sort_key(r["instance_type"]))
    listed = {r["instance_type"] for r in rows}
    # every other type, by name only: enough to say "no EFA" for c6i.8xlarge instead of "unknown"
    without_efa = sorted((name for name in data if name not in listed), key=_sort_key)
    header = {
        "about": "EFA facts per EC2 instance type; generated by scripts/gen_instance_types.py, do not edit",
        "columns": {
            "max_efa_interfaces": "NetworkInfo.EfaInfo.MaximumEfaInterfaces (= vpc.amazonaws.com/efa); 0 without EFA",
            "gdr": "GPUDirect RDMA over EFA: yes | no | unknown (curated, see the generator)",
            "gdr_required": "aws-ofi-nccl platform-aws.cpp gdr_required @2daf7d3; null if not listed",
            "without_efa": "every other instance type of the same source: no EFA, no other facts kept",
        },
    }
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"{json.dumps(key)}: {json.dumps(value)},")
    lines.append('"types": [')
    lines.append(",\n".join(json.dumps(row, separators=(",", ":")) for row in rows))
    lines.append("],")
    lines.append(f'"without_efa": {json.dumps(without_efa, separators=(",", ":"))}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is not up to date")
    args = parser.parse_args(argv)
    text = build()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.name} is out of date; run scripts/gen_instance_types.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
