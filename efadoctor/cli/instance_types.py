"""`efadoctor instance-types`: which instance types take EFA, how many interfaces, GPUs and GPUDirect RDMA.

The first step of every EFA runbook is `aws ec2 describe-instance-types --filters
Name=network-info.efa-supported,Values=true`, then one query per type for its EFA interface count,
network performance and GPUs. This command does both at once, from EC2 when it can be reached (the
region's own answer) and from the data shipped with efadoctor otherwise, and adds what EC2 does not
publish: whether GPUDirect RDMA over EFA works on the type.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Sequence

import click

from .options import OUTPUTS, UsageFailure, aws_options

# accelerator families whose EC2 answer names no GPU (Trainium, Inferentia, Gaudi, Qualcomm AI 100)
_ACCELERATOR_FAMILY = re.compile(r"^(trn|inf|dl)\d")
_FAMILY = re.compile(r"^(?P<letters>[a-z]+)(?P<generation>\d*)(?P<rest>.*)$")
_EFA_FILTER = [{"Name": "network-info.efa-supported", "Values": ["true"]}]


@click.command(name="instance-types")
@click.argument("names", nargs=-1, metavar="[TYPE|FAMILY]...")
@click.option("--all", "all_families", is_flag=True, help="Every EFA-capable family, not only GPU and ML-accelerator ones.")
@click.option("--offline", is_flag=True, help="Use the data shipped with efadoctor; do not call EC2.")
@aws_options
@click.option("-o", "--output", type=click.Choice(OUTPUTS), default="table", show_default=True, help="Output format.")
def command(names, all_families, offline, profile, region, output):
    """EFA-capable instance types: EFA interfaces, network, GPUs, network cards, GPUDirect RDMA.

    \b
    efadoctor instance-types                         GPU/accelerator types with EFA in the region
    efadoctor instance-types --all                   every family with EFA (c5n, hpc7a, ...)
    efadoctor instance-types p5.48xlarge g5.2xlarge  details of these types (EFA or not)
    efadoctor instance-types g6e                     the EFA-capable sizes of a family

    Live from ec2:DescribeInstanceTypes; without AWS access (or with --offline) from efadoctor's own data.
    """
    wanted = [n.strip().lower() for n in names if n.strip()]
    exact = [n for n in wanted if "." in n]
    families = [n for n in wanted if "." not in n]
    rows, source, note = _gather(exact, families, offline=offline, profile=profile, region=region)
    if not wanted and not all_families:
        rows = [r for r in rows if _accelerated(r)]
    rows = sorted(rows, key=_sort_key)
    detail = bool(exact) and not families
    if output == "json":
        payload = {"source": source, "region": region, "note": note, "instance_types": [_as_json(r) for r in rows]}
        click.echo(json.dumps(payload, indent=2))
        return
    if note:
        click.echo(f"note: {note}", err=True)
    if detail:
        click.echo(_details(rows, markdown=output == "markdown"))
    else:
        click.echo(_table(rows, source, markdown=output == "markdown"))


def _gather(exact: Sequence[str], families: Sequence[str], *, offline: bool, profile: str | None, region: str | None):
    """(rows, source, note): from EC2 when possible, from the shipped data otherwise."""
    from ..model import FactUnavailable, UsageError

    offline_source = "efadoctor offline instance-type data"
    try:
        if offline:
            return _offline(exact, families), offline_source, None
        try:
            rows, where = _live(exact, families, profile=profile, region=region)
            return rows, f"ec2:DescribeInstanceTypes ({where})", None
        except FactUnavailable as error:
            note = f"EC2 could not be asked ({error.reason}); showing {offline_source}"
            return _offline(exact, families), offline_source, note
    except _UnknownTypes as unknown:
        raise UsageFailure(str(unknown)) from None
    except UsageError as error:
        raise UsageFailure(str(error)) from None


class _UnknownTypes(Exception):
    """EC2 (or the offline data) knows none of these names: a usage error."""


def _live(exact: Sequence[str], families: Sequence[str], *, profile: str | None, region: str | None):
    from ..clients.aws import AwsAccess
    from ..clients.calls import CallRecorder
    from ..context import Options
    from ..facts.aws import instance_type_from_api
    from ..model import FactUnavailable

    aws = AwsAccess(Options(target="local", profile=profile, region=region), CallRecorder())
    config = aws.config()
    where = region or config.default_region or "the default region"
    if exact and not families:
        try:
            items = aws.pages("DescribeInstanceTypes", "InstanceTypes", region=region, InstanceTypes=list(exact))
        except FactUnavailable as error:
            if "InvalidInstanceType" in error.reason:
                raise _UnknownTypes(f"unknown instance type(s): {error.reason.split(':', 2)[-1].strip()}") from None
            raise
    else:
        items = aws.pages("DescribeInstanceTypes", "InstanceTypes", region=region, Filters=_EFA_FILTER)
        items = [i for i in items if _matches(str(i.get("InstanceType", "")), exact, families)]
        _require_known(exact, families, {str(i.get("InstanceType")) for i in items})
    return [instance_type_from_api(item) for item in items], where


def _offline(exact: Sequence[str], families: Sequence[str]):
    from ..facts.aws import instance_type_offline
    from ..instance_types import all_types

    if not exact and not families:
        names = [t.instance_type for t in all_types() if t.efa_supported]
    else:
        names = [
            t.instance_type
            for t in all_types()
            if _matches(t.instance_type, exact, families) and (t.efa_supported or t.instance_type in exact)
        ]
    _require_known(exact, families, set(names))
    return [info for info in (instance_type_offline(name) for name in names) if info is not None]


def _matches(name: str, exact: Sequence[str], families: Sequence[str]) -> bool:
    if not exact and not families:
        return True
    return name in exact or name.split(".", 1)[0] in families


def _require_known(exact: Sequence[str], families: Sequence[str], found: set[str]) -> None:
    unknown = [n for n in exact if n not in found] + [f for f in families if not any(x.split(".", 1)[0] == f for x in found)]
    if unknown:
        raise _UnknownTypes(f"unknown instance type(s) or family without EFA: {', '.join(unknown)}")


def _accelerated(info: Any) -> bool:
    return bool(info.gpu_count or info.accelerator or _ACCELERATOR_FAMILY.match(info.family))


def _sort_key(info: Any) -> tuple:
    """Family by its letters and generation (g4dn < g5 < g6 < g6e < p4d < p5), then by size (vCPUs)."""
    match = _FAMILY.match(info.family)
    if match is None:
        return (info.family, 0, "", info.vcpus or 0, info.instance_type)
    return (match["letters"], int(match["generation"] or 0), match["rest"], info.vcpus or 0, info.instance_type)


def _gpus(info: Any) -> str:
    if info.gpu_count:
        return f"{info.gpu_count}x {info.gpu_name or 'GPU'}"
    return info.accelerator or "-"


def _gib(mib: int | None) -> str:
    return f"{round(mib / 1024, 1):g} GiB" if mib else "-"


def _cards(info: Any) -> str:
    if not info.card_interface_types:
        return "-"
    kinds = sorted({", ".join(types) for types in info.card_interface_types})
    return "; ".join(kinds)


def _as_json(info: Any) -> dict[str, Any]:
    return {
        "instance_type": info.instance_type,
        "efa_supported": info.efa_supported,
        "max_efa_interfaces": info.max_efa_interfaces,
        "max_network_cards": info.max_network_cards,
        "network_performance": info.network_performance,
        "gpu_count": info.gpu_count,
        "gpu_name": info.gpu_name,
        "gpu_memory_mib": info.gpu_memory_mib,
        "accelerator": info.accelerator,
        "vcpus": info.vcpus,
        "gdr": info.gdr,
        "gdr_required": info.gdr_required,
        "card_interface_types": [list(t) for t in info.card_interface_types],
        "source": info.source,
    }


HEADERS = ["TYPE", "EFA", "NETWORK", "GPUS", "GPU MEMORY", "CARDS", "GDR"]


def _table(rows: Iterable[Any], source: str, *, markdown: bool) -> str:
    from tabulate import tabulate

    table = [
        [
            r.instance_type,
            r.max_efa_interfaces,
            r.network_performance or "-",
            _gpus(r),
            _gib(r.gpu_memory_mib),
            r.max_network_cards or "-",
            r.gdr,
        ]
        for r in rows
    ]
    body = tabulate(table, headers=HEADERS, tablefmt="github" if markdown else "simple")
    footer = (
        f"{len(table)} instance type(s) from {source}. EFA: max EFA interfaces (= vpc.amazonaws.com/efa on a fully "
        "attached node); GDR: GPUDirect RDMA over EFA."
    )
    return f"{body}\n\n{footer}"


def _details(rows: Iterable[Any], *, markdown: bool) -> str:
    from tabulate import tabulate

    from ..instance_types import closest_efa_sizes

    blocks = []
    for r in rows:
        fields = [
            ("EFA supported", "yes" if r.efa_supported else "no"),
            ("max EFA interfaces", r.max_efa_interfaces),
            ("network cards", r.max_network_cards or "-"),
            ("interface types per card", _cards(r)),
            ("network performance", r.network_performance or "-"),
            ("GPUs / accelerators", _gpus(r)),
            ("GPU memory (total)", _gib(r.gpu_memory_mib)),
            ("vCPUs", r.vcpus or "-"),
            ("GPUDirect RDMA over EFA", r.gdr),
            ("aws-ofi-nccl requires GDR", {True: "yes", False: "no"}.get(r.gdr_required, "-")),
            ("source", r.source),
        ]
        if not r.efa_supported:
            closest = ", ".join(closest_efa_sizes(r.instance_type)[:5]) or "none in this family"
            fields.append(("closest EFA-capable sizes", closest))
        title = f"## {r.instance_type}" if markdown else r.instance_type
        if markdown:
            table = tabulate(fields, headers=["field", "value"], tablefmt="github")
        else:
            table = tabulate(fields, tablefmt="plain")
        blocks.append(f"{title}\n{table}")
    return "\n\n".join(blocks)
