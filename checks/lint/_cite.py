"""How lint findings point at a manifest: `manifest: path:line` evidence, object names, and fixes as YAML.

Not a check: the shared wording of the lint checks, so that every finding cites its file and line the
same way and every fix shows the corrected YAML under a one-sentence summary (the Markdown renderer
prints the lines after the first as a YAML block).
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, Sequence

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import Document, PodSpecRef

MAX_SNIPPETS = 3
"""Corrected YAML is shown for this many places; the evidence still lists every one."""


def key_line(mapping: Any, key: Any) -> int | None:
    """The line `key` was written on in a mapping the manifest reader built (None for any other value).

    The reader's own `line_of`, without importing the reader (and PyYAML) when the registry loads.
    """
    lines = getattr(mapping, "key_lines", None)
    return lines.get(key) if isinstance(lines, dict) else None


def place(source: str, line: int | None) -> str:
    """ "pods.yaml:27" (or just the file when the line is unknown)."""
    return f"{source}:{line}" if line else source


def at(source: str, line: int | None) -> str:
    """The evidence source for one place in a manifest: "manifest: pods.yaml:27"."""
    return f"manifest: {place(source, line)}"


def object_name(doc: Document, path: Sequence[str | int] = ()) -> str:
    """"Deployment inference" for the nearest Kubernetes object that encloses `path` (a List's item, say)."""
    kind, name = doc.kind, doc.name
    node: Any = doc.body
    for step in path:
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict) and isinstance(node.get("kind"), str) and isinstance(node.get("apiVersion"), str):
            metadata = node.get("metadata") if isinstance(node.get("metadata"), dict) else {}
            kind, name = node["kind"], metadata.get("name") if isinstance(metadata.get("name"), str) else None
    if name is None:
        metadata = doc.body.get("metadata") if isinstance(doc.body.get("metadata"), dict) else {}
        generate = metadata.get("generateName")
        name = f"{generate}*" if isinstance(generate, str) else "(unnamed)"
    return f"{kind or 'document'} {name}"


def pod_spec_name(ref: PodSpecRef) -> str:
    """The workload and, when it holds several pod templates, which one: "PyTorchJob llm-pretrain (Worker)"."""
    base = object_name(ref.doc, ref.path)
    role = [str(step) for step in ref.path if isinstance(step, str) and step not in ("spec", "template", "items")]
    role = [step for step in role if step[:1].isupper()]  # replica names: Master, Worker, Launcher
    return f"{base} ({role[-1]})" if role else base


def fix_text(sentence: str, snippets: Sequence[str]) -> str:
    """A one-line summary, then the corrected YAML for the first few places (as YAML, comments included)."""
    shown = list(snippets[:MAX_SNIPPETS])
    if len(snippets) > MAX_SNIPPETS:
        shown.append(f"# ... and {len(snippets) - MAX_SNIPPETS} more place(s) like these (see the evidence)")
    return "\n".join([sentence, *shown]) if shown else sentence


def lint_again(sources: Sequence[str]) -> list[str]:
    """The command that shows the fix worked: lint the same files again (stdin cannot be named)."""
    files = sorted({s for s in sources if not s.startswith("<")})
    return [f"efadoctor lint {' '.join(shlex.quote(f) for f in files)}"] if files else []


def yaml_scalar(value: Any) -> str:
    """A value as YAML would need it written so that Kubernetes reads a string (`"true"`, not `true`)."""
    text = str(value)
    plain_ok = text and text.lower() not in ("true", "false", "yes", "no", "on", "off", "null", "~", "y", "n")
    if plain_ok and not text[0].isdigit() and all(ch.isalnum() or ch in "-_./" for ch in text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toleration_yaml(entry: dict[str, Any]) -> str:
    """A toleration as a YAML list item, with exactly the fields it has."""
    lines = []
    for field in ("key", "operator", "value", "effect", "tolerationSeconds"):
        if entry.get(field) is not None:
            value = entry[field] if field == "tolerationSeconds" else yaml_scalar(entry[field])
            lines.append(f"{'- ' if not lines else '  '}{field}: {value}")
    return "\n".join(lines) if lines else "- operator: Exists"
