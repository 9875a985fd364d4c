"""Shared test setup: tests judge the built-in checks, so installed plugins stay out unless a test asks."""

import pytest


@pytest.fixture(autouse=True)
def _no_plugin_autoload(monkeypatch):
    monkeypatch.setenv("EFADOCTOR_DISABLE_PLUGIN_AUTOLOAD", "1")
