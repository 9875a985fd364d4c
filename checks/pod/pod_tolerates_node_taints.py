from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.facts.kube import EFA_RESOURCE, NodeInfo, PodInfo, Taint
from efadoctor.facts.scheduling import blocking, efa_candidates, is_condition_taint, toleration_for

TAINTS = "k8s: Node spec.taints"
TOLERATIONS = "k8s: Pod spec.tolerations"


def _untolerated(pod: PodInfo, node: NodeInfo) -> tuple[Taint, ...]:
    return tuple(t for t in blocking(node.taints) if not any(tol.tolerates(t) for tol in pod.tolerations))


def _requests_efa(pod: PodInfo) -> bool:
    return any(EFA_RESOURCE in c.requests or EFA_RESOURCE in c.limits for c in pod.containers)


@check(
    id="POD008",
    title="The pod tolerates the taints of the nodes it may run on",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING,),
    targets=("pod",),
)
def pod_tolerates_node_taints(pod: PodInfo, node: NodeInfo | None = None, candidate_nodes: tuple[NodeInfo, ...] | None = None):
    """
    ## Why it matters
    EFA node groups are usually tainted so that only training pods land on
    them (`nvidia.com/gpu:NoSchedule`, or a custom taint such as a runbook's
    `efa-workload=true:NoSchedule`). A pod without a matching toleration is
    never scheduled there and stays Pending with `had untolerated taint`,
    which is easy to mistake for missing EFA capacity. For a Pending pod the
    nodes its nodeSelector allows are judged (only the EFA-capable ones when
    it requests EFA).

    ## Fix
    Add a toleration for each taint to the pod template, for example
    `tolerations: [{key: efa-workload, operator: Equal, value: "true", effect: NoSchedule}]`.
    The device plugin needs the same tolerations (K8S004).
    """
    if node is not None:
        left = _untolerated(pod, node)
        evidence = [(TAINTS, f"{node.name}: {', '.join(map(str, node.taints)) or '(no taints)'}")]
        note = f" (taint(s) {', '.join(map(str, left))} came after it was scheduled)" if left else ""
        return passed(f"pod {pod.ref} is scheduled on node {node.name}{note}", evidence=evidence)
    nodes = tuple(candidate_nodes or ())
    if _requests_efa(pod):
        nodes = efa_candidates(nodes)
    if not nodes:
        return skipped(f"pod {pod.ref} has no node, and no node its nodeSelector allows could offer what it asks for")
    fits = [n for n in nodes if not _untolerated(pod, n)]
    evidence = [(TAINTS, f"{n.name} ({n.instance_type}): {', '.join(map(str, blocking(n.taints))) or '(none)'}") for n in nodes[:5]]
    evidence.append((TOLERATIONS, f"{pod.ref}: " + (", ".join(f"{t.key or '*'}:{t.effect or '*'}" for t in pod.tolerations) or "(none)")))
    if fits:
        return passed(f"pod {pod.ref} tolerates the taints of {len(fits)} of the {len(nodes)} node(s) it may use", evidence=evidence)
    missing: dict[Taint, None] = {}
    for n in nodes:
        for taint in _untolerated(pod, n):
            missing.setdefault(taint, None)
    fixable = [t for t in missing if not is_condition_taint(t)]
    entries = ", ".join(
        "{" + ", ".join(f"{k}: {v!r}" if k == "value" else f"{k}: {v}" for k, v in toleration_for(t).items()) + "}" for t in fixable
    )
    return failed(
        f"pod {pod.ref} tolerates none of the {len(nodes)} node(s) it may use: untolerated {', '.join(map(str, missing))}",
        fix=(f"Add `tolerations: [{entries}]` to {pod.template_owner}'s pod template." if fixable else
             "The nodes carry condition taints (not ready, cordoned): fix the nodes."),
        commands=edit_commands(pod, f"add tolerations: [{entries}]") if fixable else [f"kubectl describe node {nodes[0].name}"],
        evidence=evidence,
    )
