"""Kubernetes facts: the node, the pod and its events, as small frozen values.

Built from the API's JSON by pure functions, so checks and tests never see the
client. Only the environment variables that matter to EFA are kept
(FI_*, NCCL_*, OFI_NCCL_*, LD_LIBRARY_PATH, CUDA_VISIBLE_DEVICES): a pod spec
can hold secrets, and a report attached to a ticket must not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

EFA_RESOURCE = "vpc.amazonaws.com/efa"
GPU_RESOURCE = "nvidia.com/gpu"
HUGEPAGES_2MI = "hugepages-2Mi"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"
COMPUTE_TYPE_LABEL = "eks.amazonaws.com/compute-type"
NODEPOOL_LABEL = "karpenter.sh/nodepool"

_ENV_KEPT = re.compile(r"^(FI_|NCCL_|OFI_NCCL_)|^(LD_LIBRARY_PATH|CUDA_VISIBLE_DEVICES)$")
# aws:///us-east-1a/i-0123456789abcdef0 ; Fargate: aws:///us-east-1a/<hash>/fargate-ip-...
_PROVIDER_ID = re.compile(r"^aws:///(?P<zone>[a-z]{2}(?:-[a-z]+)+-\d+[a-z](?:-[a-z0-9-]+)?)/(?P<instance>i-[0-9a-f]{8,17})$")


def keep_env(name: str) -> bool:
    return bool(_ENV_KEPT.search(name))


def region_of_zone(zone: str) -> str:
    """us-east-1a -> us-east-1; us-west-2-lax-1a (Local Zone) -> us-west-2."""
    match = re.match(r"^([a-z]{2}(?:-[a-z]+)+-\d+)", zone)
    return match.group(1) if match else zone


@dataclass(frozen=True)
class Taint:
    key: str
    value: str | None
    effect: str

    def __str__(self) -> str:
        return f"{self.key}{'=' + self.value if self.value else ''}:{self.effect}"


@dataclass(frozen=True)
class Toleration:
    key: str | None
    operator: str  # Equal | Exists
    value: str | None
    effect: str | None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' own rule (k8s.io/api core/v1 toleration.go ToleratesTaint)."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if not self.key and self.operator != "Exists":
            return False
        if self.operator == "Exists":
            return True
        return (self.value or "") == (taint.value or "")


def toleration_from(item: Mapping[str, Any]) -> Toleration:
    """One toleration as written in a pod spec (values as text, missing fields as the API defaults them)."""
    value = item.get("value")
    return Toleration(
        str(item["key"]) if item.get("key") else None,
        str(item.get("operator") or "Equal"),
        None if value is None else str(value),
        str(item["effect"]) if item.get("effect") else None,
    )


def tolerations_from(items: Any) -> tuple[Toleration, ...]:
    return tuple(toleration_from(t) for t in items or () if isinstance(t, Mapping))


@dataclass(frozen=True)
class NodeInfo:
    name: str
    provider_id: str | None
    instance_id: str | None  # None: not an EC2 instance (Fargate, another cloud, kind)
    zone: str | None
    region: str | None
    instance_type: str | None
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    capacity: Mapping[str, str]
    allocatable: Mapping[str, str]
    ready: bool | None
    kubelet_version: str | None
    os_image: str | None

    @property
    def compute_type(self) -> str | None:
        return self.labels.get(COMPUTE_TYPE_LABEL)

    @property
    def nodepool(self) -> str | None:
        return self.labels.get(NODEPOOL_LABEL)

    @property
    def is_fargate(self) -> bool:
        return self.compute_type == "fargate" or (self.provider_id or "").endswith("fargate") or "/fargate-" in (self.provider_id or "")

    def allocatable_count(self, resource: str) -> int | None:
        return quantity_int(self.allocatable.get(resource))

    def capacity_count(self, resource: str) -> int | None:
        return quantity_int(self.capacity.get(resource))


def quantity_int(value: str | None) -> int | None:
    """Extended resources are plain integers ("32"); anything else is not a count."""
    if value is None:
        return None
    try:
        return int(str(value))
    except ValueError:
        return None


_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18, "m": 10**-3}


def quantity_bytes(value: str | None) -> int | None:
    """A Kubernetes quantity ("5120Mi", "10Gi", "1G", "512") in bytes; None if unreadable."""
    if value is None:
        return None
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGTPE]i|[kMGTPEm])?\s*", str(value))
    if not match:
        return None
    number, suffix = float(match.group(1)), match.group(2)
    factor = _BINARY.get(suffix or "", None) or _DECIMAL.get(suffix or "", 1)
    return int(number * factor)


def node_from_json(obj: Mapping[str, Any]) -> NodeInfo:
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status", {})
    labels = dict(meta.get("labels") or {})
    provider_id = spec.get("providerID")
    match = _PROVIDER_ID.match(provider_id or "")
    zone = match.group("zone") if match else labels.get("topology.kubernetes.io/zone")
    taints = tuple(
        Taint(t.get("key", ""), t.get("value"), t.get("effect", "")) for t in spec.get("taints") or () if isinstance(t, Mapping)
    )
    ready = None
    for condition in status.get("conditions") or ():
        if condition.get("type") == "Ready":
            ready = condition.get("status") == "True"
    info = status.get("nodeInfo") or {}
    return NodeInfo(
        name=meta.get("name", ""),
        provider_id=provider_id,
        instance_id=match.group("instance") if match else None,
        zone=zone,
        region=region_of_zone(zone) if zone else labels.get("topology.kubernetes.io/region"),
        instance_type=labels.get(INSTANCE_TYPE_LABEL) or labels.get("beta.kubernetes.io/instance-type"),
        labels=labels,
        taints=taints,
        capacity=dict(status.get("capacity") or {}),
        allocatable=dict(status.get("allocatable") or {}),
        ready=ready,
        kubelet_version=info.get("kubeletVersion"),
        os_image=info.get("osImage"),
    )


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    image: str
    requests: Mapping[str, str]
    limits: Mapping[str, str]
    env: Mapping[str, str]  # only EFA-relevant names; values from valueFrom are shown as "<from ...>"
    volume_mounts: tuple[tuple[str, str], ...]  # (volume name, mount path)
    capabilities_add: tuple[str, ...]
    privileged: bool
    init: bool = False

    def resource(self, name: str) -> tuple[str | None, str | None]:
        """(request, limit) as written."""
        return self.requests.get(name), self.limits.get(name)

    def requested(self, name: str) -> str | None:
        """What the scheduler counts: the request, or the limit when there is no request (Kubernetes defaults a
        missing request to the limit, and extended resources and huge pages may not differ from it)."""
        request, limit = self.resource(name)
        return request if request is not None else limit


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    host_path: str | None
    empty_dir_medium: str | None  # "Memory" for a tmpfs emptyDir
    size_limit: str | None
    is_empty_dir: bool


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    uid: str
    node_name: str | None
    phase: str | None
    containers: tuple[ContainerInfo, ...]
    init_containers: tuple[ContainerInfo, ...]
    volumes: tuple[VolumeInfo, ...]
    tolerations: tuple[Toleration, ...]
    node_selector: Mapping[str, str]
    has_affinity: bool
    owner: tuple[str, str] | None  # (kind, name) of the controller
    conditions: Mapping[str, str]  # type -> status
    unschedulable_message: str | None
    container_states: Mapping[str, str]  # container -> "running" | "waiting: CrashLoopBackOff" | "terminated: Error (exit 1)"
    labels: Mapping[str, str] = ()  # type: ignore[assignment]

    @property
    def controller(self) -> tuple[str, str] | None:
        """The object a user edits: a ReplicaSet's pods belong to its Deployment (name minus the template hash)."""
        if self.owner and self.owner[0] == "ReplicaSet":
            suffix = "-" + dict(self.labels or {}).get("pod-template-hash", "\0")
            if self.owner[1].endswith(suffix):
                return ("Deployment", self.owner[1][: -len(suffix)])
        return self.owner

    @property
    def template_owner(self) -> str:
        """Where the pod template lives, for fix texts: "Deployment trainer" or "pod trainer-0"."""
        return f"{self.controller[0]} {self.controller[1]}" if self.controller else f"pod {self.name}"

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def container(self, name: str | None) -> ContainerInfo | None:
        for container in self.containers:
            if container.name == name:
                return container
        return None

    @property
    def efa_container(self) -> ContainerInfo | None:
        """The container that requests EFA, else the first: the one the probe looks into."""
        for container in self.containers:
            if any(EFA_RESOURCE in r for r in (container.requests, container.limits)):
                return container
        return self.containers[0] if self.containers else None


def _env(items: Any) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items or ():
        if not isinstance(item, Mapping) or not keep_env(str(item.get("name", ""))):
            continue
        if "value" in item:
            env[item["name"]] = str(item.get("value") or "")
        elif item.get("valueFrom"):
            source = next(iter(item["valueFrom"]), "valueFrom")
            env[item["name"]] = f"<from {source}>"
    return env


def _container(obj: Mapping[str, Any], *, init: bool = False) -> ContainerInfo:
    resources = obj.get("resources") or {}
    security = obj.get("securityContext") or {}
    return ContainerInfo(
        name=str(obj.get("name", "")),
        image=str(obj.get("image", "")),
        requests={str(k): str(v) for k, v in (resources.get("requests") or {}).items()},
        limits={str(k): str(v) for k, v in (resources.get("limits") or {}).items()},
        env=_env(obj.get("env")),
        volume_mounts=tuple((m.get("name", ""), m.get("mountPath", "")) for m in obj.get("volumeMounts") or () if isinstance(m, Mapping)),
        capabilities_add=tuple((security.get("capabilities") or {}).get("add") or ()),
        privileged=bool(security.get("privileged")),
        init=init,
    )


def _state(status: Mapping[str, Any]) -> str:
    state = status.get("state") or {}
    if "running" in state:
        return "running"
    if "waiting" in state:
        return f"waiting: {state['waiting'].get('reason', '')}".strip()
    if "terminated" in state:
        term = state["terminated"]
        return f"terminated: {term.get('reason', '')} (exit {term.get('exitCode')})"
    return "unknown"


def pod_from_json(obj: Mapping[str, Any]) -> PodInfo:
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status", {})
    owner = next(
        ((o.get("kind", ""), o.get("name", "")) for o in meta.get("ownerReferences") or () if o.get("controller")),
        None,
    )
    volumes = tuple(
        VolumeInfo(
            name=v.get("name", ""),
            host_path=(v.get("hostPath") or {}).get("path"),
            empty_dir_medium=(v.get("emptyDir") or {}).get("medium"),
            size_limit=(v.get("emptyDir") or {}).get("sizeLimit"),
            is_empty_dir="emptyDir" in v,
        )
        for v in spec.get("volumes") or ()
        if isinstance(v, Mapping)
    )
    conditions = {c.get("type", ""): c.get("status", "") for c in status.get("conditions") or ()}
    unschedulable = next(
        (c.get("message") for c in status.get("conditions") or () if c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable"),
        None,
    )
    return PodInfo(
        namespace=meta.get("namespace", "default"),
        name=meta.get("name", ""),
        uid=meta.get("uid", ""),
        node_name=spec.get("nodeName"),
        phase=status.get("phase"),
        containers=tuple(_container(c) for c in spec.get("containers") or () if isinstance(c, Mapping)),
        init_containers=tuple(_container(c, init=True) for c in spec.get("initContainers") or () if isinstance(c, Mapping)),
        volumes=volumes,
        tolerations=tolerations_from(spec.get("tolerations")),
        node_selector=dict(spec.get("nodeSelector") or {}),
        has_affinity=bool(spec.get("affinity")),
        owner=owner,
        conditions=conditions,
        unschedulable_message=unschedulable,
        container_states={s.get("name", ""): _state(s) for s in status.get("containerStatuses") or ()},
        labels=dict(meta.get("labels") or {}),
    )


@dataclass(frozen=True)
class EventInfo:
    type: str
    reason: str
    message: str
    count: int
    last_seen: str | None


def events_from_json(obj: Mapping[str, Any]) -> tuple[EventInfo, ...]:
    events = []
    for item in obj.get("items") or ():
        events.append(
            EventInfo(
                type=item.get("type", ""),
                reason=item.get("reason", ""),
                message=item.get("message", ""),
                count=int(item.get("count") or (item.get("series") or {}).get("count") or 1),
                last_seen=item.get("lastTimestamp") or item.get("eventTime"),
            )
        )
    return tuple(sorted(events, key=lambda e: e.last_seen or ""))
