"""One line that says what the network did, for a terminal, a ticket or a check's summary."""

from __future__ import annotations

from typing import Any

from .facts import OVERFLOW_HOST, UNKNOWN_HOST, HostLogFacts, LogFacts, _distinct

_ERROR_LABELS = {
    "enodata": "fi_getinfo -61 (No data available)",
    "getinfo_error": "fi_getinfo error",
    "no_provider": "no usable libfabric provider",
    "efa_iface_filtered": "FI_EFA_IFACE filtered out devices",
    "memlock": "memory registration failure (memlock)",
    "unreachable": "EFA peer unreachable",
    "unresponsive": "EFA peer unresponsive",
    "av_insert": "address-vector insert failure",
    "efa_only_provider": "non-EFA provider refused",
}
_OUTCOME_LABELS = {
    "not_found": "net plugin not found",
    "load_failed": "net plugin failed to load",
    "init_failed": "net plugin failed to initialise",
}


def summarize(facts: LogFacts) -> str:
    """One line for a terminal or a ticket, e.g.
    "NCCL 2.18.5 over Libfabric/efa, 32 NICs, GDRDMA on all 256 NET channel connections (2 hosts)".
    Failures follow the route; errors are grouped by kind with their codes and match counts."""
    hosts = facts.hosts
    nccl_hosts = [h for h in hosts if h.nccl_versions or h.network or h.plugin.outcome or h.transports.net_total]
    parts: list[str] = []
    if facts.nccl_versions or nccl_hosts:
        versions = _distinct(v.split("+")[0] for v in facts.nccl_versions)
        head = "NCCL " + "/".join(versions) if versions else "NCCL (version not logged)"
        routed = [h for h in nccl_hosts if h.network]
        routes = _distinct(_route(h) for h in routed)
        if len(routes) == 1:
            head += " over " + routes[0]
        elif routes:
            head += " over mixed networks: " + "; ".join(f"{h.host} {_route(h)}" for h in routed)
        parts.append(head)
    nics = _distinct(n for h in hosts for n in h.ofi.nic_counts)
    if nics:
        parts.append("/".join(str(n) for n in nics) + (" NIC" if nics == (1,) else " NICs"))
    net_total = sum(h.transports.net_total for h in hosts)
    gdr_total = sum(h.transports.gdrdma_total for h in hosts)
    if net_total:
        if gdr_total == net_total:
            parts.append(f"GDRDMA on all {net_total} NET channel connections")
        elif gdr_total:
            parts.append(f"GDRDMA on {gdr_total} of {net_total} NET channel connections")
        else:
            parts.append(f"no GDRDMA on {net_total} NET channel connections")
    ofi_versions = _distinct(v for h in hosts for v in h.ofi.versions)
    if ofi_versions:
        parts.append("aws-ofi-nccl " + "/".join(ofi_versions))
    for outcome in _distinct(h.plugin.outcome for h in hosts if h.plugin.outcome in _OUTCOME_LABELS):
        parts.append(_OUTCOME_LABELS[outcome])  # type: ignore[index]
    errors: dict[str, list[Any]] = {}
    for host in hosts:
        for err in host.errors:
            entry = errors.setdefault(err.kind, [0, {}])
            entry[0] += err.count
            if err.code is not None and err.kind != "enodata":
                entry[1][err.code] = None
    for kind, (count, codes) in errors.items():
        label = _ERROR_LABELS.get(kind, kind)
        if codes:
            label += " (" + ", ".join(str(c) for c in codes) + ")"
        parts.append(f"{label} x{count}")
    for signal in _distinct((g.kind, g.detail) for h in hosts for g in h.gdr):
        parts.append(f"{signal[0].replace('_', ' ')}: {signal[1]}")
    if any(h.device_plugin.seen for h in hosts):
        devices = _distinct(d for h in hosts for d in h.device_plugin.devices)
        if devices:
            parts.append(f"device plugin found {len(devices)} EFA device{'s' if len(devices) != 1 else ''}")
        if any(h.device_plugin.no_devices for h in hosts):
            parts.append("device plugin: No valid EFA devices found")
    providers = _distinct(e.provider for h in hosts for e in h.fi_info.entries)
    if providers:
        parts.append("fi_info lists " + ", ".join(providers))
    listed = _distinct(p for h in hosts for p in h.fi_info.listed_providers)
    if listed:
        parts.append("fi_info -l " + ("lists efa" if "efa" in listed else "has no efa provider"))
    libfabric = _distinct(v for h in hosts for v in h.fi_info.libfabric_versions)
    if libfabric:
        parts.append("libfabric " + "/".join(libfabric))
    if not parts:
        return f"no NCCL, libfabric or EFA device-plugin lines recognised ({facts.lines} lines read)"
    summary = ", ".join(parts)
    named = [h for h in nccl_hosts if h.host not in (UNKNOWN_HOST, OVERFLOW_HOST)]
    if len(named) > 1:
        summary += f" ({len(named)} hosts)"
    if facts.read_errors:
        summary += f"; {len(facts.read_errors)} file(s) not fully read"
    return summary


def _route(host: HostLogFacts) -> str:
    if not host.network:
        return ""
    route = host.network if host.network_source == "printed" else f"{host.network} (NET/Socket initialised)"
    if host.network_kind in ("AWS Libfabric", "Libfabric") and host.ofi.providers:
        route += "/" + "/".join(host.ofi.providers)
    return route
