"""The one fixed shell script efadoctor runs inside the workload container, and its limits.

`fi_getinfo: -61` is decided inside the container, so the in-pod facts (fi_info, /dev/infiniband,
memlock, the FI_*/NCCL_* environment, which libraries the image ships) come from running
`probe.sh` there, through Kubernetes exec as `sh -c SCRIPT` or locally. The script is a packaged
file rather than a Python string so it can be linted and run by `sh` in tests exactly as shipped.

`SCRIPT` is read on first access (PEP 562 module `__getattr__`), so importing this package costs
nothing. efadoctor/parsers/probe_output/ reads what the script prints.
"""

from __future__ import annotations

from functools import lru_cache

# The script prints a few KiB (about 200 lines for 32 EFA devices); more means noise, e.g. a debug
# FI_LOG_LEVEL flooding stderr. Collectors stop reading here and the parser ignores the rest.
MAX_OUTPUT_BYTES = 1 << 20

# The whole exec. Inside, each external command is bounded by `timeout -k 1 5`, so the three fi_info
# calls take at most 18 s even when each one hangs.
DEFAULT_TIMEOUT_S = 20

# What the first line of the output says; parse_probe reads the version from it.
HEADER = "EFADOCTOR-PROBE v1"


@lru_cache(maxsize=1)
def load_script() -> str:
    """The text of probe.sh, as packaged."""
    from importlib import resources

    return resources.files(__name__).joinpath("probe.sh").read_text(encoding="utf-8")


def __getattr__(name: str) -> str:
    if name == "SCRIPT":
        return load_script()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_TIMEOUT_S", "HEADER", "MAX_OUTPUT_BYTES", "SCRIPT", "load_script"]
