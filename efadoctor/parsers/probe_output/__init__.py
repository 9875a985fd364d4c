"""Turn what the in-container probe (efadoctor/probe/probe.sh) printed into typed, quotable facts.

The probe's output travels through Kubernetes exec and may arrive cut short (timeout, a killed
container), mixed with runtime noise, or not as UTF-8; a diagnosis must still use every section that
did arrive and say what did not. So `parse_probe` splits the output tolerantly (an end marker counts
only for the section that is open; a missing one closes the section as incomplete), bounds everything
it keeps, and never raises. Each fact is an `Observed` value that carries the lines it was read from,
so a check can quote them, and a note when the value could not be known (None means unknown, never
"nothing there").

The package, by what each module holds: `facts` (Observed, Section, ProbeReport), `limits` (the
expected sections and the caps), `split` (decoding and cutting the output into sections), `reading`
(small readers the extractors share), the extractors by subject (`libfabric`, `devices`, `memory`,
`environment`, `software`) and `parse` (`parse_probe`, which ties them together).
"""

from __future__ import annotations

from .environment import ALLOWED_ENV
from .facts import Observed, ProbeReport, Section
from .libfabric import EFA_ALWAYS_LISTED_SINCE, FI_INFO_NOT_FOUND
from .limits import EXPECTED_SECTIONS, MAX_LINE_CHARS, MAX_SECTION_LINES, MAX_SECTIONS, MAX_STRAY_LINES
from .memory import CAP_IPC_LOCK, INITIAL_UID_MAP
from .parse import parse_probe
from .reading import EXIT_KILLED

__all__ = [
    "ALLOWED_ENV",
    "CAP_IPC_LOCK",
    "EFA_ALWAYS_LISTED_SINCE",
    "EXIT_KILLED",
    "EXPECTED_SECTIONS",
    "FI_INFO_NOT_FOUND",
    "INITIAL_UID_MAP",
    "MAX_LINE_CHARS",
    "MAX_SECTIONS",
    "MAX_SECTION_LINES",
    "MAX_STRAY_LINES",
    "Observed",
    "ProbeReport",
    "Section",
    "parse_probe",
]
