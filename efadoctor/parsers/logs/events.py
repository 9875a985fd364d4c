"""What a line says: pure functions from a line's text to a tuple of events.

An event is `(op, *args)`; the parser applies events to the line's host. Because events depend on the
text alone, the events of NCCL INFO messages (which repeat across ranks) are memoised by the parser.
"""

from __future__ import annotations

from typing import Any

from .facts import EfaDevice
from .framing import _unframe
from .signatures import (
    _BOOTSTRAP,
    _CORE_PROVIDER,
    _DP_DEVICE,
    _DP_SERVING,
    _DP_TOPOLOGY,
    _EFA_CODE,
    _EFA_CODE_KINDS,
    _EFA_IFACE,
    _EFA_TEXTS,
    _ENV_ASSIGN,
    _ENV_ECHO,
    _ERROR_SIGNATURE,
    _FI_HMEM,
    _FI_INFO_ERROR,
    _GDR_REQUIRED,
    _MEMLOCK,
    _MISSING_LIBRARY,
    _NCCL_GDR_DISABLED,
    _NCCL_VERSION,
    _NET_SOCKET,
    _NETWORK_NAME,
    _NO_PROVIDER,
    _OFI_DMABUF,
    _OFI_ENV_SET,
    _OFI_FILTER,
    _OFI_GETINFO_FAILED,
    _OFI_LOADED,
    _OFI_PLATFORM,
    _OFI_PROTOCOL,
    _OFI_PROVIDER,
    _PLUGIN_EXTERNAL_BAD,
    _PLUGIN_EXTERNAL_OK,
    _PLUGIN_INIT_FAILED,
    _PLUGIN_INIT_OK,
    _PLUGIN_INTERNAL,
    _PLUGIN_LOAD_RETURNED,
    _PLUGIN_LOADED,
    _PLUGIN_MISSING,
    _PLUGIN_NAME_BY_ENV,
    _PLUGIN_OPEN_ERROR,
    _USING_NETWORK,
    INTERNAL_NETWORKS,
)

# What a line says is a tuple of events, a pure function of its text: (op, *args). NCCL INFO messages
# repeat across ranks and runs, so their events are memoised; applying them to a host is cheap.
_SIG, _VAL, _COUNT, _NET, _PLUGIN, _NETWORK, _ENV, _ERROR, _GDR = range(9)
Event = tuple[Any, ...]


def _info_events(message: str) -> tuple[Event, ...]:
    """Events of an NCCL INFO message (the text after "NCCL INFO "); memoised by the parser."""
    out: list[Event] = []
    if "NET" in message:
        _net_events(message, out)
    elif "via " in message:
        _intra_node_events(message, out)
    elif "network" in message:
        _network_events(message, out)
    elif "set by" in message:
        _env_echo_events(message, out)
    elif "version" in message:
        _version_events(message, out)
    elif "Bootstrap" in message:
        _bootstrap_events(message, out)
    return tuple(out)


def _other_events(line: str) -> tuple[Event, ...]:
    """Events of a line outside NCCL INFO (fi_info output is handled by the parser, it has state)."""
    out: list[Event] = []
    net = "NET" in line
    if net:
        _net_events(line, out)  # also env echoes, GDR and plugin errors on NET lines
    elif "via " in line and "NCCL" in line:
        _intra_node_events(line, out)
    if "NCCL version" in line:
        _version_events(line, out)
    if "Using network" in line or "external network plugin" in line:
        _network_events(line, out)
    if not net:
        if "set by environment" in line:
            _env_echo_events(line, out)
        _gdr_events(line, out)
    if "Bootstrap" in line:
        _bootstrap_events(line, out)
    if "NET/OFI" not in line:  # _net_events covered aws-ofi-nccl lines
        _error_events(line, out)
    _device_plugin_events(line, out)
    if "=" in line and ("NCCL_" in line or "FI_" in line):
        for match in _ENV_ASSIGN.finditer(line):
            out.append((_SIG, "env_assignment"))
            out.append((_ENV, match.group(1), match.group(2), "assignment"))
    return tuple(out)


def _via_net_events(line: str, at: int) -> tuple[Event, ...]:
    """"Channel 00/0 : 1[1] -> 8[0] [send] via NET/AWS Libfabric/1/GDRDMA": the network and whether
    GPUDirect RDMA is used (the transport signatures are derived from these counts). `feed_lines`
    does the same inline for NCCL INFO lines."""
    route = _via_route(line[at + 8 :])
    return ((_NET, route[0], route[1] == 0),) if route else ()


def _via_route(tail: str) -> tuple[str, int] | tuple[()]:
    """For the text after "via NET/": (network name, 0 with GDRDMA / 1 without), or () if malformed.
    NCCL prints NET/<name>/<dev>[(<proxy rank>)][/GDRDMA][(PCI)][/Shared]."""
    slash = tail.find("/", 0, 65)
    if slash <= 0:
        return ()
    return (tail[:slash], 0 if "/GDRDMA" in tail else 1)


def _net_events(text: str, out: list[Event]) -> None:
    at = text.find("via NET/")
    if at >= 0:
        out.extend(_via_net_events(text, at))
        return
    if "NET/OFI" in text:
        _ofi_events(text, out)
    if "NET/Plugin" in text:
        _nccl_plugin_events(text, out)
    if "NET plugin" in text:
        _nccl_net_plugin_events(text, out)
    if "NET/Socket" in text:
        match = _NET_SOCKET.search(text)
        if match:
            out.append((_SIG, "nccl_socket"))
            out.append((_VAL, "socket_ifs", match.group(1)))
    if "NET/IB" in text and "No device found" in text:
        out.append((_SIG, "nccl_ib_none"))
        out.append((_COUNT, "ib_none"))
    if "GPU Direct RDMA Disabled" in text:
        _gdr_events(text, out)
    if "set by" in text:
        _env_echo_events(text, out)


def _intra_node_events(text: str, out: list[Event]) -> None:
    if " via P2P/" in text:
        out.append((_SIG, "transport_p2p"))
        out.append((_COUNT, "p2p"))
    elif " via SHM/" in text:
        out.append((_SIG, "transport_shm"))
        out.append((_COUNT, "shm"))


def _network_events(text: str, out: list[Event]) -> None:
    if "Using network" in text:
        match = _USING_NETWORK.search(text)
        if match:
            name = match.group(1).split("|", 1)[0].strip()  # CloudWatch repeats the message after " | "
            if _NETWORK_NAME.fullmatch(name):
                out.append((_SIG, "nccl_using_network"))
                out.append((_NETWORK, name))
    elif "external network plugin" in text:
        if _PLUGIN_EXTERNAL_OK.search(text):
            out.append((_SIG, "nccl_plugin_loaded"))
            out.append((_PLUGIN, "loaded", None))
        elif _PLUGIN_EXTERNAL_BAD.search(text):
            out.append((_SIG, "nccl_plugin_load_error"))
            out.append((_PLUGIN, "load_failed", None))


def _version_events(text: str, out: list[Event]) -> None:
    if "NCCL version" in text and "compiled with" not in text:
        match = _NCCL_VERSION.search(text)
        if match:
            out.append((_SIG, "nccl_version"))
            out.append((_VAL, "nccl_versions", match.group(1) + match.group(2)))


def _bootstrap_events(text: str, out: list[Event]) -> None:
    match = _BOOTSTRAP.search(text)
    if match:
        out.append((_SIG, "nccl_bootstrap"))
        out.append((_VAL, "bootstrap_ifs", match.group(1)))


def _env_echo_events(text: str, out: list[Event]) -> None:
    match = _ENV_ECHO.search(text)
    if match:
        value = match.group(2)
        if value.endswith(".") and value[:-1].lstrip("-").isdigit():
            value = value[:-1]  # integer parameters are echoed as "... to 1."
        out.append((_SIG, "nccl_env"))
        out.append((_ENV, match.group(1), value, "nccl"))


def _nccl_plugin_events(text: str, out: list[Event]) -> None:
    """NCCL's "NET/Plugin" lines; their wording changed at least seven times between 2.4 and 2.28."""
    if "Loaded net plugin" in text:
        match = _PLUGIN_LOADED.search(text)
        if match:
            out.append((_SIG, "nccl_plugin_loaded"))
            out.append((_PLUGIN, "loaded", match.group(1)))
        return
    if "Plugin name set by env" in text:
        match = _PLUGIN_NAME_BY_ENV.search(text)
        if match:
            out.append((_SIG, "nccl_env"))
            out.append((_ENV, "NCCL_NET_PLUGIN", match.group(1), "nccl"))
        return
    if _PLUGIN_MISSING.search(text):
        _plugin_missing_events(text, out, missing=True)
        return
    match = _PLUGIN_LOAD_RETURNED.search(text)
    if match:
        _plugin_missing_events(text, out, missing=match.group(1) == "2")
        return
    if _PLUGIN_INTERNAL.search(text):
        out.append((_SIG, "nccl_internal"))
        return
    if ".so" in text and _PLUGIN_OPEN_ERROR.search(text):
        out.append((_SIG, "nccl_plugin_load_error"))
        out.append((_PLUGIN, "load_failed", None))


def _plugin_missing_events(text: str, out: list[Event], *, missing: bool) -> None:
    """NCCL could not dlopen a net plugin. When dlerror names another library than the plugin
    ("libfabric.so.1: cannot open shared object file"), the plugin is there but cannot load: NCCL
    2.19 still words that "No plugin found", so the library named decides, then errno (2 = ENOENT)."""
    at = text.find(": cannot open shared object file")
    match = _MISSING_LIBRARY.search(text, max(0, at - 220), at + 40) if at > 0 else None
    if match:
        missing = match.group(1).startswith("libnccl-net")
    if missing:
        out.append((_SIG, "nccl_plugin_missing"))
        out.append((_PLUGIN, "not_found", None))
    else:
        out.append((_SIG, "nccl_plugin_load_error"))
        out.append((_PLUGIN, "load_failed", None))


def _nccl_net_plugin_events(text: str, out: list[Event]) -> None:
    """NCCL >= 2.27: "Initialized NET plugin X" / "Failed to initialize NET plugin X"."""
    match = _PLUGIN_INIT_FAILED.search(text)
    if match:
        name = match.group(1).strip()
        out.append((_SIG, "nccl_plugin_init_failed"))
        if name.lower() not in INTERNAL_NETWORKS:  # IB failing on an EFA node is expected
            out.append((_PLUGIN, "init_failed", name))
        return
    if "Failed to initialize any NET plugin" in text:
        out.append((_SIG, "nccl_no_net_plugin"))
        return
    match = _PLUGIN_INIT_OK.search(text)
    if match:
        name = match.group(1).strip()
        out.append((_SIG, "nccl_plugin_init_ok"))
        if name.lower() not in INTERNAL_NETWORKS:
            out.append((_PLUGIN, "loaded", name))


def _ofi_events(text: str, out: list[Event]) -> None:
    """aws-ofi-nccl ("NET/OFI") lines. Any of them proves NCCL loaded the plugin (NCCL < 2.12 prints
    no "Loaded net plugin" line), so each marks it loaded."""
    out.append((_PLUGIN, "loaded", None))
    if "aws-ofi-nccl" in text:
        match = _OFI_LOADED.search(text)
        if match:
            out.append((_SIG, "ofi_loaded"))
            out.append((_VAL, "ofi_versions", match.group(1)))
            return
        if "initialization failed" in text:
            out.append((_SIG, "ofi_init_failed"))
            out.append((_PLUGIN, "init_failed", None))
            return
    if "Selected" in text:
        match = _OFI_PROVIDER.search(text)
        if match:
            out.append((_SIG, "ofi_provider"))
            out.append((_VAL, "ofi_providers", match.group(1)))
            if match.group(2):
                out.append((_VAL, "ofi_fabrics", match.group(2)))
            if match.group(3):
                out.append((_VAL, "ofi_nic_counts", int(match.group(3))))
            return
    for anchor, pattern, sig_id, field in _OFI_VALUES:
        if anchor in text:
            match = pattern.search(text)
            if match:
                value = match.group(1)
                out.append((_SIG, sig_id))
                out.append((_VAL, field, value == "true" if field == "ofi_dmabuf" else value))
                return
    if "environment variable to" in text:
        match = _OFI_ENV_SET.search(text)
        if match:
            out.append((_SIG, "ofi_env_set"))
            out.append((_ENV, match.group(1), match.group(2), "plugin"))
            return
    # warnings and errors printed through the plugin
    _error_events(text, out)
    if "GDR" in text:
        _gdr_events(text, out)


_OFI_VALUES = (
    ("Running on", _OFI_PLATFORM, "ofi_platform", "ofi_platforms"),
    ("provider_filter", _OFI_FILTER, "ofi_provider_filter", "ofi_provider_filters"),
    ("transport protocol", _OFI_PROTOCOL, "ofi_protocol", "ofi_protocols"),
    ("DMA-BUF", _OFI_DMABUF, "ofi_dmabuf", "ofi_dmabuf"),
)


def _error_events(line: str, out: list[Event]) -> None:
    """libfabric / EFA / aws-ofi-nccl errors. One line can name a failure twice ("Error: 4126
    (Unresponsive receiver ...)"): each (kind, code) is counted once per line, and a code-less
    entry is dropped when the same kind came with its code."""
    if "fi_getinfo" in line:
        match = _OFI_GETINFO_FAILED.search(line)
        if match:
            enodata = "No data available" in match.group(1)
            out.append((_SIG, "ofi_getinfo_failed"))
            out.append((_ERROR, "enodata", -61) if enodata else (_ERROR, "getinfo_error", None))
        match = _CORE_PROVIDER.search(line)
        if match:
            out.append((_SIG, "core_provider"))
            if match.group(1) == "efa" and match.group(2) in (None, "61"):
                out.append((_ERROR, "enodata", -61))  # the efa provider returned nothing: no device
        elif "fi_getinfo: -" in line:
            match = _FI_INFO_ERROR.fullmatch(_unframe(line))
            if match:
                code = int(match.group(1))
                if code == 61:
                    out.append((_SIG, "fi_info_enodata"))
                    out.append((_ERROR, "enodata", -61))
                else:
                    out.append((_SIG, "fi_info_other_error"))
                    out.append((_ERROR, "getinfo_error", -code))
    if "FI_EFA_IFACE" in line and _EFA_IFACE.search(line):
        out.append((_SIG, "efa_iface_filtered"))
        out.append((_ERROR, "efa_iface_filtered", None))
    if "optimal provider" in line or "eligible providers" in line or "Unable to find a protocol" in line:
        match = _NO_PROVIDER.search(line)
        if match:
            out.append((_SIG, "ofi_no_provider"))
            out.append((_ERROR, "no_provider", None))
            if not match.group(0).startswith("No eligible"):  # the other two end the plugin's init
                out.append((_PLUGIN, "init_failed", None))
    if "Only EFA provider is supported" in line:
        out.append((_SIG, "ofi_efa_only_old"))
        out.append((_ERROR, "efa_only_provider", None))
    found: set[tuple[str, int | None]] = set()
    if "Cannot allocate memory" in line or "MEMLOCK" in line or "memory registrations" in line:
        match = _MEMLOCK.search(line)
        if match:
            found.add(("memlock", -12 if "-12" in match.group(0) else None))
        elif "Cannot allocate memory" in line and ("libfabric" in line or "efa" in line or "EFA" in line):
            found.add(("memlock", None))  # the EFA provider's own ENOMEM lines (RX pool, EQ write)
    if "Unrespons" in line or "Unreachable" in line or "Failure" in line:
        for text, kind, code in _EFA_TEXTS:
            if text in line:
                found.add((kind, code))
    if "security group on either this instance or the peer" in line:
        out.append((_SIG, "ofi_sg_hint"))
        found.add(("unreachable", None))
    if "Unable to insert remote address into address vector" in line:
        out.append((_SIG, "ofi_av_insert"))
        found.add(("av_insert", None))
    if "rror" in line or "prov_errno" in line:
        for match in _EFA_CODE.finditer(line):
            kind = _EFA_CODE_KINDS.get(int(match.group(1)))
            if kind is not None:
                found.add((kind, int(match.group(1))))
    if found:
        coded = {kind for kind, code in found if code is not None}
        for kind in sorted({kind for kind, _ in found}):
            sig_id = _ERROR_SIGNATURE.get(kind)
            if sig_id is not None:
                out.append((_SIG, sig_id))
        for kind, code in sorted(found, key=lambda kc: (kc[0], kc[1] or 0)):
            if code is not None or kind not in coded:
                out.append((_ERROR, kind, code))


def _gdr_events(line: str, out: list[Event]) -> None:
    if "GDR disabled" in line:
        match = _GDR_REQUIRED.search(line)
        if match:
            out.append((_SIG, "gdr_required_fail"))
            out.append((_GDR, "gdr_required_fail", match.group(1)))
    if "FI_EFA_USE_DEVICE_RDMA=1 was set by user" in line:
        out.append((_SIG, "gdr_forced_abort"))
        out.append((_GDR, "gdr_forced_abort", "no rdma-read capability"))
    if "FI_HMEM capability" in line:
        match = _FI_HMEM.search(line)
        if match:
            out.append((_SIG, "fi_hmem_no_rdma"))
            out.append((_GDR, "fi_hmem_no_rdma", match.group(1)))
    if "GPU Direct RDMA Disabled" in line:
        match = _NCCL_GDR_DISABLED.search(line)
        if match:
            out.append((_SIG, "nccl_gdr_disabled"))
            out.append((_GDR, "nccl_gdr_disabled", match.group(1)))


def _device_plugin_events(line: str, out: list[Event]) -> None:
    if "EFA" in line:
        if "Fetching EFA devices" in line:
            out.append((_SIG, "dp_fetching"))
            out.append((_COUNT, "dp_fetching"))
        elif "No valid EFA devices found" in line:
            out.append((_SIG, "dp_no_devices"))
            out.append((_COUNT, "dp_no_devices"))
        elif "EfaDeviceTopology" in line:
            match = _DP_TOPOLOGY.search(line)
            if match:
                out.append((_SIG, "dp_topology"))
                out.append((_VAL, "dp_topologies", match.group(1)))
    if "device: " in line and "uverbs" in line:
        match = _DP_DEVICE.search(line)
        if match:
            out.append((_SIG, "dp_device"))
            out.append((_VAL, "dp_devices", EfaDevice(match.group(1), match.group(2))))
    if "Kubelet" in line and "Registered device plugin" in line:
        out.append((_SIG, "dp_registered"))
        out.append((_COUNT, "dp_registered"))
    if "aws-efa-device-plugin.sock" in line:
        match = _DP_SERVING.search(line)
        if match:
            out.append((_SIG, "dp_serving"))
            out.append((_VAL, "dp_serving", match.group(1)))
