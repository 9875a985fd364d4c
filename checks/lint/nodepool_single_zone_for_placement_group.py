from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Confidence, Layer, Severity, Symptom, check, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again
from efadoctor.checks.lint._karpenter import ZONE, nodeclasses, nodepools, zones

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LoadResult


@check(
    id="LINT014",
    title="A NodePool with a (cluster) placement group allows a single zone",
    layer=Layer.AWS_NETWORK,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.UNREACHABLE, Symptom.DEGRADED),
    targets=("manifests",),
)
def nodepool_single_zone_for_placement_group(manifests: LoadResult):
    """
    ## Why it matters
    A cluster placement group, the kind EFA training uses, places its
    instances in one Availability Zone. A NodePool whose EC2NodeClass selects
    a placement group but whose requirements allow several zones (or say
    nothing about zones) lets Karpenter pick other zones, where launches into
    that group fail, and spreads a job's nodes over zones and subnets, where
    EFA traffic is not meant to go (efa-only interfaces only talk within one
    zone). efadoctor cannot see the group's strategy offline, so this is a
    warning.

    ## Fix
    Give the NodePool one zone: a `topology.kubernetes.io/zone In [<zone>]`
    requirement with the zone of the placement group (and of the EFA subnet).
    """
    classes = nodeclasses(manifests)
    judged, first = [], ""
    evidence, snippets, sources = [], [], []
    for pool in nodepools(manifests):
        node_class = classes.get(pool.node_class or "")
        if node_class is None or node_class.placement_group is None:
            continue
        field, name, group_line = node_class.placement_group
        judged.append(pool.name)
        allowed, line = zones(pool)
        if allowed is not None and len(allowed) == 1:
            evidence.append((at(pool.doc.source, line), f"NodePool {pool.name} allows only zone {allowed[0]}"))
            continue
        what = f"zones {', '.join(allowed)}" if allowed else "any zone"
        where = line or pool.requirement_lines() or pool.line
        evidence.append((at(node_class.doc.source, group_line), f"EC2NodeClass {node_class.name} {field}: {name}"))
        evidence.append((at(pool.doc.source, where), f"NodePool {pool.name} allows {what}"))
        zone = allowed[0] if allowed else "us-west-2a   # the placement group's zone"
        snippets.append(pool.requirements_snippet(where, f"- key: {ZONE}\n  operator: In\n  values: [{zone}]"))
        sources.append(pool.doc.source)
        first = first or f"NodePool {pool.name} allows {what} with {field} {name}"
    if not judged:
        return skipped("no NodePool in the input uses an EC2NodeClass with a placement group")
    if not snippets:
        return passed(f"{len(judged)} NodePool(s) with a placement group allow a single zone", evidence=evidence)
    return warned(
        f"{len(snippets)} NodePool(s) with a placement group allow more than one zone: {first}",
        fix=fix_text("Allow only the placement group's zone:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
        confidence=Confidence.MEDIUM,
    )
