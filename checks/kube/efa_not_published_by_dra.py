from efadoctor import Layer, Severity, Symptom, check, passed, warned
from efadoctor.facts.dra import EfaResourceSlice
from efadoctor.facts.kube import EFA_RESOURCE, NodeInfo

SLICES = "k8s: list resourceslices.resource.k8s.io (spec.nodeName)"


@check(
    id="K8S008",
    title="The node's EFA devices are not published through DRA instead of vpc.amazonaws.com/efa",
    layer=Layer.DEVICE_PLUGIN,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
)
def efa_not_published_by_dra(node: NodeInfo, efa_resource_slices: tuple[EfaResourceSlice, ...]):
    """
    ## Why it matters
    Since Kubernetes 1.34 EKS also offers an EFA Dynamic Resource Allocation
    (DRA) driver (DRANET) as an alternative to the device plugin. It publishes
    each EFA device in a `ResourceSlice` object, and pods claim devices with a
    `ResourceClaim`; the node then has no `vpc.amazonaws.com/efa` in its
    allocatable. That is by design, not a broken plugin: but a pod that
    requests `vpc.amazonaws.com/efa` never fits on such a node, and the
    device-plugin checks do not apply there. A node whose devices are
    published both ways has two allocators for the same devices, which do
    not see each other's allocations.

    ## Fix
    On a DRA node, request EFA through a `ResourceClaim`/`ResourceClaimTemplate`
    of the driver's DeviceClass (see the driver's documentation), or run the
    device plugin instead of the DRA driver on the nodes where pods request
    `vpc.amazonaws.com/efa`. Never run both for the same node.
    """
    if not efa_resource_slices:
        return passed(
            f"no DRA ResourceSlice publishes EFA devices of node {node.name}: {EFA_RESOURCE} is the way to request EFA there",
            evidence=[(SLICES, f"{node.name}: no slice with EFA devices (or resource.k8s.io/v1 not served)")],
        )
    devices = sum(len(s.devices) for s in efa_resource_slices)
    drivers = ", ".join(sorted({s.driver for s in efa_resource_slices}))
    evidence = [(SLICES, f"{s.name}: driver {s.driver}, {len(s.devices)} EFA device(s) of {s.total_devices}: {', '.join(s.devices[:8])}")
                for s in efa_resource_slices]
    advertised = node.allocatable_count(EFA_RESOURCE) or 0
    evidence.append(("k8s: Node status.allocatable", f"{node.name}: {EFA_RESOURCE}={node.allocatable.get(EFA_RESOURCE, '(absent)')}"))
    commands = [
        f"kubectl get resourceslices --field-selector spec.nodeName={node.name} -o yaml",
        "kubectl get deviceclasses",
    ]
    if advertised:
        return warned(
            f"node {node.name}'s EFA devices are published twice: {advertised} {EFA_RESOURCE} by the device plugin and "
            f"{devices} DRA device(s) by {drivers}: two allocators that do not see each other's allocations",
            fix=f"Keep one mechanism on node {node.name}: the DRA driver (pods use ResourceClaims) or the device plugin "
            f"(pods request {EFA_RESOURCE}), not both.",
            commands=commands,
            evidence=evidence,
        )
    return warned(
        f"node {node.name} publishes its EFA devices through DRA ({devices} device(s), driver {drivers}), not as {EFA_RESOURCE}: "
        f"pods must claim them with a ResourceClaim; a pod that requests {EFA_RESOURCE} never fits here",
        fix=f"Request EFA on node {node.name} with a ResourceClaim (or ResourceClaimTemplate) of the driver's DeviceClass, "
        f"not with {EFA_RESOURCE}; the devices and classes it offers:",
        commands=commands,
        evidence=evidence,
    )
