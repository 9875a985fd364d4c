"""Read Kubernetes and Karpenter manifests for `efadoctor lint`, remembering where every key was written.

A lint finding is only useful if it points at a line: "vpc.amazonaws.com: 1 at pods.yaml:14 is not a
resource name". PyYAML throws that position away and silently keeps the last of two duplicate keys,
which hides exactly the copy-paste mistakes runbooks make (a second `spec:` swallowing the first).
So this module builds mappings and lists that remember their lines, reports duplicate keys, and turns
every kind of bad input (missing file, binary, too large, syntax, alias bomb) into a `YamlProblem`
instead of an exception: one broken document must not hide the findings in the others.

It is pure apart from reading the named files, and its work is bounded: files over a size cap are not
read, and documents whose anchors/aliases would expand past a node limit are not built.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Sequence, TextIO

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

try:  # libyaml: about 10x faster to parse, and its nodes keep line and column marks
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml
    _CParser = None

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""Per file. Real manifests, even rendered charts with CRDs, are far below this."""

DEFAULT_MAX_ALIAS_NODES = 100_000
"""Nodes a document may gain by expanding aliases; the classic billion-laughs bomb asks for ~10^9."""

YAML_SUFFIXES = (".yaml", ".yml")
STDIN_PATH = "-"
STDIN_SOURCE = "<stdin>"

_MERGE_TAG = "tag:yaml.org,2002:merge"
_DOC_START = re.compile(r"---(?:[ \t\r\n]|$)")
_NON_PRINTABLE = Reader.NON_PRINTABLE  # what YAML forbids in a stream; in a manifest it means binary
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


# --------------------------------------------------------------------------------------------------
# Values


class LineDict(dict):  # type: ignore[type-arg]
    """A YAML mapping that is still a plain dict, plus where it and each of its keys were written.

    `line`/`column` (1-based) are those of the mapping's first key; `key_lines`/`key_columns` map
    each key to its own position. Keys merged in with `<<: *anchor` point at the anchor's text.
    """

    __slots__ = ("line", "column", "key_lines", "key_columns")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line = 0
        self.column = 0
        self.key_lines: dict[Any, int] = {}
        self.key_columns: dict[Any, int] = {}


class LineList(list):  # type: ignore[type-arg]
    """A YAML sequence that is still a plain list, plus its own line and each item's line (1-based)."""

    __slots__ = ("line", "column", "item_lines")

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.line = 0
        self.column = 0
        self.item_lines: list[int] = []


@dataclass(frozen=True)
class YamlProblem:
    """Why (part of) an input could not be read. `line`/`column` are 1-based, None for a whole file.

    Codes: io, too-large, binary, tab, syntax, duplicate-key, not-a-mapping, too-complex, no-yaml.
    """

    source: str
    line: int | None
    column: int | None
    code: str
    message: str


@dataclass(frozen=True, eq=False)  # identity: the body is a mutable, unhashable dict
class Document:
    """One YAML document that is a mapping: a Kubernetes object, a Helm values file, a patch...

    `index` is its 0-based position in the source's YAML stream (empty documents count, as in
    `yaml.safe_load_all`); `line` is where its first key was written. `body` is plain data built
    from `LineDict`/`LineList`, so `line_of`/`path_line` can place any key.
    """

    source: str
    index: int
    line: int
    kind: str | None
    api_version: str | None
    name: str | None
    namespace: str | None
    body: LineDict


@dataclass(frozen=True)
class LoadResult:
    """Everything read from the inputs: the mapping documents, the problems, and the sources read."""

    documents: tuple[Document, ...] = ()
    problems: tuple[YamlProblem, ...] = ()
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)  # identity: the body is a mutable, unhashable dict
class PodSpecRef:
    """A pod spec found inside a document, wherever the workload's API nests it.

    `path` is the key/index path from the document root to the pod spec mapping (`()` when the
    document is a bare pod spec); `line` is where that last key (or item) was written. `owner_kind`
    is the `kind` of the nearest enclosing Kubernetes object (the item's, inside a `List`).
    """

    doc: Document
    path: tuple[str | int, ...]
    line: int
    owner_kind: str | None
    spec: LineDict
    containers: tuple[LineDict, ...]
    init_containers: tuple[LineDict, ...] = ()


# --------------------------------------------------------------------------------------------------
# Positions


def line_of(mapping: Any, key: Any) -> int | None:
    """The 1-based line where `key` was written in `mapping`, or None if unknown or absent."""
    if isinstance(mapping, LineDict):
        return mapping.key_lines.get(key)
    return None


def path_line(doc: Document | LineDict | LineList, path: Sequence[str | int]) -> int | None:
    """The line of the last key (or list item) on `path`, e.g. ("spec", "template", "spec").

    An empty path gives the document's own line; a path that leaves the data gives None.
    """
    node: Any = doc.body if isinstance(doc, Document) else doc
    line: int | None = node.line if isinstance(node, (LineDict, LineList)) else None
    for step in path:
        if isinstance(node, LineDict) and step in node:
            line = node.key_lines.get(step)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and not isinstance(step, bool):
            if not -len(node) <= step < len(node):
                return None
            line = node.item_lines[step]
            node = node[step]
        else:
            return None
    return line


def plain(value: Any) -> Any:
    """The same data as builtin dicts and lists, for serialisers that reject subclasses (yaml.safe_dump).

    `json.dumps` takes LineDict/LineList as they are; this is only needed for YAML output.
    """
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


# --------------------------------------------------------------------------------------------------
# The loader


class _TooComplex(Exception):
    """A document would expand past the alias node limit, or refers to itself."""


class _LineConstructor(SafeConstructor):
    """SafeConstructor that builds LineDict/LineList and reports duplicate keys instead of hiding them."""

    def __init__(self) -> None:
        SafeConstructor.__init__(self)
        self.source = ""
        self.line_offset = 0  # lines before this chunk of the file
        self.problems: list[YamlProblem] = []
        self._explicit_keys: dict[int, set[int]] = {}

    def construct_line_map(self, node: MappingNode) -> Iterator[LineDict]:
        data = LineDict()
        data.line = node.start_mark.line + self.line_offset + 1
        data.column = node.start_mark.column + 1
        yield data
        self.flatten_mapping(node)  # merged `<<` pairs come first, so explicit keys override them
        explicit = self._explicit_keys[id(node)]
        first_seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=False)
            try:
                hash(key)
            except TypeError:
                raise ConstructorError(
                    "while constructing a mapping", node.start_mark, "found unhashable key", key_node.start_mark
                ) from None
            line = key_node.start_mark.line + self.line_offset + 1
            if id(key_node) in explicit:
                if key in first_seen:
                    self.problems.append(
                        YamlProblem(
                            self.source,
                            line,
                            key_node.start_mark.column + 1,
                            "duplicate-key",
                            f"duplicate key {key!r} in one mapping: first at line {first_seen[key]}, again at "
                            f"line {line}; YAML loaders keep only the last value and drop the first silently",
                        )
                    )
                first_seen[key] = line
            data[key] = self.construct_object(value_node, deep=False)
            data.key_lines[key] = line
            data.key_columns[key] = key_node.start_mark.column + 1

    def flatten_mapping(self, node: MappingNode) -> None:
        # Merging rewrites node.value in place, possibly while flattening another mapping that
        # merges this one; remember the keys written here before that, so that only they can
        # be duplicates (a key overriding a merged one is the point of `<<`).
        self._explicit_keys.setdefault(id(node), {id(k) for k, _ in node.value if k.tag != _MERGE_TAG})
        super().flatten_mapping(node)

    def construct_document(self, node: Node) -> Any:
        try:
            return super().construct_document(node)
        finally:
            self._explicit_keys.clear()  # node ids are only unique while the document lives

    def construct_line_seq(self, node: SequenceNode) -> Iterator[LineList]:
        data = LineList()
        data.line = node.start_mark.line + self.line_offset + 1
        data.column = node.start_mark.column + 1
        yield data
        data.extend(self.construct_sequence(node))
        data.item_lines = [child.start_mark.line + self.line_offset + 1 for child in node.value]

    def construct_timestamp_as_text(self, node: ScalarNode) -> str:
        # Kubernetes reads YAML through JSON, where `2024-01-01` is a string; a datetime would be
        # neither what the API server sees nor JSON-serialisable, and bad dates would raise.
        return str(self.construct_scalar(node))


_LineConstructor.add_constructor("tag:yaml.org,2002:map", _LineConstructor.construct_line_map)
_LineConstructor.add_constructor("tag:yaml.org,2002:seq", _LineConstructor.construct_line_seq)
_LineConstructor.add_constructor("tag:yaml.org,2002:timestamp", _LineConstructor.construct_timestamp_as_text)


class _PyLineLoader(Reader, Scanner, Parser, Composer, _LineConstructor, Resolver):
    """The pure-Python pipeline, used when PyYAML has no libyaml."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        _LineConstructor.__init__(self)
        Resolver.__init__(self)


if _CParser is not None:

    class _CLineLoader(_CParser, _LineConstructor, Resolver):  # type: ignore[misc, valid-type]
        """libyaml parses and composes (keeping marks); our Python constructor builds the values."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _LineConstructor.__init__(self)
            Resolver.__init__(self)

    _LOADER: type = _CLineLoader
else:
    _LOADER = _PyLineLoader


def _children(node: Node) -> Iterable[Node]:
    if isinstance(node, MappingNode):
        for key_node, value_node in node.value:
            yield key_node
            yield value_node
    elif isinstance(node, SequenceNode):
        yield from node.value


def _check_alias_expansion(root: Node, max_alias_nodes: int) -> None:
    """Raise _TooComplex if aliases make the document a cycle or expand it past `max_alias_nodes`.

    The composed graph shares one node per anchor, so composing a bomb is cheap; what explodes is
    every later walk over the built data. Count the nodes that walk would visit, once per node.
    """
    cap = 1 << 62
    size: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            open_nodes.discard(key)
            size[key] = min(cap, 1 + sum(size[id(child)] for child in _children(node)))
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise _TooComplex("an alias refers to a node that contains it (a recursive structure)")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in size)
    added = size[id(root)] - len(size)
    if added > max_alias_nodes:
        raise _TooComplex(
            f"aliases expand this document by {added:,} nodes, over the limit of {max_alias_nodes:,} "
            "(an alias bomb?); not loaded"
        )


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and not line.startswith("%")


def _chunks(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Split a stream at `---` lines into (first line index, text) pieces parsed one by one.

    YAML forbids `---` at the start of a line inside any scalar, so this is where documents
    begin; parsing each piece alone keeps one syntax error from hiding the documents after it.
    Leading comments and directives stay with the document that follows them.
    """
    start = 0
    has_content = False
    explicit = False
    for number, line in enumerate(lines):
        if line.startswith("---") and _DOC_START.match(line):
            if has_content or explicit:
                yield start, "".join(lines[start:number])
                start = number
            explicit = True
            has_content = False
        elif not has_content and _is_content(line):
            has_content = True
    if has_content or explicit:
        yield start, "".join(lines[start:])


def _error_problem(error: yaml.YAMLError, source: str, offset: int, chunk: list[str]) -> YamlProblem:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line if mark is not None else 0
    column = mark.column if mark is not None else 0
    if line >= len(chunk):  # "unexpected end": point at the last line, not at the next document's `---`
        line = max(len(chunk) - 1, 0)
        column = len(chunk[line].rstrip("\r\n")) if chunk else 0
    text = chunk[line] if chunk else ""
    line += offset
    indentation = text[: len(text) - len(text.lstrip(" \t"))]
    if "\t" in indentation or text[column : column + 1] == "\t":
        tab = indentation.find("\t") if "\t" in indentation else column
        return YamlProblem(
            source,
            line + 1,
            tab + 1,
            "tab",
            f"tab character at line {line + 1}, column {tab + 1}: YAML indentation must be spaces",
        )
    context = getattr(error, "context", None)
    problem = getattr(error, "problem", None) or str(error)
    message = f"{context}: {problem}" if context else str(problem)
    code = "too-complex" if "nesting depth" in message else "syntax"  # libyaml's own depth limit
    return YamlProblem(source, line + 1, column + 1, code, message)


_TYPE_NAMES = {LineList: "list", str: "string", int: "number", float: "number", bool: "boolean", bytes: "binary value"}


def _document(source: str, index: int, body: LineDict) -> Document:
    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    metadata = body.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    return Document(
        source=source,
        index=index,
        line=body.line,
        kind=text(body.get("kind")),
        api_version=text(body.get("apiVersion")),
        name=text(metadata.get("name")),
        namespace=text(metadata.get("namespace")),
        body=body,
    )


def load_text(text: str, source: str, *, max_alias_nodes: int = DEFAULT_MAX_ALIAS_NODES) -> LoadResult:
    """Parse one multi-document YAML text; never raises on bad input."""
    documents: list[Document] = []
    problems: list[YamlProblem] = []
    text = text.removeprefix("\ufeff")
    bad = _NON_PRINTABLE.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start())
        column = bad.start() - (text.rfind("\n", 0, bad.start()) + 1)
        problems.append(
            YamlProblem(
                source,
                line + 1,
                column + 1,
                "binary",
                f"character U+{ord(bad.group()):04X} at line {line + 1} is not allowed in YAML; not a text manifest",
            )
        )
        return LoadResult((), tuple(problems), (source,))
    lines = text.splitlines(keepends=True)
    index = 0
    for offset, chunk in _chunks(lines):
        loader = _LOADER(chunk)
        loader.source = source
        loader.line_offset = offset
        line, column = offset + 1, 1
        parsing = True  # a document that fails to parse still takes its place in the stream
        try:
            while loader.check_node():
                node = loader.get_node()
                index += 1
                parsing = False
                line, column = node.start_mark.line + offset + 1, node.start_mark.column + 1
                _check_alias_expansion(node, max_alias_nodes)
                data = loader.construct_document(node)
                if isinstance(data, LineDict):
                    documents.append(_document(source, index - 1, data))
                elif data is not None:
                    what = _TYPE_NAMES.get(type(data), type(data).__name__)
                    problems.append(
                        YamlProblem(
                            source,
                            line,
                            column,
                            "not-a-mapping",
                            f"document {index - 1} is a {what}, not a mapping; "
                            "a Kubernetes object or values file is a mapping",
                        )
                    )
                parsing = True
        except _TooComplex as why:
            problems.append(YamlProblem(source, line, column, "too-complex", str(why)))
        except RecursionError:
            problems.append(YamlProblem(source, line, column, "too-complex", "the document is nested too deeply"))
        except yaml.YAMLError as error:
            index += parsing
            problems.append(_error_problem(error, source, offset, chunk.splitlines(keepends=True)))
        finally:
            problems.extend(loader.problems)
            loader.dispose()
    return LoadResult(tuple(documents), tuple(problems), (source,))


# --------------------------------------------------------------------------------------------------
# Inputs


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


# --------------------------------------------------------------------------------------------------
# What the documents hold


def _is_container(item: Any) -> bool:
    return isinstance(item, dict) and ("name" in item or "image" in item)


def _pod_containers(mapping: dict[Any, Any]) -> tuple[LineDict, ...] | None:
    """The containers if `mapping` is a pod spec (or an Argo template's single container), else None."""
    containers = mapping.get("containers")
    if isinstance(containers, list) and containers and all(_is_container(item) for item in containers):
        return tuple(containers)
    for key in ("container", "script"):  # Argo Workflows templates: one container, no list
        single = mapping.get(key)
        if isinstance(single, dict) and isinstance(single.get("image"), str):
            return (single,)  # type: ignore[return-value]
    return None


def find_pod_specs(doc: Document) -> list[PodSpecRef]:
    """Every pod spec in `doc`, found by shape rather than by a list of kinds.

    A pod spec is a mapping whose `containers` is a non-empty list of mappings that each have a
    `name` or an `image`; that covers Pod, Deployment, Job, CronJob, PyTorchJob, MPIJob, JobSet,
    RayCluster and any CRD embedding a PodTemplateSpec. A mapping with only `initContainers` (a patch,
    say) is not one. The search does not descend into a pod spec it found. Order is document order.
    """
    found: list[PodSpecRef] = []
    stack: list[tuple[tuple[str | int, ...], Any, str | None]] = [((), doc.body, None)]
    while stack:
        path, node, owner = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("kind"), str) and isinstance(node.get("apiVersion"), str):
                owner = node["kind"]
            containers = _pod_containers(node)
            if containers is not None:
                init = node.get("initContainers")
                found.append(
                    PodSpecRef(
                        doc=doc,
                        path=path,
                        line=path_line(doc, path) or doc.line,
                        owner_kind=owner,
                        spec=node,  # type: ignore[arg-type]
                        containers=containers,
                        init_containers=tuple(c for c in init if isinstance(c, dict)) if isinstance(init, list) else (),
                    )
                )
                continue
            stack.extend(
                (path + (key,), value, owner)
                for key, value in reversed(node.items())
                if isinstance(value, (dict, list)) and isinstance(key, (str, int))
            )
        elif isinstance(node, list):
            stack.extend((path + (i,), item, owner) for i, item in reversed(list(enumerate(node))))
    return found


def api_group(doc: Document) -> str:
    """The API group of `doc` ("" for the core group, e.g. `v1`)."""
    version = doc.api_version or ""
    return version.rsplit("/", 1)[0] if "/" in version else ""


def is_nodepool(doc: Document) -> bool:
    """A Karpenter NodePool (karpenter.sh; v1, or the older v1beta1 with the same kind)."""
    return doc.kind == "NodePool" and api_group(doc) == "karpenter.sh"


def is_ec2nodeclass(doc: Document) -> bool:
    """A Karpenter EC2NodeClass (karpenter.k8s.aws; v1, or the older v1beta1)."""
    return doc.kind == "EC2NodeClass" and api_group(doc) == "karpenter.k8s.aws"


_DEVICE_PLUGIN = "aws-efa-k8s-device-plugin"


def is_efa_device_plugin_daemonset(doc: Document) -> bool:
    """A DaemonSet running the EFA device plugin, however it was installed.

    Helm, the aws-samples manifest, eksctl and HyperPod name the DaemonSet differently, but its
    container is named `aws-efa-k8s-device-plugin` or runs an image of that name (mirrors included).
    """
    if doc.kind != "DaemonSet":
        return False
    for ref in find_pod_specs(doc):
        for container in ref.containers:
            image = container.get("image")
            if container.get("name") == _DEVICE_PLUGIN or (isinstance(image, str) and _DEVICE_PLUGIN in image):
                return True
    return False


def looks_like_device_plugin_values(doc: Document) -> bool:
    """A Helm values file for the aws-efa-k8s-device-plugin chart, not a Kubernetes object.

    `supportedInstanceLabels` is this chart's own key; an `image.repository` naming the plugin is
    too. `tolerations` alone is common to every chart, so it counts only in a file named for EFA.
    """
    body = doc.body
    if "kind" in body or "apiVersion" in body:
        return False
    if "supportedInstanceLabels" in body:
        return True
    image = body.get("image")
    repository = image.get("repository") if isinstance(image, dict) else None
    if isinstance(repository, str) and _DEVICE_PLUGIN in repository:
        return True
    return "tolerations" in body and "efa" in os.path.basename(doc.source).lower()
