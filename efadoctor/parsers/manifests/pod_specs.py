"""`find_pod_specs`: the pod specs inside any workload, found by their shape rather than by kind.

Pods are nested differently by every workload API and CRD (Deployment, Job, PyTorchJob, JobSet,
Argo...); recognising the pod spec itself lets the pod checks cover all of them with one rule.
"""

from __future__ import annotations

from typing import Any

from .positions import path_line
from .values import Document, LineDict, PodSpecRef


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
