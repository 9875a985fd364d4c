"""Facts about memlock, CAP_IPC_LOCK with the user namespace, hugepages and /dev/shm; memlock is judged with the capability."""

from __future__ import annotations

import re

from efadoctor.parsers.fi_info import SourceLine

from .facts import Observed, Section
from .reading import _absent, _exit_note, _missing_line, _number

_MEMINFO = re.compile(r"^(HugePages_Total|HugePages_Free|HugePages_Rsvd|HugePages_Surp|Hugepagesize):\s*(\d{1,18})\s*(kB)?\s*$")
# /proc/self/status prints each capability set as 16 hex digits (fs/proc/array.c render_cap_t).
_CAP_SET = re.compile(r"^(CapPrm|CapEff|CapBnd):\s*([0-9a-fA-F]{1,16})\s*$")
_UID_MAP = re.compile(r"^uid_map:\s+(\d{1,10})\s+(\d{1,10})\s+(\d{1,10})\s*$")
CAP_IPC_LOCK = 14  # include/uapi/linux/capability.h
# The initial user namespace maps every uid to itself in one extent (user_namespaces(7)).
INITIAL_UID_MAP = ((0, 0, 4294967295),)


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
