"""Reading logs: files, gzip (by its magic bytes), stdin and open streams, in bounded line batches.

Reading never buffers a whole file or a whole line: text is decoded incrementally (UTF-8, errors
replaced) and lines longer than `MAX_LINE_CHARS` are cut as they stream. A file that cannot be read
becomes a `ReadError` in the facts instead of an exception.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import sys
import zlib
from collections.abc import Iterable, Iterator
from typing import IO, Any, Union

from .facts import LogFacts
from .limits import DEFAULT_MAX_EVIDENCE, MAX_LINE_CHARS
from .parse import LogParser

LogSource = Union[str, "os.PathLike[str]", IO[str], IO[bytes]]

_READ_CHARS = 1 << 20


def parse_log_files(sources: Iterable[LogSource] | LogSource, *, max_evidence: int = DEFAULT_MAX_EVIDENCE) -> LogFacts:
    """Parse files (paths, "-" for stdin, gzip recognised) and open streams (text or bytes), in order.

    A file that cannot be opened or read to its end becomes a `ReadError` in the facts; the lines read
    before the error still count. Nothing is raised for bad input. Streams are left open.
    """
    if isinstance(sources, (str, bytes, os.PathLike)) or hasattr(sources, "read"):
        sources = [sources]  # type: ignore[list-item]
    parser = LogParser(max_evidence)
    for source in sources:  # type: ignore[union-attr]
        name = _source_name(source)
        parser.begin_file(name)
        raw = None
        try:
            if hasattr(source, "read"):
                batches = _line_batches(source)  # type: ignore[arg-type]
            else:
                raw, batches = _open_batches(source)  # type: ignore[arg-type]
            _feed_guarded(parser, name, batches)
        except OSError as error:  # could not open
            parser.add_read_error(name, error)
        finally:
            if raw is not None:
                raw.close()
    return parser.facts()


def _feed_guarded(parser: LogParser, name: str, batches: Iterator[list[str]]) -> None:
    """Feed batches until the source ends or fails to read; a failure is recorded, not raised. Only
    reading is guarded: an exception from the parser itself would be a bug and must surface."""
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (OSError, EOFError, zlib.error, ValueError, TypeError) as error:
            # OSError: gzip.BadGzipFile, I/O errors; EOFError: a truncated .gz; TypeError: a stream
            # whose read() returns neither str nor bytes
            parser.add_read_error(name, error)
            return
        parser.feed_lines(batch)


def open_log(path: str | os.PathLike[str]) -> Iterator[str]:
    """Lines of a log file, "-" meaning stdin; gzip is recognised by its magic bytes (so `.gz` works).

    Text is decoded as UTF-8 with errors="replace"; "\\r\\n" and lone "\\r" end lines too. Lines come
    without their newline and at most `MAX_LINE_CHARS` + 1 characters long (the extra character lets
    a reader tell a line was cut), so memory stays bounded even for a file with no newline at all.
    Opening errors raise OSError now; read errors (a truncated .gz) raise while iterating.
    """
    raw, batches = _open_batches(path)
    return _lines_closing(raw, batches)


def _lines_closing(raw: IO[bytes] | None, batches: Iterator[list[str]]) -> Iterator[str]:
    try:
        for batch in batches:
            yield from batch
    finally:
        if raw is not None:
            raw.close()


def _open_batches(path: str | os.PathLike[str]) -> tuple[IO[bytes] | None, Iterator[list[str]]]:
    """(the file to close afterwards, or None for stdin; its lines in batches)."""
    if os.fspath(path) == "-":
        return None, _line_batches(getattr(sys.stdin, "buffer", sys.stdin))
    raw = open(path, "rb")  # noqa: SIM115 - the caller closes it
    return raw, _line_batches(raw)


def _line_batches(stream: IO[Any]) -> Iterator[list[str]]:
    """Lines of an open stream of text or bytes (gzip-compressed bytes too), a list per large read;
    lists, not single lines, because the parser's loop runs fastest over a list. The stream stays open."""
    if not isinstance(stream, io.TextIOBase) and _starts_with_gzip_magic(stream):
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[arg-type]
    return _split_batches(_text_chunks(stream))


def _starts_with_gzip_magic(stream: IO[Any]) -> bool:
    peek = getattr(stream, "peek", None)
    try:
        if peek is not None:
            head = peek(2)[:2]
        elif stream.seekable():
            position = stream.tell()
            head = stream.read(2)
            stream.seek(position)
        else:
            return False
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(head, (bytes, bytearray)) and bytes(head) == b"\x1f\x8b"


def _text_chunks(stream: IO[Any]) -> Iterator[str]:
    """Large decoded reads; bytes go through an incremental UTF-8 decoder (errors="replace")."""
    decoder = None
    read = stream.read
    while True:
        data = read(_READ_CHARS)
        if not data:
            break
        if isinstance(data, str):
            yield data
            continue
        if decoder is None:
            decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        yield decoder.decode(data)
    if decoder is not None:
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail


def _split_batches(chunks: Iterable[str]) -> Iterator[list[str]]:
    """Split text chunks into lists of lines, cutting (never buffering) lines longer than the cap."""
    limit = MAX_LINE_CHARS + 1
    carry = ""
    skipping = False  # inside a line already cut: drop text up to its newline
    held_cr = False
    for chunk in chunks:
        if held_cr:
            chunk = "\r" + chunk
            held_cr = False
        if "\r" in chunk:
            if chunk.endswith("\r"):  # its "\n" may open the next chunk
                chunk = chunk[:-1]
                held_cr = True
            chunk = chunk.replace("\r\n", "\n").replace("\r", "\n")
        if skipping:
            newline = chunk.find("\n")
            if newline < 0:
                continue
            chunk = chunk[newline + 1 :]
            skipping = False
        if carry:
            chunk = carry + chunk
        parts = chunk.split("\n")
        carry = parts.pop()
        if len(carry) > limit:
            parts.append(carry[:limit])
            carry = ""
            skipping = True
        if parts:
            yield parts
    if held_cr and not skipping or carry:
        yield [carry]


def _source_name(source: Any) -> str:
    if isinstance(source, (str, bytes, os.PathLike)):
        name = os.fsdecode(source)
        return "<stdin>" if name == "-" else name
    name = getattr(source, "name", None)
    return name if isinstance(name, str) else "<stream>"
