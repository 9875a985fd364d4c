"""Decode the raw output and cut it into sections tolerantly, because it may arrive cut short, garbled or mixed with noise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from efadoctor.parsers.fi_info import SourceLine
from efadoctor.probe import MAX_OUTPUT_BYTES

from .facts import Section
from .limits import MAX_LINE_CHARS, MAX_SECTION_LINES, MAX_SECTIONS, MAX_STRAY_LINES

_HEADER = re.compile(r"^EFADOCTOR-PROBE v(\d{1,6})\s*$")
_BEGIN = re.compile(r"^@@begin ([A-Za-z0-9_.-]{1,64})\s*$")
_END = re.compile(r"^@@end ([A-Za-z0-9_.-]{1,64}) rc=(-?\d{1,9})\s*$")
_DONE = re.compile(r"^@@done\s*$")


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
