"""FI_EFA_USE_DEVICE_RDMA against what the instance type can do: one rule for pod specs, the probe and manifests.

efa-domain.md A.2: forcing RDMA read (`=1`) where the EFA device has none (p3dn, g4dn, g5, g6, g6e) makes
libfabric abort; turning it off (`=0`) where aws-ofi-nccl requires GPUDirect RDMA (p4d and later P types,
g7e.12xlarge and larger, trn) makes the plugin's initialization fail. Since libfabric 1.18 the default
follows the hardware, so the variable is never needed.
"""

from __future__ import annotations

from ..instance_types import InstanceTypeInfo

# libfabric reads the variable as a boolean (fi_param_get_bool)
TRUE = ("1", "true", "yes", "on", "y")
FALSE = ("0", "false", "no", "off", "n")

NO_RDMA_READ = "whose EFA has no RDMA read: libfabric aborts the process"
GDR_REQUIRED = "where aws-ofi-nccl requires GPUDirect RDMA: its initialization fails and NCCL falls back to sockets"
UNKNOWN = "unknown"
SOURCE = "efadoctor instance-type data (GPUDirect RDMA column; aws-ofi-nccl platform-aws.cpp gdr_required)"


def conflict(value: str, info: InstanceTypeInfo) -> str | None:
    """NO_RDMA_READ or GDR_REQUIRED when the setting breaks on this type; UNKNOWN when no source says; None when it fits."""
    flag = value.strip().lower()
    if flag in TRUE:
        if info.gdr == "no":
            return NO_RDMA_READ
        return UNKNOWN if info.gdr == "unknown" else None
    if flag in FALSE and info.gdr_required:
        return GDR_REQUIRED
    return None


def describe(info: InstanceTypeInfo) -> tuple[str, str]:
    """The evidence line for the instance type's side of the rule."""
    return SOURCE, f"{info.instance_type}: GPUDirect RDMA {info.gdr}, gdr_required {info.gdr_required}"
