"""The ranker: one root cause with its cascade folded; ruled out and next failures by symptom."""

from efadoctor import Layer, Severity, Symptom, check, failed, passed, warned
from efadoctor.model import Finding
from efadoctor.rank import rank, verdict_of


def _finding(check_obj, verdict):
    return Finding(check_obj, verdict)


def _fail(summary="x", **kw):
    return failed(summary, fix="do y", **kw)


def _make(id_, layer, symptoms=(), caused_by=(), severity=Severity.HIGH):
    @check(id=id_, title=id_, layer=layer, symptoms=symptoms, caused_by=caused_by, severity=severity)
    def evaluate():
        raise AssertionError("not called by the ranker")

    return evaluate


NO_ENI = _make("AWS002", Layer.AWS_INSTANCE, (Symptom.ENODATA, Symptom.PENDING))
PLUGIN_NO_DEVICES = _make("K8S006", Layer.DEVICE_PLUGIN, (Symptom.ENODATA, Symptom.PENDING), ("AWS002",))
NODE_NO_EFA = _make("K8S002", Layer.NODE, (Symptom.PENDING, Symptom.ENODATA), ("AWS002", "K8S006"))
POD_PENDING = _make("POD003", Layer.POD_SPEC, (Symptom.PENDING,), ("K8S002",))
SG = _make("AWS004", Layer.AWS_NETWORK, (Symptom.UNREACHABLE,))
PLACEMENT = _make("AWS005", Layer.AWS_NETWORK, (Symptom.DEGRADED,), severity=Severity.MEDIUM)
HUGEPAGES = _make("POD005", Layer.POD_SPEC, (Symptom.PENDING,))


def test_four_step_cascade_is_one_cause_with_three_consequences():
    findings = [
        _finding(POD_PENDING, _fail("pod pending", observed=[Symptom.PENDING])),
        _finding(NODE_NO_EFA, _fail("node advertises no efa")),
        _finding(PLUGIN_NO_DEVICES, _fail("plugin found no devices")),
        _finding(NO_ENI, _fail("no efa eni")),
    ]
    ranking = rank(findings)
    assert ranking.symptom is Symptom.PENDING and ranking.symptom_source == "POD003"
    assert [c.finding.check.id for c in ranking.causes] == ["AWS002"]
    assert [f.check.id for f in ranking.causes[0].consequences] == ["K8S006", "K8S002", "POD003"]
    assert ranking.next_failures == ()
    assert verdict_of(ranking) == "causes_found"


def test_passing_sg_check_is_ruled_out_for_unreachable_but_not_a_cause_of_enodata():
    sg_ok = _finding(SG, passed("sg allows self"))
    unreachable = rank([sg_ok, _finding(NO_ENI, passed("has eni"))], symptom=Symptom.UNREACHABLE)
    assert [f.check.id for f in unreachable.ruled_out] == ["AWS004"]
    enodata = rank([sg_ok, _finding(NO_ENI, passed("has eni"))], symptom=Symptom.ENODATA)
    assert [f.check.id for f in enodata.ruled_out] == ["AWS002"]


def test_failing_sg_is_next_failure_not_cause_of_enodata():
    ranking = rank([_finding(SG, _fail("sg closed")), _finding(NO_ENI, _fail("no eni"))], symptom=Symptom.ENODATA)
    assert [c.finding.check.id for c in ranking.causes] == ["AWS002"]
    assert [c.finding.check.id for c in ranking.next_failures] == ["AWS004"]


def test_independent_causes_are_ordered_root_most_layer_first_then_severity():
    findings = [
        _finding(HUGEPAGES, _fail("no hugepages")),
        _finding(PLACEMENT, warned("no placement group", fix="add one")),
        _finding(NO_ENI, _fail("no eni")),
    ]
    ranking = rank(findings)  # no symptom: every failure is ranked
    assert ranking.symptom is None
    assert [c.finding.check.id for c in ranking.causes] == ["AWS002", "AWS005", "POD005"]
    assert [c.rank for c in ranking.causes] == [1, 2, 3]


def test_consequence_is_folded_only_through_failing_links():
    # K8S006 passes, so K8S002's failure is NOT explained by AWS002 through it... but K8S002 also names AWS002 directly
    findings = [_finding(NO_ENI, _fail()), _finding(PLUGIN_NO_DEVICES, passed("ok")), _finding(POD_PENDING, _fail())]
    ranking = rank(findings, symptom=Symptom.PENDING)
    # POD003 names only K8S002, which did not fail: it stands on its own
    assert sorted(c.finding.check.id for c in ranking.causes) == ["AWS002", "POD003"]
    assert all(c.consequences == () for c in ranking.causes)


def test_cycle_of_failures_does_not_lose_findings():
    a = _make("CYC001", Layer.NODE, (Symptom.ENODATA,), ("CYC002",))
    b = _make("CYC002", Layer.NODE, (Symptom.ENODATA,), ("CYC001",))
    ranking = rank([_finding(a, _fail()), _finding(b, _fail())])
    ids = {c.finding.check.id for c in ranking.causes} | {f.check.id for c in ranking.causes for f in c.consequences}
    assert ids == {"CYC001", "CYC002"}


def test_unknowns_make_it_inconclusive_never_healthy():
    from efadoctor import unknown

    ranking = rank([_finding(SG, unknown("AccessDenied", missing_permission="ec2:DescribeSecurityGroups"))])
    assert verdict_of(ranking) == "inconclusive"
    assert ranking.could_not_check[0].verdict.missing_permission == "ec2:DescribeSecurityGroups"
    assert verdict_of(rank([_finding(SG, passed("ok"))])) == "healthy"


def test_cascade_root_counts_for_symptom_carried_by_its_consequences():
    # AWS005 alone cannot cause pending, but a root whose consequence declares it does
    root = _make("ROOT001", Layer.AWS_INSTANCE, ())
    child = _make("CHLD001", Layer.POD_SPEC, (Symptom.PENDING,), ("ROOT001",))
    ranking = rank([_finding(root, _fail()), _finding(child, _fail())], symptom=Symptom.PENDING)
    assert [c.finding.check.id for c in ranking.causes] == ["ROOT001"]
