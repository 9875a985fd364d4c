"""Run one fixed script in a container through Kubernetes `pods/exec`, bounded in time and bytes.

Why not `kubernetes.stream.stream()`: with its default it merges stdout and stderr and loses the exit
status; its WSClient reads without a byte limit, its `returncode` raises ValueError on an InternalError
status (the image has no `sh`), its `close()` does nothing once the server closed, and `stream()`
patches the ApiClient it is given, so it is unsafe beside the concurrent GETs of a diagnosis.
So this module takes only the connection set-up from the client (`create_websocket`: TLS, client
certificates, proxies, the kubeconfig's bearer token or exec plugin via a dedicated ApiClient) and
speaks the exec channel protocol itself: channel 1 stdout and 2 stderr kept apart, channel 3 the
metav1.Status JSON with the exit code, a hard deadline over the whole call and a byte budget.

The command is passed as separate argv elements in the query (`sh`, `-c`, SCRIPT): the script is
one fixed, packaged text and nothing the user typed is ever interpolated into it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..model import FactUnavailable
from .script_output import STDERR, STDOUT, BoundedOutput, ScriptOutput

PERMISSION = "create pods/exec"
STATUS_CHANNEL = 3
MAX_STATUS_BYTES = 64 * 1024
# What container runtimes say when argv[0] is not in the image (containerd/runc, CRI-O, docker).
_NO_BINARY = ("executable file not found", "no such file or directory", "not found in $path")


class ExecTimeout(Exception):
    """The exec session did not open before the deadline."""


def exec_script(
    context: Any,
    *,
    namespace: str,
    pod: str,
    container: str,
    argv: Sequence[str],
    timeout_s: float,
    max_bytes: int,
) -> ScriptOutput:
    """Run `argv` in the container; FactUnavailable when the exec cannot even be opened."""
    from kubernetes.stream.ws_client import get_websocket_url

    kube = context.kube()
    api = context.client("kube-exec", kube.exec_client)
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec"
    _, url, headers, _, _ = api.param_serialize("GET", path, header_params={}, auth_settings=["BearerToken"])
    query = [("command", list(argv)), ("container", container), ("stdin", "false"), ("stdout", "true"), ("stderr", "true"), ("tty", "false")]
    ws_url = get_websocket_url(url, query)
    started = time.perf_counter()
    deadline = time.monotonic() + timeout_s
    try:
        ws = _open(api.configuration, ws_url, headers, timeout_s)
    except ExecTimeout:
        _record(context, started, ok=False, error="timeout", path=path)
        raise FactUnavailable(f"probe timed out after {timeout_s:g}s: the exec session into {namespace}/{pod} did not open") from None
    except Exception as error:  # noqa: BLE001 - every handshake failure becomes a reason, never a traceback
        status, message = _handshake_failure(error)
        _record(context, started, ok=False, error=str(status) if status else type(error).__name__, path=path)
        raise _unavailable(status, message, namespace, pod, container) from None
    output: ScriptOutput | None = None
    try:
        output = _read(ws, deadline, max_bytes, started)
    finally:
        # a stream that ended says goodbye; one cut short (deadline, byte budget) is just dropped
        _close(ws, output_done=output is not None and not (output.timed_out or output.truncated))
    _record(context, started, ok=output.failure is None and not output.timed_out, error=_call_error(output), path=path)
    return output


def _record(context: Any, started: float, *, ok: bool, error: str | None, path: str) -> None:
    context.recorder.record("kubernetes", PERMISSION, time.perf_counter() - started, ok=ok, error=error, detail=path)


def _call_error(output: ScriptOutput) -> str | None:
    if output.timed_out:
        return "timeout"
    if output.failure is not None:
        return "InternalError"
    return None


def _open(configuration: Any, url: str, headers: dict, timeout_s: float) -> Any:
    """create_websocket has no timeout of its own: run it aside and stop waiting at the deadline."""
    from kubernetes.stream.ws_client import create_websocket

    lock = threading.Lock()
    box: dict[str, Any] = {}
    done = threading.Event()

    def connect() -> None:
        try:
            ws = create_websocket(configuration, url, headers)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting thread
            box["error"] = error
            done.set()
            return
        with lock:
            if box.get("abandoned"):
                _close(ws, output_done=False)
                return
            box["ws"] = ws
        done.set()

    threading.Thread(target=connect, name="efadoctor-exec-connect", daemon=True).start()
    if not done.wait(timeout_s):
        with lock:
            if "ws" not in box:
                box["abandoned"] = True
                raise ExecTimeout()
    if "error" in box:
        raise box["error"]
    return box["ws"]


def _read(ws: Any, deadline: float, max_bytes: int, started: float) -> ScriptOutput:
    from websocket import ABNF, WebSocketConnectionClosedException, WebSocketException, WebSocketTimeoutException

    buffer = BoundedOutput(max_bytes)
    status = bytearray()
    timed_out = False
    note = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        ws.settimeout(remaining)
        try:
            opcode, frame = ws.recv_data_frame(True)
        except WebSocketTimeoutException:
            timed_out = True
            break
        except (WebSocketConnectionClosedException, ConnectionError, OSError):
            break  # the server went away: whatever arrived is all there is
        except WebSocketException as error:  # a malformed frame: keep what arrived, say why it stopped
            note = f"the exec stream broke off: {error}"[:300]
            break
        if opcode == ABNF.OPCODE_CLOSE:
            break
        if opcode not in (ABNF.OPCODE_BINARY, ABNF.OPCODE_TEXT):
            continue
        data = frame.data if isinstance(frame.data, (bytes, bytearray)) else str(frame.data).encode("utf-8", "replace")
        if not data:
            continue
        channel, payload = data[0], bytes(data[1:])
        if channel in (STDOUT, STDERR):
            if not buffer.add(channel, payload):
                break  # the byte budget is spent: stop reading, say "truncated"
        elif channel == STATUS_CHANNEL and len(status) < MAX_STATUS_BYTES:
            status.extend(payload[: MAX_STATUS_BYTES - len(status)])
    exit_code, failure = (None, None) if timed_out or buffer.truncated else _status(bytes(status))
    return ScriptOutput(
        stdout=bytes(buffer.stdout),
        stderr=bytes(buffer.stderr),
        exit_code=exit_code,
        duration_s=time.perf_counter() - started,
        timed_out=timed_out,
        truncated=buffer.truncated,
        failure=failure,
        no_shell=failure is not None and any(marker in failure.lower() for marker in _NO_BINARY),
        note=note,
    )


def _status(raw: bytes) -> tuple[int | None, str | None]:
    """(exit code, failure) from channel 3: metav1.Status JSON (v4/v5), or plain error text (v1)."""
    if not raw.strip():
        return None, None  # the stream ended without a status (a node or kubelet went away)
    try:
        status = json.loads(raw.decode("utf-8", "replace"))
    except ValueError:
        return None, raw.decode("utf-8", "replace").strip()[:500]
    if not isinstance(status, dict):
        return None, str(status)[:500]
    if status.get("status") == "Success":
        return 0, None
    causes = (status.get("details") or {}).get("causes") or []
    if status.get("reason") == "NonZeroExitCode":
        for cause in causes:
            if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                try:
                    return int(str(cause.get("message"))), None
                except ValueError:
                    break
        return None, str(status.get("message") or "non-zero exit code")[:500]
    message = str(status.get("message") or status.get("reason") or "exec failed")
    return None, message[:500]


def _close(ws: Any, *, output_done: bool) -> None:
    """Say goodbye briefly when the stream ended normally, then always drop the socket."""
    try:
        if output_done:
            ws.close(timeout=0.2)
    except Exception:  # noqa: BLE001, S110 - closing is best effort
        pass
    try:
        ws.shutdown()
    except Exception:  # noqa: BLE001, S110
        pass


def _handshake_failure(error: BaseException) -> tuple[int | None, str]:
    """The HTTP status and the API server's message of a refused upgrade, if it was one."""
    status = getattr(error, "status_code", None)
    body = getattr(error, "resp_body", None)
    message = ""
    if body:
        try:
            message = str(json.loads(body).get("message", ""))
        except (ValueError, AttributeError):
            message = bytes(body).decode("utf-8", "replace")[:300] if isinstance(body, (bytes, bytearray)) else str(body)[:300]
    if not message:
        text = str(error).splitlines()[0] if str(error) else type(error).__name__
        message = text[:300]
    return (status if isinstance(status, int) else None), message


def _unavailable(status: int | None, message: str, namespace: str, pod: str, container: str) -> FactUnavailable:
    ref = f"{namespace}/{pod}"
    if status == 403:
        return FactUnavailable(f"not allowed to exec into pod {ref} ({message})", missing_permission=PERMISSION)
    if status == 401:
        return FactUnavailable(f"the API server did not accept the credentials for exec into pod {ref} ({message})")
    if status is not None:
        return FactUnavailable(f"the API server refused exec into container {container} of pod {ref} (HTTP {status}: {message})")
    return FactUnavailable(f"could not open an exec session into pod {ref}: {message}")
