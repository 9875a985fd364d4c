from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.kube._device_plugin_fixes import add_tolerations, label
from efadoctor.facts.device_plugin import AUTO_MODE, DevicePluginDaemonSet, chart_predates, for_node
from efadoctor.facts.kube import NodeInfo, Taint
from efadoctor.facts.scheduling import blocking, efa_candidates, is_condition_taint

TAINTS = "k8s: Node spec.taints"
TOLERATIONS = "k8s: DaemonSet spec.template.spec.tolerations"


def _tolerations(ds: DevicePluginDaemonSet) -> str:
    shown = [f"{t.key or '*'}{'=' + t.value if t.value else ''}:{t.effect or '*'} ({t.operator})" for t in ds.tolerations]
    return f"{ds.ref}: {', '.join(shown) or '(none)'}"


@check(
    id="K8S004",
    title="The EFA device plugin tolerates the node's taints",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    caused_by=("K8S008",),
)
def device_plugin_tolerates_node_taints(
    device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...],
    node: NodeInfo | None = None,
    candidate_nodes: tuple[NodeInfo, ...] | None = None,
):
    """
    ## Why it matters
    A DaemonSet's pod lands only on nodes whose `NoSchedule`/`NoExecute` taints
    it tolerates. The aws-efa-k8s-device-plugin chart tolerates exactly one
    taint, `CriticalAddonsOnly`, plus whatever `tolerations` you pass; the
    older aws-samples manifest adds `aws.amazon.com/efa`. GPU nodes are usually
    tainted (`nvidia.com/gpu:NoSchedule`, or a custom taint such as the
    `efa-workload=true:NoSchedule` of a popular runbook's NodePool), so the
    plugin never runs there, the node never advertises
    `vpc.amazonaws.com/efa`, and EFA pods stay Pending. Someone who then
    deletes the EFA request to get the pod scheduled gets `fi_getinfo: -61`.
    For a Pending pod, the nodes its nodeSelector allows are judged instead.

    ## Fix
    Give the plugin a toleration for each taint. For a Helm install use
    `helm upgrade --install RELEASE eks/aws-efa-k8s-device-plugin -n NS
    --reuse-values --set-string 'tolerations[0].key=...'`, repeating the
    tolerations the release already has (a `--set` list replaces the old one;
    `--set-string` keeps a value such as `true` a string, as a toleration
    needs); for a plain manifest, `kubectl patch daemonset`. The printed
    commands do exactly that.
    """
    if not device_plugin_daemonsets:
        return skipped("no EFA device plugin DaemonSet to judge (K8S003)")
    if node is not None:
        return _one_node(device_plugin_daemonsets, node)
    nodes = efa_candidates(candidate_nodes or ())
    if not nodes:
        return skipped("no node to judge: no target node, and no EFA-capable node matches the pod's nodeSelector")
    tolerated = [n for n in nodes if any(not ds.untolerated(n.taints) for ds in device_plugin_daemonsets)]
    ds = for_node(device_plugin_daemonsets, nodes[0])[0]
    evidence = [(TOLERATIONS, _tolerations(d)) for d in device_plugin_daemonsets]
    evidence += [(TAINTS, f"{n.name} ({n.instance_type}): {', '.join(map(str, blocking(n.taints))) or '(none)'}") for n in nodes[:5]]
    if tolerated:
        return passed(
            f"the EFA device plugin tolerates the taints of {len(tolerated)} of the {len(nodes)} EFA-capable node(s) the pod may use",
            evidence=evidence,
        )
    missing: dict[Taint, None] = {}
    for n in nodes:
        for taint in ds.untolerated(n.taints):
            missing.setdefault(taint, None)
    fixable = [t for t in missing if not is_condition_taint(t)]
    return failed(
        f"the EFA device plugin {label(ds)} tolerates none of the {len(nodes)} EFA-capable node(s) the pod may use "
        f"(untolerated: {', '.join(map(str, missing))}): it runs on none of them, so none advertises vpc.amazonaws.com/efa",
        fix=f"Make {ds.ref} tolerate the taint(s) {', '.join(map(str, fixable or missing))}:",
        commands=add_tolerations(ds, fixable or list(missing), keep_chart=not chart_predates(ds, nodes[0].instance_type)),
        evidence=evidence,
    )


def _one_node(daemonsets: tuple[DevicePluginDaemonSet, ...], node: NodeInfo):
    ordered = for_node(daemonsets, node)
    taints = blocking(node.taints)
    evidence = [(TAINTS, f"{node.name}: {', '.join(map(str, node.taints)) or '(no taints)'}")]
    evidence += [(TOLERATIONS, _tolerations(ds)) for ds in ordered]
    if node.compute_type == AUTO_MODE and all(ds.excludes_auto_mode for ds in ordered):
        return skipped(
            f"node {node.name} is an EKS Auto Mode node: the device plugin chart excludes Auto Mode nodes by design "
            "(since v0.5.6), so its tolerations do not matter here",
            evidence=evidence,
        )
    for ds in ordered:
        if not ds.untolerated(node.taints):
            if not taints:
                return passed(f"node {node.name} has no NoSchedule/NoExecute taint that could keep the EFA device plugin off", evidence=evidence)
            return passed(f"the EFA device plugin {label(ds)} tolerates all {len(taints)} NoSchedule/NoExecute taint(s) of node {node.name}", evidence=evidence)
    ds = ordered[0]
    missing = ds.untolerated(node.taints)
    fixable = [t for t in missing if not is_condition_taint(t)]
    conditions = [t for t in missing if is_condition_taint(t)]
    summary = (
        f"the EFA device plugin {label(ds)} does not tolerate taint(s) {', '.join(map(str, missing))} of node {node.name} "
        f"({node.instance_type or 'unknown type'}): its pod is not scheduled there, so the node advertises no vpc.amazonaws.com/efa"
    )
    if not fixable:
        return failed(
            summary,
            fix=f"{', '.join(map(str, conditions))} is a condition taint Kubernetes sets itself (the node is not ready, "
            "cordoned or being drained): fix the node's condition rather than tolerating it.",
            commands=[f"kubectl describe node {node.name}"],
            evidence=evidence,
        )
    upgrade = chart_predates(ds, node.instance_type)
    keeps = " and its chart version" if ds.chart_version and not upgrade else ""
    also = f"; its chart must also move to {upgrade} or later for {node.instance_type} (K8S005)" if upgrade else ""
    return failed(
        summary,
        fix=f"Make {ds.ref} tolerate {', '.join(map(str, fixable))} (the commands keep its current tolerations{keeps}){also}:",
        commands=add_tolerations(ds, fixable, keep_chart=not upgrade),
        evidence=evidence,
    )
