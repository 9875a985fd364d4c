from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name, toleration_yaml
from efadoctor.checks.lint._karpenter import (
    NodePool,
    blocking,
    efa_intent,
    nodeclasses,
    nodepools,
    tolerations_from,
    untolerated,
)
from efadoctor.checks.lint._pods import containers, node_selector
from efadoctor.facts.kube import NODEPOOL_LABEL
from efadoctor.facts.scheduling import toleration_for

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LoadResult, PodSpecRef


@check(
    id="LINT011",
    title="EFA pods tolerate the taints of the NodePool meant for them",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING,),
    targets=("manifests",),
)
def manifest_pods_tolerate_nodepool_taints(manifests: LoadResult, manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    A NodePool for EFA nodes is usually tainted (the runbook's
    `efa-workload=true:NoSchedule`) so that only EFA jobs land there. Karpenter
    launches a node for a pending pod only from a NodePool whose taints the
    pod tolerates; an EFA pod without the toleration stays Pending, or is
    placed by another NodePool, without the placement group, AMI and
    settings prepared for EFA. efadoctor pairs each pod that
    requests EFA with the NodePools in the same input that are meant for EFA
    (a `karpenter.sh/nodepool` nodeSelector, or a pool whose name, taints,
    labels or EC2NodeClass say EFA).

    ## Fix
    Add a toleration for each of the NodePool's NoSchedule/NoExecute taints to
    the pod template's `spec.tolerations`.
    """
    pools = nodepools(manifests)
    classes = nodeclasses(manifests)
    if not any(blocking(p.taints) for p in pools):
        return skipped("no NodePool in the input sets a NoSchedule/NoExecute taint")
    refs = [r for r in manifest_pod_specs if any(c.wants_efa for c in containers(r))]
    evidence, snippets, sources = [], [], []
    judged, certain = 0, False
    for ref in refs:
        wanted = node_selector(ref).get(NODEPOOL_LABEL)
        candidates: list[NodePool] = [p for p in pools if (p.name == wanted if wanted else efa_intent(p, classes))]
        candidates = [p for p in candidates if blocking(p.taints)]
        if not candidates:
            continue
        judged += 1
        tolerations = tolerations_from(ref.spec.get("tolerations"))
        missing = {p.name: untolerated(p.taints, tolerations) for p in candidates}
        if any(not taints for taints in missing.values()):
            continue
        name = pod_spec_name(ref)
        requested = {r for c in containers(ref) for r in (*c.requests, *c.limits)}
        pool = candidates[0]
        for placed in missing[pool.name]:
            automatic = placed.taint.key in requested  # the ExtendedResourceToleration admission plugin may add it
            certain = certain or not automatic
            why = " (unless the cluster's ExtendedResourceToleration admission plugin adds it)" if automatic else ""
            detail = f"{name} requests EFA but does not tolerate {placed.taint} of NodePool {pool.name}{why}"
            evidence.append((at(ref.doc.source, ref.line), detail))
            evidence.append((at(pool.doc.source, placed.line), f"NodePool {pool.name} taint {placed.taint}"))
        items = "\n".join(toleration_yaml(toleration_for(p.taint)) for p in missing[pool.name])
        snippets.append(f"# {place(ref.doc.source, ref.line)} {name}: add to spec.tolerations\ntolerations:\n{items}")
        sources.append(ref.doc.source)
    if not judged:
        return skipped("no pod that requests EFA is meant for a tainted NodePool in the input")
    if not evidence:
        return passed(f"{judged} EFA pod spec(s) tolerate the taints of their NodePool")
    verdict = failed if certain else warned
    return verdict(
        f"{len(snippets)} EFA pod spec(s) do not tolerate their NodePool's taints: {evidence[0][1]}",
        fix=fix_text("Add the tolerations to each pod template:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
        confidence=Confidence.HIGH if certain else Confidence.MEDIUM,
    )
