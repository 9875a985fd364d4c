"""labelSelector and fieldSelector as the Kubernetes API server parses and applies them.

The fake API server must filter like the real one, or a collector that builds a wrong selector
would pass its tests: a label selector with an unknown operator is a 400, `!=` and `notin` also match
objects that lack the label, and a field selector may only name the fields the resource supports
(anything else is 400 "field label not supported: X", the real message).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


class SelectorError(ValueError):
    """A selector the real API server would reject with 400 BadRequest; the message is the reply."""


@dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("gt", "lt"):
            value, (bound,) = labels.get(self.key, ""), self.values
            if not re.fullmatch(r"-?\d+", value):
                return False
            return int(value) > int(bound) if self.op == "gt" else int(value) < int(bound)
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values  # "!=" and "notin"


_KEY = r"[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside an `in (...)` value list."""
    terms, depth, current = [], 0, []
    for char in selector:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    terms.append("".join(current))
    return [t.strip() for t in terms if t.strip()]


def parse_label_selector(selector: str | None) -> list[Requirement]:
    """Parse `a=b,c!=d,e,!f,g in (h,i),j notin (k),n>3`; raise SelectorError as the server would."""
    requirements = []
    for term in _split_terms(selector or ""):
        if match := re.fullmatch(rf"({_KEY})\s+(in|notin)\s+\(([^()]*)\)", term):
            key, op, listed = match.groups()
            requirements.append(Requirement(key, op, frozenset(v.strip() for v in listed.split(",") if v.strip())))
        elif match := re.fullmatch(rf"({_KEY})\s*(==|=|!=)\s*({_VALUE})", term):
            key, op, value = match.groups()
            requirements.append(Requirement(key, "!=" if op == "!=" else "=", frozenset({value})))
        elif match := re.fullmatch(rf"({_KEY})\s*([<>])\s*(-?\d+)", term):
            key, op, bound = match.groups()
            requirements.append(Requirement(key, "gt" if op == ">" else "lt", frozenset({bound})))
        elif match := re.fullmatch(rf"!\s*({_KEY})", term):
            requirements.append(Requirement(match.group(1), "!"))
        elif re.fullmatch(_KEY, term):
            requirements.append(Requirement(term, "exists"))
        else:
            raise SelectorError(f"unable to parse requirement: found '{term}', expected: in, notin, =, ==, !=, gt, lt")
    return requirements


def labels_match(obj: Json, requirements: list[Requirement]) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    return all(r.matches(labels) for r in requirements)


@dataclass(frozen=True)
class FieldTerm:
    field: str
    value: str
    equal: bool


def _get(obj: Json, path: str) -> str:
    """Read a dotted field as the server's field-label function does: missing is "", bools as text."""
    value: Any = obj
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


# The field labels each resource supports (kubernetes pkg/registry/*/strategy.go ...ToSelectableFields):
# every resource has metadata.name, and namespaced ones metadata.namespace.
FIELD_LABELS: dict[str, frozenset[str]] = {
    "nodes": frozenset({"metadata.name", "spec.unschedulable"}),
    "pods": frozenset({"metadata.name", "metadata.namespace", "spec.nodeName", "spec.restartPolicy",
                       "spec.schedulerName", "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                       "status.podIP", "status.nominatedNodeName"}),
    "daemonsets": frozenset({"metadata.name", "metadata.namespace"}),
    "events": frozenset({"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
                         "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
                         "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                         "reportingComponent", "source", "type"}),
    "resourceslices": frozenset({"metadata.name", "spec.nodeName", "spec.driver"}),
}

# fields whose stored value is not at the dotted path
_FIELD_READERS: dict[str, Callable[[Json], str]] = {
    "source": lambda obj: _get(obj, "source.component") or _get(obj, "reportingController"),
}


def parse_field_selector(selector: str | None, resource: str) -> list[FieldTerm]:
    """Parse `a=b,c!=d` for `resource`; unknown fields raise SelectorError('field label not supported: X')."""
    terms = []
    for term in _split_terms(selector or ""):
        match = re.fullmatch(r"([^=!]+?)\s*(==|=|!=)\s*(.*)", term)
        if not match:
            raise SelectorError(f"invalid selector: '{selector}'; can't understand '{term}'")
        field, op, value = match.groups()
        if field not in FIELD_LABELS.get(resource, frozenset({"metadata.name"})):
            raise SelectorError(f"field label not supported: {field}")
        terms.append(FieldTerm(field, value, op != "!="))
    return terms


def fields_match(obj: Json, terms: list[FieldTerm]) -> bool:
    for term in terms:
        actual = _FIELD_READERS.get(term.field, lambda o, f=term.field: _get(o, f))(obj)
        if (actual == term.value) != term.equal:
            return False
    return True
