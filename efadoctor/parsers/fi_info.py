"""Read what libfabric's `fi_info` prints: `-p efa` results, `-l` provider lists and `--version`.

`fi_info -p efa -t FI_EP_RDM` is the test that decides `fi_getinfo: -61`: it either lists EFA
endpoints or fails with `fi_getinfo: -61` (libfabric < 1.19) / `fi_getinfo: -61 (No data available)`
(>= 1.19) on stderr and exit status 61. The output format changed over the years (fabric `EFA-<gid>`
then `efa`/`efa-direct`; domains `efa_0-rdm` then `rdmapXsY-rdm`/`-dgrm`), so these parsers use the
version-tolerant patterns collected from real outputs, and keep every line they read, numbered, so a
check can quote the exact evidence.

They are pure functions over text and never raise: given garbage they return what they could read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Lines kept per stream for evidence; the parsers still read every line.
MAX_EVIDENCE_LINES = 2000
# Longer lines are cut for evidence (a line of fi_info output is well under 200 characters).
MAX_LINE_CHARS = 4096

# Patterns for fi_info output, version-tolerant (efadoctor domain notes, section A.3).
# libfabric < 1.19 prints 'fi_getinfo: -61'; >= 1.19 adds ' (No data available)'.
FI_INFO_ENODATA = re.compile(r"^fi_getinfo: -61(?: \(No data available\))?\s*$")
FI_INFO_OTHER_ERROR = re.compile(r"^fi_getinfo: -(\d+)(?: \((.*)\))?\s*$")
# libfabric core with FI_LOG_LEVEL=warn: which provider returned what.
CORE_PROVIDER = re.compile(r"fi_getinfo: provider (\S+) (?:returned -(\d+) \((.*)\)|output empty list)")
# libfabric >= 2.0 with FI_LOG_LEVEL=info: FI_EFA_IFACE removed a device.
EFA_IFACE_FILTERED = re.compile(r"Device (\S+) filtered out by FI_EFA_IFACE")
# Success, short form: a provider line, then indented fabric/domain/... lines.
FI_INFO_PROVIDER = re.compile(r"^\s*provider: (efa(?:-direct)?|efa;ofi_rxd)\s*$")
FI_INFO_FABRIC = re.compile(r"^\s+fabric: (efa(?:-direct)?|EFA-[0-9a-f:]+)\s*$")
FI_INFO_DOMAIN = re.compile(r"^\s+domain: (\S+?)-(rdm|dgrm)\s*$")

# Any provider's entry (fi_info -p tcp prints the same shape), and its attribute lines.
_ENTRY_START = re.compile(r"^\s*provider:\s*(\S.*?)\s*$")
_ENTRY_ATTRIBUTE = re.compile(r"^\s+(fabric|domain|version|type|protocol):\s*(.*?)\s*$")
# fi_info -l: 'name:' at the start of a line, then an indented 'version: X'.
_LIST_NAME = re.compile(r"^([A-Za-z0-9_.+;-]+):\s*$")
_LIST_VERSION = re.compile(r"^\s+version:\s*(\S+)\s*$")
# fi_info --version: the first line names the program as it was invoked ('/opt/amazon/efa/bin/fi_info: 1.22.0amzn5.0').
_VERSION_PROGRAM = re.compile(r"^(\S*fi_info):\s*(\S+)\s*$")
_VERSION_LIBFABRIC = re.compile(r"^libfabric:\s*(\S+)\s*$")
_VERSION_API = re.compile(r"^libfabric api:\s*(\S+)\s*$")
_RELEASE = re.compile(r"^(\d{1,4})\.(\d{1,4})(?:\.(\d{1,4}))?")

# Exit statuses that come from the shell or `timeout`, not from fi_info.
EXIT_TIMED_OUT = 124
EXIT_NOT_FOUND = 127


@dataclass(frozen=True)
class SourceLine:
    """One line of output as evidence: where it came from, its 1-based number there, and its text."""

    source: str  # a stream ("stdout", "stderr") or a probe section name ("fi_info_efa_stderr")
    number: int
    text: str

    def __str__(self) -> str:
        return f"{self.source}:{self.number}: {self.text}"


@dataclass(frozen=True)
class FiInfoEntry:
    """One `provider: ...` block of fi_info's short output."""

    provider: str
    fabric: str | None
    domain: str | None
    version: str | None
    type: str | None
    protocol: str | None
    line: SourceLine  # the provider line


@dataclass(frozen=True)
class ProviderMessage:
    """A libfabric core log line about one provider (FI_LOG_LEVEL=warn)."""

    provider: str
    code: int | None  # as printed, e.g. -61; None for 'output empty list'
    message: str  # 'No data available', 'output empty list', ...
    line: SourceLine


@dataclass(frozen=True)
class FiInfoEfaResult:
    """What `fi_info -p efa -t FI_EP_RDM` said.

    ok: at least one EFA endpoint was listed and nothing failed.
    enodata: the -61 / "No data available" result (from the stderr line or from exit status 61).
    error_code/error_message: from a `fi_getinfo: -N (text)` line, the code as printed (negative).
    devices: distinct EFA devices, i.e. the EFA domain names with -rdm/-dgrm stripped.
    """

    exit_code: int | None
    ok: bool
    enodata: bool
    error_code: int | None
    error_message: str | None
    error_line: SourceLine | None
    entries: tuple[FiInfoEntry, ...]
    providers: tuple[str, ...]
    fabrics: tuple[str, ...]
    domains: tuple[str, ...]
    devices: tuple[str, ...]
    device_count: int
    provider_messages: tuple[ProviderMessage, ...]
    filtered_devices: tuple[str, ...]  # named by 'Device X filtered out by FI_EFA_IFACE'
    lines: tuple[SourceLine, ...]  # stdout then stderr, for evidence
    lines_dropped: int  # lines read but not kept in `lines`


@dataclass(frozen=True)
class ProviderVersion:
    name: str
    version: str | None
    line: SourceLine


@dataclass(frozen=True)
class FiInfoProviders:
    """What `fi_info -l` listed.

    has_efa: the efa provider is listed. Not listed does not always mean "not compiled in": before
    libfabric 2.1.0 the efa provider did not register at all when it found no EFA device
    (ofiwg/libfabric commit b7b9dd697, "Always return efa_prov in EFA_INI", first in v2.1.0).
    """

    providers: tuple[ProviderVersion, ...]
    has_efa: bool
    error_line: SourceLine | None
    lines: tuple[SourceLine, ...]
    lines_dropped: int

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(provider.name for provider in self.providers)


@dataclass(frozen=True)
class FiInfoVersion:
    """What `fi_info --version` printed, e.g. fi_info 1.22.0amzn5.0, libfabric 1.22.0amzn5.0, api 1.22.

    release: the leading numbers of the libfabric version, for comparisons ((1, 22, 0)).
    amazon_build: the EFA installer's build ('amzn' in the version) rather than a distro's.
    """

    fi_info: str | None
    libfabric: str | None
    api: str | None
    release: tuple[int, ...] | None
    amazon_build: bool
    lines: tuple[SourceLine, ...]
    lines_dropped: int


def parse_fi_info_efa(
    stdout: str,
    stderr: str,
    exit_code: int | None,
    *,
    stdout_source: str = "stdout",
    stderr_source: str = "stderr",
) -> FiInfoEfaResult:
    """Read `fi_info -p efa [-t FI_EP_RDM]` output; exit_code None when it is not known."""
    code = _exit_code(exit_code)
    out_lines = _numbered(stdout, stdout_source)
    err_lines = _numbered(stderr, stderr_source)

    entries = tuple(_entries(out_lines))
    efa_entries = tuple(e for e in entries if FI_INFO_PROVIDER.match(f"provider: {e.provider}"))

    error_line: SourceLine | None = None
    error_code: int | None = None
    error_message: str | None = None
    enodata_line = False
    provider_messages: list[ProviderMessage] = []
    filtered: list[str] = []
    for line in (*err_lines, *out_lines):
        bare = line.text.strip()
        if error_line is None:
            other = FI_INFO_OTHER_ERROR.match(bare)
            if other:
                error_line = line
                error_code = -_int(other.group(1))
                error_message = other.group(2)
                enodata_line = bool(FI_INFO_ENODATA.match(bare))
                continue
        provider = CORE_PROVIDER.search(line.text)
        if provider:
            returned = provider.group(2)
            provider_messages.append(
                ProviderMessage(
                    provider=provider.group(1),
                    code=-_int(returned) if returned is not None else None,
                    message=provider.group(3) if returned is not None else "output empty list",
                    line=line,
                )
            )
        iface = EFA_IFACE_FILTERED.search(line.text)
        if iface:
            filtered.append(iface.group(1))

    # The efa provider names every domain '<device>-rdm' or '<device>-dgrm' (prov/efa/src/efa_domain.h);
    # a domain without that suffix is a cut-off line, not a device.
    devices = _unique(name for name in (_device_name(e.domain) for e in efa_entries if e.domain) if name)
    return FiInfoEfaResult(
        exit_code=code,
        ok=bool(efa_entries) and error_line is None and code in (0, None),
        enodata=enodata_line or code == 61,
        error_code=error_code,
        error_message=error_message,
        error_line=error_line,
        entries=entries,
        providers=_unique(e.provider for e in entries),
        fabrics=_unique(e.fabric for e in entries if e.fabric),
        domains=_unique(e.domain for e in entries if e.domain),
        devices=devices,
        device_count=len(devices),
        provider_messages=tuple(provider_messages),
        filtered_devices=_unique(filtered),
        lines=_kept(out_lines + err_lines),
        lines_dropped=max(0, len(out_lines) + len(err_lines) - MAX_EVIDENCE_LINES),
    )


def parse_fi_info_list(text: str, *, source: str = "stdout") -> FiInfoProviders:
    """Read `fi_info -l`: provider names, each with its `version:` line when there is one."""
    lines = _numbered(text, source)
    providers: list[ProviderVersion] = []
    error_line: SourceLine | None = None
    for line in lines:
        name = _LIST_NAME.match(line.text)
        if name:
            providers.append(ProviderVersion(name.group(1), None, line))
            continue
        version = _LIST_VERSION.match(line.text)
        if version and providers and providers[-1].version is None:
            last = providers[-1]
            providers[-1] = ProviderVersion(last.name, version.group(1), last.line)
            continue
        if error_line is None and FI_INFO_OTHER_ERROR.match(line.text.strip()):
            error_line = line
    has_efa = any(part in ("efa", "efa-direct") for p in providers for part in p.name.split(";"))
    return FiInfoProviders(
        providers=tuple(providers),
        has_efa=has_efa,
        error_line=error_line,
        lines=_kept(lines),
        lines_dropped=max(0, len(lines) - MAX_EVIDENCE_LINES),
    )


def parse_fi_info_version(text: str, *, source: str = "stdout") -> FiInfoVersion:
    """Read `fi_info --version`: the fi_info, libfabric and libfabric API versions."""
    lines = _numbered(text, source)
    found: dict[str, str] = {}
    for line in lines:
        bare = line.text.strip()
        for key, pattern in (("libfabric", _VERSION_LIBFABRIC), ("api", _VERSION_API), ("fi_info", _VERSION_PROGRAM)):
            match = pattern.match(bare)
            if match and key not in found:
                found[key] = match.group(match.lastindex or 1)
                break
    libfabric = found.get("libfabric")
    return FiInfoVersion(
        fi_info=found.get("fi_info"),
        libfabric=libfabric,
        api=found.get("api"),
        release=release_of(libfabric),
        amazon_build=bool(libfabric and "amzn" in libfabric),
        lines=_kept(lines),
        lines_dropped=max(0, len(lines) - MAX_EVIDENCE_LINES),
    )


def release_of(version: str | None) -> tuple[int, ...] | None:
    """(major, minor[, patch]) from a libfabric version such as '1.22.0amzn5.0' or '2.1'."""
    if not isinstance(version, str):
        return None
    match = _RELEASE.match(version)
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def _entries(lines: tuple[SourceLine, ...]) -> list[FiInfoEntry]:
    entries: list[FiInfoEntry] = []
    current: dict[str, str] | None = None
    start: SourceLine | None = None

    def close() -> None:
        if current is not None and start is not None:
            entries.append(
                FiInfoEntry(
                    provider=current["provider"],
                    fabric=current.get("fabric"),
                    domain=current.get("domain"),
                    version=current.get("version"),
                    type=current.get("type"),
                    protocol=current.get("protocol"),
                    line=start,
                )
            )

    for line in lines:
        begin = _ENTRY_START.match(line.text)
        if begin:
            close()
            current, start = {"provider": begin.group(1)}, line
            continue
        attribute = _ENTRY_ATTRIBUTE.match(line.text)
        if attribute and current is not None and attribute.group(1) not in current:
            current[attribute.group(1)] = attribute.group(2)
    close()
    return entries


def _device_name(domain: str) -> str | None:
    match = FI_INFO_DOMAIN.match(f" domain: {domain}")
    return match.group(1) if match else None


def _numbered(text: Any, source: str) -> tuple[SourceLine, ...]:
    """Split into 1-based numbered lines, each cut to MAX_LINE_CHARS; anything not text reads as nothing."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    if not isinstance(text, str) or not text:
        return ()
    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
    lines = []
    for number, item in enumerate(raw, start=1):
        item = item.rstrip("\r")
        if len(item) > MAX_LINE_CHARS:
            item = item[:MAX_LINE_CHARS]
        lines.append(SourceLine(str(source), number, item))
    return tuple(lines)


def _kept(lines: tuple[SourceLine, ...]) -> tuple[SourceLine, ...]:
    return lines[:MAX_EVIDENCE_LINES]


def _unique(items: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _exit_code(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(digits: str) -> int:
    # The patterns only capture digits; the length cap keeps int() cheap on absurd input.
    return int(digits[:18])
