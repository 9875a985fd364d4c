"""Collectors for the EFA device plugin and for DRA: one list call per resource kind, none per item.

- `device_plugin_daemonsets`: ONE cluster-wide `list daemonsets.apps`; the plugin is recognised by
  what it runs (its image or container name), in any namespace and under any release name, not by a
  hard-coded name or label (installs differ: Helm releases `efa` or `aws-efa-k8s-device-plugin`,
  the aws-samples manifest, HyperPod's `hyperpod-requirements`).
- `daemon_pods_on_node`: ONE `list pods` with `fieldSelector=spec.nodeName=<node>` (cluster-wide, as the
  DaemonSet may live in any namespace), started beside the DaemonSet list rather than after it.
- `device_plugin_pod`: the plugin's pod among those (by owner, selector or image), then ONE bounded log
  read (`tailLines`, `limitBytes`).
  A 403 on `pods/log` does not lose the pod: its phase and readiness are kept and the log part says
  which permission was missing, so the check that needs the log can skip naming `get pods/log`.
- `efa_resource_slices`: ONE `list resourceslices` with the node's field selector; an API server that
  does not serve resource.k8s.io/v1 (before Kubernetes 1.34) answers 404, which means "no DRA here".

The node's name comes from `--node` or the pod's `spec.nodeName`, not from the `node` fact, so these
calls start in the first round, beside `GET node`, rather than after it.
"""

from __future__ import annotations

from dataclasses import replace

from ..clients.kube import NotFound
from ..facts.device_plugin import (
    DevicePluginDaemonSet,
    DevicePluginPod,
    daemonsets_from_list,
    is_daemon_pod,
    is_plugin_pod,
    plugin_pod_from_json,
)
from ..facts.dra import EfaResourceSlice, resource_slices_from_list
from ..facts.kube import PodInfo
from ..model import FactUnavailable, collector

LOG_TAIL_LINES = 200  # the plugin logs one or two lines per device at start (sample 20): 32 devices fit
LOG_LIMIT_BYTES = 64 * 1024
LIST_DAEMONSETS = "list daemonsets.apps"
LIST_PODS = "list pods"
GET_POD_LOG = "get pods/log"
LIST_RESOURCE_SLICES = "list resourceslices.resource.k8s.io"


def target_node_name(context, pod: PodInfo | None) -> str:
    """The node under diagnosis, without waiting for the node object itself."""
    name = context.options.node or (pod.node_name if pod else None)
    if not name:
        reason = f"pod {pod.ref} is not scheduled on a node yet" if pod else "no node was given"
        raise FactUnavailable(reason, not_applicable=True)
    return name


@collector
def device_plugin_daemonsets(context) -> tuple[DevicePluginDaemonSet, ...]:
    """Every EFA device plugin DaemonSet in the cluster (an empty tuple means: none is installed)."""
    obj = context.kube().get("/apis/apps/v1/daemonsets", permission=LIST_DAEMONSETS)
    return daemonsets_from_list(obj)


@collector
def daemon_pods_on_node(context, pod: PodInfo | None = None) -> tuple[DevicePluginPod, ...]:
    """The DaemonSet pods on the target node (and any pod running the plugin container), in ONE call.

    Listing by node, not by the plugin's labels, lets this call start before the DaemonSets are
    known (their selectors differ by install); the choice among these pods is made next.
    """
    node_name = target_node_name(context, pod)
    listed = context.kube().get("/api/v1/pods", {"fieldSelector": f"spec.nodeName={node_name}"}, permission=LIST_PODS)
    items = listed.get("items") if isinstance(listed.get("items"), list) else []
    return tuple(plugin_pod_from_json(item) for item in items if isinstance(item, dict) and is_daemon_pod(item))


@collector
def device_plugin_pod(
    context, daemon_pods_on_node: tuple[DevicePluginPod, ...], device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...] = ()
) -> DevicePluginPod | None:
    """The plugin pod on the target node with a bounded tail of its log; None when no plugin pod is there."""
    candidates = [p for p in daemon_pods_on_node if is_plugin_pod(p, device_plugin_daemonsets)]
    if not candidates:
        return None
    known = {(d.namespace, d.name) for d in device_plugin_daemonsets}
    found = sorted(candidates, key=lambda p: ((p.namespace, p.daemonset) not in known, p.namespace, p.name))[0]
    try:
        text = context.kube().get_text(
            f"/api/v1/namespaces/{found.namespace}/pods/{found.name}/log",
            {"container": found.container, "tailLines": LOG_TAIL_LINES, "limitBytes": LOG_LIMIT_BYTES},
            permission=GET_POD_LOG,
            limit_bytes=LOG_LIMIT_BYTES,
        )
    except FactUnavailable as error:
        return _with_log(found, None, error.reason, error.missing_permission)
    except NotFound as gone:
        return _with_log(found, None, f"the pod is gone: {gone}", None)
    return _with_log(found, text, None, None)


def _with_log(found: DevicePluginPod, text: str | None, error: str | None, permission: str | None) -> DevicePluginPod:
    return replace(found, log_tail=text, log_error=error, log_missing_permission=permission)


@collector
def efa_resource_slices(context, pod: PodInfo | None = None) -> tuple[EfaResourceSlice, ...]:
    """DRA ResourceSlices of the target node that publish EFA devices; () when DRA is not served."""
    node_name = target_node_name(context, pod)
    try:
        obj = context.kube().get(
            "/apis/resource.k8s.io/v1/resourceslices",
            {"fieldSelector": f"spec.nodeName={node_name}"},
            permission=LIST_RESOURCE_SLICES,
        )
    except NotFound:
        return ()
    return resource_slices_from_list(obj)
