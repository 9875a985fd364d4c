"""Small readers every extractor shares, so a missing section, file, number or exit status is read and worded one way."""

from __future__ import annotations

from efadoctor.parsers.fi_info import EXIT_TIMED_OUT, SourceLine

from .facts import Section

EXIT_KILLED = 137  # timeout -k sent SIGKILL, or the kernel's OOM killer
_MISSING = "No such file or directory"


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
