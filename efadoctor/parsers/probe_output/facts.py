"""The values a parsed probe output is made of; every fact keeps the lines it was read from so a check can quote them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from efadoctor.parsers.fi_info import FiInfoEfaResult, FiInfoProviders, FiInfoVersion, SourceLine

from .limits import MAX_SECTION_LINES

T = TypeVar("T")


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
    found_libraries: Observed[tuple[str, ...]]
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
