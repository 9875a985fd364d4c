"""Facts about the user space in the image: libraries found, NCCL net plugins (is one aws-ofi-nccl?), the EFA installer's list."""

from __future__ import annotations

import re

from efadoctor.parsers.fi_info import SourceLine

from .facts import Observed, Section
from .reading import _absent, _missing_line

_NCCL_NET_PLUGIN = re.compile(r"^libnccl-net.*\.so(?:\.[0-9.]+)?$")
_INSTALLER_VERSION = re.compile(r"^# EFA installer version: (\S+)\s*$")


def _libs(section: Section | None) -> tuple[Observed[tuple[str, ...]], Observed[tuple[str, ...]], Observed[bool]]:
    if section is None:
        note = _absent("libs")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    paths: list[tuple[str, SourceLine]] = []
    for index, line in enumerate(section.lines):
        if line.startswith("/"):
            paths.append((line, section.evidence(index)))
    cut = None if section.complete else "library listing cut off"
    found_libraries = Observed(tuple(p for p, _ in paths), tuple(e for _, e in paths), cut)
    plugins = [(p, e) for p, e in paths if _NCCL_NET_PLUGIN.match(p.rsplit("/", 1)[-1])]
    plugin_paths = Observed(tuple(p for p, _ in plugins), tuple(e for _, e in plugins), cut)
    aws = [e for p, e in plugins if _is_aws_ofi_nccl(p)]
    if aws:
        return found_libraries, plugin_paths, Observed(True, tuple(aws))
    if cut:
        return found_libraries, plugin_paths, Observed(None, (), cut)
    if plugins:
        shown = ", ".join(p for p, _ in plugins[:3])
        return found_libraries, plugin_paths, Observed(
            None, tuple(e for _, e in plugins), f"NCCL net plugin(s) found ({shown}) but not recognisably aws-ofi-nccl"
        )
    return found_libraries, plugin_paths, Observed(
        False,
        (),
        "no libnccl-net*.so in LD_LIBRARY_PATH, /opt/amazon/efa, /opt/amazon/ofi-nccl, /opt/aws-ofi-nccl, "
        "/usr/lib*, /usr/local/lib* (two levels deep)",
    )


def _is_aws_ofi_nccl(path: str) -> bool:
    # aws-ofi-nccl >= 1.15.0 names the library libnccl-net-ofi.so; older ones are recognised by where the
    # EFA installer or the usual build prefix put them.
    name = path.rsplit("/", 1)[-1]
    return name.startswith("libnccl-net-ofi.so") or path.startswith(("/opt/amazon/", "/opt/aws-ofi-nccl/"))


def _installed_packages(section: Section | None) -> tuple[Observed[bool], Observed[str], Observed[str]]:
    """The EFA installer's package list (first line '# EFA installer version: X') and that version."""
    if section is None:
        note = _absent("efa_installed_packages")
        return Observed(None, (), note), Observed(None, (), note), Observed(None, (), note)
    missing = _missing_line(section, "/opt/amazon/efa_installed_packages")
    if missing is not None:
        note = "no /opt/amazon/efa_installed_packages (the package list the EFA installer writes)"
        return Observed(False, (missing,)), Observed(None, (missing,), note), Observed(None, (missing,), note)
    evidence = section.all_evidence(40)
    cut = None if section.complete else "file listing cut off"
    version: Observed[str] = Observed(None, evidence[:1], "no '# EFA installer version:' line")
    for index, line in enumerate(section.lines):
        match = _INSTALLER_VERSION.match(line)
        if match:
            version = Observed(match.group(1), (section.evidence(index),))
            break
    return Observed(True, evidence[:1]), Observed(section.text, evidence, cut), version
