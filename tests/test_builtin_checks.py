"""Every built-in check explains itself and lives where its name says; docs/checks.md is current."""

from pathlib import Path

import pytest

from efadoctor.cli.explain import markdown_all
from efadoctor.registry import load

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = load(plugins=False)
BUILTINS = sorted((c for c in REGISTRY.checks.values() if c.origin == "built-in"), key=lambda c: c.id)


@pytest.mark.parametrize("check", BUILTINS, ids=lambda c: c.id)
def test_docstring_has_why_and_fix(check):
    assert "## Why it matters" in check.doc, f"{check.id} {check.name}: docstring lacks '## Why it matters'"
    assert "## Fix" in check.doc, f"{check.id} {check.name}: docstring lacks '## Fix'"


@pytest.mark.parametrize("check", BUILTINS, ids=lambda c: c.id)
def test_one_check_per_module_named_after_it(check):
    module = check.evaluate.__module__
    assert module.startswith("efadoctor.checks."), module
    assert module.rsplit(".", 1)[-1] == check.name, f"{check.id}: module {module} should be named {check.name}"


def test_docs_checks_md_is_generated_from_the_checks():
    expected = markdown_all(list(REGISTRY.checks.values()))
    current = (ROOT / "docs" / "checks.md").read_text()
    assert current == expected, "docs/checks.md is stale: run `efadoctor explain --all --no-plugins > docs/checks.md`"


def test_writing_checks_lists_every_builtin_fact():
    text = (ROOT / "docs" / "writing-checks.md").read_text()
    missing = [name for name, c in REGISTRY.collectors.items() if c.origin == "built-in" and f"`{name}`" not in text]
    assert not missing, f"docs/writing-checks.md does not list the facts {missing}"
