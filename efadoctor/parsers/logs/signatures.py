"""The compiled patterns of every known log signature, and the cheap prefilter that guards them.

Each pattern is compiled once and bounded, and is only tried on a line that already holds its anchor
substring, so no line of at most `MAX_LINE_CHARS` can make one slow. Log strings changed across
NCCL, aws-ofi-nccl and libfabric versions; the comments name the versions each form belongs to.
"""

from __future__ import annotations

import re

# The names NCCL calls its own transports; a failure to initialise these is normal on EFA nodes.
INTERNAL_NETWORKS = frozenset({"ib", "socket"})

WATCHED_ENV = (
    "NCCL_NET",
    "NCCL_P2P_DISABLE",
    "NCCL_IB_DISABLE",
    "FI_PROVIDER",
    "FI_EFA_USE_DEVICE_RDMA",
    "NCCL_NET_PLUGIN",
)
"""Variables also captured from `NAME=value` text (env dumps, `mpirun -x`, shell lines): NCCL echoes
integer parameters ("NCCL_IB_DISABLE set by environment to 1."), NCCL_P2P_DISABLE and NCCL_NET_PLUGIN,
but never NCCL_NET, FI_PROVIDER or FI_EFA_USE_DEVICE_RDMA."""

_NCCL_VERSION = re.compile(r"NCCL version (\d+\.\d+\.\d+)([^\s,;]*)")
_USING_NETWORK = re.compile(r"Using network (.{1,80})")
_NETWORK_NAME = re.compile(r"[A-Za-z][\w .\-]{0,63}")
_ENV_ECHO = re.compile(r"\b((?:NCCL|FI|OFI_NCCL|RDMAV)_[A-Z0-9_]{1,64}) set by environment to (\S{0,200})")
_PLUGIN_NAME_BY_ENV = re.compile(r"NET/Plugin ?: Plugin name set by env to (\S{1,200})")
_ENV_ASSIGN = re.compile(r"(?<![\w-])(" + "|".join(WATCHED_ENV) + r")=[\"']?([\w/:+\-]{0,100}(?:\.[\w/:+\-]{1,100}){0,8})")
_BOOTSTRAP = re.compile(r"Bootstrap ?: Using (?:\[\d+\])?([^\s:<\[]{1,64}):")
_NET_SOCKET = re.compile(r"NET/Socket ?: Using \[\d+\]([^\s:<\[]{1,64}):")

_PLUGIN_MISSING = re.compile(r"NET/Plugin ?: (?:dlerror=.{0,300}?)?(?:No plugin found|Could not find:)")
_PLUGIN_LOAD_RETURNED = re.compile(
    r"NET/Plugin ?: (?:Most recent )?[Pp]lugin load (?:\([^)]{0,300}\) )?returned (\d+) ?: (.{0,300})"
)
_PLUGIN_OPEN_ERROR = re.compile(r"NET/Plugin ?: (\S{1,200}\.so(?:\.\d+)*): (.{1,300})")
_MISSING_LIBRARY = re.compile(r"([^\s:=/]{1,200}\.so[.\d]{0,20}): cannot open shared object file")
_PLUGIN_INTERNAL = re.compile(r"NET/Plugin ?: Using internal net(?:work)? plugin|using internal implementation")
_PLUGIN_LOADED = re.compile(r"NET/Plugin ?: Loaded net plugin (.{1,64}) \(v\d+\)")
_PLUGIN_EXTERNAL_OK = re.compile(r"Successfully loaded external network plugin (\S{1,200})")
_PLUGIN_EXTERNAL_BAD = re.compile(r"External network plugin (\S{1,200}) is unsupported")
_PLUGIN_INIT_OK = re.compile(r"Initialized NET plugin (.{1,64})")
_PLUGIN_INIT_FAILED = re.compile(r"Failed to initialize NET plugin (.{1,64})")

_OFI_LOADED = re.compile(r"NET/OFI (?:Using|Initializing) aws-ofi-nccl (\S{1,64})")
_OFI_PROVIDER = re.compile(  # "Selected Provider is efa (found 4 nics)" until 1.13, then ", fabric is efa" (1.14.0)
    r"NET/OFI Selected [Pp]rovider is ([\w;.\-]{1,64})(?:, fabric is ([\w;.\-]{1,64}))?(?: \(found (\d+) nics\))?"
)
_OFI_PLATFORM = re.compile(r"NET/OFI Running on (\S{1,64}) platform")
_OFI_PROTOCOL = re.compile(r"NET/OFI Using transport protocol (\w{1,32})")
_OFI_DMABUF = re.compile(r"NET/OFI Support for DMA-BUF registrations: (true|false)")
_OFI_FILTER = re.compile(r"NET/OFI Setting provider_filter to (\S{1,64})")
_OFI_ENV_SET = re.compile(r"NET/OFI Setting ([A-Z][A-Z0-9_]{1,64}) environment variable to (\S{1,300})")
_OFI_GETINFO_FAILED = re.compile(r"fi_getinfo\(\) call failed: (.{0,200})")
_NO_PROVIDER = re.compile(
    r"Couldn't find any optimal provider|No eligible providers were found|Unable to find a protocol that worked"
)

# libfabric. fi_info: < 1.19 prints "fi_getinfo: -61"; >= 1.19 adds " (No data available)".
_FI_INFO_ERROR = re.compile(r"fi_getinfo: -(\d{1,5})(?: \((.{0,100})\))?")
_CORE_PROVIDER = re.compile(r"fi_getinfo: provider (\S{1,64}) (?:returned -(\d{1,5}) \(([^)]{0,100})\)|output empty list)")
_EFA_IFACE = re.compile(r"Device (\S{1,64}) filtered out by FI_EFA_IFACE")
_MEMLOCK = re.compile(
    r"\(-12\) Cannot allocate memory|Cannot allocate memory \(-12\)|Unable to register MR: Cannot allocate memory"
    r"|RLIMIT_MEMLOCK is \d+ bytes|This will severely limit memory registrations"
)
# Provider codes only: the 2-digit completion statuses (13, 15) collide with errno values in unrelated
# messages, and every EFA message that prints them also prints their text, matched above.
_EFA_CODE = re.compile(r"(?:EFA internal error: \(|prov_errno:? |[Ee]rror:? )(4\d{3})\b")
_EFA_TEXTS: tuple[tuple[str, str, int], ...] = (
    ("Unresponsive receiver (reachable by EFA device but handshake failed)", "unreachable", 4126),
    ("Unreachable remote - never received a response", "unreachable", 15),
    ("Unresponsive remote (was previously responsive)", "unresponsive", 13),
    ("Unresponsive receiver (connection previously established)", "unresponsive", 4124),
    ("Failure to post internal receive buffers", "memlock", 4112),
    ("Failure inserting address into address vector", "av_insert", 4110),
)
_EFA_CODE_KINDS = {4126: "unreachable", 4124: "unresponsive", 4112: "memlock", 4110: "av_insert"}
_ERROR_SIGNATURE = {"memlock": "memlock", "unreachable": "efa_unreachable", "unresponsive": "efa_unresponsive"}

_GDR_REQUIRED = re.compile(r"GDR disabled on GDR-supported instance type (\S{1,64})")
_FI_HMEM = re.compile(r"FI_HMEM capability requires RDMA, which (this device does not support|is turned off)")
_NCCL_GDR_DISABLED = re.compile(r"GPU Direct RDMA Disabled for HCA \d+ '([^']{0,64})'")

_DP_DEVICE = re.compile(r"device: (\w{1,64}),(uverbs\d{1,4}),")
_DP_SERVING = re.compile(r"Starting to serve on (\S{1,300}/aws-efa-device-plugin\.sock)(?!\S)")
_DP_TOPOLOGY = re.compile(r"EfaDeviceTopology initialized successfully with (\d+ \w{1,32} and \d+ EFAs)")

# Pasted fi_info output, matched whole after the framing is stripped.
_FI_PROVIDER_LINE = re.compile(r"\s*provider: (\S{1,64})")
_FI_FIELD_LINE = re.compile(r"\s+(fabric|domain|version|type|protocol): (\S{1,200})")
_FI_LIST_NAME = re.compile(r"([\w;.\-]{1,64}):")
_FI_LIST_VERSION = re.compile(r"\s+version: (\d+\.\d+)")
_FI_VERSION_LINE = re.compile(r"(?:\S{0,200}/)?fi_info: (\d+\.\d+\.\d+\S{0,32})")
_LIBFABRIC_VERSION_LINE = re.compile(r"libfabric: (\d+\.\d+\S{0,32})")
_LIBFABRIC_API_LINE = re.compile(r"libfabric api: (\d+\.\d+)")

# A line outside "NCCL INFO" is examined further only if it holds one of these. Every anchor the
# handlers test is implied by one of them (NCCL's own lines all contain "NCCL" or "NET"; fi_info's
# fields end in ":"; EFA error texts carry "EFA", "Unrea"/"Unresp", "Cannot allocate" or a 4xxx code).
# Kept short: this regex is the cost of every line that is not NCCL INFO.
_TRIGGER = re.compile(
    r"NET|NCCL|fi_|efa|EFA|FI_|libfabric|Cannot allocate|MEMLOCK|memory reg|Unrea|Unresp|security group|prov_errno"
    r"|rror:? 4\d{3}|provider:|version:|fabric:|domain:|type:|protocol:|Kubelet|device: |via |:\s*$"
)
