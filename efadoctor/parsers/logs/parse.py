"""The streaming loop: feed lines, in any host interleaving, and freeze per-host facts at the end.

Accumulation is mutable and private; `LogParser.facts()` freezes it into the values of `facts.py`.
`feed_lines` is the hot path of a multi-gigabyte log and is written for speed (see its docstring).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .events import (
    _COUNT,
    _ENV,
    _ERROR,
    _GDR,
    _NET,
    _NETWORK,
    _PLUGIN,
    _SIG,
    _VAL,
    Event,
    _info_events,
    _other_events,
    _via_route,
)
from .facts import (
    OVERFLOW_HOST,
    UNKNOWN_HOST,
    DevicePlugin,
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
from .framing import _HOST_TOKEN, _pod_or_unknown, _unframe
from .limits import DEFAULT_MAX_EVIDENCE, EVIDENCE_CHARS, MAX_HOSTS, MAX_ITEMS, MAX_LINE_CHARS, MAX_VALUES
from .signatures import (
    _FI_FIELD_LINE,
    _FI_LIST_NAME,
    _FI_LIST_VERSION,
    _FI_PROVIDER_LINE,
    _FI_VERSION_LINE,
    _LIBFABRIC_API_LINE,
    _LIBFABRIC_VERSION_LINE,
    _TRIGGER,
)

_OUTCOME_RANK = {"init_failed": 4, "loaded": 3, "load_failed": 2, "not_found": 1}


class _Hits:
    """A count and the first K evidence lines."""

    __slots__ = ("count", "evidence")

    def __init__(self) -> None:
        self.count = 0
        self.evidence: list[LogLine] = []


_WIDE_FIELDS = frozenset({"dp_devices", "fi_listed"})  # these keep up to MAX_ITEMS values


class _HostAcc:
    """Mutable per-host state while parsing; bounded by the caps in `limits`."""

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


def parse_log_lines(lines: Iterable[str], *, source: str = "<lines>", max_evidence: int = DEFAULT_MAX_EVIDENCE) -> LogFacts:
    """Parse an iterable of lines (with or without their newlines); `source` names them in evidence."""
    parser = LogParser(max_evidence)
    parser.begin_file(source)
    parser.feed_lines(lines)
    return parser.facts()
