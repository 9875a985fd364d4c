"""The report as JSON: what gets attached to incident tickets and read by tools."""

from __future__ import annotations

import json
from typing import Any, Mapping, TextIO


def render(report: Mapping[str, Any], out: TextIO, *, color: bool = False) -> None:  # noqa: ARG001 - JSON has no color
    json.dump(report, out, indent=2, sort_keys=False, default=str)
    out.write("\n")
