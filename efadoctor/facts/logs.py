"""Facts about a log that are not in the log parser's output: which instance type the job ran on.

Why a separate fact: "32 NICs" or "no GDRDMA" only means something against the instance type (a
p5.48xlarge has 32 EFA interfaces and GPUDirect RDMA, a g5.48xlarge one interface and no GPUDirect
RDMA). The type comes from the user (`--instance-type`), from what aws-ofi-nccl printed (`Running on
p4d.24xlarge platform`), or from the node the pod runs on, and the checks must say which it was.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..instance_types import InstanceTypeInfo, all_types, family_of, lookup
from ..parsers.logs import LogFacts, LogLine


@dataclass(frozen=True)
class ExpectedInstanceType:
    """The instance type a log's job ran on, where that was learnt, and its offline facts (None: unknown type)."""

    name: str
    source: str  # "--instance-type", "log: aws-ofi-nccl platform", "k8s: Node label node.kubernetes.io/instance-type"
    info: InstanceTypeInfo | None
    evidence: LogLine | None = None  # the log line that named it, when it came from the log


def instance_type_from_platform(platform: str) -> str | None:
    """The instance type aws-ofi-nccl's `Running on X platform` names, or None.

    aws-ofi-nccl 1.11 and later print the instance type ("p4d.24xlarge"); older versions printed a
    family ("P4d"), which names one instance type only when the family has a single EFA-capable size.
    """
    name = platform.strip().lower()
    if lookup(name) is not None:
        return name
    if "." in name:
        return None
    sizes = [t.instance_type for t in all_types() if t.efa_supported and family_of(t.instance_type) == name]
    return sizes[0] if len(sizes) == 1 else None


def from_log(facts: LogFacts) -> ExpectedInstanceType | None:
    """The first platform aws-ofi-nccl printed that names one instance type."""
    for host in facts.hosts:
        for platform in host.ofi.platforms:
            name = instance_type_from_platform(platform)
            if name is not None:
                hit = host.signature("ofi_platform")
                line = hit.evidence[0] if hit and hit.evidence else None
                return ExpectedInstanceType(name, f"log: aws-ofi-nccl 'Running on {platform} platform'", lookup(name), line)
    return None
