"""Renderers only present: collapsed not-applicable rows, no color off a terminal, every section shown."""

import io

from efadoctor.render import markdown, table
from efadoctor.render.text import check_rows


def _entry(check_id, status="pass", summary="ok", layer="runtime"):
    return {"check_id": check_id, "name": check_id.lower(), "title": check_id, "layer": layer, "severity": "high",
            "status": status, "summary": summary, "evidence": [], "origin": "built-in"}


def _report(checks, could_not_check=()):
    return {"verdict": "healthy", "headline": "Healthy: every check that could be run passed.", "target": {"kind": "node", "name": "n1"},
            "symptom": None, "causes": [], "next_failures": [], "ruled_out": [], "could_not_check": list(could_not_check),
            "checks": checks, "api_calls": {"total": 1}, "timings": {"total_s": 0.1}}


def test_not_applicable_skips_with_one_reason_collapse_into_one_row():
    checks = [_entry("LOG001", "skip", "no log", "runtime"), _entry("LOG002", "skip", "no log", "image"),
              _entry("LOG003", "skip", "no log"), _entry("POD001"), _entry("POD002", "skip", "no log")]
    assert check_rows(_report(checks)) == [
        ("LOG001…LOG003", "skip", "(several)", "no log"),
        ("POD001", "pass", "runtime", "ok"),
        ("POD002", "skip", "runtime", "no log"),
    ]


def test_unknowns_are_never_collapsed():
    checks = [_entry("AWS004", "skip", "AccessDenied"), _entry("AWS005", "skip", "AccessDenied")]
    unknown = [{"check_id": "AWS004"}, {"check_id": "AWS005"}]
    assert [row[0] for row in check_rows(_report(checks, unknown))] == ["AWS004", "AWS005"]


def test_table_without_terminal_has_no_escape_codes_and_keeps_commands_whole():
    command = "aws ec2 authorize-security-group-egress --group-id sg-0123456789abcdef0 --ip-permissions " + "x" * 200
    cause = {"rank": 1, "check_id": "AWS004", "title": "t", "layer": "aws-network", "severity": "high", "status": "fail",
             "confidence": "high", "summary": "closed", "evidence": [], "fix": {"summary": "open it", "commands": [command]},
             "consequences": [], "docs": "efadoctor explain AWS004"}
    report = {**_report([_entry("AWS004", "fail", "closed")]), "verdict": "causes_found", "headline": "Root cause: closed",
              "causes": [cause]}
    out = io.StringIO()
    table.render(report, out, color=False)
    assert "\x1b[" not in out.getvalue()
    assert command in out.getvalue()  # one line, copyable
    out = io.StringIO()
    markdown.render(report, out)
    assert f"```sh\n{command}\n```" in out.getvalue()


def test_markdown_survives_empty_texts_from_a_plugin():
    cause = {"rank": 1, "check_id": "ACME001", "title": "t", "layer": "runtime", "severity": "low", "status": "warn",
             "confidence": "low", "summary": "", "evidence": [], "fix": {"summary": "", "commands": []},
             "consequences": [], "docs": "efadoctor explain ACME001"}
    report = {**_report([_entry("ACME001", "warn", "")], [{"check_id": "ACME002", "title": "t", "reason": "", "missing_permission": None}]),
              "verdict": "causes_found", "causes": [cause]}
    out = io.StringIO()
    markdown.render(report, out)
    assert "ACME001" in out.getvalue()
