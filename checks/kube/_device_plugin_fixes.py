"""Exact fix commands for the EFA device plugin, shared by the K8S checks (no check lives here).

Why one place: a Helm install must be changed through Helm (a `kubectl patch` is undone by the next
`helm upgrade`), and a Helm `--set` on a list replaces the whole list, even with `--reuse-values`
(Helm coalesces maps, not lists). So adding a toleration means repeating the tolerations the release
already has, in order, and then the new ones; `--version` keeps the chart where it is, so the fix
changes tolerations and nothing else. A non-Helm install (the aws-samples manifest) is patched in place.
"""

from __future__ import annotations

import json
import shlex
from typing import Iterable, Sequence

from efadoctor.facts.device_plugin import CHART_REF, CHART_REPO_URL, DEFAULT_NAMESPACE, DEFAULT_RELEASE, DevicePluginDaemonSet
from efadoctor.facts.kube import Taint
from efadoctor.facts.scheduling import toleration_dict, toleration_for

REPO_ADD = f"helm repo add eks {CHART_REPO_URL}  # once per machine; then: helm repo update eks"


def _set_args(entries: Sequence[dict[str, str]]) -> list[str]:
    """--set-string, not --set: Helm's --set turns `true` or `1` into a boolean or a number, and the API
    server rejects a toleration whose value is not a string (the seed's taint is efa-workload=true)."""
    args = []
    for index, entry in enumerate(entries):
        for field in ("key", "operator", "value", "effect"):
            if field in entry:
                args.append("--set-string " + shlex.quote(f"tolerations[{index}].{field}={entry[field]}"))
    return args


def helm_release_args(ds: DevicePluginDaemonSet) -> str:
    return f"{ds.helm_release or DEFAULT_RELEASE} {CHART_REF} -n {ds.helm_namespace}"


def add_tolerations(ds: DevicePluginDaemonSet, taints: Iterable[Taint], *, keep_chart: bool = True) -> list[str]:
    """Commands that make this DaemonSet tolerate `taints` (keeping the tolerations it has).

    keep_chart=False when the chart must be upgraded anyway (K8S005): pinning the old version here
    would undo that upgrade.
    """
    new = [toleration_for(t) for t in taints]
    if ds.helm_managed:
        keep = [toleration_dict(t) for t in ds.values_tolerations]
        version = f" --version {ds.chart_version}" if ds.chart_version and keep_chart else ""
        command = f"helm upgrade --install {helm_release_args(ds)} --reuse-values{version} " + " ".join(_set_args(keep + new))
        return [REPO_ADD, command]
    if ds.tolerations:
        patch = [{"op": "add", "path": "/spec/template/spec/tolerations/-", "value": entry} for entry in new]
    else:
        patch = [{"op": "add", "path": "/spec/template/spec/tolerations", "value": new}]
    return [f"kubectl -n {ds.namespace} patch daemonset {ds.name} --type json -p {shlex.quote(json.dumps(patch, separators=(',', ':')))}"]


def install(taints: Iterable[Taint] = ()) -> list[str]:
    """The EKS user guide's install, with tolerations for the target node's taints when it has any."""
    sets = _set_args([toleration_for(t) for t in taints])
    return [REPO_ADD, f"helm install {DEFAULT_RELEASE} --namespace {DEFAULT_NAMESPACE} {CHART_REF}" + "".join(" " + s for s in sets)]


def upgrade_chart(ds: DevicePluginDaemonSet) -> list[str]:
    """Move a Helm release to the newest chart in the repository, keeping the values the user set."""
    return ["helm repo update eks", f"helm upgrade --install {helm_release_args(ds)} --reuse-values"]


def describe(ds: DevicePluginDaemonSet) -> str:
    return f"kubectl -n {ds.namespace} describe daemonset {ds.name}"


def label(ds: DevicePluginDaemonSet) -> str:
    """How a summary names it: namespace/name and its versions."""
    versions = [f"plugin {ds.version}" if ds.version else "plugin version unknown"]
    if ds.chart_version:
        versions.append(f"chart {ds.chart_version}")
    return f"{ds.ref} ({', '.join(versions)})"
