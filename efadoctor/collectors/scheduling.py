"""Where a Pending pod could go: the nodes its nodeSelector allows, in ONE `list nodes` call.

Why: a pod that is not scheduled has no node, so node checks have nothing to look at. Yet the
classic EFA failure is on those very nodes: they carry a taint (the seed runbook's
`efa-workload=true:NoSchedule`, `nvidia.com/gpu`) that the pod or the EFA device plugin does not
tolerate, so the plugin never runs there and the pod waits for `vpc.amazonaws.com/efa` forever.
The candidates let the taint checks judge those nodes. The selector is applied by the API server.
"""

from __future__ import annotations

from ..facts.kube import NodeInfo, PodInfo, node_from_json
from ..model import FactUnavailable, collector

LIST_NODES = "list nodes"


@collector
def candidate_nodes(context, pod: PodInfo) -> tuple[NodeInfo, ...]:
    """The nodes matching the unscheduled pod's nodeSelector (all nodes when it has none)."""
    if pod.node_name:
        raise FactUnavailable(f"pod {pod.ref} is scheduled on {pod.node_name}: its node is the one to check", not_applicable=True)
    selector = ",".join(f"{key}={value}" for key, value in sorted(pod.node_selector.items()))
    obj = context.kube().get("/api/v1/nodes", {"labelSelector": selector or None}, permission=LIST_NODES)
    return tuple(node_from_json(item) for item in obj.get("items") or () if isinstance(item, dict))
