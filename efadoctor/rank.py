"""Turn findings into ranked root causes of one symptom.

One root cause produces a cascade (no EFA ENI => the plugin finds no device =>
the node advertises no vpc.amazonaws.com/efa => the pod stays Pending). The
user needs the root, so a failure that another failure explains (through the
checks' declared `caused_by` links) is folded under it as a consequence.
Among the roots, those that can produce the observed symptom come first,
root-most layer first; the others are "next failures": real problems that
will bite once this one is fixed, but not the cause of what the user sees.
"""

from __future__ import annotations

from typing import Sequence

from .model import SYMPTOM_PRIORITY, Cause, Finding, Ranking, Status, Symptom


def observed_symptoms(findings: Sequence[Finding]) -> list[tuple[Symptom, str]]:
    """Symptoms the evidence shows, in priority order, with the check that saw each."""
    seen: dict[Symptom, str] = {}
    for finding in findings:
        for symptom in finding.verdict.observed:
            seen.setdefault(symptom, finding.check.id)
    return [(s, seen[s]) for s in SYMPTOM_PRIORITY if s in seen]


def _failing_parents(finding: Finding, failing: dict[str, Finding]) -> list[Finding]:
    return [failing[parent] for parent in finding.check.caused_by if parent in failing and parent != finding.check.id]


def _roots_of(finding: Finding, failing: dict[str, Finding]) -> list[Finding]:
    """The failing ancestors that no failing check explains, walking only through failures."""
    roots: list[Finding] = []
    stack, visited = [finding], {finding.check.id}
    while stack:
        current = stack.pop()
        parents = [p for p in _failing_parents(current, failing) if p.check.id not in visited]
        if not parents and current is not finding:
            roots.append(current)
        for parent in parents:
            visited.add(parent.check.id)
            stack.append(parent)
    return roots


def _order(finding: Finding) -> tuple:
    check, verdict = finding.check, finding.verdict
    return (
        check.layer.order,
        0 if verdict.status is Status.FAIL else 1,
        check.severity.order,
        verdict.confidence.order,
        check.id,
    )


def rank(findings: Sequence[Finding], *, symptom: Symptom | None = None, symptom_source: str | None = None) -> Ranking:
    observed = observed_symptoms(findings)
    if symptom is None and observed:
        symptom, symptom_source = observed[0]
    elif symptom is not None and symptom_source is None:
        symptom_source = "--symptom"

    failing = {f.check.id: f for f in findings if f.failing}
    roots = [f for f in failing.values() if not _failing_parents(f, failing)]
    folded: dict[str, list[Finding]] = {}
    for finding in failing.values():
        if finding in roots:
            continue
        candidates = [r for r in _roots_of(finding, failing) if r in roots]
        if candidates:  # fold under the best-ranked root that explains it
            folded.setdefault(min(candidates, key=_order).check.id, []).append(finding)
        else:  # a cycle of failures: none explains the other, so each stands on its own
            roots.append(finding)
    roots.sort(key=_order)
    for root in roots:
        folded.setdefault(root.check.id, [])

    def depth(finding: Finding, seen: frozenset[str] = frozenset()) -> int:
        """Steps from its root: consequences are listed in the order the cascade happened."""
        parents = [p for p in _failing_parents(finding, failing) if p.check.id not in seen]
        return 0 if not parents else 1 + max(depth(p, seen | {finding.check.id}) for p in parents)

    def cascade(root: Finding) -> tuple[Finding, ...]:
        return tuple(sorted(folded[root.check.id], key=lambda f: (depth(f), _order(f))))

    def explains(root: Finding) -> bool:
        if symptom is None:
            return True
        chain = [root, *folded[root.check.id]]
        return any(symptom in f.check.symptoms for f in chain)

    relevant = [r for r in roots if explains(r)]
    others = [r for r in roots if not explains(r)]
    causes = tuple(Cause(i + 1, root, cascade(root)) for i, root in enumerate(relevant))
    next_failures = tuple(Cause(len(causes) + i + 1, root, cascade(root)) for i, root in enumerate(others))
    passing = [f for f in findings if f.verdict.status is Status.PASS and f.check.symptoms]
    ruled_out = tuple(f for f in passing if symptom is None or symptom in f.check.symptoms)
    could_not = tuple(
        f for f in findings if f.verdict.status is Status.ERROR or (f.verdict.status is Status.SKIP and f.verdict.unavailable)
    )
    return Ranking(symptom, symptom_source, causes, ruled_out, next_failures, could_not, tuple(s for s, _ in observed))


def verdict_of(ranking: Ranking) -> str:
    """healthy | causes_found | inconclusive (see the report's `verdict`)."""
    if ranking.causes or ranking.next_failures:
        return "causes_found"
    if ranking.could_not_check:
        return "inconclusive"
    return "healthy"
