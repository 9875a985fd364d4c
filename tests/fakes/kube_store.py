"""What the fake API server holds: the resources it serves and the objects, indexed for big clusters.

Tests build clusters of thousands of pods and then list them per node, as efadoctor does; the pod index by
spec.nodeName keeps each of those lists proportional to the pods on that node, not to the cluster.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    group: str  # "" is the core group
    namespaced: bool
    short_names: tuple[str, ...] = ()
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """How error messages name the resource: `pods`, `daemonsets.apps`."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def prefix(self) -> str:
        return f"/apis/{self.api_version}" if self.group else "/api/v1"


RESOURCES = {r.plural: r for r in (
    Resource("nodes", "Node", "", False, ("no",)),
    Resource("pods", "Pod", "", True, ("po",)),
    Resource("events", "Event", "", True, ("ev",)),
    Resource("daemonsets", "DaemonSet", "apps", True, ("ds",)),
    Resource("resourceslices", "ResourceSlice", "resource.k8s.io", False),
)}
BY_KIND = {r.kind: r for r in RESOURCES.values()}


class ObjectStore:
    """Objects by resource and (namespace, name), with pods also indexed by node for big clusters."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, dict[tuple[str, str], Json]] = {plural: {} for plural in RESOURCES}
        self.pods_by_node: dict[str, set[tuple[str, str]]] = {}
        self._versions = itertools.count(1001)
        self.resource_version = "1000"

    def put(self, obj: Mapping[str, Any]) -> Json:
        stored = json.loads(json.dumps(obj))  # a private JSON copy: later edits by the test don't leak in
        kind = stored.get("kind")
        if kind not in BY_KIND:
            raise ValueError(f"FakeKube serves {sorted(BY_KIND)}, not {kind!r}")
        resource = BY_KIND[kind]
        stored.setdefault("apiVersion", resource.api_version)
        meta = stored.setdefault("metadata", {})
        if resource.namespaced:
            meta.setdefault("namespace", "default")
        else:
            meta.pop("namespace", None)
        key = (meta.get("namespace", ""), meta["name"])
        with self.lock:
            self.resource_version = meta["resourceVersion"] = str(next(self._versions))
            meta.setdefault("uid", f"00000000-0000-4000-8000-{int(self.resource_version):012d}")
            meta.setdefault("creationTimestamp", "2026-01-05T10:00:00Z")
            table = self.objects[resource.plural]
            if resource.plural == "pods":
                if key in table:
                    self.pods_by_node.get(table[key].get("spec", {}).get("nodeName", ""), set()).discard(key)
                self.pods_by_node.setdefault(stored.get("spec", {}).get("nodeName", ""), set()).add(key)
            table[key] = stored
        return stored

    def get(self, resource: Resource, namespace: str | None, name: str) -> Json | None:
        with self.lock:
            return self.objects[resource.plural].get((namespace or "", name))

    def select(self, resource: Resource, namespace: str | None, node_name: str | None) -> list[Json]:
        """Candidates in etcd key order; with a spec.nodeName equality the pod index answers directly."""
        with self.lock:
            table = self.objects[resource.plural]
            if node_name is not None:
                keys = sorted(self.pods_by_node.get(node_name, ()))
                return [table[k] for k in keys if namespace is None or k[0] == namespace]
            return [table[k] for k in sorted(table) if namespace is None or k[0] == namespace]
