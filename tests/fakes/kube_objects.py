"""Builders for realistic Kubernetes JSON objects of an EFA cluster, for tests.

Tests need Nodes, device-plugin DaemonSets and pods, workload pods and Events that look like what a
real EKS API server returns (server-side defaults included), so that collectors are exercised
against the shapes they will meet in production rather than against hand-trimmed dicts. Every
builder returns a plain dict that passes ``kubernetes_validate.validate(obj, "1.31.0", strict=True)``
(ResourceSlice: "1.34.0", the first schema with ``resource.k8s.io/v1``); tests/test_fake_kube.py
checks that. The comment above each builder names the sample or knowledge section it follows.
Sample files quoted here are the project's public samples (their SOURCE lines are repeated below).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

CREATED = "2026-01-05T10:00:00Z"
STARTED = "2026-01-05T10:01:00Z"
EFA_RESOURCE = "vpc.amazonaws.com/efa"
GPU_RESOURCE = "nvidia.com/gpu"
DEVICE_PLUGIN_IMAGE = "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/aws-efa-k8s-device-plugin"
DEVICE_PLUGIN_CHART = "aws-efa-k8s-device-plugin"

# The scheduler's message when no node advertises enough EFA devices (format of kube-scheduler >= 1.26;
# the resource name is the one the EFA device plugin registers, efa-domain.md A.1 #4 and B.1).
FAILED_SCHEDULING_EFA = (
    "0/3 nodes are available: 3 Insufficient vpc.amazonaws.com/efa. preemption: 0/3 nodes are available: "
    "3 No preemption victims found for incoming pod."
)

Json = dict[str, Any]


def uid_for(kind: str, namespace: str | None, name: str) -> str:
    """A stable uid, so owner references between builders line up without shared state."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{namespace or ''}/{name}"))


def _suffix(seed: str, length: int = 5) -> str:
    """A deterministic stand-in for the random suffix of generateName ('-5dvkw' in sample 21)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the consonant/digit alphabet of k8s.io/apimachinery rand
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def ip_for(name: str) -> str:
    """The node IP: EKS node names 'ip-10-0-1-10.<region>.compute.internal' carry it; else hash one."""
    match = re.match(r"ip-(\d+)-(\d+)-(\d+)-(\d+)", name)
    if match:
        return ".".join(match.groups())
    digest = hashlib.sha256(name.encode()).digest()
    return f"10.0.{digest[0]}.{max(digest[1], 1)}"


def _instance_id_for(name: str) -> str:
    return "i-0" + hashlib.sha256(name.encode()).hexdigest()[:16]


def parse_taint(taint: str | Mapping[str, str]) -> Json:
    """Accept 'key=value:Effect', 'key:Effect' (kubectl taint syntax) or a ready dict."""
    if isinstance(taint, Mapping):
        return dict(taint)
    key_value, _, effect = taint.rpartition(":")
    key, _, value = key_value.partition("=")
    out: Json = {"key": key, "effect": effect}
    if value:
        out["value"] = value
    return out


# vCPU count and memory of the instance types tests use (EC2 instance type specifications);
# anything else gets the p5.48xlarge numbers, which no EFA check reads.
_SIZES: dict[str, tuple[int, int]] = {
    "p5.48xlarge": (192, 2048),
    "p5e.48xlarge": (192, 2048),
    "p4d.24xlarge": (96, 1152),
    "g5.8xlarge": (32, 128),
    "c5.large": (2, 4),
}


# Node: shape of `kubectl get node -o json`; capacity/allocatable are strings, as in sample 23
# (SOURCE: https://github.com/aws/aws-k8s-tester/pull/471, `vpc.amazonaws.com/efa: 1` on g5.8xlarge).
# efa=None: the device plugin never registered, so the key is absent (efa-domain.md A.1 #1, #4);
# efa=0: registered and later gone, which the kubelet reports as "0".
# hugepages default: the EFA driver pre-allocates 5128 2MiB pages (EKS UG text in sample 32).
def node(
    name: str,
    instance_type: str = "p5.48xlarge",
    zone: str = "us-east-1a",
    instance_id: str | None = None,
    efa: int | None = 32,
    gpus: int | None = 8,
    hugepages_2mi: str = "10256Mi",
    taints: Iterable[str | Mapping[str, str]] = (),
    labels: Mapping[str, str] | None = None,
    provider_id: str | None = None,
    ready: bool = True,
    kubelet_version: str = "v1.31.4-eks-1234567",
) -> Json:
    instance_id = instance_id or _instance_id_for(name)
    region = zone[:-1]
    cpus, mem_gib = _SIZES.get(instance_type, _SIZES["p5.48xlarge"])
    capacity: Json = {
        "cpu": str(cpus),
        "ephemeral-storage": "104845292Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": hugepages_2mi,
        "memory": f"{mem_gib * 1024 * 1024}Ki",
        "pods": "100",
    }
    allocatable = dict(capacity, cpu=f"{cpus * 1000 - 150}m", memory=f"{mem_gib * 1024 * 1024 - 1_500_000}Ki")
    allocatable["ephemeral-storage"] = "95551679124"
    for resource, count in ((EFA_RESOURCE, efa), (GPU_RESOURCE, gpus)):
        if count is not None:
            capacity[resource] = allocatable[resource] = str(count)
    node_labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/instance-type": instance_type,
        "beta.kubernetes.io/os": "linux",
        "failure-domain.beta.kubernetes.io/region": region,
        "failure-domain.beta.kubernetes.io/zone": zone,
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "node.kubernetes.io/instance-type": instance_type,
        "topology.kubernetes.io/region": region,
        "topology.kubernetes.io/zone": zone,
    }
    node_labels.update(labels or {})
    ip = ip_for(name)
    spec: Json = {"providerID": provider_id or f"aws:///{zone}/{instance_id}"}
    parsed_taints = [parse_taint(t) for t in taints]
    if parsed_taints:
        spec["taints"] = parsed_taints
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "uid": uid_for("Node", None, name),
            "creationTimestamp": CREATED,
            "labels": node_labels,
            "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                            "volumes.kubernetes.io/controller-managed-attach-detach": "true"},
        },
        "spec": spec,
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "InternalDNS", "address": name},
                {"type": "Hostname", "address": name},
            ],
            "allocatable": allocatable,
            "capacity": capacity,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "KubeletReady" if ready else "KubeletNotReady",
                    "message": "kubelet is posting ready status" if ready else "container runtime network not ready",
                    "lastHeartbeatTime": STARTED,
                    "lastTransitionTime": CREATED,
                }
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": uid_for("boot", None, name),
                "containerRuntimeVersion": "containerd://1.7.27",
                "kernelVersion": "6.1.134-152.225.amzn2023.x86_64",
                "kubeProxyVersion": kubelet_version,
                "kubeletVersion": kubelet_version,
                "machineID": hashlib.md5(name.encode()).hexdigest(),  # noqa: S324 - an id, not security
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.7.20250512",
                "systemUUID": uid_for("system", None, name),
            },
        },
    }


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# The chart's instance-type allow-list, limited to its GPU/ML entries, by the chart version that added
# them (efa-domain.md B.4, computed from the eks-charts git history; the real v0.5.30 list has 304
# entries, most of them CPU/HPC types, which EFA tests here do not need).
_ML_TYPES_BY_CHART: tuple[tuple[str, tuple[str, ...]], ...] = (
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
_REMOVED_BY_CHART = {"dl1.24xlarge": "v0.5.30"}  # efa-domain.md B.4: v0.5.30 removed dl1.24xlarge


def chart_ml_instance_types(version: str) -> list[str]:
    """The GPU/ML instance types a chart version's nodeAffinity allows (efa-domain.md B.4)."""
    wanted = _version_tuple(version)
    types = [t for added, group in _ML_TYPES_BY_CHART if _version_tuple(added) <= wanted for t in group]
    return [t for t in types if t not in _REMOVED_BY_CHART or wanted < _version_tuple(_REMOVED_BY_CHART[t])]


def _daemonset_status(desired: int, ready: int) -> Json:
    status: Json = {
        "currentNumberScheduled": desired,
        "desiredNumberScheduled": desired,
        "numberAvailable": ready,
        "numberMisscheduled": 0,
        "numberReady": ready,
        "observedGeneration": 1,
        "updatedNumberScheduled": desired,
    }
    if desired > ready:  # omitempty in the API: absent when every pod is available
        status["numberUnavailable"] = desired - ready
    return status


def _apply_pod_spec_defaults(spec: Json) -> Json:
    """The defaults the API server fills into every pod spec, so objects look as read back."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for container in spec.get("containers", []):
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")
    return spec


def _daemonset(name: str, namespace: str, labels: Mapping[str, str] | None, annotations: Mapping[str, str],
               pod_labels: Mapping[str, str], pod_spec: Json, desired: int, ready: int | None) -> Json:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": uid_for("DaemonSet", namespace, name),
            "generation": 1,
            "creationTimestamp": CREATED,
            **({"labels": dict(labels)} if labels else {}),
            "annotations": {"deprecated.daemonset.template.generation": "1", **annotations},
        },
        "spec": {
            "revisionHistoryLimit": 10,
            "selector": {"matchLabels": dict(pod_labels)},
            "template": {"metadata": {"labels": dict(pod_labels)}, "spec": _apply_pod_spec_defaults(pod_spec)},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
        },
        "status": _daemonset_status(desired, desired if ready is None else ready),
    }


def helm_fullname(release: str) -> str:
    """The chart's `fullname` helper: the release name if it contains the chart name (efa-domain.md B.2)."""
    return release if DEVICE_PLUGIN_CHART in release else f"{release}-{DEVICE_PLUGIN_CHART}"


# The Helm chart's DaemonSet as `helm install` creates it: efa-domain.md B.3 (hand-rendered v0.5.30 template)
# and the template changes by chart version in B.2/B.4: /dev/infiniband mount since v0.5.1, the Auto Mode
# exclusion since v0.5.6, automountServiceAccountToken: false since v0.5.11, privileged + neuron mount since
# v0.5.16. Tolerations are CriticalAddonsOnly followed by `tolerations` (the chart's values.tolerations).
def device_plugin_daemonset_helm(
    version: str = "v0.5.30",
    app_version: str = "v0.5.20",
    instance_types: Sequence[str] | None = None,
    tolerations: Iterable[Mapping[str, Any]] = (),
    namespace: str = "kube-system",
    release: str = "aws-efa-k8s-device-plugin",
    desired: int = 1,
    ready: int | None = None,
) -> Json:
    chart = _version_tuple(version)
    fullname = helm_fullname(release)
    expressions: list[Json] = [{
        "key": "node.kubernetes.io/instance-type",
        "operator": "In",
        "values": list(instance_types if instance_types is not None else chart_ml_instance_types(version)),
    }]
    if chart >= (0, 5, 6):
        expressions.append({"key": "eks.amazonaws.com/compute-type", "operator": "NotIn", "values": ["auto"]})
    mounts = [{"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"}]
    volumes: list[Json] = [
        {"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": ""}}]
    if chart >= (0, 5, 1):
        mounts.append({"name": "infiniband-volume", "mountPath": "/dev/infiniband/"})
        volumes.append({"name": "infiniband-volume", "hostPath": {"path": "/dev/infiniband/", "type": ""}})
    if chart >= (0, 5, 16):
        security: Json = {"allowPrivilegeEscalation": True, "privileged": True, "runAsNonRoot": False, "runAsUser": 0}
        mounts.append({"name": "neuron-tools", "mountPath": "/opt/aws/neuron/"})
        volumes.append({"name": "neuron-tools", "hostPath": {"path": "/opt/aws/neuron/", "type": "DirectoryOrCreate"}})
    else:
        security = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": False}
    pod_spec: Json = {
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"}, *map(dict, tolerations)],
        "priorityClassName": "system-node-critical",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": expressions}]}}},
        "hostNetwork": True,
        "containers": [{
            "image": f"{DEVICE_PLUGIN_IMAGE}:{app_version}",
            "name": DEVICE_PLUGIN_CHART,
            "securityContext": security,
            "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}},
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    }
    if chart >= (0, 5, 11):
        pod_spec["automountServiceAccountToken"] = False
    labels = {
        "helm.sh/chart": f"{DEVICE_PLUGIN_CHART}-{version}",
        "app.kubernetes.io/name": DEVICE_PLUGIN_CHART,
        "app.kubernetes.io/instance": release,
        "app.kubernetes.io/version": app_version,
        "app.kubernetes.io/managed-by": "Helm",
    }
    helm_annotations = {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}
    return _daemonset(fullname, namespace, labels, helm_annotations, {"name": fullname}, pod_spec, desired, ready)


# The aws-samples non-Helm manifest, image v0.5.0: sample 30
# (SOURCE: https://github.com/aws-samples/aws-efa-eks/blob/9d6557e1689b2dbb59c485d73fcf425833773077/
# manifest/efa-k8s-device-plugin.yml).
# Instance types copied verbatim from the sample; server-side defaults and status added.
_MANIFEST_V050_TYPES = """
m5dn.24xlarge m5dn.metal m5n.24xlarge m5n.metal m5zn.12xlarge m5zn.metal m6a.48xlarge m6a.metal m6i.32xlarge
m6i.metal m6id.32xlarge m6id.metal m6idn.32xlarge m6idn.metal m6in.32xlarge m6in.metal m7a.48xlarge
m7a.metal-48xl m7g.16xlarge m7g.metal m7gd.16xlarge m7i.48xlarge m7i.metal-48xl c5n.9xlarge c5n.18xlarge
c5n.metal c6a.48xlarge c6a.metal c6gn.16xlarge c6i.32xlarge c6i.metal c6id.32xlarge c6id.metal c6in.32xlarge
c6in.metal c7a.48xlarge c7a.metal-48xl c7g.16xlarge c7g.metal c7gd.16xlarge c7gn.16xlarge c7i.48xlarge
c7i.metal-48xl r5dn.24xlarge r5dn.metal r5n.24xlarge r5n.metal r6a.48xlarge r6a.metal r6i.32xlarge r6i.metal
r6idn.32xlarge r6idn.metal r6in.32xlarge r6in.metal r6id.32xlarge r6id.metal r7a.48xlarge r7a.metal-48xl
r7g.16xlarge r7g.metal r7gd.16xlarge r7i.48xlarge r7i.metal-48xl r7iz.32xlarge r7iz.metal-32xl x2idn.32xlarge
x2idn.metal x2iedn.32xlarge x2iedn.metal x2iezn.12xlarge x2iezn.metal i3en.12xlarge i3en.24xlarge i3en.metal
i4g.16xlarge i4i.32xlarge i4i.metal im4gn.16xlarge dl1.24xlarge dl2q.24xlarge g4dn.8xlarge g4dn.12xlarge
g4dn.16xlarge g4dn.metal g5.8xlarge g5.12xlarge g5.16xlarge g5.24xlarge g5.48xlarge inf1.24xlarge
p3dn.24xlarge p4d.24xlarge p4de.24xlarge p5.48xlarge trn1.32xlarge trn1n.32xlarge vt1.24xlarge hpc6a.48xlarge
hpc6id.32xlarge hpc7a.12xlarge hpc7a.24xlarge hpc7a.48xlarge hpc7a.96xlarge hpc7g.4xlarge hpc7g.8xlarge
hpc7g.16xlarge
""".split()


def device_plugin_daemonset_manifest_v050(desired: int = 1, ready: int | None = None) -> Json:
    pod_spec: Json = {
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "tolerations": [
            {"key": "CriticalAddonsOnly", "operator": "Exists"},
            {"key": "aws.amazon.com/efa", "operator": "Exists", "effect": "NoSchedule"},
        ],
        "priorityClassName": "system-node-critical",
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "node.kubernetes.io/instance-type", "operator": "In",
                                   "values": list(_MANIFEST_V050_TYPES)}]}]}}},
        "hostNetwork": True,
        "containers": [{
            "image": f"{DEVICE_PLUGIN_IMAGE}:v0.5.0",
            "name": DEVICE_PLUGIN_CHART,
            "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                "runAsNonRoot": False},
            "volumeMounts": [
                {"name": "device-plugin", "mountPath": "/var/lib/kubelet/device-plugins"},
                {"name": "infiniband-volume", "mountPath": "/dev/infiniband"},
            ],
            "resources": {"requests": {"cpu": "10m", "memory": "20Mi"}},
        }],
        "volumes": [
            {"name": "device-plugin", "hostPath": {"path": "/var/lib/kubelet/device-plugins", "type": ""}},
            {"name": "infiniband-volume", "hostPath": {"path": "/dev/infiniband", "type": ""}},
        ],
    }
    return _daemonset("aws-efa-k8s-device-plugin-daemonset", "kube-system", None, {},
                      {"name": DEVICE_PLUGIN_CHART}, pod_spec, desired, ready)


# The tolerations the DaemonSet controller adds to every daemon pod (kubernetes pkg/controller/daemon/util);
# they are on the pods, not on the DaemonSet template, which is what decides scheduling onto tainted nodes.
_DAEMON_POD_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"},
)


def _container_status(name: str, image: str, ready: bool, restarts: int, waiting_reason: str | None,
                      pod_name: str, namespace: str, phase: str) -> Json:
    finished = phase in ("Succeeded", "Failed")
    status: Json = {
        "name": name,
        "image": image,
        "imageID": f"{image.rsplit(':', 1)[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
        "ready": ready and not finished,
        "restartCount": restarts,
        "started": waiting_reason is None and not finished,
    }
    container_id = f"containerd://{hashlib.sha256((pod_name + name).encode()).hexdigest()}"
    if finished:
        status["containerID"] = container_id
        status["state"] = {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "containerID": container_id,
                                          "reason": "Completed" if phase == "Succeeded" else "Error",
                                          "startedAt": STARTED, "finishedAt": STARTED}}
    elif waiting_reason is None:
        status["containerID"] = container_id
        status["state"] = {"running": {"startedAt": STARTED}}
    elif waiting_reason == "CrashLoopBackOff":
        status["state"] = {"waiting": {"reason": waiting_reason, "message":
                                       f"back-off 5m0s restarting failed container={name} pod={pod_name}_{namespace}"
                                       f"({uid_for('Pod', namespace, pod_name)})"}}
    else:
        status["state"] = {"waiting": {"reason": waiting_reason}}
    if restarts:
        # sample 21: the plugin exits 0 ("Completed") when the node has no EFA device, then restarts
        status["lastState"] = {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": STARTED,
                                              "finishedAt": STARTED, "containerID": "containerd://" + "0" * 64}}
    else:
        status["lastState"] = {}
    return status


def _pod_status(phase: str, node_name: str | None, containers: Sequence[Json], ready: bool, restarts: int,
                waiting_reason: str | None, pod_name: str, namespace: str, qos: str,
                host_network: bool = False, pending_message: str = FAILED_SCHEDULING_EFA) -> Json:
    if not node_name:
        return {
            "phase": "Pending",
            "qosClass": qos,
            "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                            "message": pending_message,
                            "lastProbeTime": None, "lastTransitionTime": CREATED}],
        }
    host_ip = ip_for(node_name)
    pod_ip = host_ip if host_network else ip_for(pod_name + namespace)
    flag = "True" if ready else "False"
    return {
        "phase": phase,
        "qosClass": qos,
        "hostIP": host_ip,
        "hostIPs": [{"ip": host_ip}],
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": CREATED,
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": None,
             "lastTransitionTime": CREATED},
            {"type": "Initialized", "status": "True", "lastProbeTime": None, "lastTransitionTime": CREATED},
            {"type": "Ready", "status": flag, "lastProbeTime": None, "lastTransitionTime": STARTED},
            {"type": "ContainersReady", "status": flag, "lastProbeTime": None, "lastTransitionTime": STARTED},
            {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": CREATED},
        ],
        "containerStatuses": [
            _container_status(c["name"], c["image"], ready, restarts, waiting_reason, pod_name, namespace, phase)
            for c in containers
        ],
    }


def _qos_class(containers: Sequence[Json]) -> str:
    """Kubernetes QoS from cpu/memory: Guaranteed needs both set with requests == limits everywhere."""
    resources = [c.get("resources", {}) for c in containers]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits", {}), r.get("requests", {})
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


# A device-plugin pod as the DaemonSet controller creates it: name '<ds>-<5 chars>' (sample 20: 'aws-efa-k8s-
# device-plugin-daemonset-5xzrf', 'efa-aws-efa-k8s-device-plugin-4kh6j'), the template's labels and spec, a
# controller ownerReference, nodeAffinity pinned to the node, and the controller's extra tolerations.
# waiting_reason="CrashLoopBackOff" with restarts>0 is the no-device case of sample 21 (exit "Completed").
def device_plugin_pod(ds: Mapping[str, Any], node_name: str, phase: str = "Running", ready: bool = True,
                      restarts: int = 0, waiting_reason: str | None = None) -> Json:
    ds_meta = ds["metadata"]
    name = f"{ds_meta['name']}-{_suffix(ds_meta['name'] + node_name)}"
    namespace = ds_meta["namespace"]
    template = ds["spec"]["template"]
    spec = _deepcopy(template["spec"])
    spec["nodeName"] = node_name
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]}}}
    known = {(t.get("key"), t.get("effect")) for t in spec.get("tolerations", [])}
    spec["tolerations"] = spec.get("tolerations", []) + [
        dict(t) for t in _DAEMON_POD_TOLERATIONS if (t["key"], t["effect"]) not in known]
    spec.setdefault("enableServiceLinks", True)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    spec.setdefault("priority", 2000001000)  # the Priority admission plugin resolves system-node-critical
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", "default")
    if waiting_reason is not None:
        ready = False
    labels = dict(template["metadata"]["labels"])
    labels.update({"controller-revision-hash": _suffix(ds_meta["name"], 10), "pod-template-generation": "1"})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": f"{ds_meta['name']}-",
            "namespace": namespace,
            "uid": uid_for("Pod", namespace, name),
            "creationTimestamp": CREATED,
            "labels": labels,
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": ds_meta["name"],
                                 "uid": ds_meta["uid"], "controller": True, "blockOwnerDeletion": True}],
        },
        "spec": spec,
        "status": _pod_status(phase, node_name, spec["containers"], ready, restarts, waiting_reason, name,
                              namespace, _qos_class(spec["containers"]), host_network=True),
    }


# A training pod: the p5.48xlarge resource stanza and /dev/shm volume of sample 32 (SOURCE:
# https://github.com/aws-samples/awsome-distributed-training/blob/0162aacd5da07d424e13f44bef8dd2c4cfcc66e4/
# micro-benchmarks/nccl-tests/kubernetes/nccl-tests.yaml), requests == limits (efa-domain.md D.1).
# efa/gpus/hugepages=None drop that resource. node_name=None gives an unscheduled Pending pod (whatever
# `phase` says) with the PodScheduled=False condition carrying `pending_message`. The two tolerations
# the DefaultTolerationSeconds admission plugin adds are always present, followed by `tolerations`.
def workload_pod(
    name: str,
    namespace: str = "default",
    node_name: str | None = None,
    efa: int | None = 32,
    gpus: int | None = 8,
    hugepages: str | None = "5120Mi",
    env: Mapping[str, str] | None = None,
    phase: str = "Running",
    containers: Sequence[Mapping[str, Any]] | None = None,
    volumes: Sequence[Mapping[str, Any]] | None = None,
    owner: Mapping[str, Any] | None = None,
    tolerations: Iterable[Mapping[str, Any]] = (),
    image: str = "nccl-tests:latest",
    node_selector: Mapping[str, str] | None = None,
    capabilities: Sequence[str] = (),
    ready: bool | None = None,
    pending_message: str = FAILED_SCHEDULING_EFA,
) -> Json:
    if containers is None:
        amounts = {GPU_RESOURCE: gpus, "hugepages-2Mi": hugepages, EFA_RESOURCE: efa, "memory": "32000Mi"}
        # the API server returns every quantity as a string ("32"), whatever the manifest said (32)
        quantities = {k: str(v) for k, v in amounts.items() if v is not None}
        container: Json = {
            "name": "nccl-tests-worker",
            "image": image,
            "volumeMounts": [{"name": "shmem", "mountPath": "/dev/shm"}],
            "resources": {"limits": dict(quantities), "requests": dict(quantities)},
        }
        if env:
            container["env"] = [{"name": k, "value": v} for k, v in env.items()]
        if capabilities:
            container["securityContext"] = {"capabilities": {"add": list(capabilities)}}
        containers = [container]
        if volumes is None:
            volumes = [{"name": "shmem", "hostPath": {"path": "/dev/shm", "type": ""}}]
    spec: Json = {
        "containers": [_deepcopy(dict(c)) for c in containers],
        "volumes": [_deepcopy(dict(v)) for v in volumes or []],
        "nodeSelector": dict(node_selector if node_selector is not None
                             else {"node.kubernetes.io/instance-type": "p5.48xlarge"}),
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            *map(dict, tolerations),
        ],
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "serviceAccount": "default",
        "serviceAccountName": "default",
    }
    if not spec["volumes"]:
        del spec["volumes"]
    if not spec["nodeSelector"]:
        del spec["nodeSelector"]
    if node_name:
        spec["nodeName"] = node_name
    _apply_pod_spec_defaults(spec)
    metadata: Json = {"name": name, "namespace": namespace, "uid": uid_for("Pod", namespace, name),
                      "creationTimestamp": CREATED, "labels": {"app": name.rsplit("-", 1)[0]}}
    if owner is not None:
        reference = {"apiVersion": "v1", "controller": True, "blockOwnerDeletion": True, **owner}
        reference.setdefault("uid", uid_for(reference["kind"], namespace, reference["name"]))
        metadata["ownerReferences"] = [reference]
    running = phase == "Running"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": spec,
        "status": _pod_status(phase, node_name, spec["containers"], running if ready is None else ready, 0,
                              None if running or phase != "Pending" else "ContainerCreating", name, namespace,
                              _qos_class(spec["containers"]), pending_message=pending_message),
    }


# A core/v1 Event about a pod, as `kubectl get events -o json` shows it; default message is the
# FailedScheduling text for missing EFA capacity (efa-domain.md A.1 #4).
def event(involved_pod: Mapping[str, Any], reason: str = "FailedScheduling", message: str = FAILED_SCHEDULING_EFA,
          type: str = "Warning", count: int = 1, component: str | None = None) -> Json:  # noqa: A002 - the API field
    meta = involved_pod["metadata"]
    namespace = meta.get("namespace", "default")
    component = component or ("default-scheduler" if reason == "FailedScheduling" else "kubelet")
    name = f"{meta['name']}.{hashlib.sha256((meta['name'] + reason + message).encode()).hexdigest()[:16]}"
    source: Json = {"component": component}
    if component == "kubelet" and involved_pod.get("spec", {}).get("nodeName"):
        source["host"] = involved_pod["spec"]["nodeName"]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": namespace, "uid": uid_for("Event", namespace, name),
                     "creationTimestamp": STARTED},
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "namespace": namespace,
                           "uid": meta.get("uid", uid_for("Pod", namespace, meta["name"]))},
        "reason": reason,
        "message": message,
        "type": type,
        "count": count,
        "firstTimestamp": STARTED,
        "lastTimestamp": STARTED,
        "source": source,
        "reportingComponent": component,
        "reportingInstance": "",
    }


# A resource.k8s.io/v1 ResourceSlice published by a DRA driver for one node (efa-domain.md D.3: the DRA
# path is the alternative to the vpc.amazonaws.com/efa extended resource). `devices` are names or full
# Device dicts. Needs the 1.34 schema for validation (resource.k8s.io/v1 is GA from 1.34).
def resource_slice(node_name: str, driver: str, devices: Iterable[str | Mapping[str, Any]]) -> Json:
    name = f"{node_name}-{driver.replace('.', '-')}-{_suffix(node_name + driver)}"
    return {
        "apiVersion": "resource.k8s.io/v1",
        "kind": "ResourceSlice",
        "metadata": {
            "name": name,
            "generateName": f"{node_name}-{driver.replace('.', '-')}-",
            "uid": uid_for("ResourceSlice", None, name),
            "creationTimestamp": CREATED,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": node_name,
                                 "uid": uid_for("Node", None, node_name), "controller": True}],
        },
        "spec": {
            "driver": driver,
            "nodeName": node_name,
            "pool": {"name": node_name, "generation": 1, "resourceSliceCount": 1},
            "devices": [{"name": d} if isinstance(d, str) else dict(d) for d in devices],
        },
    }


def _deepcopy(value: Any) -> Any:
    """A JSON-only deep copy: faster than copy.deepcopy for the many objects a big-cluster test builds."""
    if isinstance(value, dict):
        return {k: _deepcopy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deepcopy(v) for v in value]
    return value
