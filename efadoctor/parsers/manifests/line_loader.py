"""The PyYAML loader that remembers lines, and `load_text`, which cuts one YAML stream into documents.

PyYAML throws positions away and silently keeps the last of two duplicate keys, which hides exactly
the copy-paste mistakes runbooks make (a second `spec:` swallowing the first). The constructor here
builds mappings and lists that remember their lines and reports duplicate keys; `load_text` turns
syntax errors, tabs, non-mappings and alias bombs into `YamlProblem`s, one document at a time, so
that one broken document does not hide the findings in the others. Its work is bounded: documents
whose anchors/aliases would expand past a node limit are not built.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Iterator

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .values import Document, LineDict, LineList, LoadResult, YamlProblem

try:  # libyaml: about 10x faster to parse, and its nodes keep line and column marks
    from yaml._yaml import CParser as _CParser
except ImportError:  # PyYAML built without libyaml
    _CParser = None

DEFAULT_MAX_ALIAS_NODES = 100_000
"""Nodes a document may gain by expanding aliases; the classic billion-laughs bomb asks for ~10^9."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_DOC_START = re.compile(r"---(?:[ \t\r\n]|$)")
_NON_PRINTABLE = Reader.NON_PRINTABLE  # what YAML forbids in a stream; in a manifest it means binary


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
