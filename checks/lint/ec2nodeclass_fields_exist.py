from __future__ import annotations

import difflib
import shlex
from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, yaml_scalar
from efadoctor.checks.lint._karpenter import (
    EC2NODECLASS_REQUIRED,
    EC2NODECLASS_SPEC_FIELDS,
    NodeClass,
    nodeclasses,
    version_text,
    version_tuple,
)

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LoadResult

PLACEMENT = EC2NODECLASS_SPEC_FIELDS["placementGroupSelector"]


def _alias_for(node_class: NodeClass) -> str:
    family = str(node_class.spec.get("amiFamily") or "").lower()
    return "bottlerocket@latest" if family == "bottlerocket" else "al2023@latest"


def _problems(node_class: NodeClass, karpenter: tuple[int, int, int] | None) -> list[tuple[int | None, str, str, list[str]]]:
    """(line, what is wrong, corrected YAML, commands) for one v1 EC2NodeClass."""
    spec, name = node_class.spec, node_class.name
    found: list[tuple[int | None, str, str, list[str]]] = []
    for key in spec:
        line = node_class.line(key)
        if key == "placementGroupName":
            group = str(spec[key])
            if karpenter is not None and karpenter < PLACEMENT:
                yaml = (
                    f"# delete spec.placementGroupName; Karpenter {version_text(karpenter)} has no placement-group field "
                    f"(placementGroupSelector arrived in {version_text(PLACEMENT)})"
                )
            else:
                yaml = f"placementGroupSelector:   # Karpenter >= {version_text(PLACEMENT)}\n  name: {yaml_scalar(group)}"
            check_group = (
                f"aws ec2 describe-placement-groups --group-names {shlex.quote(group)} "
                "--query 'PlacementGroups[].[GroupName,Strategy,State,GroupId]' --output text"
            )
            what = f"EC2NodeClass {name}: spec.placementGroupName is not a Karpenter field (use placementGroupSelector)"
            found.append((line, what, yaml, [check_group]))
        elif key == "spec":
            what = f"EC2NodeClass {name}: spec.spec is not a field (a second `spec:` pasted inside the first)"
            found.append((line, what, f"# delete line {line} (`spec:`)", []))
        elif key not in EC2NODECLASS_SPEC_FIELDS:
            close = difflib.get_close_matches(str(key), EC2NODECLASS_SPEC_FIELDS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            what = f"EC2NodeClass {name}: spec.{key} is not a field of EC2NodeClass v1{hint}"
            found.append((line, what, f"# line {line}: rename or delete spec.{key}{hint}", []))
        elif karpenter is not None and karpenter < EC2NODECLASS_SPEC_FIELDS[key]:
            since = version_text(EC2NODECLASS_SPEC_FIELDS[key])
            found.append(
                (
                    line,
                    f"EC2NodeClass {name}: spec.{key} exists only from Karpenter {since}, not in {version_text(karpenter)}",
                    f"# line {line}: upgrade Karpenter to {since} or later, or delete spec.{key}",
                    [],
                )
            )
    spec_line = node_class.spec_line()
    for key in EC2NODECLASS_REQUIRED:
        if key not in spec:
            if key == "amiSelectorTerms":
                yaml = (
                    f"amiSelectorTerms:\n- alias: {_alias_for(node_class)}"
                    "   # pin a release (e.g. al2023@v<date>) in production; amiFamily can then go"
                )
            else:
                yaml = f"{key}:\n- tags:\n    karpenter.sh/discovery: <cluster-name>"
            what = f"EC2NodeClass {name}: required field spec.{key} is missing (the API server rejects the object)"
            found.append((spec_line, what, yaml, []))
    if ("role" in spec) == ("instanceProfile" in spec):
        what = f"EC2NodeClass {name}: set exactly one of spec.role and spec.instanceProfile"
        found.append((spec_line, what, "role: KarpenterNodeRole-<cluster-name>", []))
    terms = spec.get("amiSelectorTerms")
    has_alias = isinstance(terms, list) and any(isinstance(t, dict) and t.get("alias") for t in terms)
    if isinstance(terms, list) and not has_alias and "amiFamily" not in spec:
        what = f"EC2NodeClass {name}: amiFamily is required when amiSelectorTerms has no alias"
        found.append((node_class.line("amiSelectorTerms"), what, "amiFamily: AL2023", []))
    return found


@check(
    id="LINT015",
    title="EC2NodeClass fields exist in Karpenter v1 (and in the given Karpenter version)",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING, Symptom.DEGRADED),
    targets=("manifests",),
)
def ec2nodeclass_fields_exist(manifests: LoadResult, declared_karpenter_version: str | None = None):
    """
    ## Why it matters
    An EC2NodeClass field that does not exist is either rejected (kubectl's
    strict field validation) or silently pruned by the API server, and in both
    cases the setting never takes effect. The runbook's
    `placementGroupName: ...` is not a Karpenter field: the real one is
    `placementGroupSelector: {name: ...}` (or `{id: pg-...}`), which exists
    from Karpenter v1.11.0, as does `networkInterfaces`. A second `spec:`
    pasted one level in becomes the unknown field `spec.spec`. The v1 CRD
    also requires `amiSelectorTerms`, `subnetSelectorTerms` and
    `securityGroupSelectorTerms`, and exactly one of `role` and
    `instanceProfile`. The known fields and the release that added each are
    kept in one table (from aws/karpenter-provider-aws
    `pkg/apis/v1/ec2nodeclass.go` at tags v1.0.0 ... v1.14.0); pass
    `--karpenter-version` to judge fields newer than your release.

    ## Fix
    Rename or remove the unknown fields (`placementGroupName: X` becomes
    `placementGroupSelector: {name: X}` on Karpenter >= v1.11.0), delete a
    stray inner `spec:`, and add the required fields (e.g.
    `amiSelectorTerms: [{alias: al2023@latest}]`, pinned to a release in
    production).
    """
    classes = list(nodeclasses(manifests).values())
    if not classes:
        return skipped("no EC2NodeClass in the input")
    judged = [c for c in classes if c.v1]
    if not judged:
        return skipped(f"{len(classes)} EC2NodeClass(es) in the input, none karpenter.k8s.aws/v1 (only v1 is judged)")
    karpenter = version_tuple(declared_karpenter_version)
    evidence, snippets, commands, sources = [], [], [], []
    for node_class in judged:
        for line, detail, yaml, extra in _problems(node_class, karpenter):
            evidence.append((at(node_class.doc.source, line), detail))
            snippets.append(node_class.snippet(line, yaml))
            commands.extend(c for c in extra if c not in commands)
            sources.append(node_class.doc.source)
    version = f" (Karpenter {version_text(karpenter)})" if karpenter else ""
    if not evidence:
        return passed(f"{len(judged)} EC2NodeClass(es) use only existing v1 fields{version}")
    return failed(
        f"{len(evidence)} EC2NodeClass field problem(s){version}: {evidence[0][1]}",
        fix=fix_text("Use the real EC2NodeClass v1 fields:", snippets),
        commands=[*commands, *lint_again(sources)],
        evidence=evidence,
    )
