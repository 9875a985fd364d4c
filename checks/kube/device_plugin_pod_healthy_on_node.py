from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, unknown
from efadoctor.aws_fixes import describe_interfaces, show_interfaces
from efadoctor.checks.kube._device_plugin_fixes import describe, label
from efadoctor.facts.aws import INTERFACE_TYPES_SOURCE, InstanceInfo
from efadoctor.facts.device_plugin import AUTO_MODE, DevicePluginDaemonSet, DevicePluginPod, for_node
from efadoctor.facts.kube import NodeInfo

POD = "k8s: Pod status.containerStatuses"
LOG = "k8s: pods/log (tail)"
IMAGE_PULL = ("ImagePullBackOff", "ErrImagePull", "InvalidImageName", "ErrImageNeverPull")


@check(
    id="K8S006",
    title="The EFA device plugin pod runs on the node and found EFA devices",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    # no pod because of a taint or the allow-list; no device because the instance has no EFA interface
    caused_by=("K8S003", "K8S004", "K8S005", "K8S008", "AWS001", "AWS002"),
)
def device_plugin_pod_healthy_on_node(
    node: NodeInfo,
    device_plugin_daemonsets: tuple[DevicePluginDaemonSet, ...],
    device_plugin_pod: DevicePluginPod | None,
    ec2_instance: InstanceInfo | None = None,
):
    """
    ## Why it matters
    The node advertises `vpc.amazonaws.com/efa` only while a plugin pod runs on
    it, has enumerated the EFA devices (`Fetching EFA devices.`, then one
    `device: rdmapXsY,uverbsN,...` line per device) and registered with the
    kubelet. When it finds none it logs `No valid EFA devices found` and exits;
    the pod shows `Completed`, then `CrashLoopBackOff`. What that means
    depends on EC2: if the instance has EFA interfaces, the host's EFA kernel
    driver is not exposing them (an AMI without the EFA driver, a kernel
    upgrade without the module); if it has none, the plugin is right and the
    instance is the cause (it was launched without EFA interfaces).

    ## Fix
    With EFA interfaces attached: use an EFA-enabled EKS AMI (AL2023
    NVIDIA/Neuron accelerated, or Bottlerocket) or install the EFA driver on
    the host (`efa_installer.sh` with the kernel module) and check
    `lsmod | grep -w efa`. Without EFA interfaces: relaunch the node with
    them. A pod that cannot pull its image, or is missing from the node,
    is fixed at the DaemonSet.
    """
    ordered = for_node(device_plugin_daemonsets, node) if device_plugin_daemonsets else ()
    if device_plugin_pod is None:
        return _no_pod(node, ordered)
    pod = device_plugin_pod
    log = pod.log
    evidence = [(POD, f"{pod.ref} on {node.name}: {pod.state}")]
    if pod.log_tail is not None:
        evidence.append((LOG, _tail(pod.log_tail)))
    elif pod.log_error:
        evidence.append((LOG, f"not read: {pod.log_error}"))
    if log.no_devices:
        return _no_devices(node, pod, ec2_instance, evidence)
    if pod.waiting_reason in IMAGE_PULL:
        return failed(
            f"the EFA device plugin pod {pod.ref} on node {node.name} cannot pull its image {pod.image} ({pod.waiting_reason})",
            fix="Check the image name and that the node can reach the registry (a private cluster needs an ECR VPC endpoint "
            "or a pull-through path for the plugin's image):",
            commands=[f"kubectl -n {pod.namespace} describe pod {pod.name}"],
            evidence=evidence,
        )
    if not pod.running or not pod.ready:
        unread = f" (its log could not be read: grant `{pod.log_missing_permission}` to see why)" if pod.log_missing_permission else ""
        return failed(
            f"the EFA device plugin pod {pod.ref} on node {node.name} is not running and ready: {pod.state}{unread}",
            fix="Read why it stops, from its previous run's log and its events:",
            commands=[
                f"kubectl -n {pod.namespace} logs {pod.name} -c {pod.container} --previous --tail=50",
                f"kubectl -n {pod.namespace} describe pod {pod.name}",
            ],
            evidence=evidence,
            confidence=Confidence.HIGH if pod.log_tail is not None else Confidence.MEDIUM,
        )
    if pod.log_tail is None:
        return unknown(
            f"the EFA device plugin pod {pod.ref} on node {node.name} is Running and Ready, but its log could not be read "
            f"to confirm it found EFA devices: {pod.log_error}",
            missing_permission=pod.log_missing_permission,
            evidence=evidence,
        )
    restarts = f" after {pod.restarts} restart(s)" if pod.restarts else ""
    if log.device_count:
        return passed(
            f"the EFA device plugin pod {pod.ref} on node {node.name} is Running and Ready{restarts} and found {log.device_count} EFA device(s)",
            evidence=evidence,
        )
    seen = "registered with the kubelet" if log.registered or log.serving else "logged no device lines in its log tail"
    return passed(f"the EFA device plugin pod {pod.ref} on node {node.name} is Running and Ready{restarts} ({seen})", evidence=evidence)


def _tail(text: str, lines: int = 4) -> str:
    kept = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(kept[-lines:]) if kept else "(empty)"


def _no_pod(node: NodeInfo, ordered: tuple[DevicePluginDaemonSet, ...]):
    if not ordered:
        if node.compute_type == AUTO_MODE:
            return skipped(f"node {node.name} is an EKS Auto Mode node: Auto Mode provides EFA support itself, no plugin pod is expected")
        return skipped("no EFA device plugin DaemonSet is installed (K8S003)")
    if node.compute_type == AUTO_MODE and all(ds.excludes_auto_mode for ds in ordered):
        return skipped(
            f"node {node.name} is an EKS Auto Mode node, which the device plugin chart excludes by design (since v0.5.6): "
            "no plugin pod is expected there"
        )
    ds = ordered[0]
    return failed(
        f"no EFA device plugin pod runs on node {node.name}: {label(ds)} has no pod there, so the node cannot advertise vpc.amazonaws.com/efa",
        fix=f"Find out why {ds.ref} does not place a pod on {node.name} (its tolerations and node affinity are judged by K8S004 and K8S005):",
        commands=[describe(ds), f"kubectl get pods -A -o wide --field-selector spec.nodeName={node.name}"],
        evidence=[(POD, f"list pods --field-selector spec.nodeName={node.name}: no pod of {', '.join(d.ref for d in ordered)}")],
    )


def _no_devices(node: NodeInfo, pod: DevicePluginPod, ec2: InstanceInfo | None, evidence: list):
    said = "No valid EFA devices found"
    if pod.log.no_devices_line:
        evidence.append((LOG, pod.log.no_devices_line))
    if ec2 is not None:
        evidence.append((INTERFACE_TYPES_SOURCE, f"{ec2.instance_id}: {ec2.efa_count} EFA interface(s) of {len(ec2.interfaces)} ({ec2.layout})"))
    describe_enis = show_interfaces(ec2) if ec2 is not None else describe_interfaces(node.instance_id or "<instance-id>", node.region)
    if ec2 is not None and ec2.efa_count > 0:
        return failed(
            f"the host EFA driver on node {node.name} exposes no device: EC2 attached {ec2.efa_count} EFA interface(s) to "
            f"{ec2.instance_id}, yet the device plugin pod {pod.ref} logged '{said}' ({pod.state})",
            fix="The kernel's EFA driver is missing or not loaded on this host. Use an EFA-enabled EKS AMI (AL2023 NVIDIA or "
            "Neuron accelerated, or Bottlerocket), or install the EFA driver on the host (efa_installer.sh with its kernel module), "
            "then replace the node. Check the host:",
            commands=[
                f"kubectl debug node/{node.name} -it --image=public.ecr.aws/amazonlinux/amazonlinux:2023 -- "
                "chroot /host sh -c 'lsmod | grep -w efa; ls /sys/class/infiniband'",
                f"kubectl get node {node.name} -o jsonpath='{{.status.nodeInfo.osImage}} {{.status.nodeInfo.kernelVersion}}{{\"\\n\"}}'",
            ],
            evidence=evidence,
        )
    if ec2 is not None:
        return failed(
            f"instance {ec2.instance_id} of node {node.name} has no EFA interface, so the device plugin pod {pod.ref} finds "
            f"nothing ('{said}', {pod.state}): the instance, not the plugin, is the cause",
            fix="EFA interfaces are attached at launch (or to a stopped instance), never to a running one: relaunch the node with "
            "InterfaceType=efa on each network card (launch template, eksctl efaEnabled: true, or with Karpenter a pod that "
            "requests vpc.amazonaws.com/efa). The instance's interfaces now:",
            commands=[describe_enis],
            evidence=evidence,
        )
    return failed(
        f"the EFA device plugin pod {pod.ref} on node {node.name} logged '{said}' ({pod.state}): the instance has no EFA "
        "interface, or the host's EFA driver is missing; EC2 could not be read to tell which",
        fix="Look at the instance's interfaces: all `interface` means it was launched without EFA (relaunch it with EFA); "
        "`efa`/`efa-only` present means the host's EFA driver is missing (use an EFA-enabled AMI):",
        commands=[describe_enis],
        evidence=evidence,
        confidence=Confidence.MEDIUM,
    )
