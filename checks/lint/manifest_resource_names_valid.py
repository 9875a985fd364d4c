from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers
from efadoctor.facts.resources import bad_resource_names

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef


@check(
    id="LINT002",
    title="Pod specs use the real EFA and GPU resource names",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.PENDING, Symptom.ENODATA),
    targets=("manifests",),
)
def manifest_resource_names_valid(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    The EFA device plugin registers exactly `vpc.amazonaws.com/efa`, and the
    NVIDIA plugin `nvidia.com/gpu`. The runbook snippet `vpc.amazonaws.com: 1`
    / `nvidia.com: 8` is not a valid resource name: the API server rejects the
    pod ("must be a standard resource type or fully qualified"), so it never
    runs. A qualified misspelling such as `aws.amazon.com/efa` is accepted,
    but no node offers it and the pod stays Pending with `Insufficient
    aws.amazon.com/efa`; deleting the request to get it scheduled then gives a
    pod without EFA devices (`fi_getinfo: -61`).

    ## Fix
    Write `vpc.amazonaws.com/efa: N` and `nvidia.com/gpu: N`, in both
    `requests` and `limits` of the container that runs the workload.
    """
    refs = manifest_pod_specs
    if not refs:
        return skipped("no pod spec in the input")
    evidence, snippets, sources, names, first = [], [], [], set(), None
    for ref in refs:
        for container in containers(ref):
            for section in ("limits", "requests"):
                entries = container.section(section)
                for bad in bad_resource_names(sorted(entries, key=lambda n: entries[n].line or 0)):
                    entry = entries[bad.name]
                    where = at(ref.doc.source, entry.line)
                    evidence.append((where, f"{pod_spec_name(ref)} container {container.name}: {section} {bad.reason}"))
                    snippets.append(
                        f"# {ref.doc.source}:{entry.line} {pod_spec_name(ref)}, container {container.name}, {section}:\n"
                        f"{bad.suggestion or '<the real resource name>'}: {entry.value}   # was {bad.name}: {entry.value}"
                    )
                    sources.append(ref.doc.source)
                    names.add(bad.name)
                    first = first or place(ref.doc.source, entry.line)
    if not evidence:
        return passed(f"{len(refs)} pod spec(s) use valid EFA/GPU resource names")
    return failed(
        f"{len(evidence)} misspelled EFA/GPU resource name(s) ({', '.join(sorted(names))}); first at {first}",
        fix=fix_text("Use the names the device plugins register, in both requests and limits:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
