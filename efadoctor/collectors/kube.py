"""Collectors for the target itself: the pod, its node and its events.

One GET per object; the node's name comes from the user (`run --node`) or from
the pod (`pod NS/NAME`), so a pod diagnosis costs one extra round, no more.
"""

from __future__ import annotations

from ..clients.kube import NotFound
from ..facts.kube import ContainerInfo, EventInfo, NodeInfo, PodInfo, events_from_json, node_from_json, pod_from_json
from ..model import FactUnavailable, TargetNotFound, UsageError, collector


@collector
def pod(context) -> PodInfo:
    options = context.options
    if options.target != "pod":
        raise FactUnavailable("no pod was given (use `efadoctor pod NAMESPACE/NAME`)", not_applicable=True)
    kube = context.kube()
    try:
        obj = kube.get(f"/api/v1/namespaces/{options.namespace}/pods/{options.pod}", permission="get pods")
    except NotFound:
        raise TargetNotFound(f"pod {options.namespace}/{options.pod} not found in context {kube.target.context}") from None
    return pod_from_json(obj)


@collector
def node(context, pod: PodInfo | None = None) -> NodeInfo:
    name = context.options.node or (pod.node_name if pod else None)
    if not name:
        if pod is not None:
            raise FactUnavailable(
                f"pod {pod.ref} is not scheduled on a node yet (phase {pod.phase}); node checks need a node: "
                f"`efadoctor run --node NODE`",
                not_applicable=True,
            )
        raise FactUnavailable("no node was given", not_applicable=True)
    kube = context.kube()
    try:
        obj = kube.get(f"/api/v1/nodes/{name}", permission="get nodes")
    except NotFound:
        raise TargetNotFound(f"node {name} not found in context {kube.target.context}") from None
    return node_from_json(obj)


@collector
def pod_events(context, pod: PodInfo) -> tuple[EventInfo, ...]:
    kube = context.kube()
    selector = f"involvedObject.kind=Pod,involvedObject.name={pod.name}"
    obj = kube.get(f"/api/v1/namespaces/{pod.namespace}/events", {"fieldSelector": selector}, permission="list events")
    return events_from_json(obj)


@collector
def workload_container(context, pod: PodInfo) -> ContainerInfo:
    """The container to judge and probe: --container, else the one that requests EFA, else the first."""
    wanted = context.options.container
    if wanted:
        found = pod.container(wanted)
        if found is None:
            names = ", ".join(c.name for c in pod.containers)
            raise UsageError(f"pod {pod.ref} has no container {wanted!r} (containers: {names})")
        return found
    if pod.efa_container is None:
        raise FactUnavailable(f"pod {pod.ref} has no containers")
    return pod.efa_container
