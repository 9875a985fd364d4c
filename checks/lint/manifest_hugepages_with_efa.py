from __future__ import annotations

from typing import TYPE_CHECKING

from efadoctor import Layer, Severity, check, failed, passed, skipped, warned
from efadoctor.checks.lint._cite import at, fix_text, lint_again, place, pod_spec_name
from efadoctor.checks.lint._pods import Container, containers
from efadoctor.facts.kube import HUGEPAGES_2MI, quantity_bytes

if TYPE_CHECKING:
    from efadoctor.parsers.manifests import PodSpecRef

_SNIPPET = (
    "resources:\n  limits:\n    hugepages-2Mi: 5120Mi   # AWS's example for p5.48xlarge\n"
    "  requests:\n    hugepages-2Mi: 5120Mi\n"
    "# or, without huge pages:\n"
    'env:\n- name: FI_EFA_USE_HUGE_PAGE\n  value: "0"'
)
_WITH_MEMORY = _SNIPPET.replace(
    "5120Mi   # AWS's example for p5.48xlarge\n",
    "5120Mi   # AWS's example for p5.48xlarge\n    memory: 32000Mi   # huge pages need a cpu or memory request\n",
).replace("  requests:\n    hugepages-2Mi: 5120Mi\n", "  requests:\n    hugepages-2Mi: 5120Mi\n    memory: 32000Mi\n")


@check(
    id="LINT005",
    title="EFA containers request 2 MiB huge pages (or turn them off for libfabric)",
    layer=Layer.POD_SPEC,
    severity=Severity.MEDIUM,
    symptoms=(),
    targets=("manifests",),
)
def manifest_hugepages_with_efa(manifest_pod_specs: tuple[PodSpecRef, ...]):
    """
    ## Why it matters
    libfabric's EFA provider uses 2 MiB huge pages for its internal buffers by
    default, and the EFA driver reserves them on the node (the EKS user guide:
    5128 pages of 2 MiB). A container that uses EFA without requesting
    `hugepages-2Mi` can crash in libfabric's buffer pools on nodes with huge
    pages; AWS's own pod spec requests `hugepages-2Mi: 5120Mi`. Huge pages
    are a non-overcommittable resource: requests must equal limits, and the
    API server rejects a container that requests huge pages without also
    requesting cpu or memory ("HugePages require cpu or memory").

    ## Fix
    Request `hugepages-2Mi` (5120Mi in AWS's p5.48xlarge example) in both
    requests and limits, together with a memory request; or, where the
    nodes reserve no huge pages, set `FI_EFA_USE_HUGE_PAGE=0` instead.
    """
    evidence, snippets, sources = [], [], []
    judged, broken = 0, False
    for ref in manifest_pod_specs:
        for container in containers(ref, init=False):
            if not container.wants_efa:
                continue
            judged += 1
            who = f"{pod_spec_name(ref)} container {container.name}"
            off = container.env.get("FI_EFA_USE_HUGE_PAGE")
            if off is not None and (off.value or "").strip() == "0":
                continue
            problems, rejected = _problems(container, who)
            if not problems:
                continue
            broken = broken or rejected
            evidence.extend((at(ref.doc.source, line), detail) for line, detail in problems)
            memory = any(container.asks_for(r) for r in ("cpu", "memory"))
            where = f"# {place(ref.doc.source, container.resource_line())} {who}:"
            snippets.append(f"{where}\n" + (_SNIPPET if memory else _WITH_MEMORY))
            sources.append(ref.doc.source)
    if not judged:
        return skipped("no container in the input uses EFA")
    if not evidence:
        return passed(f"{judged} EFA container(s) request huge pages correctly or set FI_EFA_USE_HUGE_PAGE=0")
    verdict = failed if broken else warned
    return verdict(
        f"{len(snippets)} EFA container(s) have no valid {HUGEPAGES_2MI} request: {evidence[0][1]}",
        fix=fix_text(f"Request {HUGEPAGES_2MI} (requests = limits, with memory), or set FI_EFA_USE_HUGE_PAGE=0:", snippets),
        commands=lint_again(sources),
        evidence=evidence,
    )


def _problems(container: Container, who: str) -> tuple[list[tuple[int | None, str]], bool]:
    """What is wrong with the container's huge pages, and whether the API server would reject it."""
    request, limit = container.resource(HUGEPAGES_2MI)
    if request is None and limit is None:
        return [(container.efa_line(), f"{who} uses EFA without {HUGEPAGES_2MI} and without FI_EFA_USE_HUGE_PAGE=0")], False
    problems = []
    if request is not None and limit is None:
        problems.append((request.line, f"{who}: a {HUGEPAGES_2MI} request without a limit is rejected (Limit must be set)"))
    if request is not None and limit is not None and quantity_bytes(str(request.value)) != quantity_bytes(str(limit.value)):
        problems.append((request.line, f"{who}: {HUGEPAGES_2MI} request {request.value} != limit {limit.value} is rejected"))
    if not any(container.asks_for(r) for r in ("cpu", "memory")):
        entry = limit or request
        detail = f"{who}: {HUGEPAGES_2MI} without a cpu or memory request is rejected (HugePages require cpu or memory)"
        problems.append((entry.line if entry else None, detail))
    return problems, bool(problems)
