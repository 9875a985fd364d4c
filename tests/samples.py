"""The copied public samples (tests/data/samples), read the ways the tests need them; the files are never edited."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "data" / "samples"


def sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def sample_lines(name: str) -> list[str]:
    return sample(name).splitlines()


def local_capture(name: str) -> tuple[str, int]:
    """A local Debian capture: (output, exit code), its two '# ' header lines removed."""
    lines = sample(name).splitlines(keepends=True)
    return "".join(lines[2:]), int(re.match(r"# exit code: (\d+)", lines[1]).group(1))


def fenced_blocks(name: str) -> list[str]:
    """The ``` blocks of a quoted page, with the page's indentation removed."""
    blocks: list[str] = []
    current: list[str] | None = None
    for line in sample_lines(name):
        if line.strip().startswith("```"):
            if current is None:
                current = []
            else:
                blocks.append(textwrap.dedent("\n".join(current)) + "\n")
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def commented_example(name: str, index: int) -> str:
    """The index-th '# Example output:' of a bash block whose output lines are '# '-prefixed (sample 05)."""
    lines = sample_lines(name)
    starts = [i for i, line in enumerate(lines) if line == "# Example output:"]
    out = []
    for line in lines[starts[index] + 1 :]:
        if not line.startswith("# "):
            break
        out.append(line[2:])
    return "\n".join(out) + "\n"
