"""Facts about the RDMA devices seen in /dev/infiniband and /sys/class; libibverbs uses a device only if both show it."""

from __future__ import annotations

import re

from efadoctor.parsers.fi_info import SourceLine

from .facts import Observed, Section
from .reading import _absent, _missing_line

_LS_MODE = re.compile(r"^[-bcdlnpsDw?][-rwxsStTlL?]{9}[.+@]?$")
_UVERBS = re.compile(r"^uverbs\d+$")
_EFA_NAME = re.compile(r"^(?:rdmap\w+|efa_\d+)$")
_SYS_ENTRY = re.compile(r"^(\S+)(?: driver=(\S*))?\s*$")
_VERBS_ENTRY = re.compile(r"^(uverbs\d+)(?: ibdev=(\S*))?\s*$")


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
