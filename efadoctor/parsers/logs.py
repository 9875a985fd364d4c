"""Read NCCL, aws-ofi-nccl, libfabric and EFA device-plugin logs into facts, one line at a time.

The runbook ends with "run nccl-tests with NCCL_DEBUG=INFO and check the traffic goes over EFA"; people
grep for it. This module answers the same questions as typed values: which network NCCL used, whether
aws-ofi-nccl loaded, which provider and how many NICs, whether GPUDirect RDMA is in use, and which known
failure signature appeared, per host, with the exact lines as evidence.

Why it is shaped this way:

- Logs are big (a 1 000-rank nccl-tests run writes gigabytes) and often interleave many hosts, so the
  parser streams: memory holds the first few evidence lines per signature and host, never the log.
  Every collection has a cap, and lines longer than `MAX_LINE_CHARS` are cut before any regex.
- Most lines say nothing we need. Each line first meets cheap substring tests; only a line that carries
  an anchor word reaches a regex, and every regex is compiled once and bounded, so no line (of at most
  `MAX_LINE_CHARS`) can make one slow. What a line says is a tuple of events computed from its text
  alone, so the events of NCCL INFO messages, which repeat across ranks, are memoised; the commonest
  line, a per-channel "via NET/..." connection, is counted inline. About 100 MiB/s on one core for an
  nccl-tests-shaped log (benchmarks/bench_logs.py).
- Log strings changed across versions (NCCL's "plugin not found" text at least seven times; aws-ofi-nccl
  renamed "AWS Libfabric" to "Libfabric" in 1.13.0 and "Selected Provider is efa (found N nics)" to
  "Selected provider is efa, fabric is efa (found N nics)" in 1.14.0; libfabric added " (No data
  available)" to `fi_getinfo: -61` in 1.19.0). Every known form is matched.
- Lines arrive framed: NCCL's `host:pid:tid [dev] NCCL INFO`, its optional `[date time]` stamp,
  CloudWatch tables, CRI `<ts> stdout F`, `kubectl logs --prefix` (`[pod/NAME/CONTAINER]`), OpenMPI
  `[1,0]<stdout>:`, k9s boxes. NCCL patterns use `re.search`; only pasted `fi_info` output is matched
  whole, after the framing is stripped.
- A parser never raises on its input. Undecodable bytes arrive as U+FFFD (callers decode with
  errors="replace"), and unreadable files become `ReadError` values next to whatever could be read.

Facts are per host: the NCCL hostname from the line prefix, else the pod name from a kubectl prefix,
else "unknown". Nothing here judges: checks decide what a fact means. Two domain points shape the facts:
`fi_getinfo: -61` / "No data available" from the efa provider is a local "no EFA device visible"
result (never a security group, which gives 4126 / status 15 later, on the data path); and
`NCCL_P2P_DISABLE` / `NCCL_IB_DISABLE` are recorded because folklore says they force TCP. They do not
(only `NCCL_NET=Socket` does), which a check can show from the env and network facts together.
"""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import io
import os
import re
import sys
import zlib
from dataclasses import dataclass
from typing import IO, Any, Iterable, Iterator, Union

MAX_LINE_CHARS = 8192
"""Longer lines are cut here before any regex (the rest is never examined)."""
EVIDENCE_CHARS = 400
"""Evidence lines are stored up to this many characters."""
DEFAULT_MAX_EVIDENCE = 5
"""First K lines kept as evidence per signature and host."""
MAX_HOSTS = 512
"""Hosts tracked separately; lines from further hosts are pooled under `OVERFLOW_HOST`."""
MAX_VALUES = 16
"""Distinct values kept per field (versions, providers, interfaces...)."""
MAX_ITEMS = 256
"""Distinct items kept per list (devices, env settings, fi_info entries)."""

UNKNOWN_HOST = "unknown"
OVERFLOW_HOST = "(more hosts)"

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

SIGNATURES: dict[str, str] = {
    # NCCL core
    "nccl_version": "NCCL version line",
    "nccl_plugin_missing": "NCCL found no external net plugin (aws-ofi-nccl not on the library path)",
    "nccl_plugin_load_error": "NCCL could not load a net plugin library (ABI or dependency error)",
    "nccl_internal": "NCCL says it uses its internal network implementation",
    "nccl_plugin_loaded": "NCCL loaded an external net plugin",
    "nccl_plugin_init_ok": "NCCL >= 2.27 initialised a NET plugin",
    "nccl_plugin_init_failed": "NCCL >= 2.28 failed to initialise a NET plugin",
    "nccl_no_net_plugin": "NCCL failed to initialise any NET plugin",
    "nccl_using_network": "NCCL chose its network ('Using network X')",
    "nccl_socket": "NCCL initialised its socket transport (NET/Socket)",
    "nccl_ib_none": "NCCL's internal IB transport found no device",
    "nccl_bootstrap": "NCCL bootstrap interface",
    "nccl_env": "NCCL echoed an environment setting",
    "nccl_gdr_disabled": "NCCL disabled GPU Direct RDMA for an HCA",
    "transport_net": "channel connection over a network transport (via NET/...)",
    "transport_net_gdrdma": "channel connection over the network with GPUDirect RDMA (/GDRDMA)",
    "transport_p2p": "intra-node channel via P2P",
    "transport_shm": "intra-node channel via SHM",
    # aws-ofi-nccl
    "ofi_loaded": "aws-ofi-nccl announced itself (Initializing/Using aws-ofi-nccl VERSION)",
    "ofi_init_failed": "aws-ofi-nccl initialisation failed",
    "ofi_provider": "aws-ofi-nccl selected a libfabric provider",
    "ofi_platform": "aws-ofi-nccl platform detection",
    "ofi_protocol": "aws-ofi-nccl transport protocol (SENDRECV or RDMA)",
    "ofi_dmabuf": "aws-ofi-nccl DMA-BUF support",
    "ofi_provider_filter": "aws-ofi-nccl forced provider_filter (FI_PROVIDER unset on EC2)",
    "ofi_env_set": "aws-ofi-nccl set an environment variable",
    "ofi_getinfo_failed": "aws-ofi-nccl: fi_getinfo() call failed",
    "ofi_no_provider": "aws-ofi-nccl found no usable provider or protocol",
    "ofi_efa_only_old": "old aws-ofi-nccl refused a non-EFA provider",
    "ofi_av_insert": "aws-ofi-nccl could not insert a remote address into the address vector",
    "ofi_sg_hint": "aws-ofi-nccl says the security group is not set up correctly",
    # libfabric
    "fi_info_enodata": "fi_info printed fi_getinfo: -61 (no EFA device visible)",
    "fi_info_other_error": "fi_info printed another fi_getinfo error",
    "core_provider": "libfabric core: a provider returned an error or an empty list",
    "efa_iface_filtered": "libfabric >= 2.0 filtered a device out by FI_EFA_IFACE",
    "efa_unreachable": "EFA peer unreachable (4126 / status 15): data path, not -61",
    "efa_unresponsive": "EFA peer stopped responding (13 / 4124)",
    "memlock": "memory registration failed (-12 / RLIMIT_MEMLOCK / 4112)",
    "efa_error_code": "EFA provider error code",
    # GPUDirect RDMA
    "gdr_required_fail": "aws-ofi-nccl: GDR disabled on a GDR-required instance type",
    "gdr_forced_abort": "FI_EFA_USE_DEVICE_RDMA=1 forced on a device without RDMA read (abort)",
    "fi_hmem_no_rdma": "libfabric: FI_HMEM needs RDMA, which is unavailable or turned off",
    # EFA device plugin
    "dp_fetching": "device plugin: Fetching EFA devices",
    "dp_device": "device plugin: EFA device line",
    "dp_no_devices": "device plugin: No valid EFA devices found",
    "dp_registered": "device plugin registered with the kubelet",
    "dp_serving": "device plugin serving its socket",
    "dp_topology": "device plugin topology line",
    # pasted fi_info output
    "fi_info_provider": "fi_info provider block",
    "fi_info_list": "fi_info -l provider line",
    "fi_info_version": "fi_info --version line",
    "env_assignment": "NAME=value text for a watched variable",
}
"""Every signature id the parser can report, with what it means. Ids are stable."""

FAILURE_SIGNATURES = frozenset(
    {
        "nccl_plugin_missing",
        "nccl_plugin_load_error",
        "nccl_plugin_init_failed",
        "nccl_no_net_plugin",
        "ofi_init_failed",
        "ofi_getinfo_failed",
        "ofi_no_provider",
        "ofi_efa_only_old",
        "ofi_av_insert",
        "ofi_sg_hint",
        "fi_info_enodata",
        "fi_info_other_error",
        "efa_iface_filtered",
        "efa_unreachable",
        "efa_unresponsive",
        "memlock",
        "gdr_required_fail",
        "gdr_forced_abort",
        "dp_no_devices",
    }
)
"""Signatures that are a failure wherever they appear (a missing plugin still needs "node has EFA")."""

# --------------------------------------------------------------------------------------------------
# Facts
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of evidence: where it was and what it said (cut to `EVIDENCE_CHARS`)."""

    file: str
    line_no: int
    text: str


@dataclass(frozen=True)
class SignatureHit:
    """A known signature that matched: how often, and the first lines that matched."""

    id: str
    count: int
    evidence: tuple[LogLine, ...]


@dataclass(frozen=True)
class PluginLoad:
    """What became of NCCL's external net plugin (aws-ofi-nccl) on a host.

    `outcome` is the most telling outcome seen: init_failed > loaded > load_failed > not_found, because
    NCCL tries several library names before one loads, and a loaded plugin can still fail to start.
    None means the log says nothing about the plugin.
    """

    outcome: str | None  # "loaded" | "not_found" | "load_failed" | "init_failed" | None
    outcomes_seen: tuple[str, ...]
    name: str | None  # the network name NCCL reported for the plugin, e.g. "Libfabric"
    evidence: LogLine | None  # the line that decided `outcome`


@dataclass(frozen=True)
class NetworkChoice:
    """A `Using network X` line: the name as printed and its kind."""

    name: str
    kind: str  # "Socket" | "IB" | "AWS Libfabric" | "Libfabric" | "other"
    count: int
    evidence: LogLine


@dataclass(frozen=True)
class NetChannels:
    """Channel connections over one network transport; each is logged by its sender and its receiver."""

    network: str  # e.g. "AWS Libfabric", "Libfabric", "Socket", "IB"
    gdrdma: int
    plain: int

    @property
    def total(self) -> int:
        return self.gdrdma + self.plain


@dataclass(frozen=True)
class Transports:
    """Per-channel transports: `via NET/...` crosses hosts; `via P2P` and `via SHM` stay inside one."""

    net: tuple[NetChannels, ...] = ()
    p2p: int = 0
    shm: int = 0

    @property
    def net_total(self) -> int:
        return sum(n.total for n in self.net)

    @property
    def gdrdma_total(self) -> int:
        return sum(n.gdrdma for n in self.net)


@dataclass(frozen=True)
class OfiPlugin:
    """What aws-ofi-nccl said about itself. Tuples hold distinct values in order of appearance."""

    versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()  # "P4d" (old) or "p4d.24xlarge" (1.11+)
    providers: tuple[str, ...] = ()  # "efa", "tcp"...
    fabrics: tuple[str, ...] = ()  # only printed since 1.14.0
    nic_counts: tuple[int, ...] = ()
    protocols: tuple[str, ...] = ()  # "SENDRECV" | "RDMA"
    dmabuf: tuple[bool, ...] = ()
    provider_filters: tuple[str, ...] = ()  # "efa" when FI_PROVIDER was unset on EC2


@dataclass(frozen=True)
class EnvSetting:
    """An environment setting the log reveals. source: "nccl" (NCCL echoed it), "plugin" (aws-ofi-nccl
    set it), or "assignment" (NAME=value text, e.g. an env dump or `mpirun -x`)."""

    name: str
    value: str
    source: str
    count: int
    evidence: LogLine


@dataclass(frozen=True)
class ErrorSignal:
    """A libfabric/EFA/aws-ofi-nccl error, grouped by kind and code.

    kind: "enodata" (-61 / "No data available": the provider found no usable device; for efa, no EFA
    device is visible to the process, a local condition no security group can cause), "getinfo_error"
    (another fi_getinfo error), "no_provider", "efa_iface_filtered", "memlock" (-12, RLIMIT_MEMLOCK,
    4112), "unreachable" (4126, status 15, the security-group message: data path, after fi_getinfo
    succeeded), "unresponsive" (13, 4124), "av_insert" (4110 / address vector insert),
    "efa_only_provider" (an old plugin refusing FI_PROVIDER=tcp/sockets).
    """

    kind: str
    code: int | None
    count: int
    evidence: tuple[LogLine, ...]


@dataclass(frozen=True)
class GdrSignal:
    """A GPUDirect RDMA message. kind: "gdr_required_fail" (detail = instance type), "gdr_forced_abort",
    "fi_hmem_no_rdma" (detail = the reason), "nccl_gdr_disabled" (detail = HCA name)."""

    kind: str
    detail: str
    count: int
    evidence: tuple[LogLine, ...]


@dataclass(frozen=True)
class EfaDevice:
    name: str  # e.g. rdmap79s0
    uverbs: str  # e.g. uverbs0


@dataclass(frozen=True)
class DevicePlugin:
    """What the aws-efa-k8s-device-plugin logged. Counts are lines; devices are distinct."""

    fetching: int = 0
    devices: tuple[EfaDevice, ...] = ()
    no_devices: int = 0
    registered: int = 0
    serving: tuple[str, ...] = ()
    topologies: tuple[str, ...] = ()  # e.g. "8 GPUs and 32 EFAs"

    @property
    def seen(self) -> bool:
        return bool(self.fetching or self.devices or self.no_devices or self.registered or self.serving)


@dataclass(frozen=True)
class FiInfoEntry:
    """One short-form `fi_info` block (provider, then indented fabric/domain/version/type/protocol)."""

    provider: str
    fabric: str | None
    domain: str | None
    version: str | None
    ep_type: str | None
    protocol: str | None
    evidence: LogLine


@dataclass(frozen=True)
class FiInfo:
    """Pasted `fi_info` output: blocks, `fi_info -l` provider names and `fi_info --version` lines.
    The -61 result itself is an `ErrorSignal` of kind "enodata" (signature fi_info_enodata)."""

    entries: tuple[FiInfoEntry, ...] = ()
    listed_providers: tuple[str, ...] = ()
    fi_info_versions: tuple[str, ...] = ()
    libfabric_versions: tuple[str, ...] = ()
    libfabric_apis: tuple[str, ...] = ()

    @property
    def seen(self) -> bool:
        return bool(self.entries or self.listed_providers or self.fi_info_versions or self.libfabric_versions)


@dataclass(frozen=True)
class HostLogFacts:
    """Everything one host's (or pod's) lines said.

    `network` is the network NCCL printed (`Using network X`, the last one if several); when NCCL did not
    print one, it is "Socket" if NET/Socket was initialised (NCCL only reaches its socket transport when
    neither a plugin nor IB was taken), and `network_source` says which ("printed" | "inferred").
    """

    host: str
    matched_lines: int
    nccl_versions: tuple[str, ...]
    plugin: PluginLoad
    networks: tuple[NetworkChoice, ...]
    network: str | None
    network_source: str | None
    socket_interfaces: tuple[str, ...]
    bootstrap_interfaces: tuple[str, ...]
    ib_no_device: bool
    transports: Transports
    ofi: OfiPlugin
    env: tuple[EnvSetting, ...]
    errors: tuple[ErrorSignal, ...]
    gdr: tuple[GdrSignal, ...]
    device_plugin: DevicePlugin
    fi_info: FiInfo
    signatures: tuple[SignatureHit, ...]

    @property
    def network_kind(self) -> str | None:
        return network_kind(self.network) if self.network else None

    def env_value(self, name: str) -> str | None:
        """The value NCCL echoed for `name`, else the last value other text showed, else None."""
        found = None
        for setting in self.env:
            if setting.name == name:
                if setting.source == "nccl":
                    return setting.value
                found = setting.value
        return found

    def signature(self, sig_id: str) -> SignatureHit | None:
        return next((s for s in self.signatures if s.id == sig_id), None)


@dataclass(frozen=True)
class ReadError:
    """A file that could not be (fully) read; the facts hold what was read before the error."""

    file: str
    error: str


@dataclass(frozen=True)
class LogFacts:
    """The whole parse: per-host facts plus what was read. Signature ids are explained in `SIGNATURES`."""

    files: tuple[str, ...]
    lines: int
    truncated_lines: int
    read_errors: tuple[ReadError, ...]
    hosts: tuple[HostLogFacts, ...]
    hosts_overflowed: bool

    def host(self, name: str) -> HostLogFacts | None:
        return next((h for h in self.hosts if h.host == name), None)

    @property
    def nccl_versions(self) -> tuple[str, ...]:
        return _distinct(v for h in self.hosts for v in h.nccl_versions)

    @property
    def signature_ids(self) -> tuple[str, ...]:
        return _distinct(s.id for h in self.hosts for s in h.signatures)

    @property
    def failure_signatures(self) -> tuple[str, ...]:
        return tuple(s for s in self.signature_ids if s in FAILURE_SIGNATURES)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (tuples become lists under json.dumps)."""
        return dataclasses.asdict(self)


def network_kind(name: str) -> str:
    """Socket | IB | AWS Libfabric (aws-ofi-nccl < 1.13) | Libfabric (>= 1.13.0) | other."""
    lowered = name.strip().lower()
    if lowered == "socket":
        return "Socket"
    if lowered == "ib":
        return "IB"
    if lowered == "aws libfabric":
        return "AWS Libfabric"
    if lowered == "libfabric":
        return "Libfabric"
    return "other"


# --------------------------------------------------------------------------------------------------
# Patterns (compiled once; each is only tried on lines that hold its anchor substring)
# --------------------------------------------------------------------------------------------------

# NCCL's prefix: "host:pid:tid [dev] " (hostname cut at the first '.', '%' and '/' replaced by '-'),
# matched on the space-free token before " [dev]"; framing such as "[1,0]<stdout>:" may precede it.
_HOST_TOKEN = re.compile(r"([A-Za-z0-9][\w.\-]*):\d+:\d+$")
_KUBECTL_POD = re.compile(r"\[pod/([^/\]\s]+)/[^\]\s]*\]")

# Framing that may precede a bare line (stripped, repeatedly, only for pasted fi_info output).
_TS = r"\d{4}[-/]\d\d[-/]\d\d[T ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?"
_FRAME = re.compile(
    r"(?:\[pod/[^\]\s]+\] ?"  # kubectl logs --prefix
    r"|" + _TS + r" (?:stdout|stderr) [FP] "  # CRI log file
    r"|\s*\|\s*" + _TS + r"\s*\|\s?"  # CloudWatch console table
    r"|\[\d+,\d+\]<(?:stdout|stderr)>:"  # OpenMPI --tag-output
    r"|\u2502 ?"  # k9s box
    r"|\[?" + _TS + r"\]? "  # a bare timestamp (one space: indentation after it is the text's)
    r"|# "  # shell-comment paste ("# provider: efa"; the indentation after it is kept)
    r")+"
)

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

_OUTCOME_RANK = {"init_failed": 4, "loaded": 3, "load_failed": 2, "not_found": 1}


# --------------------------------------------------------------------------------------------------
# Accumulation (mutable, private), then freezing into the facts above
# --------------------------------------------------------------------------------------------------


def _distinct(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


class _Hits:
    """A count and the first K evidence lines."""

    __slots__ = ("count", "evidence")

    def __init__(self) -> None:
        self.count = 0
        self.evidence: list[LogLine] = []


# What a line says is a tuple of events, a pure function of its text: (op, *args). NCCL INFO messages
# repeat across ranks and runs, so their events are memoised; applying them to a host is cheap.
_SIG, _VAL, _COUNT, _NET, _PLUGIN, _NETWORK, _ENV, _ERROR, _GDR = range(9)
Event = tuple[Any, ...]

_WIDE_FIELDS = frozenset({"dp_devices", "fi_listed"})  # these keep up to MAX_ITEMS values


class _HostAcc:
    """Mutable per-host state while parsing; bounded by the caps above."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.matched = 0
        self.signatures: dict[str, _Hits] = {}
        self.values: dict[str, dict[Any, None]] = {}
        self.counters: dict[str, int] = {}
        self.plugin_outcomes: dict[str, LogLine] = {}
        self.plugin_name: str | None = None
        self.networks: dict[str, list[Any]] = {}  # name -> [count, first evidence]
        self.net_channels: dict[str, list[int]] = {}  # network -> [gdrdma, plain]
        self.via_evidence: tuple[list[LogLine], list[LogLine]] = ([], [])  # first lines with, without GDRDMA
        self.env: dict[tuple[str, str, str], list[Any]] = {}  # (name, value, source) -> [count, evidence]
        self.errors: dict[tuple[str, int | None], _Hits] = {}
        self.gdr: dict[tuple[str, str], _Hits] = {}
        self.fi_entries: list[FiInfoEntry] = []
        self.fi_block: dict[str, Any] | None = None
        self.fi_pending: tuple[str, LogLine] | None = None  # an `fi_info -l` name awaiting its version line

    def tuple_of(self, field: str) -> tuple[Any, ...]:
        return tuple(self.values.get(field, ()))

    def freeze(self) -> HostLogFacts:
        """Frozen facts of this host so far; parsing may continue afterwards."""
        entries = self.fi_entries if self.fi_block is None else [*self.fi_entries, _fi_entry(self.fi_block)]
        printed = list(self.networks)
        if printed:
            network, source = printed[-1], "printed"
        elif self.values.get("socket_ifs"):
            network, source = "Socket", "inferred"
        else:
            network, source = None, None
        outcome = max(self.plugin_outcomes, key=_OUTCOME_RANK.__getitem__) if self.plugin_outcomes else None
        count = self.counters.get
        return HostLogFacts(
            host=self.host,
            matched_lines=self.matched,
            nccl_versions=self.tuple_of("nccl_versions"),
            plugin=PluginLoad(
                outcome=outcome,
                outcomes_seen=tuple(sorted(self.plugin_outcomes, key=_OUTCOME_RANK.__getitem__, reverse=True)),
                name=self.plugin_name,
                evidence=self.plugin_outcomes.get(outcome) if outcome else None,
            ),
            networks=tuple(NetworkChoice(name, network_kind(name), c, ev) for name, (c, ev) in self.networks.items()),
            network=network,
            network_source=source,
            socket_interfaces=self.tuple_of("socket_ifs"),
            bootstrap_interfaces=self.tuple_of("bootstrap_ifs"),
            ib_no_device=bool(count("ib_none")),
            transports=Transports(
                net=tuple(NetChannels(name, g, p) for name, (g, p) in self.net_channels.items()),
                p2p=count("p2p", 0),
                shm=count("shm", 0),
            ),
            ofi=OfiPlugin(
                versions=self.tuple_of("ofi_versions"),
                platforms=self.tuple_of("ofi_platforms"),
                providers=self.tuple_of("ofi_providers"),
                fabrics=self.tuple_of("ofi_fabrics"),
                nic_counts=self.tuple_of("ofi_nic_counts"),
                protocols=self.tuple_of("ofi_protocols"),
                dmabuf=self.tuple_of("ofi_dmabuf"),
                provider_filters=self.tuple_of("ofi_provider_filters"),
            ),
            env=tuple(EnvSetting(n, v, s, c, ev) for (n, v, s), (c, ev) in self.env.items()),
            errors=tuple(ErrorSignal(k, code, h.count, tuple(h.evidence)) for (k, code), h in self.errors.items()),
            gdr=tuple(GdrSignal(k, d, h.count, tuple(h.evidence)) for (k, d), h in self.gdr.items()),
            device_plugin=DevicePlugin(
                fetching=count("dp_fetching", 0),
                devices=self.tuple_of("dp_devices"),
                no_devices=count("dp_no_devices", 0),
                registered=count("dp_registered", 0),
                serving=self.tuple_of("dp_serving"),
                topologies=self.tuple_of("dp_topologies"),
            ),
            fi_info=FiInfo(
                entries=tuple(entries[:MAX_ITEMS]),
                listed_providers=self.tuple_of("fi_listed"),
                fi_info_versions=self.tuple_of("fi_info_versions"),
                libfabric_versions=self.tuple_of("libfabric_versions"),
                libfabric_apis=self.tuple_of("libfabric_apis"),
            ),
            signatures=self.frozen_signatures(),
        )

    def frozen_signatures(self) -> tuple[SignatureHit, ...]:
        hits = [SignatureHit(i, h.count, tuple(h.evidence)) for i, h in self.signatures.items()]
        for kind, sig_id in enumerate(("transport_net_gdrdma", "transport_net")):
            count = sum(counts[kind] for counts in self.net_channels.values())
            if count:
                hits.append(SignatureHit(sig_id, count, tuple(self.via_evidence[kind])))
        return tuple(hits)

    def flush_fi_block(self) -> None:
        block = self.fi_block
        if block is not None:
            self.fi_block = None
            if len(self.fi_entries) < MAX_ITEMS:
                self.fi_entries.append(_fi_entry(block))


def _fi_entry(block: dict[str, Any]) -> FiInfoEntry:
    return FiInfoEntry(
        provider=block["provider"],
        fabric=block.get("fabric"),
        domain=block.get("domain"),
        version=block.get("version"),
        ep_type=block.get("type"),
        protocol=block.get("protocol"),
        evidence=block["evidence"],
    )


def _add(values: dict[Any, None], value: Any, cap: int = MAX_VALUES) -> None:
    if value not in values and len(values) < cap:
        values[value] = None


class LogParser:
    """Feed lines (from one or several files, in any host interleaving), then ask for `facts()`.

    Incremental on purpose: a collector can stream `kubectl logs -f` into it and stop at any time.
    """

    def __init__(self, max_evidence: int = DEFAULT_MAX_EVIDENCE) -> None:
        self._max_evidence = max(0, max_evidence)
        self._hosts: dict[str, _HostAcc] = {}
        self._token_cache: dict[str, _HostAcc] = {}
        self._memo: dict[str, tuple[Event, ...]] = {}
        self._routes: dict[str, tuple[str, int] | tuple[()]] = {}
        self._files: dict[str, None] = {}
        self._read_errors: list[ReadError] = []
        self._lines_before = 0  # lines of the files finished before the current one
        self._truncated = 0
        self._overflowed = False
        self._file = "<lines>"
        self._line_no = 0
        self._fi_acc: _HostAcc | None = None  # the host with an open fi_info block or `fi_info -l` name

    # ---- feeding -------------------------------------------------------------------------------

    def begin_file(self, name: str) -> None:
        """Start a new source: evidence names it, line numbers restart at 1."""
        self._close_fi_state()
        self._lines_before += self._line_no
        self._file = name
        self._line_no = 0
        if len(self._files) < MAX_ITEMS:
            self._files[name] = None

    def add_read_error(self, name: str, error: BaseException) -> None:
        if len(self._read_errors) < MAX_ITEMS:
            self._read_errors.append(ReadError(name, f"{type(error).__name__}: {error}"))

    def feed(self, line: str) -> None:
        """Examine one line. Never raises for any string."""
        self.feed_lines((line,))

    def feed_lines(self, lines: Iterable[str]) -> None:
        """Examine lines in order. This loop is the hot path: it keeps its state in locals, looks
        further at a line only when one of a few anchor words is in it, and counts the most frequent
        candidates (per-channel "via NET/" lines) inline."""
        line_no = self._line_no
        trigger = _TRIGGER.search
        memo = self._memo
        tokens = self._token_cache
        routes = self._routes
        keep = self._max_evidence
        try:
            for line in lines:
                line_no += 1
                if len(line) > MAX_LINE_CHARS:
                    line = line[:MAX_LINE_CHARS]
                    self._truncated += 1
                info = line.find("NCCL INFO")
                if info >= 0:
                    # The bulk of an NCCL_DEBUG=INFO log; most of it carries none of these words.
                    if "NET" in line:
                        at = line.find("via NET/", info)
                        if at >= 0:
                            # "... NCCL INFO Channel 00/0 : 1[1] -> 8[0] [send] via NET/AWS Libfabric/1/GDRDMA"
                            # counted per host and network, with or without GPUDirect RDMA; this is
                            # `_line_host`, `_via_net_events` and `_apply` unrolled for the commonest line.
                            tail = line[at + 8 :]  # "AWS Libfabric/1/GDRDMA": few distinct values
                            route = routes.get(tail)
                            if route is None:
                                route = _via_route(tail)
                                if len(tail) <= 128:  # caches hold short keys only: memory stays bounded
                                    if len(routes) >= 4096:
                                        routes.clear()
                                    routes[tail] = route
                            if not route:
                                continue
                            bracket = line.rfind(" [", 0, info)
                            acc = tokens.get(line[line.rfind(" ", 0, bracket) + 1 : bracket]) if bracket > 0 else None
                            if acc is None:
                                acc = self._line_host(line, info - 1)
                            counts = acc.net_channels.get(route[0])
                            if counts is None:
                                if len(acc.net_channels) >= MAX_VALUES:
                                    continue
                                counts = acc.net_channels[route[0]] = [0, 0]
                            acc.matched += 1
                            kind = route[1]
                            counts[kind] += 1
                            if counts[kind] <= keep and len(acc.via_evidence[kind]) < keep:
                                acc.via_evidence[kind].append(LogLine(self._file, line_no, line[:EVIDENCE_CHARS].rstrip("\r\n")))
                            continue
                    elif not (
                        "via " in line or "network" in line or "set by" in line or "version" in line or "Bootstrap" in line
                    ):
                        continue
                    message = line[info + 10 :]
                    events = memo.get(message)
                    if events is None:
                        events = _info_events(message)
                        if len(message) <= 512:
                            if len(memo) >= 8192:
                                memo.clear()
                            memo[message] = events
                    if events:
                        self._line_no = line_no
                        bracket = line.rfind(" [", 0, info)
                        acc = tokens.get(line[line.rfind(" ", 0, bracket) + 1 : bracket]) if bracket > 0 else None
                        self._apply(acc or self._line_host(line, info - 1), events, line)
                elif trigger(line) is not None:
                    self._line_no = line_no
                    self._other(line)
                elif self._fi_acc is not None:
                    self._line_no = line_no
                    self._fi_info(line)  # a plain line ends an open fi_info block
        finally:
            self._line_no = line_no

    # ---- result --------------------------------------------------------------------------------

    def facts(self) -> LogFacts:
        """The facts so far (the parser can keep being fed afterwards)."""
        hosts = sorted(
            (acc for acc in self._hosts.values() if acc.matched),
            key=lambda a: (a.host in (UNKNOWN_HOST, OVERFLOW_HOST), a.host),
        )
        return LogFacts(
            files=tuple(self._files),
            lines=self._lines_before + self._line_no,
            truncated_lines=self._truncated,
            read_errors=tuple(self._read_errors),
            hosts=tuple(acc.freeze() for acc in hosts),
            hosts_overflowed=self._overflowed,
        )

    # ---- hosts -----------------------------------------------------------------------------------

    def _line_host(self, line: str, cut: int) -> _HostAcc:
        """NCCL lines read "[frame]host:pid:tid [dev] ... NCCL LEVEL" (`cut` = index of " NCCL "): the
        host is in the space-free token before the last " [" ahead of it. Tokens repeat (one per
        thread), so they are cached; timestamps in the framing are outside the token. Other lines
        belong to the pod of a kubectl prefix, or to "unknown"."""
        if cut > 0:
            bracket = line.rfind(" [", 0, cut)
            if bracket > 0:
                token = line[line.rfind(" ", 0, bracket) + 1 : bracket]
                acc = self._token_cache.get(token)
                if acc is None:
                    match = _HOST_TOKEN.search(token[-300:])  # hostnames are short; a bound keeps search linear
                    acc = self._host_named(match.group(1) if match else _pod_or_unknown(line))
                    if len(token) <= 300:
                        if len(self._token_cache) >= 65536:  # ~10 MB; a 1000-node job has ~40k threads
                            self._token_cache.clear()
                        self._token_cache[token] = acc
                return acc
        return self._host_named(_pod_or_unknown(line))

    def _host_named(self, name: str) -> _HostAcc:
        acc = self._hosts.get(name)
        if acc is None:
            if len(self._hosts) >= MAX_HOSTS and name != UNKNOWN_HOST:
                self._overflowed = True
                name = OVERFLOW_HOST
                acc = self._hosts.get(name)
                if acc is not None:
                    return acc
            acc = self._hosts[name] = _HostAcc(name)
        return acc

    # ---- applying events -------------------------------------------------------------------------

    def _evidence(self, line: str) -> LogLine:
        return LogLine(self._file, self._line_no, line[:EVIDENCE_CHARS].rstrip("\r\n"))

    def _apply(self, acc: _HostAcc, events: Iterable[Event], line: str) -> None:
        """Record what a line said on its host. Evidence is built once, and only if kept."""
        acc.matched += 1
        keep = self._max_evidence
        evidence = None
        for event in events:
            op = event[0]
            if op == _SIG:
                hits = acc.signatures.get(event[1])
                if hits is None:
                    hits = acc.signatures[event[1]] = _Hits()
                hits.count += 1
                if len(hits.evidence) < keep:
                    if evidence is None:
                        evidence = self._evidence(line)
                    hits.evidence.append(evidence)
            elif op == _VAL:
                field = event[1]
                values = acc.values.get(field)
                if values is None:
                    values = acc.values[field] = {}
                _add(values, event[2], MAX_ITEMS if field in _WIDE_FIELDS else MAX_VALUES)
            elif op == _COUNT:
                acc.counters[event[1]] = acc.counters.get(event[1], 0) + 1
            elif op == _PLUGIN:
                if event[1] not in acc.plugin_outcomes:
                    if evidence is None:
                        evidence = self._evidence(line)
                    acc.plugin_outcomes[event[1]] = evidence
                if event[2] and acc.plugin_name is None:
                    acc.plugin_name = event[2]
            elif op == _NETWORK:
                name = event[1]
                entry = acc.networks.get(name)
                if entry is not None:
                    entry[0] += 1
                    acc.networks[name] = acc.networks.pop(name)  # the last printed network comes last
                elif len(acc.networks) < MAX_VALUES:
                    if evidence is None:
                        evidence = self._evidence(line)
                    acc.networks[name] = [1, evidence]
            elif op == _ENV:
                key = event[1:]
                entry = acc.env.get(key)
                if entry is not None:
                    entry[0] += 1
                elif len(acc.env) < MAX_ITEMS:
                    if evidence is None:
                        evidence = self._evidence(line)
                    acc.env[key] = [1, evidence]
            elif op == _ERROR or op == _GDR:
                table = acc.errors if op == _ERROR else acc.gdr
                key = event[1:]
                hits = table.get(key)  # type: ignore[arg-type]
                if hits is None:
                    if len(table) >= MAX_ITEMS:
                        continue
                    hits = table[key] = _Hits()  # type: ignore[index]
                hits.count += 1
                if len(hits.evidence) < keep:
                    if evidence is None:
                        evidence = self._evidence(line)
                    hits.evidence.append(evidence)
            elif op == _NET:
                counts = acc.net_channels.get(event[1])
                if counts is None:
                    if len(acc.net_channels) >= MAX_VALUES:
                        continue
                    counts = acc.net_channels[event[1]] = [0, 0]
                kind = 0 if event[2] else 1
                counts[kind] += 1
                if len(acc.via_evidence[kind]) < keep:
                    if evidence is None:
                        evidence = self._evidence(line)
                    acc.via_evidence[kind].append(evidence)

    # ---- lines outside "NCCL INFO" and pasted fi_info output -----------------------------------

    def _other(self, line: str) -> None:
        """NCCL WARN lines, bare version lines, libfabric, the device plugin, env text, fi_info."""
        events = _other_events(line)
        if events:
            self._apply(self._line_host(line, line.find(" NCCL ")), events, line)
        if (
            self._fi_acc is not None
            or "provider:" in line
            or "fi_info: " in line
            or "libfabric" in line
            or line.rstrip().endswith(":")
        ):
            self._fi_info(line)

    def _close_fi_state(self) -> None:
        acc = self._fi_acc
        if acc is not None:
            acc.flush_fi_block()
            acc.fi_pending = None
            self._fi_acc = None

    def _fi_info(self, line: str) -> None:
        """Pasted fi_info output: short-form blocks, `fi_info -l` (a name line, then an indented
        version line) and `fi_info --version`. These lines are bare, so they are matched whole."""
        stripped = _unframe(line)
        acc = self._fi_acc
        if acc is not None:
            if acc.fi_block is not None:
                match = _FI_FIELD_LINE.fullmatch(stripped)
                if match:
                    acc.fi_block.setdefault(match.group(1), match.group(2))
                    return
            elif acc.fi_pending is not None and _FI_LIST_VERSION.fullmatch(stripped):
                name, evidence = acc.fi_pending
                acc.fi_pending = None
                self._fi_acc = None
                hits = acc.signatures.setdefault("fi_info_list", _Hits())
                hits.count += 1
                if len(hits.evidence) < self._max_evidence:
                    hits.evidence.append(evidence)
                acc.matched += 1
                _add(acc.values.setdefault("fi_listed", {}), name, MAX_ITEMS)
                return
            self._close_fi_state()
        if "provider:" in stripped:
            match = _FI_PROVIDER_LINE.fullmatch(stripped)
            if match:
                acc = self._line_host(line, -1)
                self._apply(acc, ((_SIG, "fi_info_provider"),), line)
                acc.fi_block = {"provider": match.group(1), "evidence": self._evidence(line)}
                self._fi_acc = acc
            return
        if stripped.endswith(":"):
            match = _FI_LIST_NAME.fullmatch(stripped)
            if match:
                acc = self._line_host(line, -1)
                acc.fi_pending = (match.group(1), self._evidence(line))
                self._fi_acc = acc
            return
        field = None
        if "fi_info: " in stripped:
            match = _FI_VERSION_LINE.fullmatch(stripped)
            field = "fi_info_versions"
        elif stripped.startswith("libfabric"):
            match = _LIBFABRIC_VERSION_LINE.fullmatch(stripped)
            field = "libfabric_versions"
            if match is None:
                match = _LIBFABRIC_API_LINE.fullmatch(stripped)
                field = "libfabric_apis"
        else:
            return
        if match:
            self._apply(self._line_host(line, -1), ((_SIG, "fi_info_version"), (_VAL, field, match.group(1))), line)


def _pod_or_unknown(line: str) -> str:
    if "[pod/" in line[:64]:
        match = _KUBECTL_POD.search(line, 0, 320)
        if match:
            return match.group(1)
    return UNKNOWN_HOST


# --------------------------------------------------------------------------------------------------
# What a line says: pure functions from text to events
# --------------------------------------------------------------------------------------------------


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


def _unframe(line: str) -> str:
    """The line without kubectl/CRI/CloudWatch/MPI/k9s framing and trailing whitespace."""
    match = _FRAME.match(line)
    text = line[match.end() :] if match else line
    return text.rstrip().rstrip("\u2502").rstrip()


# --------------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------------

LogSource = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]

_READ_CHARS = 1 << 20


def parse_log_lines(lines: Iterable[str], *, source: str = "<lines>", max_evidence: int = DEFAULT_MAX_EVIDENCE) -> LogFacts:
    """Parse an iterable of lines (with or without their newlines); `source` names them in evidence."""
    parser = LogParser(max_evidence)
    parser.begin_file(source)
    parser.feed_lines(lines)
    return parser.facts()


def parse_log_files(sources: Iterable[LogSource] | LogSource, *, max_evidence: int = DEFAULT_MAX_EVIDENCE) -> LogFacts:
    """Parse files (paths, "-" for stdin, gzip recognised) and open streams (text or bytes), in order.

    A file that cannot be opened or read to its end becomes a `ReadError` in the facts; the lines read
    before the error still count. Nothing is raised for bad input. Streams are left open.
    """
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "read"):
        sources = [sources]  # type: ignore[list-item]
    parser = LogParser(max_evidence)
    for source in sources:  # type: ignore[union-attr]
        name = _source_name(source)
        parser.begin_file(name)
        raw = None
        try:
            if hasattr(source, "read"):
                batches = _line_batches(source)  # type: ignore[arg-type]
            else:
                raw, batches = _open_batches(source)  # type: ignore[arg-type]
            _feed_guarded(parser, name, batches)
        except OSError as error:  # could not open
            parser.add_read_error(name, error)
        finally:
            if raw is not None:
                raw.close()
    return parser.facts()


def _feed_guarded(parser: LogParser, name: str, batches: Iterator[list[str]]) -> None:
    """Feed batches until the source ends or fails to read; a failure is recorded, not raised. Only
    reading is guarded: an exception from the parser itself would be a bug and must surface."""
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error, ValueError, TypeError) as error:
            # OSError: gzip.BadGzipFile, I/O errors; EOFError: a truncated .gz; TypeError: a stream
            # whose read() returns neither str nor bytes
            parser.add_read_error(name, error)
            return
        parser.feed_lines(batch)


def open_log(path: str | os.PathLike[str]) -> Iterator[str]:
    """Lines of a log file, "-" meaning stdin; gzip is recognised by its magic bytes (so `.gz` works).

    Text is decoded as UTF-8 with errors="replace"; "\\r\\n" and lone "\\r" end lines too. Lines come
    without their newline and at most `MAX_LINE_CHARS` + 1 characters long (the extra character lets
    a reader tell a line was cut), so memory stays bounded even for a file with no newline at all.
    Opening errors raise OSError now; read errors (a truncated .gz) raise while iterating.
    """
    raw, batches = _open_batches(path)
    return _lines_closing(raw, batches)


def _lines_closing(raw: IO[bytes] | None, batches: Iterator[list[str]]) -> Iterator[str]:
    try:
        for batch in batches:
            yield from batch
    finally:
        if raw is not None:
            raw.close()


def _open_batches(path: str | os.PathLike[str]) -> tuple[IO[bytes] | None, Iterator[list[str]]]:
    """(the file to close afterwards, or None for stdin; its lines in batches)."""
    if os.fspath(path) == "-":
        return None, _line_batches(getattr(sys.stdin, "buffer", sys.stdin))
    raw = open(path, "rb")  # noqa: SIM115 - the caller closes it
    return raw, _line_batches(raw)


def _line_batches(stream: IO[Any]) -> Iterator[list[str]]:
    """Lines of an open stream of text or bytes (gzip-compressed bytes too), a list per large read;
    lists, not single lines, because the parser's loop runs fastest over a list. The stream stays open."""
    if not isinstance(stream, io.TextIOBase) and _starts_with_gzip_magic(stream):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[arg-type]
    return _split_batches(_text_chunks(stream))


def _starts_with_gzip_magic(stream: IO[Any]) -> bool:
    peek = getattr(stream, "peek", None)
    try:
        if peek is not None:
            head = peek(2)[:2]
        elif stream.seekable():
            position = stream.tell()
            head = stream.read(2)
            stream.seek(position)
        else:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(head, (bytes, bytearray)) and bytes(head) == b"\x1f\x8b"


def _text_chunks(stream: IO[Any]) -> Iterator[str]:
    """Large decoded reads; bytes go through an incremental UTF-8 decoder (errors="replace")."""
    decoder = None
    read = stream.read
    while True:
        data = read(_READ_CHARS)
        if not data:
            break
        if isinstance(data, str):
            yield data
            continue
        if decoder is None:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        yield decoder.decode(data)
    if decoder is not None:
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


def _split_batches(chunks: Iterable[str]) -> Iterator[list[str]]:
    """Split text chunks into lists of lines, cutting (never buffering) lines longer than the cap."""
    limit = MAX_LINE_CHARS + 1
    carry = ""
    skipping = False  # inside a line already cut: drop text up to its newline
    held_cr = False
    for chunk in chunks:
        if held_cr:
            chunk = "\r" + chunk
            held_cr = False
        if "\r" in chunk:
            if chunk.endswith("\r"):  # its "\n" may open the next chunk
                chunk = chunk[:-1]
                held_cr = True
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        if skipping:
            newline = chunk.find("\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            skipping = False
        if carry:
            chunk = carry + chunk
        parts = chunk.split("\n")
        carry = parts.pop()
        if len(carry) > limit:
            parts.append(carry[:limit])
            carry = ""
            skipping = True
        if parts:
            yield parts
    if held_cr and not skipping:
        yield [carry]
    elif carry:
        yield [carry]


def _source_name(source: Any) -> str:
    if isinstance(source, (str, bytes, os.PathLike)):
        name = os.fsdecode(source)
        return "<stdin>" if name == "-" else name
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"


# --------------------------------------------------------------------------------------------------
# One-line summary
# --------------------------------------------------------------------------------------------------

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
