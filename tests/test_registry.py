"""The registry: built-ins, entry-point plugins and --checks-dir, validated at load."""

import textwrap

import pytest

from efadoctor.registry import DISABLE_PLUGINS_ENV, PluginError, load

PLUGIN_CHECK = '''
from efadoctor import Layer, check, passed


@check(id="{id}", title="site rule", layer=Layer.RUNTIME)
def {name}({params}):
    """
    ## Why it matters
    Because.

    ## Fix
    Do it.
    """
    return passed("ok")
'''


def _write(folder, name, source):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    return folder


def _plugin_dist(root, *, module="acme_efa_checks", body=None, name="acme"):
    """An installed distribution with an efadoctor.checks entry point, made by hand on sys.path."""
    package = root / module
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body if body is not None else PLUGIN_CHECK.format(id="ACME001", name="acme_rule", params="node"))
    info = root / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[efadoctor.checks]\n{name} = {module}\n")


def test_builtins_load_and_every_fact_has_a_collector():
    registry = load(plugins=False)
    assert {"K8S001", "K8S002", "POD001", "POD002", "POD003"} <= set(registry.checks)
    assert {"node", "pod", "pod_events", "workload_container"} <= set(registry.collectors)
    assert all(c.origin == "built-in" for c in registry.checks.values())


def test_checks_dir_is_loaded(tmp_path):
    folder = _write(tmp_path / "site", "site_rule", PLUGIN_CHECK.format(id="SITE001", name="site_rule", params="node"))
    registry = load(plugins=False, checks_dirs=[str(folder)])
    assert registry.checks["SITE001"].origin.endswith("site_rule.py")


def test_duplicate_id_names_both_origins(tmp_path):
    folder = _write(tmp_path / "clash", "clash", PLUGIN_CHECK.format(id="SITE002", name="clash", params="node"))
    _write(folder, "clash2", PLUGIN_CHECK.format(id="SITE002", name="clash2", params="node"))
    with pytest.raises(PluginError, match=r"SITE002 from .*clash2.py is already defined by .*clash.py"):
        load(plugins=False, checks_dirs=[str(folder)])


def test_builtin_prefix_is_reserved(tmp_path):
    folder = _write(tmp_path / "p", "steal", PLUGIN_CHECK.format(id="AWS999", name="steal", params="node"))
    with pytest.raises(PluginError, match="reserved for built-in"):
        load(plugins=False, checks_dirs=[str(folder)])


def test_invalid_id(tmp_path):
    folder = _write(tmp_path / "p", "bad", PLUGIN_CHECK.format(id="site-1", name="bad", params="node"))
    with pytest.raises(PluginError, match="not a valid check id"):
        load(plugins=False, checks_dirs=[str(folder)])


def test_unknown_fact_is_caught_at_load(tmp_path):
    folder = _write(tmp_path / "p", "typo", PLUGIN_CHECK.format(id="SITE003", name="typo", params="nodee"))
    with pytest.raises(PluginError, match="SITE003 .* needs unknown facts: nodee"):
        load(plugins=False, checks_dirs=[str(folder)])


def test_broken_checks_dir_module_names_the_file(tmp_path):
    folder = _write(tmp_path / "p", "broken", "import does_not_exist_anywhere\n")
    with pytest.raises(PluginError, match=r"broken.py failed to load"):
        load(plugins=False, checks_dirs=[str(folder)])


def test_entry_point_plugin_and_kill_switch(tmp_path, monkeypatch):
    _plugin_dist(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_PLUGINS_ENV, raising=False)
    registry = load()
    assert registry.checks["ACME001"].origin == "acme-efa-checks[acme]"
    assert "ACME001" not in load(plugins=False).checks
    monkeypatch.setenv(DISABLE_PLUGINS_ENV, "1")
    assert "ACME001" not in load().checks


def test_broken_entry_point_plugin_is_named(tmp_path, monkeypatch):
    _plugin_dist(tmp_path, module="broken_efa_plugin", body="raise RuntimeError('oops')\n", name="broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_PLUGINS_ENV, raising=False)
    with pytest.raises(PluginError, match=r"plugin broken-efa-plugin\[broken\] failed to load: RuntimeError"):
        load()
