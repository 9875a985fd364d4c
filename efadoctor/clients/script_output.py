"""What running the probe script produced, however it was run (pods/exec or a local shell).

Why one value for both transports: `efadoctor pod` runs the script through Kubernetes exec and
`efadoctor probe --local` through a local `sh`, and the collector must turn either into the same
ProbeReport with the same notes (cut short, timed out, no shell). Both transports read stdout and
stderr separately and stop at the same byte budget, so a runaway container (a debug FI_LOG_LEVEL
flooding stderr, a binary that prints garbage) costs a bounded amount of memory and time.
"""

from __future__ import annotations

from dataclasses import dataclass

STDOUT, STDERR = 1, 2


@dataclass(frozen=True)
class ScriptOutput:
    """The bytes a script wrote and how it ended.

    exit_code: the script's exit status; None when it is not known (timed out, reading stopped at the
    byte budget, or the stream ended without a status, as when a node goes away mid-command).
    failure: the command could not be started at all (e.g. the runtime's "executable file not found").
    no_shell: that failure is the missing `sh`: the image has no shell to run the probe with.
    """

    stdout: bytes
    stderr: bytes
    exit_code: int | None
    duration_s: float
    timed_out: bool = False
    truncated: bool = False
    failure: str | None = None
    no_shell: bool = False
    note: str | None = None  # how the transport ended when that is worth saying (a broken stream)


class BoundedOutput:
    """stdout and stderr kept apart, under one byte budget for both together.

    `add` returns False once the budget is spent: the caller stops reading and says "truncated".
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.truncated = False

    @property
    def size(self) -> int:
        return len(self.stdout) + len(self.stderr)

    def add(self, stream: int, data: bytes) -> bool:
        room = self.limit - self.size
        if len(data) > room:
            data = data[: max(0, room)]
            self.truncated = True
        (self.stdout if stream == STDOUT else self.stderr).extend(data)
        return not self.truncated
