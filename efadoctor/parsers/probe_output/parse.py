"""parse_probe, the one entry point: it splits the output, runs every extractor and notes what was missing or cut."""

from __future__ import annotations

from efadoctor.parsers.fi_info import parse_fi_info_list, parse_fi_info_version

from .devices import _dev_infiniband, _sys_infiniband, _sys_verbs
from .environment import _env, _identity
from .facts import ProbeReport
from .libfabric import _efa_compiled_in, _efa_listed, _fi_info_command, _fi_info_efa, _fi_info_tool, _tool_present
from .limits import EXPECTED_SECTIONS, MAX_SECTION_LINES
from .memory import _capabilities, _hugepages, _memlock, _shm
from .software import _installed_packages, _libs
from .split import _decode, _split


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
        found_libraries=libs,
        nccl_net_plugins=plugins,
        aws_ofi_nccl_plugin=aws_plugin,
        efa_installed_packages_file=packages_file,
        efa_installed_packages=packages,
        efa_installer_version=installer_version,
        uid=uid,
        user=user,
    )
