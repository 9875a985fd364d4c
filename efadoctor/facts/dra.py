"""EFA devices published through DRA (ResourceSlices) instead of the vpc.amazonaws.com/efa extended resource."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping


def _seq(value: Any) -> list[Any]:
    """A JSON list as a list; anything else (null, a scalar, a map) as empty."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class EfaResourceSlice:
    """A DRA ResourceSlice on the node that publishes EFA devices (instead of vpc.amazonaws.com/efa)."""

    name: str
    driver: str
    node_name: str | None
    devices: tuple[str, ...]  # the EFA devices in it (device names)
    total_devices: int


def _attribute_strings(device: Mapping[str, Any]) -> list[str]:
    """Attribute values as text; resource.k8s.io/v1 has `attributes` on the device, v1beta1 under `basic`."""
    holder = device.get("basic") if isinstance(device.get("basic"), Mapping) else device
    attributes = holder.get("attributes") if isinstance(holder.get("attributes"), Mapping) else {}
    out = []
    for value in attributes.values():
        if isinstance(value, Mapping):
            for kind in ("string", "version"):
                if isinstance(value.get(kind), str):
                    out.append(value[kind])
    return out


_EFA_RDMA_NAME = re.compile(r"^rdmap\d+s\d+$")  # EFA's verbs device names (sample 20: rdmap79s0)


def is_efa_device(driver: str, device: Mapping[str, Any]) -> bool:
    """An EFA device by its driver's name, or by what the device says it is.

    DraNet (the DRA driver the EKS docs name for EFA) publishes every RDMA NIC under driver `dra.net`;
    an EFA one carries `dra.net/pciDevice: Elastic Fabric Adapter (EFA)` and an `rdmapXsY` RDMA name.
    """
    if "efa" in driver.lower():
        return True
    for text in _attribute_strings(device):
        lowered = text.lower()
        if "elastic fabric adapter" in lowered or lowered == "efa" or _EFA_RDMA_NAME.match(text):
            return True
    return False


def resource_slices_from_list(obj: Mapping[str, Any]) -> tuple[EfaResourceSlice, ...]:
    slices = []
    for item in _seq(obj.get("items")):
        if not isinstance(item, Mapping):
            continue
        meta = item.get("metadata") if isinstance(item.get("metadata"), Mapping) else {}
        spec = item.get("spec") if isinstance(item.get("spec"), Mapping) else {}
        driver = str(spec.get("driver") or "")
        devices = [d for d in _seq(spec.get("devices")) if isinstance(d, Mapping)]
        efa = tuple(str(d.get("name") or "") for d in devices if is_efa_device(driver, d))
        if efa:
            node_name = spec.get("nodeName")
            slices.append(EfaResourceSlice(str(meta.get("name") or ""), driver, node_name if isinstance(node_name, str) else None, efa, len(devices)))
    return tuple(sorted(slices, key=lambda s: s.name))
