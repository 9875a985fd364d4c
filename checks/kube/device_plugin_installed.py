from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.kube._device_plugin_fixes import describe, install, label
from efadoctor.facts.device_plugin import AUTO_MODE, PLUGIN_NAME, DevicePluginDaemonSet
from efadoctor.facts.kube import NodeInfo
from efadoctor.facts.scheduling import blocking, is_condition_taint

SOURCE = "k8s: list daemonsets.apps (all namespaces)"


@check(
    id="K8S003",
    title="An EFA device plugin DaemonSet is installed",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    # a node that gets EFA from a DRA driver needs no device plugin; "installed but on no node" is explained
    # by the taint or allow-list mismatch when those checks see it on the node at hand
    caused_by=("K8S008", "K8S004", "K8S005"),
)
def device_plugin_installed(device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...], node: NodeInfo | None = None):
    """
    ## Why it matters
    Nothing on a node advertises `vpc.amazonaws.com/efa` until the EFA device
    plugin runs there: the EKS-optimized accelerated AMIs and Bottlerocket
    ship the EFA host driver but not the plugin, which is installed as the
    Helm chart `eks/aws-efa-k8s-device-plugin` (or an older plain manifest).
    Without it every pod that requests EFA stays Pending (`Insufficient
    vpc.amazonaws.com/efa`), and a pod that drops the request to get scheduled
    sees `fi_getinfo: -61`. efadoctor finds the plugin by what it runs (an
    image or container named `aws-efa-k8s-device-plugin`), in any namespace.
    EKS Auto Mode nodes are the exception: Auto Mode provides EFA support
    itself and the chart excludes those nodes on purpose.

    ## Fix
    Install the chart (EKS user guide), with tolerations for the taints of
    your EFA nodes: the chart tolerates only `CriticalAddonsOnly` by default.
    `helm repo add eks https://aws.github.io/eks-charts` then
    `helm install aws-efa-k8s-device-plugin --namespace kube-system eks/aws-efa-k8s-device-plugin`.
    """
    if not device_plugin_daemonsets:
        evidence = [(SOURCE, f"no DaemonSet runs an image or container named {PLUGIN_NAME}")]
        if node is not None and node.compute_type == AUTO_MODE:
            return skipped(
                f"no EFA device plugin DaemonSet, and node {node.name} is an EKS Auto Mode node: Auto Mode provides EFA "
                "support itself (the chart excludes Auto Mode nodes by design since v0.5.6)",
                evidence=evidence,
            )
        # the chart itself tolerates CriticalAddonsOnly; condition taints (not ready, cordoned) are not to be tolerated
        taints = [t for t in blocking(node.taints) if not is_condition_taint(t) and t.key != "CriticalAddonsOnly"] if node else []
        where = ""
        if node is not None and taints:
            evidence.append(("k8s: Node spec.taints", f"{node.name}: {', '.join(map(str, taints))}"))
            where = f" (tolerating the taints of node {node.name})"
        return failed(
            "the EFA device plugin is not installed in the cluster: no node can advertise vpc.amazonaws.com/efa",
            fix=f"Install the aws-efa-k8s-device-plugin Helm chart{where}:",
            commands=install(taints),
            evidence=evidence,
        )
    evidence = [
        (SOURCE, f"{label(ds)}: image {ds.image}, desired {ds.desired}, ready {ds.ready}") for ds in device_plugin_daemonsets
    ]
    names = ", ".join(label(ds) for ds in device_plugin_daemonsets)
    auto = node is not None and node.compute_type == AUTO_MODE and all(ds.excludes_auto_mode for ds in device_plugin_daemonsets)
    if all(ds.desired == 0 for ds in device_plugin_daemonsets) and not auto:
        return warned(
            f"the EFA device plugin is installed ({names}) but runs on no node (desired 0), so it advertises vpc.amazonaws.com/efa nowhere",
            fix="Its tolerations or nodeAffinity exclude every node; compare them with the taints and instance types of your EFA "
            "nodes (`efadoctor run --node NODE` names the exact mismatch):",
            commands=[describe(ds) for ds in device_plugin_daemonsets]
            + ["kubectl get nodes -o custom-columns='NAME:.metadata.name,TYPE:.metadata.labels.node\\.kubernetes\\.io/instance-type,"
               "TAINTS:.spec.taints[*].key'"],
            evidence=evidence,
        )
    return passed(f"the EFA device plugin is installed: {names}", evidence=evidence)
