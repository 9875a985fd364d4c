"""Where a key was written, and the same data without positions: what a lint finding cites.

A finding is only useful if it points at a line, so checks ask these helpers for the line of a key
or of a path of keys; `plain` strips the positions again for serialisers that reject subclasses.
"""

from __future__ import annotations

from typing import Any, Sequence

from .values import Document, LineDict, LineList


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
