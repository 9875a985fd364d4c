"""Facts from the fi_info runs (tool, version, providers, efa query), kept together: each depends on fi_info being found."""

from __future__ import annotations

from typing import Callable, TypeVar

from efadoctor.parsers.fi_info import (
    EXIT_NOT_FOUND,
    EXIT_TIMED_OUT,
    FiInfoEfaResult,
    FiInfoProviders,
    FiInfoVersion,
    parse_fi_info_efa,
)

from .facts import Observed, Section
from .reading import EXIT_KILLED, _absent, _exit_note, _key_values

T = TypeVar("T")

# libfabric started listing efa in `fi_info -l` on hosts without an EFA device in v2.1.0
# (ofiwg/libfabric b7b9dd697 "prov/efa: Always return efa_prov in EFA_INI"); before, an unlisted efa
# may just mean "no device visible".
EFA_ALWAYS_LISTED_SINCE = (2, 1)

FI_INFO_NOT_FOUND = "fi_info not found (not on PATH, not at /opt/amazon/efa/bin/fi_info)"


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
