"""What the log parser reports: frozen facts per host, and the catalogue of signature ids.

Nothing here parses or judges. The values are plain and JSON-ready (`LogFacts.to_dict`), so checks,
renderers and tests read them without knowing how lines were matched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

UNKNOWN_HOST = "unknown"
OVERFLOW_HOST = "(more hosts)"

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


def _distinct(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


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
