"""pods/exec over websocket, speaking the kubelet's channel protocol, for the fake API server.

efadoctor runs its in-pod probe through `kubernetes.stream.stream(..., _preload_content=False)` and
must read stdout, stderr and the exit status separately (the client's own `returncode` raises on an
InternalError status). The fake therefore frames output exactly as the kubelet does, so those code
paths meet the real byte layout (modelled on kubernetes staging/src/k8s.io/kubelet/pkg/cri/streaming/
remotecommand websocket.go, httpstream.go and client-go remotecommand v4.go):

- subprotocols `v5.channel.k8s.io` and `v4.channel.k8s.io`, the server picking the client's first;
- one empty frame on the lowest writable channel right after the upgrade;
- each frame is one channel byte then data: 0 stdin, 1 stdout, 2 stderr, 3 status; in v5 a frame
  `[255, n]` from the client closes channel n (that is how stdin reaches EOF);
- the status on channel 3 is `json.Marshal(metav1.Status)`: Success, NonZeroExitCode with the
  exit code in details.causes[0].message, or InternalError when the command could not start.

The status *shapes* come from that source; the message texts (containerd's wording in particular)
are close approximations, not captures from a real node.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import WSMsgType, web

STDIN, STDOUT, STDERR, STATUS, CLOSE = 0, 1, 2, 3, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
FRAME_BYTES = 32 * 1024  # the kubelet copies output in buffer-sized pieces; big outputs span frames


@dataclass(frozen=True)
class ExecResult:
    """What a command in a pod produced.

    error set: the command could not start (InternalError status; exit_code is ignored).
    exit_code 0: Success; non-zero: NonZeroExitCode; None (and no error): the stream ends with no
    status at all, as when the node or kubelet goes away mid-command.
    delay_s: the command runs this long before producing output (for client timeout tests); the
    fake stops waiting as soon as the client closes the connection.
    """

    stdout: bytes | str = b""
    stderr: bytes | str = b""
    exit_code: int | None = 0
    error: str | None = None
    delay_s: float = 0.0

    @classmethod
    def missing_binary(cls, binary: str, container_id: str = "0" * 64) -> ExecResult:
        """The error when the executable is not in the image (containerd/runc wording, approximated)."""
        return cls(error=(
            "error executing command in container: failed to exec in container: failed to start exec "
            f'"{container_id}": OCI runtime exec failed: exec failed: unable to start container process: '
            f'exec: "{binary}": executable file not found in $PATH: unknown'))


# (namespace, pod, container, argv, stdin bytes or None when stdin was not requested) -> ExecResult
ExecHandler = Callable[[str, str, str, list[str], "bytes | None"], ExecResult]


def go_bool(value: str) -> bool:
    """strconv.ParseBool: the API server accepts 1/t/T/TRUE/true/True and their false forms.

    kubernetes-client 36 sends `stdout=True`, 37 sends `stdout=true`; both must work.
    """
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


@dataclass(frozen=True)
class ExecOptions:
    command: list[str]
    container: str | None
    stdin: bool
    stdout: bool
    stderr: bool
    tty: bool

    @classmethod
    def from_query(cls, query: Any) -> ExecOptions:
        """Parse the query of an exec request; ValueError carries the 400 message."""
        flags = {name: go_bool(query.get(name, "false")) for name in ("stdin", "stdout", "stderr", "tty")}
        options = cls(command=list(query.getall("command", [])), container=query.get("container"), **flags)
        if not options.command:
            raise ValueError("you must specify at least one command for the container")
        if not (options.stdin or options.stdout or options.stderr):
            raise ValueError("you must specify at least 1 of stdin, stdout, stderr")
        return options


def status_for(result: ExecResult, argv: Sequence[str]) -> dict[str, Any] | None:
    """The metav1.Status the kubelet writes on channel 3, or None for a stream that just ends."""
    if result.error is not None:
        return {"metadata": {}, "status": "Failure", "message": f"Internal error occurred: {result.error}",
                "reason": "InternalError", "details": {"causes": [{"message": result.error}]}, "code": 500}
    if result.exit_code is None:
        return None
    if result.exit_code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "message": (f"command terminated with non-zero exit code: error executing command "
                    f"[{' '.join(argv)}], exit code {result.exit_code}"),
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]},
    }


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode() if isinstance(data, str) else data


async def _send(ws: web.WebSocketResponse, channel: int, data: bytes) -> None:
    for start in range(0, len(data), FRAME_BYTES):
        await ws.send_bytes(bytes([channel]) + data[start:start + FRAME_BYTES])


async def _read_stdin(ws: web.WebSocketResponse, protocol: str | None) -> tuple[bytes, bool]:
    """Collect stdin until the client closes channel 0 (v5) or the connection; return (data, still_open)."""
    chunks = []
    async for message in ws:
        if message.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
            continue
        data = message.data if isinstance(message.data, bytes) else message.data.encode()
        if protocol == V5 and data[:2] == bytes([CLOSE, STDIN]):
            return b"".join(chunks), True
        if data[:1] == bytes([STDIN]):
            chunks.append(data[1:])
    return b"".join(chunks), False


async def _client_gone(ws: web.WebSocketResponse) -> None:
    """Return once the client closes the connection (frames it sends meanwhile are ignored)."""
    async for _ in ws:
        pass


async def stream_exec(request: web.Request, options: ExecOptions, namespace: str, pod: str, container: str,
                      handler: ExecHandler) -> web.WebSocketResponse:
    """Upgrade the request and run one command, framing its output as the kubelet does.

    With stdin requested, the handler runs once stdin reaches EOF, which a client signals with the v5
    close frame; a v4 client cannot close stdin on its own (as with a real kubelet), only the connection.
    """
    ws = web.WebSocketResponse(protocols=(V5, V4), autoping=True)
    await ws.prepare(request)
    protocol = ws.ws_protocol
    first = STDOUT if options.stdout else STDERR if options.stderr else STATUS
    await ws.send_bytes(bytes([first]))
    stdin: bytes | None = None
    if options.stdin:
        stdin, open_ = await _read_stdin(ws, protocol)
        if not open_:
            return ws
    loop = asyncio.get_running_loop()
    try:
        result = await loop.run_in_executor(None, handler, namespace, pod, container, list(options.command), stdin)
    except Exception as error:  # noqa: BLE001 - a broken test handler shows up as a failed exec, not a hang
        result = ExecResult(error=f"fake exec handler raised {error!r}")
    if result.delay_s:
        watcher = asyncio.ensure_future(_client_gone(ws))
        done, _ = await asyncio.wait({watcher}, timeout=result.delay_s)
        if done:
            return ws
        watcher.cancel()
    stdout, stderr = _as_bytes(result.stdout), _as_bytes(result.stderr)
    if options.tty:  # a terminal has one output stream
        stdout, stderr = stdout + stderr, b""
    if options.stdout and stdout:
        await _send(ws, STDOUT, stdout)
    if options.stderr and stderr:
        await _send(ws, STDERR, stderr)
    status = status_for(result, options.command)
    if status is not None:
        if protocol in (V5, V4):
            await _send(ws, STATUS, json.dumps(status, separators=(",", ":")).encode())
        elif status["status"] != "Success":  # channel.k8s.io (v1): the error text, nothing on success
            await _send(ws, STATUS, status["message"].encode())
    await ws.close()
    return ws
