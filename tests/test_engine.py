"""The engine: lazy, memoised, concurrent fact gathering; unknown is never a pass."""

import threading
import time

import pytest

from efadoctor import FactUnavailable, Layer, Status, check, collector, failed, passed
from efadoctor.engine import Facts, run
from efadoctor.model import TargetNotFound


def _collectors(*items):
    return {c.fact: c for c in items}


def test_each_collector_runs_once_and_only_needed_ones():
    counts = {"base": 0, "derived": 0, "unused": 0}

    @collector
    def base():
        counts["base"] += 1
        return 2

    @collector
    def derived(base):
        counts["derived"] += 1
        return base * 10

    @collector
    def unused():
        counts["unused"] += 1
        return 0

    @check(id="T001", title="a", layer=Layer.NODE)
    def uses_both(base, derived):
        return passed(f"{base} {derived}")

    @check(id="T002", title="b", layer=Layer.NODE)
    def uses_derived(derived):
        return passed(str(derived))

    result = run([uses_both, uses_derived], _collectors(base, derived, unused), context=None)
    assert [f.verdict.summary for f in result.findings] == ["2 20", "20"]
    assert counts == {"base": 1, "derived": 1, "unused": 0}
    assert result.facts.calls == {"base": 1, "derived": 1}


def test_independent_collectors_run_concurrently():
    barrier = threading.Barrier(3, timeout=5)

    def make(name):
        def gather():
            barrier.wait()  # only passes if all three are running at the same time
            return name

        gather.__name__ = name
        return collector(gather)

    a, b, c = make("fa"), make("fb"), make("fc")

    @check(id="T003", title="t", layer=Layer.NODE)
    def all_three(fa, fb, fc):
        return passed(fa + fb + fc)

    result = run([all_three], _collectors(a, b, c), context=None, timeout_s=10)
    assert result.findings[0].verdict.status is Status.PASS


def test_unavailable_fact_skips_with_reason_and_permission():
    @collector
    def groups():
        raise FactUnavailable("AccessDenied", missing_permission="ec2:DescribeSecurityGroups")

    @collector
    def rules(groups):  # depends on an unavailable fact: unavailable too
        return groups

    @check(id="T004", title="t", layer=Layer.AWS_NETWORK)
    def needs_rules(rules):
        return passed("never")

    finding = run([needs_rules], _collectors(groups, rules), context=None).findings[0]
    assert finding.verdict.status is Status.SKIP
    assert finding.verdict.unavailable
    assert finding.verdict.missing_permission == "ec2:DescribeSecurityGroups"
    assert "AccessDenied" in finding.verdict.summary


def test_not_applicable_is_a_plain_skip():
    @collector
    def pod():
        raise FactUnavailable("no pod was given", not_applicable=True)

    @check(id="T005", title="t", layer=Layer.POD_SPEC)
    def needs_pod(pod):
        return passed("never")

    verdict = run([needs_pod], _collectors(pod), context=None).findings[0].verdict
    assert verdict.status is Status.SKIP and not verdict.unavailable


def test_optional_fact_gets_default_when_unavailable():
    @collector
    def node():
        raise FactUnavailable("no node")

    @check(id="T006", title="t", layer=Layer.POD_SPEC)
    def optional_node(node=None):
        return passed(f"node={node}")

    assert run([optional_node], _collectors(node), context=None).findings[0].verdict.summary == "node=None"


def test_crashing_collector_and_check_are_errors_not_crashes():
    @collector
    def broken():
        raise KeyError("boom")

    @check(id="T007", title="t", layer=Layer.NODE)
    def needs_broken(broken):
        return passed("never")

    @check(id="T008", title="t", layer=Layer.NODE)
    def buggy():
        return 1 / 0

    @check(id="T009", title="t", layer=Layer.NODE)
    def healthy():
        return passed("fine")

    findings = run([needs_broken, buggy, healthy], _collectors(broken), context=None).findings
    assert [f.verdict.status for f in findings] == [Status.ERROR, Status.ERROR, Status.PASS]
    assert "KeyError" in findings[0].verdict.summary and "Traceback" not in findings[0].verdict.summary
    assert "ZeroDivisionError" in findings[1].verdict.summary


def test_debug_keeps_the_traceback():
    @check(id="T010", title="t", layer=Layer.NODE)
    def buggy():
        raise RuntimeError("bad")

    verdict = run([buggy], {}, context=None, debug=True).findings[0].verdict
    assert "Traceback" in verdict.summary


def test_fail_without_fix_is_an_error():
    from efadoctor.model import Status as S
    from efadoctor.model import Verdict

    @check(id="T011", title="t", layer=Layer.NODE)
    def no_fix():
        return Verdict(S.FAIL, "broken but no fix")

    assert run([no_fix], {}, context=None).findings[0].verdict.status is Status.ERROR


def test_slow_collector_times_out_as_unavailable():
    @collector
    def slow():
        time.sleep(5)
        return 1

    @check(id="T012", title="t", layer=Layer.NODE)
    def needs_slow(slow):
        return passed("never")

    started = time.perf_counter()
    verdict = run([needs_slow], _collectors(slow), context=None, timeout_s=0.3).findings[0].verdict
    assert time.perf_counter() - started < 2
    assert verdict.status is Status.SKIP and verdict.unavailable and "timed out" in verdict.summary


def test_target_not_found_ends_the_run():
    @collector
    def node():
        raise TargetNotFound("node x not found in context y")

    @check(id="T013", title="t", layer=Layer.NODE)
    def needs_node(node):
        return failed("x", fix="y")

    with pytest.raises(TargetNotFound, match="node x not found"):
        run([needs_node], _collectors(node), context=None)


def test_provided_facts_need_no_collector():
    @check(id="T014", title="t", layer=Layer.NODE)
    def reads(given):
        return passed(given)

    facts = Facts({}, None, timeout_s=1, provided={"given": "yes"})
    assert facts.get("given") == "yes"
    assert run([reads], {}, context=None, provided={"given": "ok"}).findings[0].verdict.summary == "ok"


def test_gathered_reads_only_what_the_run_already_has():
    """The report's target line peeks at facts: it must never start a collector (an API call) of its own."""
    started = []

    @collector
    def node():
        started.append("node")
        return "n1"

    @collector
    def broken():
        raise FactUnavailable("denied")

    facts = Facts(_collectors(node, broken), None, timeout_s=1)
    assert facts.gathered("node") is None and started == []
    assert facts.get("node") == "n1" and facts.gathered("node") == "n1"
    with pytest.raises(FactUnavailable):
        facts.get("broken")
    assert facts.gathered("broken") is None and facts.gathered("never") is None
    assert started == ["node"]


def test_building_one_shared_client_does_not_hold_up_another():
    """The kubeconfig's exec plugin (`aws eks get-token`) can take a second; the AWS session must not queue behind it."""
    from efadoctor.context import Context, Options

    context = Context(Options(target="node"))
    release = threading.Event()
    slow = threading.Thread(target=context.client, args=("kube", lambda: release.wait(5) and "kube"))
    slow.start()
    try:
        time.sleep(0.05)  # the slow build now holds its lock
        started = time.perf_counter()
        assert context.client("aws", lambda: "aws") == "aws"
        assert time.perf_counter() - started < 0.5
    finally:
        release.set()
        slow.join()
    assert context.client("kube", lambda: "built twice") == "kube"
