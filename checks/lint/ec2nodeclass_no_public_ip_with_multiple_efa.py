from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, pod_spec_name
from efadoctor.checks.lint._karpenter import admitted, efa_intent, nodeclasses, nodepools
from efadoctor.checks.lint._pods import containers
from efadoctor.facts.kube import EFA_RESOURCE

if TYPE_CHECKING:
    from efadoctor.instance_types import InstanceTypeInfo
    from efadoctor.parsers.manifests import LoadResult, PodSpecRef


@check(
    id="LINT017",
    title="EC2NodeClasses for multi-EFA instances do not set associatePublicIPAddress: true",
    layer=Layer.AWS_NETWORK,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING,),
    targets=("manifests",),
)
def ec2nodeclass_no_public_ip_with_multiple_efa(
    manifests: LoadResult,
    manifest_pod_specs: tuple[PodSpecRef, ...],
    instance_type_catalog: tuple[InstanceTypeInfo, ...],
):
    """
    ## Why it matters
    EC2 accepts a public IP only when an instance is launched with a single
    network interface. When a NodeClaim requests `vpc.amazonaws.com/efa`,
    Karpenter attaches one EFA interface per network card of the instance
    type (32 on p5.48xlarge), so with `associatePublicIPAddress: true` the
    launch fails and the EFA pods stay Pending (Karpenter's EC2NodeClass
    documentation says the same). efadoctor flags it when the class declares
    several `networkInterfaces`, when an EFA NodePool using it admits
    instance types with more than one EFA interface, or when a pod in the
    input requests more than one EFA device.

    ## Fix
    Remove `associatePublicIPAddress: true` (or set it to false) on the
    EC2NodeClass for EFA nodes, and use a separate NodePool/EC2NodeClass pair
    for workloads that need a public IP.
    """
    classes = nodeclasses(manifests)
    public = [c for c in classes.values() if c.spec.get("associatePublicIPAddress") is True]
    if not classes:
        return skipped("no EC2NodeClass in the input")
    if not public:
        return passed(f"no EC2NodeClass of {len(classes)} sets associatePublicIPAddress: true")
    pools = nodepools(manifests)
    many_efa_pods = [
        (ref, container.count(EFA_RESOURCE))
        for ref in manifest_pod_specs
        for container in containers(ref, init=False)
        if (container.count(EFA_RESOURCE) or 0) > 1
    ]
    evidence, snippets, sources = [], [], []
    for node_class in public:
        reasons = []
        serves_efa = len(classes) == 1 or any(p.node_class == node_class.name and efa_intent(p, classes) for p in pools)
        if len(node_class.network_interfaces) > 1:
            reasons.append(f"it declares {len(node_class.network_interfaces)} networkInterfaces")
        for pool in pools:
            if pool.node_class != node_class.name or not efa_intent(pool, classes):
                continue
            multi = sorted(i.instance_type for i in admitted(pool, instance_type_catalog) if (i.max_efa_interfaces or 0) > 1)
            if multi:
                shown = ", ".join(multi[:5]) + (", ..." if len(multi) > 5 else "")
                reasons.append(f"EFA NodePool {pool.name} admits types with several EFA interfaces ({shown})")
        if many_efa_pods and serves_efa:
            ref, count = many_efa_pods[0]
            reasons.append(f"{pod_spec_name(ref)} requests {count} {EFA_RESOURCE}")
        if not reasons:
            continue
        line = node_class.line("associatePublicIPAddress")
        detail = f"EC2NodeClass {node_class.name}: associatePublicIPAddress: true, but {'; '.join(reasons)}"
        evidence.append((at(node_class.doc.source, line), detail))
        snippets.append(node_class.snippet(line, "associatePublicIPAddress: false"))
        sources.append(node_class.doc.source)
    if not evidence:
        return passed(f"{len(public)} EC2NodeClass(es) with a public IP serve no multi-EFA instance in the input")
    return failed(
        f"{len(evidence)} EC2NodeClass(es) would fail to launch multi-EFA instances: {evidence[0][1]}",
        fix=fix_text("Launch EFA nodes without a public IP (a separate NodePool/EC2NodeClass for public nodes):", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
