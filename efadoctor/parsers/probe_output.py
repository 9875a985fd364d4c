"""Turn what the in-container probe (efadoctor/probe/probe.sh) printed into typed, quotable facts.

The probe's output travels through Kubernetes exec and may arrive cut short (timeout, a killed
container), mixed with runtime noise, or not as UTF-8; a diagnosis must still use every section that
did arrive and say what did not. So `parse_probe` splits the output tolerantly (an end marker counts
only for the section that is open; a missing one closes the section as incomplete), bounds everything
it keeps, and never raises. Each fact is an `Observed` value that carries the lines it was read from,
so a check can quote them, and a note when the value could not be known (None means unknown, never
"nothing there").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Generic, TypeVar

from efadoctor.parsers.fi_info import (
    EXIT_NOT_FOUND,
    EXIT_TIMED_OUT,
    FiInfoEfaResult,
    FiInfoProviders,
    FiInfoVersion,
    SourceLine,
    parse_fi_info_efa,
    parse_fi_info_list,
    parse_fi_info_version,
)
from efadoctor.probe import MAX_OUTPUT_BYTES

T = TypeVar("T")

# The sections probe.sh v1 prints, in order.
EXPECTED_SECTIONS = (
    "tools",
    "identity",
    "dev_infiniband",
    "sys_infiniband",
    "sys_infiniband_verbs",
    "memlock",
    "capabilities",
    "hugepages",
    "shm",
    "env",
    "libs",
    "efa_installed_packages",
    "fi_info_version",
    "fi_info_list",
    "fi_info_efa",
    "fi_info_efa_stderr",
)

MAX_SECTIONS = 64
MAX_SECTION_LINES = 2000
MAX_STRAY_LINES = 50
MAX_LINE_CHARS = 4096

# Only these environment variables are ever kept (the probe filters too; this is the second gate).
ALLOWED_ENV = re.compile(r"^(?:(?:FI|NCCL|OFI_NCCL)_[A-Za-z0-9_]*|LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES)$")

# libfabric started listing efa in `fi_info -l` on hosts without an EFA device in v2.1.0
# (ofiwg/libfabric b7b9dd697 "prov/efa: Always return efa_prov in EFA_INI"); before, an unlisted efa
# may just mean "no device visible".
EFA_ALWAYS_LISTED_SINCE = (2, 1)

FI_INFO_NOT_FOUND = "fi_info not found (not on PATH, not at /opt/amazon/efa/bin/fi_info)"
EXIT_KILLED = 137  # timeout -k sent SIGKILL, or the kernel's OOM killer

_HEADER = re.compile(r"^EFADOCTOR-PROBE v(\d{1,6})\s*$")
_BEGIN = re.compile(r"^@@begin ([A-Za-z0-9_.-]{1,64})\s*$")
_END = re.compile(r"^@@end ([A-Za-z0-9_.-]{1,64}) rc=(-?\d{1,9})\s*$")
_DONE = re.compile(r"^@@done\s*$")
_LS_MODE = re.compile(r"^[-bcdlnpsDw?][-rwxsStTlL?]{9}[.+@]?$")
_UVERBS = re.compile(r"^uverbs\d+$")
_EFA_NAME = re.compile(r"^(?:rdmap\w+|efa_\d+)$")
_SYS_ENTRY = re.compile(r"^(\S+)(?: driver=(\S*))?\s*$")
_VERBS_ENTRY = re.compile(r"^(uverbs\d+)(?: ibdev=(\S*))?\s*$")
_MEMINFO = re.compile(r"^(HugePages_Total|HugePages_Free|HugePages_Rsvd|HugePages_Surp|Hugepagesize):\s*(\d{1,18})\s*(kB)?\s*$")
_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_NCCL_NET_PLUGIN = re.compile(r"^libnccl-net.*\.so(?:\.[0-9.]+)?$")
_INSTALLER_VERSION = re.compile(r"^# EFA installer version: (\S+)\s*$")
# /proc/self/status prints each capability set as 16 hex digits (fs/proc/array.c render_cap_t).
_CAP_SET = re.compile(r"^(CapPrm|CapEff|CapBnd):\s*([0-9a-fA-F]{1,16})\s*$")
_UID_MAP = re.compile(r"^uid_map:\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*$")
CAP_IPC_LOCK = 14  # include/uapi/linux/capability.h
# The initial user namespace maps every uid to itself in one extent (user_namespaces(7)).
INITIAL_UID_MAP = ((0, 0, 4294967295),)
_MISSING = "No such file or directory"


@dataclass(frozen=True)
class Observed(Generic[T]):
    """A fact read from the probe: its value (None: could not be known), the lines it came from, and why."""

    value: T | None
    evidence: tuple[SourceLine, ...] = ()
    note: str | None = None

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Section:
    """One `@@begin NAME` ... `@@end NAME rc=N` block.

    rc is None and complete False when the end marker never came (output cut off or garbled).
    """

    name: str
    lines: tuple[str, ...]
    rc: int | None
    complete: bool
    lines_dropped: int  # beyond MAX_SECTION_LINES
    start_line: int  # where `@@begin` was, 1-based, in the whole output

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def evidence(self, index: int) -> SourceLine:
        """Line `index` (0-based) of this section as quotable evidence (numbered from 1)."""
        return SourceLine(self.name, index + 1, self.lines[index])

    def all_evidence(self, limit: int = MAX_SECTION_LINES) -> tuple[SourceLine, ...]:
        return tuple(self.evidence(i) for i in range(min(limit, len(self.lines))))


@dataclass(frozen=True)
class ProbeReport:
    """Everything the probe said, section by section and as typed facts."""

    probe_version: int | None  # from the `EFADOCTOR-PROBE vN` header; None if it never came
    complete: bool  # header, every section closed, `@@done`, nothing cut
    notes: tuple[str, ...]  # what was cut, missing or odd
    sections: tuple[Section, ...]
    missing_sections: tuple[str, ...]  # of EXPECTED_SECTIONS
    stray_lines: tuple[SourceLine, ...]  # text outside any section (e.g. a runtime's error), source "output"

    fi_info_path: Observed[str]
    fi_info_present: Observed[bool]
    fi_info_version: Observed[FiInfoVersion]
    fi_info_providers: Observed[FiInfoProviders]
    efa_provider_listed: Observed[bool]
    efa_provider_compiled_in: Observed[bool]
    fi_info_efa: Observed[FiInfoEfaResult]
    fi_pingpong_present: Observed[bool]

    dev_infiniband_present: Observed[bool]
    uverbs_devices: Observed[tuple[str, ...]]  # uverbsN names in /dev/infiniband
    rdma_cm_present: Observed[bool]
    sysfs_devices: Observed[tuple[str, ...]]  # every name in /sys/class/infiniband
    sysfs_efa_devices: Observed[tuple[str, ...]]  # those bound to the efa driver (by name: rdmap*/efa_*)
    sysfs_verbs: Observed[tuple[tuple[str, str], ...]]  # (uverbsN, RDMA device) from /sys/class/infiniband_verbs

    memlock_kib: Observed[int | str]  # KiB, or "unlimited"
    cap_ipc_lock: Observed[bool]  # CAP_IPC_LOCK (bit 14) in the probe shell's effective set (CapEff)
    cap_ipc_lock_bounding: Observed[bool]  # ... in its bounding set (CapBnd): what capabilities.add reached
    user_namespace: Observed[bool]  # True: not the initial user namespace (from /proc/self/uid_map)
    hugepages_total: Observed[int]
    hugepages_free: Observed[int]
    hugepage_size_kib: Observed[int]
    shm_bytes: Observed[int]
    env: Observed[dict[str, str]]  # only FI_*, NCCL_*, OFI_NCCL_*, LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES
    library_paths: Observed[tuple[str, ...]]
    nccl_net_plugins: Observed[tuple[str, ...]]
    aws_ofi_nccl_plugin: Observed[bool]
    efa_installed_packages_file: Observed[bool]  # /opt/amazon/efa_installed_packages exists
    efa_installed_packages: Observed[str]  # its text (at most 200 lines)
    efa_installer_version: Observed[str]  # from its '# EFA installer version: X' line
    uid: Observed[int]
    user: Observed[str]

    def section(self, name: str) -> Section | None:
        """The first section with this name, if it arrived."""
        for section in self.sections:
            if section.name == name:
                return section
        return None

    def env_var(self, name: str) -> Observed[str]:
        """One variable: its value and line, None when unset (note says so) or when env is unknown."""
        if self.env.value is None:
            return Observed(None, self.env.evidence, self.env.note)
        for line in self.env.evidence:
            if line.text.startswith(f"{name}="):
                return Observed(self.env.value.get(name), (line,))
        return Observed(None, (), f"{name} is not set")


def parse_probe(text: str | bytes) -> ProbeReport:
    """Read the probe's whole output (str or bytes, possibly cut short or garbled); never raises."""
    notes: list[str] = []
    decoded = _decode(text, notes)
    split = _split(decoded, notes)
    sections = {s.name: s for s in reversed(split.sections)}  # the first of duplicates wins
    missing = tuple(name for name in EXPECTED_SECTIONS if name not in sections)
    if missing:
        notes.append("sections missing from the probe output: " + ", ".join(missing))
    for section in split.sections:
        if not section.complete:
            notes.append(f"section {section.name} has no end marker (output cut off?)")
        if section.lines_dropped:
            notes.append(f"section {section.name}: {section.lines_dropped} lines beyond {MAX_SECTION_LINES} dropped")

    fi_info_path, fi_info_present = _fi_info_tool(sections)
    version = _fi_info_command(sections.get("fi_info_version"), "fi_info --version", parse_fi_info_version, fi_info_present)
    providers = _fi_info_command(sections.get("fi_info_list"), "fi_info -l", parse_fi_info_list, fi_info_present)
    listed = _efa_listed(providers)
    dev_present, uverbs, rdma_cm = _dev_infiniband(sections.get("dev_infiniband"))
    sysfs_all, sysfs_efa = _sys_infiniband(sections.get("sys_infiniband"))
    hugepages = _hugepages(sections.get("hugepages"))
    libs, plugins, aws_plugin = _libs(sections.get("libs"))
    packages_file, packages, installer_version = _installed_packages(sections.get("efa_installed_packages"))
    uid, user = _identity(sections.get("identity"))
    cap_ipc_lock, cap_ipc_lock_bounding, user_namespace = _capabilities(sections.get("capabilities"))

    return ProbeReport(
        probe_version=split.version,
        complete=bool(split.version is not None and split.done and not notes),
        notes=tuple(notes),
        sections=split.sections,
        missing_sections=missing,
        stray_lines=split.stray,
        fi_info_path=fi_info_path,
        fi_info_present=fi_info_present,
        fi_info_version=version,
        fi_info_providers=providers,
        efa_provider_listed=listed,
        efa_provider_compiled_in=_efa_compiled_in(listed, version),
        fi_info_efa=_fi_info_efa(sections.get("fi_info_efa"), sections.get("fi_info_efa_stderr"), fi_info_present),
        fi_pingpong_present=_tool_present(sections.get("tools"), "fi_pingpong_used", "fi_pingpong"),
        dev_infiniband_present=dev_present,
        uverbs_devices=uverbs,
        rdma_cm_present=rdma_cm,
        sysfs_devices=sysfs_all,
        sysfs_efa_devices=sysfs_efa,
        sysfs_verbs=_sys_verbs(sections.get("sys_infiniband_verbs")),
        memlock_kib=_memlock(sections.get("memlock")),
        cap_ipc_lock=cap_ipc_lock,
        cap_ipc_lock_bounding=cap_ipc_lock_bounding,
        user_namespace=user_namespace,
        hugepages_total=hugepages["HugePages_Total"],
        hugepages_free=hugepages["HugePages_Free"],
        hugepage_size_kib=hugepages["Hugepagesize"],
        shm_bytes=_shm(sections.get("shm")),
        env=_env(sections.get("env")),
        library_paths=libs,
        nccl_net_plugins=plugins,
        aws_ofi_nccl_plugin=aws_plugin,
        efa_installed_packages_file=packages_file,
        efa_installed_packages=packages,
        efa_installer_version=installer_version,
        uid=uid,
        user=user,
    )


# ---- splitting ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Split:
    version: int | None
    done: bool
    sections: tuple[Section, ...]
    stray: tuple[SourceLine, ...]


def _decode(text: object, notes: list[str]) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > MAX_OUTPUT_BYTES:
            notes.append(f"output truncated: read {MAX_OUTPUT_BYTES} of {len(data)} bytes")
            data = data[:MAX_OUTPUT_BYTES]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            notes.append("output is not valid UTF-8; undecodable bytes replaced")
            return data.decode("utf-8", errors="replace")
    if isinstance(text, str):
        if len(text) > MAX_OUTPUT_BYTES:
            notes.append(f"output truncated: read {MAX_OUTPUT_BYTES} of {len(text)} characters")
            return text[:MAX_OUTPUT_BYTES]
        return text
    notes.append(f"probe output is not text ({type(text).__name__})")
    return ""


def _split(text: str, notes: list[str]) -> _Split:
    version: int | None = None
    done = False
    sections: list[Section] = []
    stray: list[SourceLine] = []
    stray_dropped = 0
    sections_dropped = 0
    long_lines = 0
    name: str | None = None
    body: list[str] = []
    dropped = 0
    start = 0

    def close(rc: int | None) -> None:
        nonlocal name
        if name is not None:
            sections.append(Section(name, tuple(body), rc, rc is not None, dropped, start))
        name = None

    raw = text.split("\n")
    if raw and raw[-1] == "":
        raw.pop()
        cut_line = 0
    else:
        # The output stops inside its last line. That line may be a marker or a value cut short
        # ('@@begin t' of '@@begin tools', 'HugePages_Total: 51' of '5128'), so it is not read as
        # either; only '@@done' cannot be cut.
        cut_line = len(raw)
    for number, line in enumerate(raw, start=1):
        line = line.rstrip("\r")
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS]
            long_lines += 1
        if number == cut_line and not _DONE.match(line):
            notes.append(f"output ends inside line {number}, not read: {line[:80]!r}")
            continue
        if name is not None:
            end = _END.match(line)
            if end and end.group(1) == name:
                close(int(end.group(2)))
                continue
            if not (_BEGIN.match(line) or _DONE.match(line)):
                if len(body) < MAX_SECTION_LINES:
                    body.append(line)
                else:
                    dropped += 1
                continue
            close(None)
        begin = _BEGIN.match(line)
        if begin:
            if len(sections) >= MAX_SECTIONS:
                sections_dropped += 1
                continue
            name, body, dropped, start = begin.group(1), [], 0, number
            continue
        if _DONE.match(line):
            done = True
            continue
        header = _HEADER.match(line)
        if header and version is None:
            version = int(header.group(1))
            continue
        if line.strip():
            if len(stray) < MAX_STRAY_LINES:
                stray.append(SourceLine("output", number, line))
            else:
                stray_dropped += 1
    if name is not None:
        close(None)

    if version is None:
        notes.append("no EFADOCTOR-PROBE header: this may not be the probe's output")
    elif version != 1:
        notes.append(f"probe format v{version}; read as v1")
    if not done:
        notes.append("no @@done line: the output ends early")
    if sections_dropped:
        notes.append(f"{sections_dropped} sections beyond {MAX_SECTIONS} ignored")
    if stray_dropped:
        notes.append(f"{stray_dropped} more lines outside sections not kept")
    if long_lines:
        notes.append(f"{long_lines} lines longer than {MAX_LINE_CHARS} characters cut")
    names = [s.name for s in sections]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        notes.append("sections repeated (the first is used): " + ", ".join(duplicates))
    return _Split(version, done, tuple(sections), tuple(stray))


# ---- typed facts -------------------------------------------------------------------------------


def _absent(name: str) -> str:
    return f"section {name} missing from the probe output"


def _key_values(section: Section | None) -> dict[str, tuple[str, SourceLine]]:
    found: dict[str, tuple[str, SourceLine]] = {}
    if section is None:
        return found
    for index, line in enumerate(section.lines):
        key, sep, value = line.partition("=")
        if sep and key and key not in found:
            found[key] = (value, section.evidence(index))
    return found


def _fi_info_tool(sections: dict[str, Section]) -> tuple[Observed[str], Observed[bool]]:
    tools = _key_values(sections.get("tools"))
    if "fi_info_used" in tools:
        path, line = tools["fi_info_used"]
        path = path.strip()
        if path:
            return Observed(path, (line,)), Observed(True, (line,))
        return Observed(None, (line,), FI_INFO_NOT_FOUND), Observed(False, (line,), FI_INFO_NOT_FOUND)
    version = sections.get("fi_info_version")
    if version is not None and version.rc is not None:
        evidence = version.all_evidence(3)
        if version.rc == EXIT_NOT_FOUND:
            return Observed(None, evidence, FI_INFO_NOT_FOUND), Observed(False, evidence, FI_INFO_NOT_FOUND)
        return Observed(None, (), "fi_info path not reported"), Observed(True, evidence)
    note = _absent("tools")
    return Observed(None, (), note), Observed(None, (), note)


def _tool_present(section: Section | None, key: str, tool: str) -> Observed[bool]:
    tools = _key_values(section)
    if key not in tools:
        return Observed(None, (), _absent("tools") if section is None else f"{key} not reported")
    value, line = tools[key]
    return Observed(bool(value.strip()), (line,), None if value.strip() else f"{tool} not found")


def _exit_note(command: str, rc: int | None) -> str | None:
    if rc is None:
        return f"{command}: output cut off before its exit status"
    if rc == EXIT_TIMED_OUT:
        return f"{command} timed out (killed by timeout after 5 s)"
    if rc == EXIT_KILLED:
        return f"{command} was killed (SIGKILL: timeout -k, or out of memory)"
    if rc != 0:
        return f"{command} exited with status {rc}"
    return None


def _fi_info_command(
    section: Section | None, command: str, parse: Callable[..., T], present: Observed[bool]
) -> Observed[T]:
    if section is None:
        return Observed(None, (), f"no output of {command} in the probe output")
    if section.rc == EXIT_NOT_FOUND or present.value is False:
        return Observed(None, section.all_evidence(3), present.note or FI_INFO_NOT_FOUND)
    result = parse(section.text, source=section.name)
    return Observed(result, result.lines, _exit_note(command, section.rc))


def _efa_listed(providers: Observed[FiInfoProviders]) -> Observed[bool]:
    listing = providers.value
    if listing is None:
        return Observed(None, providers.evidence, providers.note)
    efa_lines = tuple(p.line for p in listing.providers if "efa" in p.name.split(";") or "efa-direct" in p.name.split(";"))
    if listing.has_efa:
        return Observed(True, efa_lines)
    if not listing.providers:
        return Observed(None, listing.lines[:5], providers.note or "fi_info -l listed no providers")
    return Observed(False, tuple(p.line for p in listing.providers), providers.note)


def _efa_compiled_in(listed: Observed[bool], version: Observed[FiInfoVersion]) -> Observed[bool]:
    """Listed means compiled in; unlisted means "not compiled in" only from libfabric 2.1.0 on."""
    if listed.value is None:
        return Observed(None, listed.evidence, listed.note)
    if listed.value:
        return Observed(True, listed.evidence)
    release = version.value.release if version.value else None
    evidence = (version.value.lines[:3] if version.value else ()) + listed.evidence
    if release is not None and release >= EFA_ALWAYS_LISTED_SINCE:
        return Observed(False, evidence, "libfabric >= 2.1.0 lists efa even without an EFA device, and it is not listed")
    shown = version.value.libfabric if version.value and version.value.libfabric else "of unknown version"
    return Observed(
        None,
        evidence,
        f"efa is not in fi_info -l, but libfabric {shown} (before 2.1.0) leaves efa out of that list whenever "
        "it sees no EFA device, so a missing provider and a missing device look the same here",
    )


def _fi_info_efa(out: Section | None, err: Section | None, present: Observed[bool]) -> Observed[FiInfoEfaResult]:
    if out is None and err is None:
        return Observed(None, (), _absent("fi_info_efa"))
    rc = out.rc if out is not None and out.rc is not None else (err.rc if err is not None else None)
    if rc == EXIT_NOT_FOUND or present.value is False:
        evidence = err.all_evidence(3) if err is not None else ()
        return Observed(None, evidence, present.note or FI_INFO_NOT_FOUND)
    result = parse_fi_info_efa(
        out.text if out is not None else "",
        err.text if err is not None else "",
        rc,
        stdout_source="fi_info_efa",
        stderr_source="fi_info_efa_stderr",
    )
    if result.error_line is not None:
        evidence = (result.error_line,) + tuple(m.line for m in result.provider_messages[:8])
    elif result.entries:
        evidence = tuple(e.line for e in result.entries[:8])
    else:
        evidence = result.lines[:5]
    # Exit 61 is the -61 answer itself; a note only says the result may be incomplete.
    incomplete = rc is None or rc in (EXIT_TIMED_OUT, EXIT_KILLED)
    return Observed(result, evidence, _exit_note("fi_info -p efa -t FI_EP_RDM", rc) if incomplete else None)


def _dev_infiniband(section: Section | None) -> tuple[Observed[bool], Observed[tuple[str, ...]], Observed[bool]]:
    if section is None:
        note = _absent("dev_infiniband")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    missing = _missing_line(section, "/dev/infiniband")
    if missing is not None:
        note = "/dev/infiniband does not exist in this container"
        return Observed(False, (missing,)), Observed((), (missing,), note), Observed(False, (missing,), note)
    names: list[tuple[str, SourceLine]] = []
    for index, line in enumerate(section.lines):
        name = _listed_name(line, "/dev/infiniband/")
        if name:
            names.append((name, section.evidence(index)))
    listing = section.all_evidence(20)
    if not section.complete or (section.rc not in (0, None) and not names):
        note = "could not list /dev/infiniband" if section.complete else "listing of /dev/infiniband cut off"
        return Observed(True, listing), Observed(None, listing, note), Observed(None, listing, note)
    uverbs = tuple(name for name, _ in names if _UVERBS.match(name))
    uverbs_evidence = tuple(line for name, line in names if _UVERBS.match(name)) or listing
    rdma_cm = [line for name, line in names if name == "rdma_cm"]
    return (
        Observed(True, listing),
        Observed(uverbs, uverbs_evidence, None if uverbs else "no uverbs* device in /dev/infiniband"),
        Observed(bool(rdma_cm), tuple(rdma_cm) or listing),
    )


def _listed_name(line: str, prefix: str) -> str | None:
    """The entry name from an `ls -la` line, or from the probe's own `/dev/infiniband/NAME` line."""
    if line.startswith(prefix):
        name = line[len(prefix):].strip()
        return name or None
    fields = line.split()
    if len(fields) < 2 or not _LS_MODE.match(fields[0]):
        return None
    if "->" in fields:
        fields = fields[: fields.index("->")]
    name = fields[-1] if len(fields) > 1 else None
    return None if name in (None, ".", "..") else name


def _sys_infiniband(section: Section | None) -> tuple[Observed[tuple[str, ...]], Observed[tuple[str, ...]]]:
    if section is None:
        note = _absent("sys_infiniband")
        return Observed(None, (), note), Observed(None, (), note)
    missing = _missing_line(section, "/sys/class/infiniband")
    if missing is not None:
        note = "/sys/class/infiniband does not exist: no RDMA device is visible here"
        return Observed((), (missing,), note), Observed((), (missing,), note)
    names: list[str] = []
    efa: list[str] = []
    efa_lines: list[SourceLine] = []
    for index, line in enumerate(section.lines):
        entry = _SYS_ENTRY.match(line)
        if not entry:
            continue
        name, driver = entry.group(1), entry.group(2)
        names.append(name)
        if driver == "efa" or (not driver and _EFA_NAME.match(name)):
            efa.append(name)
            efa_lines.append(section.evidence(index))
    listing = section.all_evidence(40)
    if not section.complete:
        note = "listing of /sys/class/infiniband cut off"
        return Observed(None, listing, note), Observed(None, listing, note)
    return (
        Observed(tuple(names), listing, None if names else "/sys/class/infiniband is empty"),
        Observed(tuple(efa), tuple(efa_lines) or listing, None if efa else "no EFA device in /sys/class/infiniband"),
    )


def _sys_verbs(section: Section | None) -> Observed[tuple[tuple[str, str], ...]]:
    if section is None:
        return Observed(None, (), _absent("sys_infiniband_verbs"))
    missing = _missing_line(section, "/sys/class/infiniband_verbs")
    if missing is not None:
        return Observed((), (missing,), "/sys/class/infiniband_verbs does not exist")
    pairs = []
    for line in section.lines:
        entry = _VERBS_ENTRY.match(line)
        if entry:
            pairs.append((entry.group(1), entry.group(2) or ""))
    if not section.complete:
        return Observed(None, section.all_evidence(40), "listing of /sys/class/infiniband_verbs cut off")
    return Observed(tuple(pairs), section.all_evidence(40))


def _missing_line(section: Section, path: str) -> SourceLine | None:
    """The line saying `path` does not exist: the probe's own, or `ls: cannot access 'PATH': ...`."""
    if section.rc == 0:
        return None
    for index, line in enumerate(section.lines):
        if _MISSING in line and (f" {path}:" in line or f"'{path}'" in line or f"'{path}/'" in line):
            return section.evidence(index)
    return None


def _number(text: str, max_digits: int = 18) -> int | None:
    """A plain ASCII decimal: str.isdigit() also accepts '²' and other digits int() refuses."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= max_digits else None


def _memlock(section: Section | None) -> Observed[int | str]:
    if section is None:
        return Observed(None, (), _absent("memlock"))
    for index, line in enumerate(section.lines):
        value = line.strip()
        if not value:
            continue
        if value == "unlimited":
            return Observed("unlimited", (section.evidence(index),))
        if _number(value) is not None:
            return Observed(_number(value), (section.evidence(index),))
        return Observed(None, (section.evidence(index),), "ulimit -l printed something else than a number")
    return Observed(None, (), "ulimit -l printed nothing")


def _capabilities(section: Section | None) -> tuple[Observed[bool], Observed[bool], Observed[bool]]:
    """CAP_IPC_LOCK in the effective and bounding sets, and whether the probe ran in a user namespace.

    The kernel lifts the memlock limit on memory registrations for a process whose effective set holds
    CAP_IPC_LOCK, checked against the initial user namespace (`capable()`): a capability held inside
    another user namespace does not count, so that is reported beside it.
    """
    if section is None:
        note = _absent("capabilities")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    missing = _missing_line(section, "/proc/self/status")
    sets: dict[str, Observed[bool]] = {}
    extents: list[tuple[int, int, int]] = []
    map_lines: list[SourceLine] = []
    for index, line in enumerate(section.lines):
        match = _CAP_SET.match(line.strip())
        if match and match.group(1) not in sets:
            held = bool(int(match.group(2), 16) >> CAP_IPC_LOCK & 1)
            sets[match.group(1)] = Observed(held, (section.evidence(index),))
            continue
        mapped = _UID_MAP.match(line.strip())
        if mapped:
            extents.append((int(mapped.group(1)), int(mapped.group(2)), int(mapped.group(3))))
            map_lines.append(section.evidence(index))

    def cap_set(name: str) -> Observed[bool]:
        if name in sets:
            return sets[name]
        if missing is not None:
            return Observed(None, (missing,), "/proc/self/status could not be read")
        cut = "" if section.complete else " (section cut off)"
        return Observed(None, section.all_evidence(5), f"no {name} line from /proc/self/status{cut}")

    if extents:
        namespace: Observed[bool] = Observed(tuple(extents) != INITIAL_UID_MAP, tuple(map_lines))
    else:
        namespace = Observed(None, (), "no uid_map line: the user namespace is unknown")
    return cap_set("CapEff"), cap_set("CapBnd"), namespace


def _hugepages(section: Section | None) -> dict[str, Observed[int]]:
    keys = ("HugePages_Total", "HugePages_Free", "Hugepagesize")
    if section is None:
        return {key: Observed(None, (), _absent("hugepages")) for key in keys}
    found: dict[str, Observed[int]] = {}
    for index, line in enumerate(section.lines):
        match = _MEMINFO.match(line.strip())
        if match and match.group(1) in keys and match.group(1) not in found:
            found[match.group(1)] = Observed(int(match.group(2)), (section.evidence(index),))
    return {key: found.get(key, Observed(None, (), f"no {key} line in /proc/meminfo")) for key in keys}


def _shm(section: Section | None) -> Observed[int]:
    if section is None:
        return Observed(None, (), _absent("shm"))
    for index, line in enumerate(section.lines):
        fields = line.split()
        if len(fields) >= 6 and fields[-1] == "/dev/shm" and _number(fields[1]) is not None:
            return Observed(_number(fields[1]) * 1024, (section.all_evidence(1) + (section.evidence(index),)))
    return Observed(None, section.all_evidence(5), _exit_note("df -kP /dev/shm", section.rc) or "no /dev/shm line from df")


def _env(section: Section | None) -> Observed[dict[str, str]]:
    if section is None:
        return Observed(None, (), _absent("env"))
    values: dict[str, str] = {}
    evidence: list[SourceLine] = []
    for index, line in enumerate(section.lines):
        match = _ENV_LINE.match(line)
        if not match or not ALLOWED_ENV.match(match.group(1)) or match.group(1) in values:
            continue
        values[match.group(1)] = _unescape(match.group(2))
        evidence.append(section.evidence(index))
    return Observed(values, tuple(evidence), None if section.complete else "environment listing cut off")


def _unescape(value: str) -> str:
    """Undo the probe's escaping: \\\\ is a backslash and \\n a newline; anything else stays."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value) and value[i + 1] in "\\n":
            out.append("\\" if value[i + 1] == "\\" else "\n")
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _libs(section: Section | None) -> tuple[Observed[tuple[str, ...]], Observed[tuple[str, ...]], Observed[bool]]:
    if section is None:
        note = _absent("libs")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    paths: list[tuple[str, SourceLine]] = []
    for index, line in enumerate(section.lines):
        if line.startswith("/"):
            paths.append((line, section.evidence(index)))
    cut = None if section.complete else "library listing cut off"
    library_paths = Observed(tuple(p for p, _ in paths), tuple(e for _, e in paths), cut)
    plugins = [(p, e) for p, e in paths if _NCCL_NET_PLUGIN.match(p.rsplit("/", 1)[-1])]
    plugin_paths = Observed(tuple(p for p, _ in plugins), tuple(e for _, e in plugins), cut)
    aws = [e for p, e in plugins if _is_aws_ofi_nccl(p)]
    if aws:
        return library_paths, plugin_paths, Observed(True, tuple(aws))
    if cut:
        return library_paths, plugin_paths, Observed(None, (), cut)
    if plugins:
        shown = ", ".join(p for p, _ in plugins[:3])
        return library_paths, plugin_paths, Observed(
            None, tuple(e for _, e in plugins), f"NCCL net plugin(s) found ({shown}) but not recognisably aws-ofi-nccl"
        )
    return library_paths, plugin_paths, Observed(
        False,
        (),
        "no libnccl-net*.so in LD_LIBRARY_PATH, /opt/amazon/efa, /opt/amazon/ofi-nccl, /opt/aws-ofi-nccl, "
        "/usr/lib*, /usr/local/lib* (two levels deep)",
    )


def _is_aws_ofi_nccl(path: str) -> bool:
    # aws-ofi-nccl >= 1.15.0 names the library libnccl-net-ofi.so; older ones are recognised by where the
    # EFA installer or the usual build prefix put them.
    name = path.rsplit("/", 1)[-1]
    return name.startswith("libnccl-net-ofi.so") or path.startswith(("/opt/amazon/", "/opt/aws-ofi-nccl/"))


def _installed_packages(section: Section | None) -> tuple[Observed[bool], Observed[str], Observed[str]]:
    """The EFA installer's package list (first line '# EFA installer version: X') and that version."""
    if section is None:
        note = _absent("efa_installed_packages")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    missing = _missing_line(section, "/opt/amazon/efa_installed_packages")
    if missing is not None:
        note = "no /opt/amazon/efa_installed_packages (the package list the EFA installer writes)"
        return Observed(False, (missing,)), Observed(None, (missing,), note), Observed(None, (missing,), note)
    evidence = section.all_evidence(40)
    cut = None if section.complete else "file listing cut off"
    version: Observed[str] = Observed(None, evidence[:1], "no '# EFA installer version:' line")
    for index, line in enumerate(section.lines):
        match = _INSTALLER_VERSION.match(line)
        if match:
            version = Observed(match.group(1), (section.evidence(index),))
            break
    return Observed(True, evidence[:1]), Observed(section.text, evidence, cut), version


def _identity(section: Section | None) -> tuple[Observed[int], Observed[str]]:
    if section is None:
        note = _absent("identity")
        return Observed(None, (), note), Observed(None, (), note)
    values = _key_values(section)
    uid: Observed[int] = Observed(None, (), "uid not reported")
    if "uid" in values:
        text, line = values["uid"]
        digits = text.strip()
        number = _number(digits, 12)
        uid = Observed(number, (line,)) if number is not None else Observed(None, (line,), "uid unreadable")
    user: Observed[str] = Observed(None, (), "user name not reported (no passwd entry for the uid?)")
    if "user" in values:
        text, line = values["user"]
        user = Observed(text.strip() or None, (line,))
    return uid, user
