"""The bounds that keep the log parser's memory and time independent of the log's size.

Every collection the parser builds has a cap, and lines are cut before any regex sees them, so a
multi-gigabyte log with thousands of hosts costs the same memory as a small one.
"""

from __future__ import annotations

MAX_LINE_CHARS = 8192
"""Longer lines are cut here before any regex (the rest is never examined)."""
EVIDENCE_CHARS = 400
"""Evidence lines are stored up to this many characters."""
DEFAULT_MAX_EVIDENCE = 5
"""First K lines kept as evidence per signature and host."""
MAX_HOSTS = 512
"""Hosts tracked separately; lines from further hosts are pooled under `OVERFLOW_HOST`."""
MAX_VALUES = 16
"""Distinct values kept per field (versions, providers, interfaces...)."""
MAX_ITEMS = 256
