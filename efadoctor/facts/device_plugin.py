"""The EFA device plugin as the cluster shows it: its DaemonSets, its pod on a node, its log.

Why these shapes: the plugin is what turns a node's EFA interfaces into `vpc.amazonaws.com/efa`.
When it does not run on a node (a taint it does not tolerate, an instance type missing from its
nodeAffinity allow-list, an EKS Auto Mode node) or runs and finds no device, every pod that
requests EFA stays Pending. The checks judge that from these values, so the values keep exactly
what decides scheduling (tolerations, required node affinity, nodeSelector) and what the plugin
said (its log tail), plus where each came from.

Everything here is built from the API's JSON by pure functions that never raise: a field a
response lacks becomes None or empty, so a partial object still yields what it holds.

Domain sources (knowledge/efa-domain.md): the chart's names, labels and defaults (B.1-B.3), the
allow-list history (B.4), how to recognise the plugin (B.5), the log lines (A.3, samples 20/21).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from .kube import (
    COMPUTE_TYPE_LABEL,
    INSTANCE_TYPE_LABEL,
    NodeInfo,
    Taint,
    Toleration,
    tolerations_from,
)
from .scheduling import (
    DAEMON_TOLERATED,
    HOST_NETWORK_TOLERATED,
    NodeSelectorTerm,
    blocking,
    required_terms,
)

PLUGIN_NAME = "aws-efa-k8s-device-plugin"  # the chart, its container and its image repository (B.1, B.2)
CHART_REPO_URL = "https://aws.github.io/eks-charts"
CHART_REF = f"eks/{PLUGIN_NAME}"  # as `helm repo add eks ...` names it (EKS user guide)
DEFAULT_RELEASE = PLUGIN_NAME  # the EKS user guide's release name
DEFAULT_NAMESPACE = "kube-system"
AUTO_MODE = "auto"
AUTO_MODE_EXCLUDED_SINCE = (0, 5, 6)  # chart commit 2ce9790 added `compute-type NotIn [auto]` (B.2)
BETA_INSTANCE_TYPE_LABEL = "beta.kubernetes.io/instance-type"
P6_B200_MISCOUNT_FIXED = (0, 5, 10)  # plugin image that stopped counting NVLink ibp* devices as EFA (A.2)

# The first chart version whose default nodeAffinity allow-list names each GPU/ML instance type,
# from the eks-charts git history of stable/aws-efa-k8s-device-plugin/values.yaml (efa-domain.md B.4).
_CHART_FIRST_LISTED: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("v0.4.2", ("dl1.24xlarge", "dl2q.24xlarge", "g4dn.8xlarge", "g4dn.12xlarge", "g4dn.16xlarge", "g4dn.metal",
                "g5.8xlarge", "g5.12xlarge", "g5.16xlarge", "g5.24xlarge", "g5.48xlarge", "inf1.24xlarge",
                "p3dn.24xlarge", "p4d.24xlarge", "p5.48xlarge", "trn1.32xlarge", "trn1n.32xlarge")),
    ("v0.4.4", ("p4de.24xlarge",)),
    ("v0.5.5", ("g6.8xlarge", "g6.12xlarge", "g6.16xlarge", "g6.24xlarge", "g6.48xlarge", "g6e.8xlarge",
                "g6e.12xlarge", "g6e.16xlarge", "g6e.24xlarge", "g6e.48xlarge", "gr6.8xlarge", "p5e.48xlarge")),
    ("v0.5.6", ("p5en.48xlarge",)),
    ("v0.5.7", ("trn2.48xlarge",)),
    ("v0.5.9", ("p6-b200.48xlarge", "trn2u.48xlarge")),
    ("v0.5.14", ("p6e-gb200.36xlarge",)),
    ("v0.5.15", ("trn2-ac.24xlarge", "trn2u-ac.24xlarge")),
    ("v0.5.23", ("g7e.8xlarge", "g7e.12xlarge", "g7e.24xlarge", "g7e.48xlarge", "p5.4xlarge",
                 "p6-b300.48xlarge", "trn2.3xlarge")),
    ("v0.5.24", ("p6e-gb300.36xlarge",)),
    ("v0.5.30", ("g7.8xlarge", "g7.12xlarge", "g7.24xlarge", "g7.48xlarge")),
)
CHART_FIRST_LISTED: dict[str, str] = {t: version for version, types in _CHART_FIRST_LISTED for t in types}
LATEST_KNOWN_CHART = "v0.5.30"  # the newest chart version the allow-list history above was read from



def version_tuple(version: str | None) -> tuple[int, ...] | None:
    """'v0.5.21-eksbuild.9' -> (0, 5, 21); None when there is no dotted version in it."""
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", version or "")
    if not match:
        return None
    return tuple(int(part) for part in match.groups() if part is not None)


def image_tag(image: str) -> str | None:
    """The tag of `repo/name:tag` (None for a digest-only or untagged reference)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.rsplit(":", 1)[1] if ":" in last else None


def image_repository(image: str) -> str:
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def is_plugin_container(container: Mapping[str, Any]) -> bool:
    """The plugin by what it is (B.5): its image repository or its container name, whatever the install."""
    image = str(container.get("image") or "")
    return image_repository(image).endswith(PLUGIN_NAME) or container.get("name") == PLUGIN_NAME


def _seq(value: Any) -> list[Any]:
    """A JSON list as a list; anything else (null, a scalar, a map) as empty."""
    return value if isinstance(value, list) else []


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class Admission:
    """Whether a DaemonSet's scheduling constraints let its pod onto a node, and if not, what fails."""

    admitted: bool
    unmet: tuple[str, ...] = ()  # human-readable failing requirements (of the closest term)
    instance_type_listed: bool | None = None  # None: the DaemonSet has no instance-type list
    auto_mode_excluded: bool = False  # the node is Auto Mode and a term says compute-type NotIn [auto]


# ---- the DaemonSet ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DevicePluginDaemonSet:
    """One EFA device plugin DaemonSet, with what decides where its pods run."""

    namespace: str
    name: str
    image: str
    version: str | None  # the image tag, e.g. v0.5.6 (the plugin version; the chart's appVersion)
    chart_version: str | None  # from the helm.sh/chart label, e.g. v0.5.30; None for non-Helm installs
    tolerations: tuple[Toleration, ...]
    node_affinity_instance_types: tuple[str, ...] | None  # the `instance-type In [...]` allow-list, if any
    excludes_auto_mode: bool  # a term says eks.amazonaws.com/compute-type NotIn [auto] (chart >= v0.5.6)
    node_selector: Mapping[str, str]
    desired: int
    ready: int
    pod_selector: Mapping[str, str]  # spec.selector.matchLabels
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    affinity_terms: tuple[NodeSelectorTerm, ...] | None = None  # None: no required node affinity
    host_network: bool = False
    container: str = PLUGIN_NAME

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def helm_release(self) -> str | None:
        """The Helm release that owns it (Helm's own annotation, else the chart's instance label)."""
        if not self.helm_managed:
            return None
        return self.annotations.get("meta.helm.sh/release-name") or self.labels.get("app.kubernetes.io/instance")

    @property
    def helm_namespace(self) -> str:
        return self.annotations.get("meta.helm.sh/release-namespace") or self.namespace

    @property
    def helm_managed(self) -> bool:
        return self.labels.get("app.kubernetes.io/managed-by") == "Helm" or "meta.helm.sh/release-name" in self.annotations

    @property
    def version_tuple(self) -> tuple[int, ...] | None:
        return version_tuple(self.version)

    @property
    def chart_version_tuple(self) -> tuple[int, ...] | None:
        return version_tuple(self.chart_version)

    @property
    def values_tolerations(self) -> tuple[Toleration, ...]:
        """The tolerations a Helm install took from `values.tolerations`: the chart hard-codes
        CriticalAddonsOnly first and appends the values (B.2), so `--set tolerations[i]` must repeat these."""
        items = self.tolerations
        if items and items[0].key == "CriticalAddonsOnly" and items[0].operator == "Exists" and not items[0].effect:
            items = items[1:]
        return items

    def untolerated(self, taints: Iterable[Taint]) -> tuple[Taint, ...]:
        """The node's NoSchedule/NoExecute taints that keep this DaemonSet's pod off the node."""
        auto = set(DAEMON_TOLERATED) | ({HOST_NETWORK_TOLERATED} if self.host_network else set())
        return tuple(
            t for t in blocking(taints)
            if (t.key, t.effect) not in auto and not any(tol.tolerates(t) for tol in self.tolerations)
        )

    def admits(self, node: NodeInfo) -> Admission:
        """Required node affinity (terms ORed, expressions ANDed) and nodeSelector, as the scheduler applies them."""
        labels = dict(node.labels)
        unmet_selector = [f"nodeSelector {k}={v}" for k, v in self.node_selector.items() if labels.get(k) != v]
        listed = None
        if self.node_affinity_instance_types is not None:
            listed = (node.instance_type or "") in self.node_affinity_instance_types
        auto_excluded = node.compute_type == AUTO_MODE and self.excludes_auto_mode
        if self.affinity_terms is None:
            return Admission(not unmet_selector, tuple(unmet_selector), listed, auto_excluded)
        best: list[str] | None = None
        for term in self.affinity_terms:
            failing = [str(r) for r in term if not r.matches(labels, node.name)]
            if not term:
                failing = ["an empty nodeSelectorTerm (matches no node)"]
            if not failing and not unmet_selector:
                return Admission(True, (), listed, False)
            if best is None or len(failing) < len(best):
                best = failing
        if not self.affinity_terms:
            best = ["nodeAffinity with no nodeSelectorTerms (matches no node)"]
        unmet = tuple(unmet_selector + (best or []))
        return Admission(not unmet, unmet, listed, auto_excluded)

    def affinity_list_position(self) -> tuple[int, int] | None:
        """(term index, expression index) of the first `instance-type In` list, for a JSON patch."""
        for t, term in enumerate(self.affinity_terms or ()):
            for e, requirement in enumerate(r for r in term if not r.field):
                if requirement.key in (INSTANCE_TYPE_LABEL, BETA_INSTANCE_TYPE_LABEL) and requirement.operator == "In":
                    return t, e
        return None


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _strings(value: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def daemonset_from_json(obj: Mapping[str, Any]) -> DevicePluginDaemonSet | None:
    """An EFA device plugin DaemonSet, or None when this DaemonSet runs no plugin container."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    template = spec.get("template") if isinstance(spec.get("template"), Mapping) else {}
    pod_spec = template.get("spec") if isinstance(template.get("spec"), Mapping) else {}
    containers = [c for c in _seq(pod_spec.get("containers")) if isinstance(c, Mapping)]
    plugin = next((c for c in containers if is_plugin_container(c)), None)
    if plugin is None:
        return None
    image = str(plugin.get("image") or "")
    labels = _strings(meta.get("labels"))
    chart = labels.get("helm.sh/chart", "")
    chart_version = chart[len(PLUGIN_NAME) + 1:] if chart.startswith(PLUGIN_NAME + "-") else None
    terms = required_terms(pod_spec)
    types: list[str] | None = None
    excludes_auto = False
    for term in terms or ():
        for requirement in term:
            if requirement.field:
                continue
            if requirement.key in (INSTANCE_TYPE_LABEL, BETA_INSTANCE_TYPE_LABEL) and requirement.operator == "In":
                types = (types or []) + [v for v in requirement.values if v not in (types or [])]
            if requirement.key == COMPUTE_TYPE_LABEL and requirement.operator == "NotIn" and AUTO_MODE in requirement.values:
                excludes_auto = True
    selector = spec.get("selector") if isinstance(spec.get("selector"), Mapping) else {}
    return DevicePluginDaemonSet(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        image=image,
        version=image_tag(image),
        chart_version=chart_version or None,
        tolerations=tolerations_from(_seq(pod_spec.get("tolerations"))),
        node_affinity_instance_types=tuple(types) if types is not None else None,
        excludes_auto_mode=excludes_auto,
        node_selector=_strings(pod_spec.get("nodeSelector")),
        desired=_int(status.get("desiredNumberScheduled")),
        ready=_int(status.get("numberReady")),
        pod_selector=_strings(selector.get("matchLabels")),
        uid=str(meta.get("uid") or ""),
        labels=labels,
        annotations=_strings(meta.get("annotations")),
        affinity_terms=terms,
        host_network=pod_spec.get("hostNetwork") is True,
        container=str(plugin.get("name") or PLUGIN_NAME),
    )


def daemonsets_from_list(obj: Mapping[str, Any]) -> tuple[DevicePluginDaemonSet, ...]:
    found = (daemonset_from_json(item) for item in _seq(obj.get("items")) if isinstance(item, Mapping))
    return tuple(sorted((d for d in found if d is not None), key=lambda d: (d.namespace, d.name)))


def for_node(daemonsets: Sequence[DevicePluginDaemonSet], node: NodeInfo) -> tuple[DevicePluginDaemonSet, ...]:
    """The DaemonSets in the order that matters for this node: those whose affinity admits it first."""
    return tuple(sorted(daemonsets, key=lambda d: (not d.admits(node).admitted, d.namespace, d.name)))


def chart_first_listing(instance_type: str | None) -> str | None:
    """The first chart version whose default allow-list names this type (None: not a known GPU/ML type)."""
    return CHART_FIRST_LISTED.get(instance_type or "")


def chart_predates(ds: DevicePluginDaemonSet, instance_type: str | None) -> str | None:
    """The chart version that first lists `instance_type`, when this Helm release's chart is older than it
    and its allow-list indeed lacks the type: the release must be upgraded, not kept at its version."""
    first = chart_first_listing(instance_type)
    chart = ds.chart_version_tuple
    listed = ds.node_affinity_instance_types
    if not (ds.helm_managed and first and chart is not None and listed is not None) or instance_type in listed:
        return None
    return first if chart < (version_tuple(first) or ()) else None


# ---- the plugin's log -------------------------------------------------------------------------
_DEVICE = re.compile(r"device: (\w+),(uverbs\d+),")
_NO_DEVICES = "No valid EFA devices found"
_REGISTERED = "Registered device plugin with Kubelet"
_SERVING = re.compile(r"Starting to serve on \S*aws-efa-device-plugin\.sock")
_TOPOLOGY = re.compile(r"EfaDeviceTopology initialized successfully with (\d+) (\w+) and (\d+) EFAs")


@dataclass(frozen=True)
class PluginLog:
    """What the plugin's log tail says (efa-domain.md A.3; samples 20 and 21)."""

    devices: tuple[tuple[str, str], ...] = ()  # (ib device, uverbs) from `device: rdmap79s0,uverbs0,...`
    no_devices: bool = False  # `No valid EFA devices found`: it exits, the pod goes Completed -> CrashLoopBackOff
    registered: bool = False  # `Registered device plugin with Kubelet`
    serving: bool = False  # `Starting to serve on .../aws-efa-device-plugin.sock`
    topology_efas: int | None = None  # newer images: `... with 8 GPUs and 32 EFAs`
    lines: int = 0
    no_devices_line: str | None = None

    @property
    def device_count(self) -> int:
        return len(self.devices) or (self.topology_efas or 0)


def parse_plugin_log(text: str | None) -> PluginLog:
    """Never raises: unknown lines are ignored, framing (k9s boxes, timestamps) is tolerated by search."""
    if not text:
        return PluginLog()
    devices: dict[tuple[str, str], None] = {}
    no_devices_line = None
    registered = serving = False
    topology = None
    lines = text.splitlines()
    for line in lines:
        line = line[:4096]
        if "device:" in line:
            for match in _DEVICE.finditer(line):
                devices.setdefault((match.group(1), match.group(2)), None)
        if _NO_DEVICES in line:
            no_devices_line = line.strip(" │|\t")[:300]
        registered = registered or _REGISTERED in line
        serving = serving or bool(_SERVING.search(line))
        if "EfaDeviceTopology" in line:
            match = _TOPOLOGY.search(line)
            if match:
                topology = int(match.group(3))
    return PluginLog(tuple(devices), no_devices_line is not None, registered, serving, topology, len(lines), no_devices_line)


# ---- the plugin pod on a node -------------------------------------------------------------------
@dataclass(frozen=True)
class DevicePluginPod:
    """The plugin pod on the target node: its state and a bounded tail of its log."""

    namespace: str
    name: str
    phase: str | None
    ready: bool
    restarts: int
    waiting_reason: str | None  # CrashLoopBackOff, ImagePullBackOff, ContainerCreating...
    log_tail: str | None  # None when the log could not be read (see log_error)
    log_error: str | None
    log_missing_permission: str | None = None  # "get pods/log" when RBAC denied the log read
    daemonset: str | None = None  # the owning DaemonSet's name
    node_name: str | None = None
    container: str = PLUGIN_NAME
    image: str = ""
    last_termination: str | None = None  # "Completed (exit 0)" of the previous run, if it restarted
    labels: Mapping[str, str] = field(default_factory=dict)
    runs_plugin: bool = False  # one of its containers is the plugin (by image or container name)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def log(self) -> PluginLog:
        return parse_plugin_log(self.log_tail)

    @property
    def running(self) -> bool:
        return self.phase == "Running" and self.waiting_reason is None

    @property
    def state(self) -> str:
        parts = [self.phase or "unknown phase", "Ready" if self.ready else "not Ready"]
        if self.waiting_reason:
            parts.append(f"waiting: {self.waiting_reason}")
        if self.restarts:
            parts.append(f"{self.restarts} restart(s)" + (f", last exit {self.last_termination}" if self.last_termination else ""))
        return ", ".join(parts)


def _owner_daemonset(meta: Mapping[str, Any]) -> tuple[str, str] | None:
    for owner in _seq(meta.get("ownerReferences")):
        if isinstance(owner, Mapping) and owner.get("kind") == "DaemonSet" and owner.get("controller"):
            return str(owner.get("name") or ""), str(owner.get("uid") or "")
    return None


def is_daemon_pod(obj: Mapping[str, Any]) -> bool:
    """Owned by a DaemonSet, or running the plugin container: the pods on a node that could be the plugin."""
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    return _owner_daemonset(meta) is not None or any(is_plugin_container(c) for c in _seq(spec.get("containers")) if isinstance(c, Mapping))


def is_plugin_pod(pod: DevicePluginPod, daemonsets: Sequence[DevicePluginDaemonSet]) -> bool:
    """Owned by (or selected by) one of the plugin DaemonSets, or running the plugin container itself."""
    for ds in daemonsets:
        if ds.namespace != pod.namespace:
            continue
        if pod.daemonset == ds.name:
            return True
        if ds.pod_selector and all(pod.labels.get(k) == v for k, v in ds.pod_selector.items()):
            return True
    return pod.runs_plugin


def plugin_pod_from_json(obj: Mapping[str, Any]) -> DevicePluginPod:
    """The pod's state; the log fields are filled by the collector after its (bounded) read."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), Mapping) else {}
    status = obj.get("status") if isinstance(obj.get("status"), Mapping) else {}
    containers = [c for c in _seq(spec.get("containers")) if isinstance(c, Mapping)]
    plugin = next((c for c in containers if is_plugin_container(c)), containers[0] if containers else {})
    name = str(plugin.get("name") or PLUGIN_NAME)
    statuses = [s for s in _seq(status.get("containerStatuses")) if isinstance(s, Mapping)]
    mine = next((s for s in statuses if s.get("name") == name), {})
    state = mine.get("state") if isinstance(mine.get("state"), Mapping) else {}
    waiting = state.get("waiting") if isinstance(state.get("waiting"), Mapping) else None
    last = (mine.get("lastState") or {}).get("terminated") if isinstance(mine.get("lastState"), Mapping) else None
    owner = _owner_daemonset(meta)
    return DevicePluginPod(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        phase=status.get("phase") if isinstance(status.get("phase"), str) else None,
        ready=mine.get("ready") is True,
        restarts=_int(mine.get("restartCount")),
        waiting_reason=str(waiting.get("reason") or "waiting") if waiting is not None else None,
        log_tail=None,
        log_error=None,
        daemonset=owner[0] if owner else None,
        node_name=spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else None,
        container=name,
        image=str(plugin.get("image") or ""),
        last_termination=f"{last.get('reason') or 'terminated'} (exit {last.get('exitCode')})" if isinstance(last, Mapping) else None,
        labels=_strings(meta.get("labels")),
        runs_plugin=any(is_plugin_container(c) for c in containers),
    )


