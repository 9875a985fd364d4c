"""Which resource names a pod may ask for: the EFA and GPU names, and their common misspellings.

Shared by the live pod checks and the manifest linter, so both say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .kube import EFA_RESOURCE, GPU_RESOURCE

# extended resources the VPC CNI itself registers: valid, and not EFA
_VPC_OTHER = {"vpc.amazonaws.com/pod-eni", "vpc.amazonaws.com/PrivateIPv4Address"}


@dataclass(frozen=True)
class BadResourceName:
    name: str
    suggestion: str
    rejected: bool  # True: the API server rejects the pod; False: it stays Pending ("Insufficient <name>")

    @property
    def reason(self) -> str:
        if self.rejected:
            return (
                f"'{self.name}' is not a valid resource name: the API server rejects the pod "
                "(must be a standard resource type or fully qualified)"
            )
        return f"'{self.name}' is not the EFA/GPU resource: no node offers it, so the pod stays Pending (Insufficient {self.name})"


def bad_resource_names(names: Iterable[str]) -> list[BadResourceName]:
    """Names that look meant as EFA or GPU but are not `vpc.amazonaws.com/efa` / `nvidia.com/gpu`."""
    bad: list[BadResourceName] = []
    for name in names:
        lowered = name.lower()
        if name in (EFA_RESOURCE, GPU_RESOURCE) or name in _VPC_OTHER:
            continue
        if "/" not in name and "." in name:  # vpc.amazonaws.com: 1, nvidia.com: 8
            suggestion = GPU_RESOURCE if "nvidia" in lowered else EFA_RESOURCE if ("vpc" in lowered or "efa" in lowered or "amazon" in lowered) else ""
            bad.append(BadResourceName(name, suggestion, rejected=True))
        elif "efa" in lowered.split("/")[-1] or lowered.startswith("vpc.amazonaws.com/"):
            bad.append(BadResourceName(name, EFA_RESOURCE, rejected=False))
        elif lowered == "nvidia.com/gpu" or (lowered.startswith("nvidia.com/") and lowered.endswith("gpus")):
            bad.append(BadResourceName(name, GPU_RESOURCE, rejected=False))
    return bad
