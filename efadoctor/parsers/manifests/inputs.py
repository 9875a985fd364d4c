"""`load_paths`, the reader's entry point: files, directories and stdin, each read safely and in order.

Every kind of bad input (missing file, broken link, binary, too large, not UTF-8) becomes a
`YamlProblem` instead of an exception, so one unreadable input does not hide the findings in the
others; files over a size cap are not read at all.
"""

from __future__ import annotations

import os
import sys
from typing import Sequence, TextIO

from .line_loader import DEFAULT_MAX_ALIAS_NODES, load_text
from .values import Document, LoadResult, YamlProblem

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""Per file. Real manifests, even rendered charts with CRDs, are far below this."""

YAML_SUFFIXES = (".yaml", ".yml")
STDIN_PATH = "-"
STDIN_SOURCE = "<stdin>"

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


def _decode(data: bytes, source: str) -> str | YamlProblem:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec)
            except UnicodeDecodeError as error:
                return YamlProblem(source, None, None, "binary", f"{source}: not {codec} text ({error.reason})")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        return YamlProblem(source, line, None, "binary", f"{source}: NUL byte at line {line}; a binary file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        return YamlProblem(
            source, line, None, "binary", f"{source}: not UTF-8 text (byte 0x{data[error.start]:02x} at line {line})"
        )


def _too_large(source: str, size: int | None, max_bytes: int) -> YamlProblem:
    what = f"{size:,} bytes" if size is not None else "more than that"
    return YamlProblem(source, None, None, "too-large", f"{source} is {what}, over the {max_bytes:,}-byte limit; not read")


def _read_file(path: str, max_bytes: int) -> bytes | YamlProblem:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                return _too_large(path, size, max_bytes)
            data = handle.read(max_bytes + 1)  # the file may grow, or be a pipe with no size
    except OSError as error:
        reason = error.strerror or error.__class__.__name__
        return YamlProblem(path, None, None, "io", f"cannot read {path}: {reason}")
    if len(data) > max_bytes:
        return _too_large(path, None, max_bytes)
    return data


def _read_stdin(stdin: TextIO, max_bytes: int) -> str | YamlProblem:
    buffer = getattr(stdin, "buffer", None)
    try:
        if buffer is not None:
            data = buffer.read(max_bytes + 1)
            if len(data) > max_bytes:
                return _too_large(STDIN_SOURCE, None, max_bytes)
            return _decode(data, STDIN_SOURCE)
        text = stdin.read(max_bytes + 1)  # characters: a text stream has no byte count
    except UnicodeDecodeError as error:
        return YamlProblem(STDIN_SOURCE, None, None, "binary", f"{STDIN_SOURCE}: not text ({error.reason})")
    except OSError as error:
        return YamlProblem(STDIN_SOURCE, None, None, "io", f"cannot read {STDIN_SOURCE}: {error.strerror or error}")
    if len(text) > max_bytes:
        return _too_large(STDIN_SOURCE, None, max_bytes)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return YamlProblem(STDIN_SOURCE, line, None, "binary", f"{STDIN_SOURCE}: NUL at line {line}; binary input?")
    return text


def _yaml_files(root: str) -> tuple[list[str], list[YamlProblem]]:
    """Every *.yaml/*.yml under `root`, following links but entering each real directory once."""
    found: list[str] = []
    problems: list[YamlProblem] = []
    seen: set[tuple[int, int]] = set()

    def unreadable(error: OSError) -> None:
        where = error.filename or root
        problems.append(YamlProblem(where, None, None, "io", f"cannot read {where}: {error.strerror or error}"))

    for directory, subdirectories, files in os.walk(root, onerror=unreadable, followlinks=True):
        try:
            status = os.stat(directory)
        except OSError as error:
            unreadable(error)
            subdirectories[:] = []
            continue
        identity = (status.st_dev, status.st_ino)
        if identity in seen:  # a link back to a directory already walked
            subdirectories[:] = []
            continue
        seen.add(identity)
        for name in files:
            if not name.lower().endswith(YAML_SUFFIXES):
                continue
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                found.append(path)
            elif os.path.islink(path):
                problems.append(YamlProblem(path, None, None, "io", f"cannot read {path}: broken symbolic link"))
    found.sort(key=lambda path: os.path.relpath(path, root).split(os.sep))
    return found, problems


def load_paths(
    paths: Sequence[str],
    *,
    stdin: TextIO | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES,
) -> LoadResult:
    """Load files, directories (recursively, *.yaml/*.yml, sorted) and `-` (stdin), in the order given.

    A file named explicitly is read whatever its suffix. Nothing raises: unreadable, binary,
    oversized and unparseable inputs become problems, and every other document is still returned.
    """
    documents: list[Document] = []
    problems: list[YamlProblem] = []
    sources: list[str] = []

    def add(result: LoadResult) -> None:
        documents.extend(result.documents)
        problems.extend(result.problems)
        sources.extend(result.sources)

    def load_file(path: str) -> None:
        data = _read_file(path, max_bytes)
        text = data if isinstance(data, YamlProblem) else _decode(data, path)
        if isinstance(text, YamlProblem):
            problems.append(text)
        else:
            add(load_text(text, path, max_alias_nodes=max_alias_nodes))

    for path in paths:
        if path == STDIN_PATH:
            text = _read_stdin(stdin if stdin is not None else sys.stdin, max_bytes)
            if isinstance(text, YamlProblem):
                problems.append(text)
            else:
                add(load_text(text, STDIN_SOURCE, max_alias_nodes=max_alias_nodes))
        elif os.path.isdir(path):
            files, walk_problems = _yaml_files(path)
            problems.extend(walk_problems)
            if not files and not walk_problems:
                problems.append(
                    YamlProblem(path, None, None, "no-yaml", f"{path} holds no *.yaml or *.yml file; nothing to check")
                )
            for file in files:
                load_file(file)
        else:
            load_file(path)
    return LoadResult(tuple(documents), tuple(problems), tuple(sources))
