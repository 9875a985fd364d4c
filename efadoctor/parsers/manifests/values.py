"""The values the manifest reader returns: line-keeping dicts and lists, documents, pod specs, problems.

They live apart from the reading so that checks can name them in type hints without pulling in the
YAML machinery, and so that every other module of the reader builds on one definition of each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


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
