from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Confidence, Layer, Severity, Symptom, check, passed, skipped, unknown, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again
from efadoctor.checks.lint._karpenter import admitted, efa_intent, nodeclasses, nodepools, unevaluated
from efadoctor.checks.lint._pods import containers, node_selector
from efadoctor.facts.kube import INSTANCE_TYPE_LABEL, NODEPOOL_LABEL

if TYPE_CHECKING:
    from efadoctor.instance_types import InstanceTypeInfo
    from efadoctor.parsers.manifests import LoadResult, PodSpecRef

MAX_LISTED = 8
EFA_TYPES_COMMAND = (
    "aws ec2 describe-instance-types --filters Name=network-info.efa-supported,Values=true "
    "--query 'InstanceTypes[].[InstanceType,NetworkInfo.EfaInfo.MaximumEfaInterfaces]' --output text"
)


def _partly_listed(allowed: list[InstanceTypeInfo], catalog: tuple[InstanceTypeInfo, ...]) -> list[str]:
    """Families among `allowed` for which the data holds only the sizes that have EFA.

    The data lists every EFA-capable type, plus the sizes without EFA of GPU families; for a family
    with neither GPUs nor a size without EFA (c6i, hpc7g, ...) it cannot tell which other sizes exist.
    """
    families = {i.family for i in allowed}
    complete = {i.family for i in catalog if i.family in families and (i.gpu_count or not i.efa_supported)}
    return sorted(families - complete)


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:MAX_LISTED])
    return shown + (f" (+{len(names) - MAX_LISTED} more)" if len(names) > MAX_LISTED else "")


@check(
    id="LINT013",
    title="An EFA NodePool admits only instance types that have EFA",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.ENODATA,),
    targets=("manifests",),
)
def nodepool_admits_only_efa_types(
    manifests: LoadResult,
    manifest_pod_specs: tuple[PodSpecRef, ...],
    instance_type_catalog: tuple[InstanceTypeInfo, ...],
):
    """
    ## Why it matters
    Karpenter launches any instance type a NodePool's requirements admit.
    For a pod that requests `vpc.amazonaws.com/efa` it only considers types
    with EFA, but every other pod the pool accepts (one that tolerates its
    taint but forgot the request, a debug pod) can get a type without EFA,
    where `fi_info -p efa` fails with -61 and NCCL falls back to sockets.
    Requirements written by category, size and generation (the runbook's
    `c`, `p`, `g` of 8xlarge and up, generation > 3) admit such types: only
    some sizes of a family have EFA (g5.2xlarge has none, g5.8xlarge has one).
    efadoctor evaluates `node.kubernetes.io/instance-type` and Karpenter's
    `instance-category`, `-family`, `-generation`, `-size`, `-cpu` and
    `-gpu-count` requirements (In, NotIn, Exists, DoesNotExist, Gt, Lt)
    against its offline instance-type data; requirements on other labels
    (e.g. `kubernetes.io/arch`) are not evaluated and lower the confidence.
    Only NodePools meant for EFA are judged (by name, taints, labels, their
    EC2NodeClass, or a pod that requests EFA and selects them).

    ## Fix
    Pin the pool to EFA instance types with a
    `node.kubernetes.io/instance-type In [...]` requirement (the EFA types
    are listed by `aws ec2 describe-instance-types --filters
    Name=network-info.efa-supported,Values=true`).
    """
    pools = nodepools(manifests)
    classes = nodeclasses(manifests)
    selected = {
        node_selector(r).get(NODEPOOL_LABEL, "")
        for r in manifest_pod_specs
        if any(c.wants_efa for c in containers(r))
    }
    efa_pools = [(p, efa_intent(p, classes, selected)) for p in pools]
    efa_pools = [(p, why) for p, why in efa_pools if why]
    if not efa_pools:
        return skipped("no NodePool meant for EFA in the input")
    evidence, snippets, sources = [], [], []
    lowered, first, undecided = False, "", []
    known = {i.instance_type for i in instance_type_catalog}
    for pool, why in efa_pools:
        allowed = admitted(pool, instance_type_catalog)
        without = sorted((i for i in allowed if not i.efa_supported), key=lambda i: i.instance_type)
        with_efa = sorted((i.instance_type for i in allowed if i.efa_supported))
        line = pool.requirement_lines() or pool.line
        pinned = [v for r in pool.requirements if r.key == INSTANCE_TYPE_LABEL and r.operator == "In" for v in r.values]
        strangers = sorted({v for v in pinned if v.lower() not in known})
        partial = [] if pinned else _partly_listed(allowed, instance_type_catalog)
        if not without:
            if strangers or partial:
                what = (
                    f"pins types efadoctor's data does not know ({_listed(strangers)})"
                    if strangers
                    else f"selects whole families for which efadoctor's data lists only the sizes with EFA ({_listed(partial)})"
                )
                undecided.append((at(pool.doc.source, line), f"NodePool {pool.name} ({why[0]}) {what}"))
            else:
                detail = f"NodePool {pool.name} ({why[0]}): all {len(with_efa)} admitted type(s) have EFA"
                evidence.append((at(pool.doc.source, line), detail))
            continue
        skipped_keys = unevaluated(pool)
        lowered = lowered or bool(skipped_keys)
        note = f"; not evaluated: {', '.join(str(r) for r in skipped_keys)}" if skipped_keys else ""
        evidence.append(
            (
                at(pool.doc.source, line),
                f"NodePool {pool.name} ({why[0]}) admits {len(without)} type(s) without EFA: "
                f"{_listed([i.instance_type for i in without])}{note}",
            )
        )
        values = "\n".join(f"    - {name}" for name in with_efa) or "    - p5.48xlarge   # an EFA type"
        snippets.append(pool.requirements_snippet(line, f"- key: {INSTANCE_TYPE_LABEL}\n  operator: In\n  values:\n{values}"))
        sources.append(pool.doc.source)
        first = first or evidence[-1][1]
    if not snippets and undecided:
        return unknown(
            f"cannot tell whether {len(undecided)} EFA NodePool(s) admit types without EFA: {undecided[0][1]}; "
            f"pin them with a {INSTANCE_TYPE_LABEL} In [...] requirement to make this decidable",
            evidence=[*undecided, *evidence],
        )
    if not snippets:
        return passed(f"{len(efa_pools)} EFA NodePool(s) admit only instance types with EFA", evidence=evidence)
    return warned(
        f"{len(snippets)} EFA NodePool(s) admit instance types without EFA: {first}",
        fix=fix_text("Pin the NodePool to EFA instance types (those its requirements admit that have EFA):", snippets),
        commands=[EFA_TYPES_COMMAND, *lint_again(sources)],
        evidence=evidence,
        confidence=Confidence.MEDIUM if lowered else Confidence.HIGH,
    )
