from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers, pinned_instance_types
from efadoctor.facts.kube import EFA_RESOURCE

if TYPE_CHECKING:
    from efadoctor.instance_types import InstanceTypeInfo
    from efadoctor.parsers.manifests import PodSpecRef


@check(
    id="LINT018",
    title="The EFA count fits the instance type the pod is pinned to",
    layer=Layer.POD_SPEC,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING, Symptom.DEGRADED),
    caused_by=("LINT003",),
    targets=("manifests",),
)
def manifest_efa_count_fits_instance_type(
    manifest_pod_specs: tuple[PodSpecRef, ...],
    instance_type_catalog: tuple[InstanceTypeInfo, ...],
):
    """
    ## Why it matters
    A node offers as many `vpc.amazonaws.com/efa` as its instance type has
    EFA interfaces (32 on p5.48xlarge and p5e.48xlarge, 16 on p5en.48xlarge,
    8 on p6-b200.48xlarge, 4 on p4d.24xlarge, 1 on g5.8xlarge). A pod pinned
    to a type (nodeSelector or required node affinity on
    `node.kubernetes.io/instance-type`) that asks for more stays Pending
    ("Insufficient vpc.amazonaws.com/efa") forever; one that asks for fewer
    runs with only part of the network (NCCL "found 1 nics" on a 32-EFA
    node); a type without EFA gives no device at all. The counts come from
    efadoctor's offline instance-type data (EC2 DescribeInstanceTypes).

    ## Fix
    Request the instance type's full EFA count in requests and limits, or pin
    the pod to a type that has that many EFA interfaces.
    """
    known = {info.instance_type: info for info in instance_type_catalog}
    evidence, snippets, sources = [], [], []
    judged, broken = 0, False
    for ref in manifest_pod_specs:
        types = pinned_instance_types(ref)
        if not types:
            continue
        for container in containers(ref, init=False):
            count = container.count(EFA_RESOURCE)
            if count is None:
                continue
            judged += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            for name, type_line in types:
                info = known.get(name.lower())
                if info is None or (info.efa_supported and info.max_efa_interfaces is None):
                    continue  # not in the data: nothing to say
                maximum = (info.max_efa_interfaces or 0) if info.efa_supported else 0
                if count == maximum:
                    continue
                if count > maximum:
                    broken = True
                    has = f"{name} has {maximum or 'no'} EFA interface(s)"
                    detail = f"{who} requests {count} {EFA_RESOURCE} but {has}: Pending forever"
                else:
                    detail = f"{who} requests {count} {EFA_RESOURCE} of the {maximum} that {name} has: NCCL uses only {count}"
                evidence.append((at(ref.doc.source, container.efa_line()), detail))
                evidence.append((at(ref.doc.source, type_line), f"{pod_spec_name(ref)} is pinned to {name}"))
                wanted = maximum if maximum else "N   # pick an instance type with EFA"
                snippets.append(
                    f"# {place(ref.doc.source, container.efa_line())} {who} on {name}:\n"
                    f"resources:\n  limits:\n    {EFA_RESOURCE}: {wanted}\n  requests:\n    {EFA_RESOURCE}: {wanted}"
                )
                sources.append(ref.doc.source)
    if not judged:
        return skipped("no EFA pod in the input is pinned to an instance type")
    if not evidence:
        return passed(f"{judged} EFA container(s) request the full EFA count of their pinned instance type")
    verdict = failed if broken else warned
    return verdict(
        f"{len(snippets)} EFA request(s) do not match the pinned instance type: {evidence[0][1]}",
        fix=fix_text("Request the instance type's full EFA count:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
