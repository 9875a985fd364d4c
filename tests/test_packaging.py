"""checks/ ships as efadoctor.checks (never a bare `checks`), with every package and data file listed."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = {"efadoctor": ROOT / "efadoctor", "efadoctor.checks": ROOT / "checks"}


def _declared() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def _on_disk() -> set[str]:
    found = set()
    for name, folder in SOURCE_ROOTS.items():
        for init in folder.rglob("__init__.py"):
            if "__pycache__" not in init.parts:
                found.add(".".join((name, *init.parent.relative_to(folder).parts)))
    return found


def test_every_package_on_disk_is_declared():
    # an editable install hides a missing entry; the wheel would silently lack it
    assert _on_disk() == _declared()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("efadoctor-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_contents(wheel):
    names = set(wheel.namelist())
    assert "efadoctor/checks/__init__.py" in names
    assert "efadoctor/checks/pod/pod_requests_efa.py" in names
    assert not any(n.startswith("checks/") for n in names), "a bare top-level checks package must never ship"
    for package in _declared():
        assert package.replace(".", "/") + "/__init__.py" in names, package
    for data in (ROOT / "efadoctor").rglob("*"):
        if data.suffix in (".sh", ".json") and "__pycache__" not in data.parts:
            assert str(data.relative_to(ROOT)) in names, f"{data} is not shipped"
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = wheel.read(entry_points).decode()
    assert "efadoctor = efadoctor.cli:main" in text
    assert "kubectl-efadoctor = efadoctor.cli:kubectl_main" in text
