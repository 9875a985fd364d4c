from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, key_line, lint_again
from efadoctor.checks.lint._karpenter import nodeclasses, version_tuple

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import LoadResult

NO_AL2_FROM = (1, 33, 0)  # no EKS AL2 AMIs are built for Kubernetes 1.33 and later
CORRECTED = (
    "amiSelectorTerms:\n- alias: al2023@latest   # or bottlerocket@latest; pin a release in production\n"
    "# and delete amiFamily (the alias implies it), or set amiFamily: AL2023"
)


@check(
    id="LINT016",
    title="EC2NodeClasses do not use the end-of-support Amazon Linux 2 AMIs",
    layer=Layer.NODE,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING,),
    targets=("manifests",),
)
def ec2nodeclass_ami_family_supported(manifests: LoadResult, declared_kube_version: str | None = None):
    """
    ## Why it matters
    The EKS-optimized Amazon Linux 2 AMIs reached end of support on
    2025-11-26, and none are built for Kubernetes 1.33 or later, so an
    `amiFamily: AL2` (or `alias: al2@...`) EC2NodeClass stops getting fixes
    and, on 1.33+, finds no AMI to launch at all. The AL2023 accelerated
    AMIs (NVIDIA, Neuron) and Bottlerocket include the EFA host components;
    Karpenter's `al2023` alias picks the NVIDIA or Neuron variant for GPU and
    Neuron instance types by itself. Pass `--kube-version` to tell whether
    the cluster is already past AL2.

    ## Fix
    Select AL2023 (or Bottlerocket): `amiSelectorTerms: [{alias:
    al2023@latest}]`, pinned to a release in production, and drop
    `amiFamily: AL2` (the alias implies the family).
    """
    classes = list(nodeclasses(manifests).values())
    if not classes:
        return skipped("no EC2NodeClass in the input")
    kube = version_tuple(declared_kube_version)
    past = kube is not None and kube >= NO_AL2_FROM
    evidence, snippets, sources = [], [], []
    for node_class in classes:
        spec = node_class.spec
        places = []
        if str(spec.get("amiFamily", "")).upper() == "AL2":
            places.append((node_class.line("amiFamily"), "amiFamily: AL2"))
        terms = spec.get("amiSelectorTerms")
        for term in terms if isinstance(terms, list) else ():
            alias = term.get("alias") if isinstance(term, dict) else None
            if isinstance(alias, str) and alias.lower().split("@", 1)[0] == "al2":
                places.append((key_line(term, "alias"), f"alias: {alias}"))
        for line, what in places:
            when = f"; Kubernetes {kube[0]}.{kube[1]} has no AL2 AMI" if past and kube else ""
            detail = f"EC2NodeClass {node_class.name}: {what} (EKS AL2 AMIs: end of support 2025-11-26{when})"
            evidence.append((at(node_class.doc.source, line), detail))
        if places:
            snippets.append(node_class.snippet(places[0][0], CORRECTED))
            sources.append(node_class.doc.source)
    if not evidence:
        return passed(f"{len(classes)} EC2NodeClass(es) use a supported AMI family")
    return failed(
        f"{len(snippets)} EC2NodeClass(es) use Amazon Linux 2 AMIs: {evidence[0][1]}",
        fix=fix_text("Move to AL2023 (NVIDIA/Neuron variants are chosen per instance type) or Bottlerocket:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
