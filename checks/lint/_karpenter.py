"""What the lint checks read from Karpenter NodePools and EC2NodeClasses, and how Karpenter reads them.

Not a check. It holds three things the NodePool and EC2NodeClass checks share:

- the fields of the v1 EC2NodeClass spec and the release that added each (`EC2NODECLASS_SPEC_FIELDS`),
- the instance-type labels Karpenter derives from a type's name (category, family, generation, size),
  so NodePool requirements can be evaluated offline against efadoctor's instance-type data,
- taints, requirements and tolerations with the lines they were written on.

Source for the field table and the labels: aws/karpenter-provider-aws, `pkg/apis/v1/ec2nodeclass.go`
(the json tags of `EC2NodeClassSpec` at tags v1.0.0 ... v1.14.0; HEAD 1d927085dd81) and
`pkg/providers/instancetype/types.go` (`instanceTypeScheme` and the label computation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

from efadoctor.checks.lint._cite import key_line, place
from efadoctor.facts.kube import INSTANCE_TYPE_LABEL, NODEPOOL_LABEL, Taint, Toleration, toleration_from
from efadoctor.facts.scheduling import BLOCKING_EFFECTS, NodeSelectorRequirement

if TYPE_CHECKING:
    from efadoctor.instance_types import InstanceTypeInfo
    from efadoctor.parsers.manifests import Document, LineDict, LoadResult

EC2NODECLASS_SPEC_FIELDS: dict[str, tuple[int, int, int]] = {
    "subnetSelectorTerms": (1, 0, 0),
    "securityGroupSelectorTerms": (1, 0, 0),
    "associatePublicIPAddress": (1, 0, 0),
    "amiSelectorTerms": (1, 0, 0),
    "amiFamily": (1, 0, 0),
    "userData": (1, 0, 0),
    "role": (1, 0, 0),
    "instanceProfile": (1, 0, 0),
    "tags": (1, 0, 0),
    "kubelet": (1, 0, 0),
    "blockDeviceMappings": (1, 0, 0),
    "instanceStorePolicy": (1, 0, 0),
    "detailedMonitoring": (1, 0, 0),
    "metadataOptions": (1, 0, 0),
    "context": (1, 0, 0),
    "capacityReservationSelectorTerms": (1, 3, 0),
    "ipPrefixCount": (1, 8, 0),
    "placementGroupSelector": (1, 11, 0),
    "networkInterfaces": (1, 11, 0),
    "connectionTracking": (1, 13, 0),
    "cpuOptions": (1, 13, 0),
}
"""Every `spec` field of a karpenter.k8s.aws/v1 EC2NodeClass, with the first Karpenter release that has it.

Read from the json tags of `EC2NodeClassSpec` in aws/karpenter-provider-aws pkg/apis/v1/ec2nodeclass.go
at each tag v1.0.0 ... v1.14.0 (HEAD 1d927085dd81, 2026-08-21). Anything else under `spec` is not a field.
"""

EC2NODECLASS_REQUIRED = ("subnetSelectorTerms", "securityGroupSelectorTerms", "amiSelectorTerms")
"""`required:` of the v1 CRD (pkg/apis/crds/karpenter.k8s.aws_ec2nodeclasses.yaml); plus exactly one of role/instanceProfile."""

# Karpenter's own labels, derived from the instance type name (types.go, instanceTypeScheme)
CATEGORY = "karpenter.k8s.aws/instance-category"
FAMILY = "karpenter.k8s.aws/instance-family"
GENERATION = "karpenter.k8s.aws/instance-generation"
SIZE = "karpenter.k8s.aws/instance-size"
GPU_COUNT = "karpenter.k8s.aws/instance-gpu-count"
CPU = "karpenter.k8s.aws/instance-cpu"
ZONE = "topology.kubernetes.io/zone"
TYPE_LABELS = (INSTANCE_TYPE_LABEL, CATEGORY, FAMILY, GENERATION, SIZE, GPU_COUNT, CPU)
"""The requirement keys efadoctor can evaluate from its instance-type data."""

NOT_ABOUT_TYPES = frozenset(
    {ZONE, "topology.k8s.aws/zone-id", "karpenter.sh/capacity-type", NODEPOOL_LABEL, "kubernetes.io/os"}
)
"""Requirement keys that do not narrow which instance types a NodePool may launch."""

_SCHEME = re.compile(r"(^[a-z]+)(\-[0-9]+tb)?([0-9]+).*\.")  # Karpenter's instanceTypeScheme, verbatim regex


def version_tuple(text: str | None) -> tuple[int, int, int] | None:
    """ "1.11", "v1.11.0" -> (1, 11, 0); anything else -> None."""
    match = re.fullmatch(r"\s*v?(\d+)\.(\d+)(?:\.(\d+))?\s*", text or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def version_text(version: tuple[int, int, int]) -> str:
    return f"v{version[0]}.{version[1]}.{version[2]}"


def instance_labels(info: InstanceTypeInfo) -> dict[str, str]:
    """The labels Karpenter puts on a node of this type, as far as the name and the data tell."""
    name = info.instance_type
    labels = {INSTANCE_TYPE_LABEL: name}
    parts = _SCHEME.match(name)
    if parts:
        labels[CATEGORY] = parts.group(1)
        labels[GENERATION] = parts.group(3)
    if name.count(".") == 1:
        labels[FAMILY], labels[SIZE] = name.split(".")
    if info.gpus is not None and info.gpus.count:
        labels[GPU_COUNT] = str(info.gpus.count)
    if info.vcpus:
        labels[CPU] = str(info.vcpus)
    return labels


@dataclass(frozen=True)
class Requirement(NodeSelectorRequirement):
    """A NodePool requirement: Kubernetes' node-selector semantics (efadoctor.facts.scheduling), plus its line."""

    line: int | None = None

    def __str__(self) -> str:
        return f"{self.key} {self.operator} [{', '.join(self.values)}]"


def requirements_from(items: Any) -> list[Requirement]:
    found = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            continue
        values = item.get("values")
        values = tuple(str(v) for v in values) if isinstance(values, list) else ()
        found.append(Requirement(item["key"], str(item.get("operator", "")), values, line=key_line(item, "key")))
    return found


@dataclass(frozen=True)
class PlacedTaint:
    taint: Taint
    line: int | None


@dataclass(frozen=True)
class PlacedToleration:
    toleration: Toleration
    line: int | None
    raw: dict[str, Any]


def taints_from(items: Any) -> list[PlacedTaint]:
    found = []
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("key"), str) and isinstance(item.get("effect"), str):
            value = item.get("value")
            taint = Taint(item["key"], None if value is None else str(value), item["effect"])
            found.append(PlacedTaint(taint, key_line(item, "key")))
    return found


def tolerations_from(items: Any) -> list[PlacedToleration]:
    return [
        PlacedToleration(toleration_from(item), getattr(item, "line", None), item)
        for item in (items if isinstance(items, list) else ())
        if isinstance(item, dict)
    ]


def blocking(taints: Iterable[PlacedTaint]) -> list[PlacedTaint]:
    """Taints that keep a pod off the node unless tolerated (PreferNoSchedule only discourages)."""
    return [t for t in taints if t.taint.effect in BLOCKING_EFFECTS]


def untolerated(taints: Iterable[PlacedTaint], tolerations: Iterable[PlacedToleration]) -> list[PlacedTaint]:
    tolerations = list(tolerations)
    return [t for t in blocking(taints) if not any(p.toleration.tolerates(t.taint) for p in tolerations)]


@dataclass(frozen=True)
class NodePool:
    doc: Document
    name: str
    template_spec: dict[str, Any]
    requirements: list[Requirement]
    taints: list[PlacedTaint]
    node_class: str | None
    node_class_line: int | None
    labels: dict[str, str]

    @property
    def line(self) -> int:
        return self.doc.line

    def requirement_lines(self) -> int | None:
        return key_line(self.template_spec, "requirements")

    def requirements_snippet(self, line: int | None, yaml: str) -> str:
        """Corrected YAML for this pool's requirements, headed by where it goes (see `_cite.fix_text`)."""
        return f"# {place(self.doc.source, line)} NodePool {self.name}, spec.template.spec.requirements:\n{yaml}"


def nodepools(manifests: LoadResult) -> list[NodePool]:
    from efadoctor.parsers.manifests import is_nodepool

    found = []
    for doc in manifests.documents:
        if not is_nodepool(doc):
            continue
        spec = doc.body.get("spec")
        template = spec.get("template") if isinstance(spec, dict) else None
        tspec = template.get("spec") if isinstance(template, dict) else None
        tspec = tspec if isinstance(tspec, dict) else {}
        metadata = template.get("metadata") if isinstance(template, dict) else None
        labels = metadata.get("labels") if isinstance(metadata, dict) else None
        ref = tspec.get("nodeClassRef")
        found.append(
            NodePool(
                doc=doc,
                name=doc.name or "(unnamed)",
                template_spec=tspec,
                requirements=requirements_from(tspec.get("requirements")),
                taints=taints_from(tspec.get("taints")),
                node_class=str(ref["name"]) if isinstance(ref, dict) and ref.get("name") else None,
                node_class_line=key_line(ref, "name") if isinstance(ref, dict) else None,
                labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {},
            )
        )
    return found


@dataclass(frozen=True)
class NodeClass:
    doc: Document
    name: str
    spec: LineDict | dict[str, Any]

    @property
    def v1(self) -> bool:
        return self.doc.api_version == "karpenter.k8s.aws/v1"

    def spec_line(self) -> int:
        return key_line(self.doc.body, "spec") or self.doc.line

    def line(self, key: str) -> int | None:
        return key_line(self.spec, key)

    def snippet(self, line: int | None, yaml: str) -> str:
        """Corrected YAML for this class's spec, headed by where it goes (see `_cite.fix_text`)."""
        return f"# {place(self.doc.source, line)} EC2NodeClass {self.name}, spec:\n{yaml}"

    @property
    def placement_group(self) -> tuple[str, str, int | None] | None:
        """(field, placement group name or id, line) for placementGroupSelector or the folklore placementGroupName."""
        selector = self.spec.get("placementGroupSelector")
        if isinstance(selector, dict):
            value = selector.get("name") or selector.get("id")
            return "placementGroupSelector", str(value or ""), self.line("placementGroupSelector")
        if self.spec.get("placementGroupName"):
            return "placementGroupName", str(self.spec["placementGroupName"]), self.line("placementGroupName")
        return None

    @property
    def network_interfaces(self) -> list[dict[str, Any]]:
        items = self.spec.get("networkInterfaces")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def nodeclasses(manifests: LoadResult) -> dict[str, NodeClass]:
    from efadoctor.parsers.manifests import is_ec2nodeclass

    found = {}
    for doc in manifests.documents:
        if is_ec2nodeclass(doc):
            spec = doc.body.get("spec")
            found[doc.name or "(unnamed)"] = NodeClass(doc, doc.name or "(unnamed)", spec if isinstance(spec, dict) else {})
    return found


def efa_intent(pool: NodePool, classes: dict[str, NodeClass], efa_pools_selected: Iterable[str] = ()) -> list[str]:
    """Why this NodePool looks meant for EFA workloads; empty when nothing says so.

    efadoctor judges EFA-specific rules only for such pools: a general-purpose NodePool may
    rightly admit instance types without EFA.
    """
    reasons = []
    if "efa" in pool.name.lower():
        reasons.append(f"its name {pool.name} mentions EFA")
    for placed in pool.taints:
        if "efa" in f"{placed.taint.key}={placed.taint.value or ''}".lower():
            reasons.append(f"its taint {placed.taint} mentions EFA")
    for key, value in pool.labels.items():
        if "efa" in f"{key}={value}".lower():
            reasons.append(f"its node label {key}={value} mentions EFA")
    node_class = classes.get(pool.node_class or "")
    if node_class is not None:
        if any(str(i.get("interfaceType")) == "efa-only" for i in node_class.network_interfaces):
            reasons.append(f"its EC2NodeClass {node_class.name} declares efa-only network interfaces")
        if node_class.placement_group is not None:
            reasons.append(f"its EC2NodeClass {node_class.name} sets a placement group")
    if pool.name in set(efa_pools_selected):
        reasons.append(f"a pod that requests EFA selects it ({NODEPOOL_LABEL}: {pool.name})")
    return reasons


def admitted(pool: NodePool, catalog: Iterable[InstanceTypeInfo]) -> list[InstanceTypeInfo]:
    """The catalog's instance types this NodePool's evaluable requirements admit."""
    evaluable = [r for r in pool.requirements if r.key in TYPE_LABELS]
    return [info for info in catalog if all(r.matches(instance_labels(info)) for r in evaluable)]


def unevaluated(pool: NodePool) -> list[Requirement]:
    """Requirements that narrow the instance types but that efadoctor's data cannot evaluate (arch, say)."""
    return [r for r in pool.requirements if r.key not in TYPE_LABELS and r.key not in NOT_ABOUT_TYPES]


def zones(pool: NodePool) -> tuple[list[str] | None, int | None]:
    """The zones the NodePool allows (None: any zone) and the line of the zone requirement."""
    allowed: list[str] | None = None
    line = None
    for requirement in pool.requirements:
        if requirement.key != ZONE:
            continue
        line = requirement.line
        if requirement.operator == "In":
            allowed = [z for z in requirement.values if allowed is None or z in allowed]
    return allowed, line
