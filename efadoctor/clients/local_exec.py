"""Run the probe script on this machine (`efadoctor probe --local`), with the same bounds as an exec.

Why a local transport at all: efadoctor installed in an image, or run on a node, should judge that
image or node exactly as it judges a pod, with the same script, parser and checks. The script runs as
`sh -c SCRIPT` in its own process group with stdin closed; stdout and stderr are read apart under one
byte budget, and at the deadline or the budget the whole group is killed, so a hung `fi_info` (or a
child it left behind) cannot outlive the diagnosis.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import time
from collections.abc import Sequence

from .script_output import STDERR, STDOUT, BoundedOutput, ScriptOutput


def run_script(argv: Sequence[str], *, timeout_s: float, max_bytes: int, env: dict[str, str] | None = None) -> ScriptOutput:
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    try:
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
    except FileNotFoundError as error:
        return ScriptOutput(b"", b"", None, time.perf_counter() - started, failure=f"{argv[0]}: {error.strerror}", no_shell=True)
    except OSError as error:
        return ScriptOutput(b"", b"", None, time.perf_counter() - started, failure=f"{argv[0]}: {error.strerror or error}")
    buffer = BoundedOutput(max_bytes)
    timed_out = False
    streams = {process.stdout: STDOUT, process.stderr: STDERR}
    with selectors.DefaultSelector() as selector:
        for pipe in streams:
            selector.register(pipe, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            for key, _ in selector.select(remaining):
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                if not buffer.add(streams[key.fileobj], data):
                    break
            if buffer.truncated:
                break
    if timed_out or buffer.truncated:
        _kill_group(process)
    exit_code = _wait(process, deadline)
    for pipe in streams:
        pipe.close()
    return ScriptOutput(
        stdout=bytes(buffer.stdout),
        stderr=bytes(buffer.stderr),
        exit_code=None if timed_out or buffer.truncated else exit_code,
        duration_s=time.perf_counter() - started,
        timed_out=timed_out,
        truncated=buffer.truncated,
    )


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(process: subprocess.Popen, deadline: float) -> int | None:
    """The exit status; a shell that closed its pipes but lingers is killed rather than waited for."""
    try:
        return process.wait(max(0.5, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _kill_group(process)
        process.wait()
        return None
