"""Read NCCL, aws-ofi-nccl, libfabric and EFA device-plugin logs into facts, one line at a time.

The runbook ends with "run nccl-tests with NCCL_DEBUG=INFO and check the traffic goes over EFA"; people
grep for it. This package answers the same questions as typed values: which network NCCL used, whether
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

The package, by what each module holds: `facts` (the frozen values and the signature catalogue),
`limits` (the caps), `signatures` (compiled patterns and the prefilter), `framing` (hosts and line
framing), `events` (what a line says), `parse` (the streaming loop), `reading` (files, gzip, stdin)
and `summary` (the one-line summary).
"""

from __future__ import annotations

from .facts import (
    FAILURE_SIGNATURES,
    OVERFLOW_HOST,
    SIGNATURES,
    UNKNOWN_HOST,
    DevicePlugin,
    EfaDevice,
    EnvSetting,
    ErrorSignal,
    FiInfo,
    FiInfoEntry,
    GdrSignal,
    HostLogFacts,
    LogFacts,
    LogLine,
    NetChannels,
    NetworkChoice,
    OfiPlugin,
    PluginLoad,
    ReadError,
    SignatureHit,
    Transports,
    network_kind,
)
from .limits import (
    DEFAULT_MAX_EVIDENCE,
    EVIDENCE_CHARS,
    MAX_HOSTS,
    MAX_ITEMS,
    MAX_LINE_CHARS,
    MAX_VALUES,
)
from .parse import (
    LogParser,
    parse_log_lines,
)
from .reading import (
    LogSource,
    open_log,
    parse_log_files,
)
from .signatures import (
    INTERNAL_NETWORKS,
    WATCHED_ENV,
)
from .summary import (
    summarize,
)

__all__ = [
    "DEFAULT_MAX_EVIDENCE",
    "EVIDENCE_CHARS",
    "FAILURE_SIGNATURES",
    "INTERNAL_NETWORKS",
    "MAX_HOSTS",
    "MAX_ITEMS",
    "MAX_LINE_CHARS",
    "MAX_VALUES",
    "OVERFLOW_HOST",
    "SIGNATURES",
    "UNKNOWN_HOST",
    "WATCHED_ENV",
    "DevicePlugin",
    "EfaDevice",
    "EnvSetting",
    "ErrorSignal",
    "FiInfo",
    "FiInfoEntry",
    "GdrSignal",
    "HostLogFacts",
    "LogFacts",
    "LogLine",
    "LogParser",
    "LogSource",
    "NetChannels",
    "NetworkChoice",
    "OfiPlugin",
    "PluginLoad",
    "ReadError",
    "SignatureHit",
    "Transports",
    "network_kind",
    "open_log",
    "parse_log_files",
    "parse_log_lines",
    "summarize",
]
