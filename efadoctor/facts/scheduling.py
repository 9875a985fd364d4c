"""How Kubernetes decides where a pod may run: taints and tolerations, required node affinity.

The device plugin's DaemonSet, a Pending workload pod and a NodePool's taints are all judged with these
rules, so they follow Kubernetes' own code (cited at each) rather than an approximation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .kube import EFA_RESOURCE, NodeInfo, Taint, Toleration

# Tolerations the DaemonSet controller adds to every daemon pod (kubernetes pkg/controller/daemon/util,
# AddOrUpdateDaemonPodTolerations); network-unavailable only for hostNetwork pods, as the plugin is.
DAEMON_TOLERATED: frozenset[tuple[str, str]] = frozenset({
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/disk-pressure", "NoSchedule"),
    ("node.kubernetes.io/memory-pressure", "NoSchedule"),
    ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
})
HOST_NETWORK_TOLERATED = ("node.kubernetes.io/network-unavailable", "NoSchedule")
BLOCKING_EFFECTS = ("NoSchedule", "NoExecute")  # PreferNoSchedule never keeps a pod off a node


def blocking(taints: Iterable[Taint]) -> tuple[Taint, ...]:
    return tuple(t for t in taints if t.effect in BLOCKING_EFFECTS)


def is_condition_taint(taint: Taint) -> bool:
    """Taints Kubernetes itself sets for node conditions (not-ready, cordoned...): fix the node, not the pod."""
    return taint.key.startswith("node.kubernetes.io/") or taint.key.startswith("node.cloudprovider.kubernetes.io/")


def toleration_for(taint: Taint) -> dict[str, str]:
    """The narrowest toleration of a taint: Equal to its value when it has one, else Exists."""
    entry = {"key": taint.key, "operator": "Equal" if taint.value else "Exists"}
    if taint.value:
        entry["value"] = taint.value
    entry["effect"] = taint.effect
    return entry


def toleration_dict(toleration: Toleration) -> dict[str, str]:
    entry: dict[str, str] = {}
    if toleration.key:
        entry["key"] = toleration.key
    entry["operator"] = toleration.operator
    if toleration.value:
        entry["value"] = toleration.value
    if toleration.effect:
        entry["effect"] = toleration.effect
    return entry


def _seq(value: Any) -> list[Any]:
    """A JSON list as a list; anything else (null, a scalar, a map) as empty."""
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class NodeSelectorRequirement:
    """One matchExpressions (or matchFields) entry of a required node affinity term."""

    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...]
    field: bool = False  # matchFields (metadata.name) rather than a label

    def matches(self, labels: Mapping[str, str], node_name: str = "") -> bool:
        """Kubernetes' rule (k8s.io/component-helpers nodeaffinity): NotIn/DoesNotExist match a missing label."""
        if self.field:
            present, value = self.key == "metadata.name", node_name
        else:
            present, value = self.key in labels, labels.get(self.key, "")
        if self.operator == "In":
            return present and value in self.values
        if self.operator == "NotIn":
            return not present or value not in self.values
        if self.operator == "Exists":
            return present
        if self.operator == "DoesNotExist":
            return not present
        if self.operator in ("Gt", "Lt") and present and len(self.values) == 1:
            try:
                number, bound = int(value), int(self.values[0])
            except ValueError:
                return False
            return number > bound if self.operator == "Gt" else number < bound
        return False

    def __str__(self) -> str:
        if self.operator in ("Exists", "DoesNotExist"):
            return f"{self.key} {self.operator}"
        shown = ", ".join(self.values[:6]) + (f", … ({len(self.values)} values)" if len(self.values) > 6 else "")
        return f"{self.key} {self.operator} [{shown}]"


NodeSelectorTerm = tuple[NodeSelectorRequirement, ...]


def _requirements(items: Any, *, fields: bool = False) -> list[NodeSelectorRequirement]:
    out = []
    for item in _seq(items):
        if isinstance(item, Mapping) and item.get("key"):
            values = tuple(str(v) for v in _seq(item.get("values")) if v is not None)
            out.append(NodeSelectorRequirement(str(item["key"]), str(item.get("operator") or ""), values, fields))
    return out


def required_terms(spec: Mapping[str, Any]) -> tuple[NodeSelectorTerm, ...] | None:
    """requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms of a pod spec; None when unset."""
    affinity = spec.get("affinity") if isinstance(spec.get("affinity"), Mapping) else {}
    node_affinity = affinity.get("nodeAffinity") if isinstance(affinity.get("nodeAffinity"), Mapping) else {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, Mapping):
        return None
    terms = []
    for term in _seq(required.get("nodeSelectorTerms")):
        if isinstance(term, Mapping):
            terms.append(tuple(_requirements(term.get("matchExpressions")) + _requirements(term.get("matchFields"), fields=True)))
    return tuple(terms)


def efa_candidates(nodes: Iterable[NodeInfo]) -> tuple[NodeInfo, ...]:
    """Of the nodes a Pending pod may go to, those that could offer EFA: an EFA-capable instance type
    (offline data; an unknown type is kept) or an advertised vpc.amazonaws.com/efa."""
    from ..instance_types import lookup

    out = []
    for node in nodes:
        info = lookup(node.instance_type) if node.instance_type else None
        if (node.allocatable_count(EFA_RESOURCE) or 0) > 0 or info is None or info.efa_supported:
            out.append(node)
    return tuple(out)
