import json
import shlex

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.kube._device_plugin_fixes import REPO_ADD, describe, helm_release_args, label, upgrade_chart
from efadoctor.facts.device_plugin import (
    AUTO_MODE,
    CHART_REF,
    LATEST_KNOWN_CHART,
    DevicePluginDaemonSet,
    chart_first_listing,
    chart_predates,
    for_node,
)
from efadoctor.facts.kube import NodeInfo
from efadoctor.facts.scheduling import efa_candidates
from efadoctor.instance_types import lookup

AFFINITY = "k8s: DaemonSet spec.template.spec.affinity.nodeAffinity"
LABELS = "k8s: Node metadata.labels"


@check(
    id="K8S005",
    title="The EFA device plugin's node affinity admits the node",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    caused_by=("K8S008", "AWS001"),  # a type without EFA is rightly left out: the instance type is the cause
)
def device_plugin_affinity_admits_node(
    device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...],
    node: NodeInfo | None = None,
    candidate_nodes: tuple[NodeInfo, ...] | None = None,
):
    """
    ## Why it matters
    The chart pins its pods with a required nodeAffinity: the node's
    `node.kubernetes.io/instance-type` must be in a hard-coded allow-list
    (`supportedInstanceLabels.values`). The list lagged new instance types:
    g6/g6e/p5e arrived in chart v0.5.5, p5en in v0.5.6, trn2 in v0.5.7,
    p6-b200 in v0.5.9, p6e-gb200 in v0.5.14, p6-b300/g7e/p5.4xlarge in v0.5.23,
    g7 in v0.5.30. With an older chart the plugin is silently not scheduled on
    such a node, which then advertises no `vpc.amazonaws.com/efa`. Since chart
    v0.5.6 the affinity also says `eks.amazonaws.com/compute-type NotIn
    [auto]`: EKS Auto Mode nodes are excluded on purpose, because Auto Mode
    brings its own EFA support; that is not a fault.

    ## Fix
    Upgrade the chart to a version that lists the instance type
    (`helm repo update eks` then `helm upgrade --install RELEASE
    eks/aws-efa-k8s-device-plugin -n NS --reuse-values`), or add the type to
    `supportedInstanceLabels.values`. For a plain manifest, add the type to
    the DaemonSet's instance-type list.
    """
    if not device_plugin_daemonsets:
        return skipped("no EFA device plugin DaemonSet to judge (K8S003)")
    if node is not None:
        return _one_node(device_plugin_daemonsets, node)
    nodes = efa_candidates(candidate_nodes or ())
    if not nodes:
        return skipped("no node to judge: no target node, and no EFA-capable node matches the pod's nodeSelector")
    admitted = [n for n in nodes if any(ds.admits(n).admitted for ds in device_plugin_daemonsets)]
    evidence = [(LABELS, f"{n.name}: instance-type {n.instance_type}, compute-type {n.compute_type or '(none)'}") for n in nodes[:5]]
    if admitted:
        return passed(
            f"the EFA device plugin's node affinity admits {len(admitted)} of the {len(nodes)} EFA-capable node(s) the pod may use",
            evidence=evidence,
        )
    return _one_node(device_plugin_daemonsets, nodes[0], of_many=len(nodes))


def _one_node(daemonsets: tuple[DevicePluginDaemonSet, ...], node: NodeInfo, of_many: int = 0):
    ordered = for_node(daemonsets, node)
    ds = ordered[0]
    admission = ds.admits(node)
    evidence = [(LABELS, f"{node.name}: node.kubernetes.io/instance-type={node.instance_type or '(none)'}, "
                         f"eks.amazonaws.com/compute-type={node.compute_type or '(none)'}")]
    for each in ordered:
        listed = each.node_affinity_instance_types
        shown = f"instance-type In [{len(listed)} types]" if listed is not None else "no instance-type list"
        evidence.append((AFFINITY, f"{label(each)}: {shown}" + (", compute-type NotIn [auto]" if each.excludes_auto_mode else "")))
    if admission.admitted:
        return passed(f"the EFA device plugin {label(ds)} is allowed on node {node.name} ({node.instance_type})", evidence=evidence)
    if node.compute_type == AUTO_MODE and all(d.admits(node).auto_mode_excluded for d in ordered):
        return skipped(
            f"node {node.name} is an EKS Auto Mode node: the device plugin chart excludes Auto Mode nodes by design since "
            f"v0.5.6 (eks.amazonaws.com/compute-type NotIn [auto]); Auto Mode provides EFA support itself, so this is not a fault",
            evidence=evidence,
        )
    info = lookup(node.instance_type) if node.instance_type else None
    if info is not None and not info.efa_supported:
        return skipped(
            f"{node.instance_type} has no EFA at all, so the plugin's allow-list rightly leaves node {node.name} out (AWS001)",
            evidence=evidence,
        )
    scope = f"none of the {of_many} EFA-capable node(s) the pod may use; for example " if of_many else ""
    if admission.instance_type_listed is False:
        return _type_not_listed(ds, node, scope, evidence)
    unmet = "; ".join(admission.unmet)
    commands = [describe(ds)]
    for key, value in ds.node_selector.items():
        if node.labels.get(key) != value:
            commands.append(f"kubectl label node {node.name} {key}={value}  # or drop nodeSelector {key} from {ds.ref}")
    return failed(
        f"the EFA device plugin {label(ds)} is not allowed on {scope}node {node.name}: unmet {unmet}",
        fix=f"Make node {node.name} meet the DaemonSet's nodeSelector/nodeAffinity, or relax them in {ds.ref}:",
        commands=commands,
        evidence=evidence,
    )


def _type_not_listed(ds: DevicePluginDaemonSet, node: NodeInfo, scope: str, evidence: list):
    instance_type = node.instance_type or "(none)"
    first = chart_first_listing(node.instance_type)
    summary = f"{instance_type} is missing from the instance-type allow-list of the EFA device plugin {label(ds)}: its pod is not scheduled on {scope}node {node.name}"
    if chart_predates(ds, node.instance_type):
        return failed(
            f"{summary} (chart {ds.chart_version} predates {instance_type}, which the chart lists since {first})",
            fix=f"Upgrade release {ds.helm_release} to chart {first} or later (the newest known here is {LATEST_KNOWN_CHART}); "
            "--reuse-values keeps your own values:",
            commands=[REPO_ADD, *upgrade_chart(ds)],
            evidence=evidence,
        )
    if ds.helm_managed:
        why = (
            f"chart {ds.chart_version} lists {instance_type} by default (since {first}), so the release sets its own supportedInstanceLabels.values"
            if first
            else f"efadoctor knows no chart version (up to {LATEST_KNOWN_CHART}) that lists {instance_type}"
        )
        values = f"{ds.helm_release}-values.yaml"
        version = f" --version {ds.chart_version}" if ds.chart_version else ""
        # a list in values replaces the chart's whole list: a release that never set its own must start from the chart's
        seed = "" if first else f"; if it has none, copy the chart's list from `helm show values {CHART_REF}{version}` first"
        return failed(
            f"{summary} ({why})",
            fix=f"Add {instance_type} to supportedInstanceLabels.values of release {ds.helm_release}"
            + ("" if first else ", or upgrade the chart if a newer one lists it")
            + ":",
            commands=[
                f"helm get values {ds.helm_release} -n {ds.helm_namespace} -o yaml > {values}  # add {instance_type} under supportedInstanceLabels.values{seed}",
                f"helm upgrade --install {helm_release_args(ds)}{version} -f {values}",
            ],
            evidence=evidence,
        )
    position = ds.affinity_list_position()
    commands = [describe(ds)]
    if position is not None:
        term, expression = position
        path = (
            "/spec/template/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/"
            f"{term}/matchExpressions/{expression}/values/-"
        )
        patch = json.dumps([{"op": "add", "path": path, "value": instance_type}], separators=(",", ":"))
        commands = [f"kubectl -n {ds.namespace} patch daemonset {ds.name} --type json -p {shlex.quote(patch)}"]
    return failed(
        f"{summary} (a plain manifest, not the Helm chart)",
        fix=f"Add {instance_type} to the instance-type list of {ds.ref}, or replace the manifest by the Helm chart {CHART_REF}"
        + (f", which lists {instance_type} since {first}" if first else "")
        + ":",
        commands=commands,
        evidence=evidence,
    )
