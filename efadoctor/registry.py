"""Find checks and collectors: built-ins, installed plugins and --checks-dir folders.

Built-ins are found by walking `efadoctor.checks` and `efadoctor.collectors`,
the same way plugins are walked, so every built-in exercises the plugin API.
Everything is validated at load, before any cloud call: a typo in a fact name
or a clashing check id is a clear error naming where it came from.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Iterable

from .model import CHECK_ID, RESERVED, Check, Collector

ENTRY_POINT_GROUP = "efadoctor.checks"
DISABLE_PLUGINS_ENV = "EFADOCTOR_DISABLE_PLUGIN_AUTOLOAD"
BUILTIN_PREFIXES = ("AWS", "K8S", "POD", "PRB", "LOG", "LINT")


class PluginError(Exception):
    """A plugin or a built-in cannot be loaded as declared; the message names it."""


@dataclass
class Registry:
    checks: dict[str, Check] = field(default_factory=dict)
    collectors: dict[str, Collector] = field(default_factory=dict)

    def add_check(self, check: Check, origin: str) -> None:
        check = replace(check, origin=origin)
        if not CHECK_ID.match(check.id):
            raise PluginError(f"{check.id!r} from {origin} is not a valid check id (like AWS001: letters, then 3 digits)")
        if origin != "built-in" and check.id.startswith(BUILTIN_PREFIXES) and not _own_prefix(check.id):
            raise PluginError(f"{check.id} from {origin} uses a prefix reserved for built-in checks ({', '.join(BUILTIN_PREFIXES)})")
        existing = self.checks.get(check.id)
        if existing is not None and existing.evaluate is not check.evaluate:
            raise PluginError(f"{check.id} from {origin} is already defined by {existing.origin}")
        self.checks[check.id] = check

    def add_collector(self, found: Collector, origin: str) -> None:
        found = replace(found, origin=origin)
        existing = self.collectors.get(found.fact)
        if existing is not None and existing.gather is not found.gather:
            raise PluginError(f"fact {found.fact!r} from {origin} is already gathered by {existing.origin}")
        self.collectors[found.fact] = found

    def validate(self) -> None:
        """Every fact a check or collector reads must have a collector."""
        known = set(self.collectors) | RESERVED
        for check in self.checks.values():
            unknown = [name for name in check.needs if name not in known]
            if unknown:
                raise PluginError(f"{check.id} from {check.origin} needs unknown facts: {', '.join(unknown)}")
        for found in self.collectors.values():
            unknown = [name for name in found.needs if name not in known]
            if unknown:
                raise PluginError(f"collector {found.fact} from {found.origin} needs unknown facts: {', '.join(unknown)}")

    def for_target(self, target: str) -> list[Check]:
        return sorted((c for c in self.checks.values() if target in c.targets), key=lambda c: c.id)

    def resolve(self, selector: str) -> list[Check]:
        """An id, a function name, or an id prefix (AWS, K8S0)."""
        wanted = selector.strip()
        exact = [c for c in self.checks.values() if wanted.upper() == c.id or wanted == c.name]
        if exact:
            return exact
        return sorted((c for c in self.checks.values() if c.id.startswith(wanted.upper())), key=lambda c: c.id)


def _own_prefix(check_id: str) -> bool:
    # "LOGX001" is a plugin prefix that merely starts like a built-in one
    letters = check_id.rstrip("0123456789")
    return letters not in BUILTIN_PREFIXES


def _walk(module: ModuleType) -> Iterable[ModuleType]:
    yield module
    if hasattr(module, "__path__"):
        for info in sorted(pkgutil.walk_packages(module.__path__, module.__name__ + "."), key=lambda i: i.name):
            yield importlib.import_module(info.name)


def _harvest(registry: Registry, module: ModuleType, origin: str) -> None:
    for value in vars(module).values():
        # only objects defined here: a re-exported check would be found twice
        defined_here = getattr(getattr(value, "evaluate", getattr(value, "gather", None)), "__module__", None) == module.__name__
        if isinstance(value, Check) and defined_here:
            registry.add_check(value, origin)
        elif isinstance(value, Collector) and defined_here:
            registry.add_collector(value, origin)


def _load_builtins(registry: Registry) -> None:
    for package in ("efadoctor.collectors", "efadoctor.checks"):
        for module in _walk(importlib.import_module(package)):
            _harvest(registry, module, "built-in")


def _load_entry_points(registry: Registry) -> None:
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        origin = f"{entry.dist.name if entry.dist else '?'}[{entry.name}]"
        try:
            for module in _walk(importlib.import_module(entry.value.split(":")[0])):
                _harvest(registry, module, origin)
        except PluginError:
            raise
        except Exception as error:  # a plugin's own bug: name the plugin, do not crash
            raise PluginError(f"plugin {origin} failed to load: {error!r}") from error


def _load_directory(registry: Registry, directory: str) -> None:
    folder = Path(directory)
    if not folder.is_dir():
        raise PluginError(f"--checks-dir {directory}: not a directory")
    for path in sorted(folder.glob("*.py")):
        name = f"efadoctor_checks_dir.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"{path}: cannot be imported")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise PluginError(f"{path} failed to load: {error!r}") from error
        _harvest(registry, module, str(path))


def load(*, checks_dirs: Iterable[str] = (), plugins: bool = True) -> Registry:
    """Built-ins, then installed plugins (unless disabled), then --checks-dir folders."""
    registry = Registry()
    _load_builtins(registry)
    if plugins and not os.environ.get(DISABLE_PLUGINS_ENV):
        _load_entry_points(registry)
    for directory in checks_dirs:
        _load_directory(registry, directory)
    registry.validate()
    return registry
