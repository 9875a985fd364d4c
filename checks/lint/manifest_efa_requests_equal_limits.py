from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import containers
from efadoctor.facts.kube import EFA_RESOURCE

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef


@check(
    id="LINT003",
    title="EFA requests equal limits, as whole numbers of at least 1",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA,),
    targets=("manifests",),
)
def manifest_efa_requests_equal_limits(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    `vpc.amazonaws.com/efa` is an extended resource, and the API server
    enforces its rules: a request without a limit is rejected ("Limit must be
    set for non overcommitable resources"), a request that differs from the
    limit is rejected ("must be equal to vpc.amazonaws.com/efa limit of N"),
    and the value must be an integer. A limit alone is fine: the request
    defaults to it. A count of 0 is accepted but gives the container no EFA
    device, which then fails with `fi_getinfo: -61`.

    ## Fix
    Write the same whole number in `limits` and `requests` (or in `limits`
    only): the node's allocatable count, e.g. 32 on p5.48xlarge.
    """
    refs = manifest_pod_specs
    evidence, snippets, sources = [], [], []
    seen = 0
    for ref in refs:
        for container in containers(ref):
            request, limit = container.resource(EFA_RESOURCE)
            if request is None and limit is None:
                continue
            seen += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            problems = []
            for entry, what in ((request, "request"), (limit, "limit")):
                if entry is not None and entry.count is None:
                    problems.append((entry.line, f"{what} {entry.value!r} is not a whole number (the API server rejects it)"))
            if request is not None and limit is None:
                problems.append((request.line, f"request {request.value} without a limit: rejected (Limit must be set)"))
            elif request and limit and None not in (request.count, limit.count) and request.count != limit.count:
                problems.append((request.line, f"request {request.value} but limit {limit.value}: rejected (must be equal)"))
            counts = [e.count for e in (limit, request) if e is not None and e.count is not None]
            if not problems and counts and counts[0] <= 0:
                entry = limit or request
                problems.append((entry.line if entry else None, f"count {counts[0]}: the container gets no EFA device"))
            if not problems:
                continue
            wanted = next((c for c in counts if c > 0), None)
            count = str(wanted) if wanted else "N  # the node's allocatable vpc.amazonaws.com/efa"
            for line, detail in problems:
                evidence.append((at(ref.doc.source, line), f"{who}: {detail}"))
            snippets.append(
                f"# {place(ref.doc.source, container.resource_line())} {who}:\n"
                f"resources:\n  limits:\n    {EFA_RESOURCE}: {count}\n  requests:\n    {EFA_RESOURCE}: {count}"
            )
            sources.append(ref.doc.source)
    if not seen:
        return skipped("no container in the input requests vpc.amazonaws.com/efa")
    if not evidence:
        return passed(f"{seen} container(s) request {EFA_RESOURCE} with requests equal to limits")
    return failed(
        f"{len(snippets)} container(s) request {EFA_RESOURCE} in a way the API server rejects or that gives no device; "
        f"first at {evidence[0][0].removeprefix('manifest: ')}",
        fix=fix_text("Write the same whole number (at least 1) in limits and requests:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )
