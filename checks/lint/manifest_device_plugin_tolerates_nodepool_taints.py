from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, place, toleration_yaml
from efadoctor.checks.lint._karpenter import (
    PlacedTaint,
    PlacedToleration,
    blocking,
    efa_intent,
    nodeclasses,
    nodepools,
    tolerations_from,
    untolerated,
)
from efadoctor.facts.device_plugin import CHART_REF, DEFAULT_RELEASE
from efadoctor.facts.scheduling import toleration_for

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import Document, LoadResult

BUILT_IN = {"key": "CriticalAddonsOnly", "operator": "Exists"}  # the chart template's only hard-coded toleration


@dataclass(frozen=True)
class Plugin:
    """The device plugin as the input describes it: a DaemonSet (Helm-rendered or not) or a Helm values file."""

    doc: Document
    kind: str  # "helm-daemonset" | "daemonset" | "values"
    tolerations: list[PlacedToleration]  # what the plugin pod ends up with
    values_tolerations: list[dict[str, Any]]  # what the chart's `tolerations` value holds (Helm only)
    line: int
    release: str
    namespace: str

    @property
    def label(self) -> str:
        if self.kind == "values":
            return f"Helm values file {self.doc.source}"
        where = self.doc.namespace or "namespace not set, kube-system assumed"
        return f"DaemonSet {self.doc.name} ({where})"


def _plugins(manifests: LoadResult) -> list[Plugin]:
    from efadoctor.parsers.manifests import (
        find_pod_specs,
        is_efa_device_plugin_daemonset,
        line_of,
        looks_like_device_plugin_values,
    )

    found = []
    for doc in manifests.documents:
        if is_efa_device_plugin_daemonset(doc):
            spec = find_pod_specs(doc)[0].spec
            metadata = doc.body.get("metadata") if isinstance(doc.body.get("metadata"), dict) else {}
            labels = metadata.get("labels") if isinstance(metadata.get("labels"), dict) else {}
            helm = labels.get("app.kubernetes.io/managed-by") == "Helm" or "helm.sh/chart" in labels
            raw = spec.get("tolerations") if isinstance(spec.get("tolerations"), list) else []
            values = [dict(t) for t in raw if isinstance(t, dict)]
            if helm and values and {k: values[0].get(k) for k in BUILT_IN} == BUILT_IN:
                values = values[1:]
            found.append(
                Plugin(
                    doc=doc,
                    kind="helm-daemonset" if helm else "daemonset",
                    tolerations=tolerations_from(raw),
                    values_tolerations=values,
                    line=line_of(spec, "tolerations") or find_pod_specs(doc)[0].line,
                    release=str(labels.get("app.kubernetes.io/instance") or DEFAULT_RELEASE),
                    namespace=doc.namespace or "kube-system",
                )
            )
        elif looks_like_device_plugin_values(doc):
            raw = doc.body.get("tolerations") if isinstance(doc.body.get("tolerations"), list) else []
            found.append(
                Plugin(
                    doc=doc,
                    kind="values",
                    tolerations=tolerations_from([BUILT_IN, *raw]),
                    values_tolerations=[dict(t) for t in raw if isinstance(t, dict)],
                    line=line_of(doc.body, "tolerations") or doc.line,
                    release=DEFAULT_RELEASE,
                    namespace="kube-system",
                )
            )
    return found


def helm_command(plugin: Plugin, missing: list[PlacedTaint]) -> str:
    """`helm upgrade --install ... --reuse-values` restating every toleration.

    A list given with --set replaces the whole list (Helm does not merge lists), so the existing
    entries are restated before the new ones; --set-string keeps a value such as "true" a string.
    """
    entries = [*plugin.values_tolerations, *(toleration_for(t.taint) for t in missing)]
    args = []
    for index, entry in enumerate(entries):
        for field in ("key", "operator", "value", "effect"):
            if entry.get(field) is not None:
                args.append("--set-string " + shlex.quote(f"tolerations[{index}].{field}={entry[field]}"))
        if isinstance(entry.get("tolerationSeconds"), int):
            args.append("--set " + shlex.quote(f"tolerations[{index}].tolerationSeconds={entry['tolerationSeconds']}"))
    return f"helm upgrade --install {plugin.release} {CHART_REF} -n {plugin.namespace} --reuse-values " + " ".join(args)


def kubectl_command(plugin: Plugin, missing: list[PlacedTaint]) -> str:
    new = [toleration_for(t.taint) for t in missing]
    if plugin.tolerations:
        patch = [{"op": "add", "path": "/spec/template/spec/tolerations/-", "value": item} for item in new]
    else:
        patch = [{"op": "add", "path": "/spec/template/spec/tolerations", "value": new}]
    body = json.dumps(patch, separators=(",", ":"))
    return f"kubectl -n {plugin.namespace} patch daemonset {plugin.doc.name} --type=json -p {shlex.quote(body)}"


@check(
    id="LINT012",
    title="The EFA device plugin tolerates the taints of the EFA NodePools",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING,),
    targets=("manifests",),
)
def manifest_device_plugin_tolerates_nodepool_taints(manifests: LoadResult):
    """
    ## Why it matters
    The `aws-efa-k8s-device-plugin` chart's only built-in toleration is
    `CriticalAddonsOnly` (its `tolerations` value is empty by default, in
    every chart version), and the older aws-samples manifest adds only
    `aws.amazon.com/efa`. On a node with any other NoSchedule taint (the
    runbook's `efa-workload=true`, or `nvidia.com/gpu`) the plugin pod is
    never scheduled, so the node never advertises `vpc.amazonaws.com/efa` and
    every pod that requests EFA stays Pending ("Insufficient
    vpc.amazonaws.com/efa"). efadoctor compares the plugin's tolerations (its
    DaemonSet, or the chart values file) with the taints of the NodePools in
    the same input that are meant for EFA.

    ## Fix
    Add the NodePool's taints to the plugin's tolerations. With Helm, restate
    the whole `tolerations` list (Helm replaces lists given with `--set`) and
    use `--set-string` so that a value such as `true` stays a string:
    `helm upgrade --install aws-efa-k8s-device-plugin
    eks/aws-efa-k8s-device-plugin -n kube-system --reuse-values --set-string
    'tolerations[0].key=efa-workload' ...`.
    """
    classes = nodeclasses(manifests)
    pools = [p for p in nodepools(manifests) if blocking(p.taints) and efa_intent(p, classes)]
    plugins = _plugins(manifests)
    if not plugins:
        return skipped("no EFA device plugin DaemonSet or Helm values file in the input")
    if not pools:
        return skipped("no tainted NodePool meant for EFA in the input")
    evidence, snippets, commands = [], [], []
    for plugin in plugins:
        missing: list[PlacedTaint] = []
        for pool in pools:
            missing.extend(t for t in untolerated(pool.taints, plugin.tolerations) if all(t.taint != m.taint for m in missing))
        if not missing:
            continue
        have = ", ".join(f"{p.toleration.key or '*'}:{p.toleration.operator}" for p in plugin.tolerations) or "none"
        taints = ", ".join(str(m.taint) for m in missing)
        detail = f"{plugin.label} tolerates only {have}: no plugin pod on nodes tainted {taints}"
        evidence.append((at(plugin.doc.source, plugin.line), detail))
        for pool in pools:
            for taint in untolerated(pool.taints, plugin.tolerations):
                evidence.append((at(pool.doc.source, taint.line), f"NodePool {pool.name} taint {taint.taint}"))
        added = [toleration_for(m.taint) for m in missing]
        if plugin.kind == "values":
            listed = "\n".join(toleration_yaml(t) for t in [*plugin.values_tolerations, *added])
            snippets.append(f"# {place(plugin.doc.source, plugin.line)} {plugin.label}:\ntolerations:\n{listed}")
        else:
            listed = "\n".join(toleration_yaml(t) for t in added)
            where = f"# {place(plugin.doc.source, plugin.line)} {plugin.label}: add to spec.template.spec.tolerations"
            snippets.append(f"{where}\n{listed}")
        commands.append(kubectl_command(plugin, missing) if plugin.kind == "daemonset" else helm_command(plugin, missing))
    if not snippets:
        return passed(f"{len(plugins)} device plugin definition(s) tolerate the taints of {len(pools)} EFA NodePool(s)")
    return failed(
        f"the EFA device plugin will not run on the EFA nodes: {evidence[0][1]}",
        fix=fix_text("Add the NodePool taints to the device plugin's tolerations:", snippets),
        commands=commands,
        evidence=evidence,
    )

