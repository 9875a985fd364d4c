from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.kube._device_plugin_fixes import REPO_ADD, label, upgrade_chart
from efadoctor.facts.aws import INTERFACE_TYPES_SOURCE, InstanceInfo
from efadoctor.facts.device_plugin import P6_B200_MISCOUNT_FIXED, DevicePluginDaemonSet, for_node, image_repository
from efadoctor.facts.kube import EFA_RESOURCE, NodeInfo
from efadoctor.instance_types import family_of, lookup

ALLOCATABLE = "k8s: Node status.allocatable"
CURRENT_IMAGE_TAG = "v0.5.20"  # the plugin image of chart v0.5.30 (efa-domain.md B.1)


@check(
    id="K8S007",
    title="The node advertises as many EFA devices as EC2 attached",
    layer=Layer.NODE,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING, Symptom.ENODATA, Symptom.DEGRADED),
    caused_by=("K8S003", "K8S004", "K8S005", "K8S006", "K8S008"),
)
def node_efa_count_matches_ec2(
    node: NodeInfo,
    device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...] = (),
    ec2_instance: InstanceInfo | None = None,
):
    """
    ## Why it matters
    The device plugin registers one `vpc.amazonaws.com/efa` per EFA device it
    finds, so the node's allocatable count should equal the number of `efa`
    and `efa-only` interfaces EC2 reports for the instance. 0 against N means
    the plugin is not running there or finds no device (pods requesting EFA
    stay Pending). Fewer than N means devices are missing from the node.
    More than N is the known plugin bug on p6-b200.48xlarge: it counted the
    two NVLink `ibp*` InfiniBand devices as EFA and advertised 10 instead of
    8, so pods requesting 10 got non-EFA devices; plugin image v0.5.10 fixed
    it.

    ## Fix
    0 or fewer: see the device plugin checks (K8S003 to K8S006) and restart
    the plugin pod once the cause is fixed. More: upgrade the plugin (Helm:
    `helm upgrade --install RELEASE eks/aws-efa-k8s-device-plugin -n NS
    --reuse-values` after `helm repo update eks`).
    """
    if not node.instance_id:
        return skipped(f"node {node.name} is not an EC2 instance (K8S001)")
    raw = node.allocatable.get(EFA_RESOURCE)
    advertised = node.allocatable_count(EFA_RESOURCE) or 0
    evidence = [(ALLOCATABLE, f"{node.name}: {EFA_RESOURCE}={raw if raw is not None else '(absent)'}")]
    ordered = for_node(device_plugin_daemonsets, node) if device_plugin_daemonsets else ()
    ds = ordered[0] if ordered else None
    if ds is not None:
        evidence.append(("k8s: DaemonSet spec.template.spec.containers[].image", f"{ds.ref}: {ds.image}"))
    if ec2_instance is None:
        info = lookup(node.instance_type) if node.instance_type else None
        most = info.max_efa_interfaces if info else None
        if most is not None and advertised > most:
            evidence.append(("efadoctor instance-type data (ec2:DescribeInstanceTypes MaximumEfaInterfaces)", f"{node.instance_type}: {most}"))
            return _too_many(node, advertised, most, "the instance type allows", ds, evidence)
        return unknown(
            f"node {node.name} advertises {advertised} EFA device(s), but EC2's view of instance {node.instance_id} is not "
            "available to compare (see the AWS checks for why)",
            evidence=evidence,
        )
    attached = ec2_instance.efa_count
    evidence.append((INTERFACE_TYPES_SOURCE, f"{ec2_instance.instance_id}: {attached} EFA interface(s) ({ec2_instance.layout})"))
    if advertised == attached:
        what = f"{attached} EFA device(s)" if attached else "no EFA device, and EC2 attached none (AWS002 judges that)"
        return passed(f"node {node.name} advertises {what}, as EC2 reports for {ec2_instance.instance_id}", evidence=evidence)
    if advertised > attached:
        return _too_many(node, advertised, attached, f"EC2 attached to {ec2_instance.instance_id}", ds, evidence)
    if advertised == 0:
        return failed(
            f"node {node.name} advertises no {EFA_RESOURCE} although EC2 attached {attached} EFA interface(s) to "
            f"{ec2_instance.instance_id}: the device plugin is not running there or finds no device",
            fix="The device plugin checks of this report (K8S003 to K8S006) say why; the plugin pod's state on this node:",
            commands=[f"kubectl get pods -A -o wide --field-selector spec.nodeName={node.name} | grep -i efa"],
            evidence=evidence,
        )
    restart = _restart(ds, node)
    return warned(
        f"node {node.name} advertises {advertised} of the {attached} EFA interface(s) EC2 attached to {ec2_instance.instance_id}: "
        f"pods get at most {advertised}, and NCCL uses fewer NICs than the instance has",
        fix="The plugin enumerates devices when it starts: restart its pod on this node; if the count stays low, some "
        "interfaces have no driver-bound device on the host (check `ls /sys/class/infiniband` there):",
        commands=[restart] if restart else [f"kubectl get pods -A -o wide --field-selector spec.nodeName={node.name} | grep -i efa"],
        evidence=evidence,
    )


def _restart(ds: DevicePluginDaemonSet | None, node: NodeInfo) -> str | None:
    if ds is None or not ds.pod_selector:
        return None
    selector = ",".join(f"{k}={v}" for k, v in sorted(ds.pod_selector.items()))
    return f"kubectl -n {ds.namespace} delete pod -l {selector} --field-selector spec.nodeName={node.name}  # the DaemonSet recreates it"


def _too_many(node: NodeInfo, advertised: int, expected: int, source: str, ds: DevicePluginDaemonSet | None, evidence: list):
    version = ds.version_tuple if ds is not None else None
    p6_bug = family_of(node.instance_type or "") == "p6-b200" and (version is None or version < P6_B200_MISCOUNT_FIXED)
    if p6_bug:
        plugin = f"the device plugin image {ds.version}" if ds is not None and ds.version else "the device plugin"
        summary = (
            f"node {node.name} (p6-b200) advertises {advertised} {EFA_RESOURCE} but {source} {expected}: {plugin} "
            "counts the NVLink ibp* InfiniBand devices as EFA (fixed in plugin v0.5.10); pods that request all of them get "
            "non-EFA devices"
        )
    else:
        summary = f"node {node.name} advertises {advertised} {EFA_RESOURCE} but {source} {expected}"
    if ds is None:
        commands = ["kubectl get daemonsets -A -o wide | grep -i efa"]
    elif ds.helm_managed:
        commands = [REPO_ADD, *upgrade_chart(ds)]
    else:
        commands = [
            f"kubectl -n {ds.namespace} set image daemonset/{ds.name} {ds.container}={image_repository(ds.image)}:{CURRENT_IMAGE_TAG}"
        ]
    restart = _restart(ds, node)
    if not p6_bug and restart:
        commands = [restart]
    return failed(
        summary,
        fix=(
            f"Upgrade the EFA device plugin {label(ds)} to image v0.5.10 or later (the chart's current image is {CURRENT_IMAGE_TAG}):"
            if p6_bug and ds is not None
            else "Restart the device plugin pod on this node so it counts the devices again; if the count stays high, upgrade the plugin:"
        ),
        commands=commands,
        evidence=evidence,
    )
