"""Facts about who the probe ran as and its FI_/NCCL_ variables; only allow-listed variables are kept, as a second gate."""

from __future__ import annotations

import re

from efadoctor.parsers.fi_info import SourceLine

from .facts import Observed, Section
from .reading import _absent, _key_values, _number

# Only these environment variables are ever kept (the probe filters too; this is the second gate).
ALLOWED_ENV = re.compile(r"^(?:(?:FI|NCCL|OFI_NCCL)_[A-Za-z0-9_]*|LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES)$")
_ENV_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


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
