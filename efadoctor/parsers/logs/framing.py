"""Which host a line belongs to, and the framing (kubectl, CRI, CloudWatch, MPI, k9s) around it.

NCCL prefixes its lines with `host:pid:tid [dev]`; collectors and consoles add their own frames in
front. Hosts come from the NCCL prefix, else from a `kubectl logs --prefix` pod name, else "unknown".
"""

from __future__ import annotations

import re

from .facts import UNKNOWN_HOST

# NCCL's prefix: "host:pid:tid [dev] " (hostname cut at the first '.', '%' and '/' replaced by '-'),
# matched on the space-free token before " [dev]"; framing such as "[1,0]<stdout>:" may precede it.
_HOST_TOKEN = re.compile(r"([A-Za-z0-9][\w.\-]*):\d+:\d+$")
_KUBECTL_POD = re.compile(r"\[pod/([^/\]\s]+)/[^\]\s]*\]")

# Framing that may precede a bare line (stripped, repeatedly, only for pasted fi_info output).
_TS = r"\d{4}[-/]\d\d[-/]\d\d[T ][\d:.,]+(?:Z|[+-]\d\d:?\d\d)?"
_FRAME = re.compile(
    r"(?:\[pod/[^\]\s]+\] ?"  # kubectl logs --prefix
    r"|" + _TS + r" (?:stdout|stderr) [FP] "  # CRI log file
    r"|\s*\|\s*" + _TS + r"\s*\|\s?"  # CloudWatch console table
    r"|\[\d+,\d+\]<(?:stdout|stderr)>:"  # OpenMPI --tag-output
    r"|\u2502 ?"  # k9s box
    r"|\[?" + _TS + r"\]? "  # a bare timestamp (one space: indentation after it is the text's)
    r"|# "  # shell-comment paste ("# provider: efa"; the indentation after it is kept)
    r")+"
)


def _pod_or_unknown(line: str) -> str:
    if "[pod/" in line[:64]:
        match = _KUBECTL_POD.search(line, 0, 320)
        if match:
            return match.group(1)
    return UNKNOWN_HOST


def _unframe(line: str) -> str:
    """The line without kubectl/CRI/CloudWatch/MPI/k9s framing and trailing whitespace."""
    match = _FRAME.match(line)
    text = line[match.end() :] if match else line
    return text.rstrip().rstrip("\u2502").rstrip()
