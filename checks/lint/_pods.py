"""What the lint checks read from pod specs: containers, their EFA/GPU resources, env, mounts, volumes.

Not a check. The pod specs themselves are the fact `manifest_pod_specs` (found once, by shape, so a
PyTorchJob's Worker and a CronJob's template are read alike); this module reads what is in them.
Every value keeps the line it was written on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Iterator

from efadoctor.checks.lint._cite import key_line
from efadoctor.facts.kube import EFA_RESOURCE, GPU_RESOURCE, INSTANCE_TYPE_LABEL, quantity_int
from efadoctor.facts.resources import bad_resource_names

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LineDict, PodSpecRef

LEGACY_INSTANCE_TYPE_LABEL = "beta.kubernetes.io/instance-type"


@dataclass(frozen=True)
class Quantity:
    """One resource entry as written: its value and the line of its key."""

    name: str
    value: Any
    line: int | None

    @property
    def count(self) -> int | None:
        return quantity_int(None if self.value is None else str(self.value))


@dataclass(frozen=True)
class EnvVar:
    name: str
    value: str | None  # None when set from a ConfigMap/Secret/field (valueFrom): not knowable offline
    line: int | None


@dataclass(frozen=True)
class Container:
    """A container of a pod spec, read defensively: any field may be missing or of the wrong type."""

    ref: PodSpecRef
    body: LineDict
    init: bool = False

    @property
    def name(self) -> str:
        name = self.body.get("name")
        return str(name) if name is not None else "(unnamed)"

    @property
    def line(self) -> int:
        return getattr(self.body, "line", 0) or self.ref.line

    def _resources(self) -> Any:
        resources = self.body.get("resources")
        return resources if isinstance(resources, dict) else {}

    def section(self, which: str) -> dict[str, Quantity]:
        """`requests` or `limits` as {name: Quantity}; names are stringified as the API server reads them."""
        part = self._resources().get(which)
        if not isinstance(part, dict):
            return {}
        return {str(k): Quantity(str(k), v, key_line(part, k)) for k, v in part.items()}

    @cached_property
    def requests(self) -> dict[str, Quantity]:
        return self.section("requests")

    @cached_property
    def limits(self) -> dict[str, Quantity]:
        return self.section("limits")

    def resource_line(self) -> int:
        return key_line(self.body, "resources") or self.line

    def resource(self, name: str) -> tuple[Quantity | None, Quantity | None]:
        return self.requests.get(name), self.limits.get(name)

    def asks_for(self, name: str) -> bool:
        return name in self.requests or name in self.limits

    def count(self, name: str) -> int | None:
        """What the container gets: the limit, or the request when no limit is written."""
        request, limit = self.resource(name)
        chosen = limit or request
        return chosen.count if chosen else None

    @property
    def misspelled_efa(self) -> list[Quantity]:
        """Entries meant as vpc.amazonaws.com/efa under another name (`vpc.amazonaws.com: 1`, `aws.amazon.com/efa`)."""
        entries = {**self.requests, **self.limits}
        return [entries[b.name] for b in bad_resource_names(sorted(entries)) if b.suggestion == EFA_RESOURCE]

    @property
    def misspelled_gpu(self) -> list[Quantity]:
        entries = {**self.requests, **self.limits}
        return [entries[b.name] for b in bad_resource_names(sorted(entries)) if b.suggestion == GPU_RESOURCE]

    @property
    def wants_efa(self) -> bool:
        """Requests EFA, or clearly meant to (a misspelled EFA resource name)."""
        return self.asks_for(EFA_RESOURCE) or bool(self.misspelled_efa)

    @property
    def wants_gpus(self) -> bool:
        return self.asks_for(GPU_RESOURCE) or bool(self.misspelled_gpu)

    def efa_line(self) -> int:
        """The line of the EFA request (or its misspelling), for evidence."""
        request, limit = self.resource(EFA_RESOURCE)
        for entry in (limit, request, *self.misspelled_efa):
            if entry is not None and entry.line:
                return entry.line
        return self.resource_line()

    @cached_property
    def env(self) -> dict[str, EnvVar]:
        """Env vars by name; the last definition wins, as in Kubernetes."""
        items = self.body.get("env")
        found: dict[str, EnvVar] = {}
        if not isinstance(items, list):
            return found
        lines = getattr(items, "item_lines", [])
        for index, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                continue
            line = key_line(item, "value") or key_line(item, "name") or (lines[index] if index < len(lines) else None)
            raw = item.get("value") if "value" in item else None
            value = None if raw is None and "valueFrom" in item else ("" if raw is None else _env_text(raw))
            found[item["name"]] = EnvVar(item["name"], value, line)
        return found

    @property
    def mounts(self) -> list[tuple[str, str, int | None]]:
        """(volume name, mountPath, line) of each volumeMount."""
        items = self.body.get("volumeMounts")
        found = []
        for item in items if isinstance(items, list) else ():
            if isinstance(item, dict):
                found.append((str(item.get("name", "")), str(item.get("mountPath", "")), key_line(item, "mountPath")))
        return found


def _env_text(value: Any) -> str:
    """An env value as the container sees it; YAML `true`/`1` unquoted would be rejected, but judge the text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def containers(ref: PodSpecRef, *, init: bool = True) -> Iterator[Container]:
    for body in ref.containers:
        yield Container(ref, body)
    if init:
        for body in ref.init_containers:
            yield Container(ref, body, init=True)


@dataclass(frozen=True)
class Volume:
    name: str
    host_path: str | None
    empty_dir_medium: str | None  # "" for a disk-backed emptyDir, None when not an emptyDir
    line: int | None


def volumes(ref: PodSpecRef) -> dict[str, Volume]:
    items = ref.spec.get("volumes")
    found: dict[str, Volume] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        name = str(item.get("name", ""))
        host = item.get("hostPath")
        empty = item.get("emptyDir", False)
        host_path = str(host.get("path")) if isinstance(host, dict) and host.get("path") is not None else None
        medium = None
        if "emptyDir" in item:
            medium = str(empty.get("medium") or "") if isinstance(empty, dict) else ""
        line = key_line(host, "path") if isinstance(host, dict) else None
        found[name] = Volume(name, host_path, medium, line or key_line(item, "name"))
    return found


def pinned_instance_types(ref: PodSpecRef) -> list[tuple[str, int | None]]:
    """Instance types the pod is pinned to: nodeSelector, or required node affinity `In` on the label.

    Several nodeSelectorTerms are ORed, so every type any term admits is returned.
    """
    found: list[tuple[str, int | None]] = []
    selector = ref.spec.get("nodeSelector")
    if isinstance(selector, dict):
        for label in (INSTANCE_TYPE_LABEL, LEGACY_INSTANCE_TYPE_LABEL):
            value = selector.get(label)
            if isinstance(value, str):
                found.append((value, key_line(selector, label)))
    affinity = ref.spec.get("affinity")
    node_affinity = affinity.get("nodeAffinity") if isinstance(affinity, dict) else None
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") if isinstance(node_affinity, dict) else None
    terms = required.get("nodeSelectorTerms") if isinstance(required, dict) else None
    for term in terms if isinstance(terms, list) else ():
        expressions = term.get("matchExpressions") if isinstance(term, dict) else None
        for expression in expressions if isinstance(expressions, list) else ():
            if not isinstance(expression, dict) or expression.get("key") not in (INSTANCE_TYPE_LABEL, LEGACY_INSTANCE_TYPE_LABEL):
                continue
            values = expression.get("values")
            if expression.get("operator") == "In" and isinstance(values, list):
                lines = getattr(values, "item_lines", [])
                found.extend((str(v), lines[i] if i < len(lines) else None) for i, v in enumerate(values))
    return found


def node_selector(ref: PodSpecRef) -> dict[str, str]:
    selector = ref.spec.get("nodeSelector")
    return {str(k): str(v) for k, v in selector.items()} if isinstance(selector, dict) else {}
