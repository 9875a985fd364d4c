"""Read-only Kubernetes access through the official client, as raw JSON.

The typed API classes of kubernetes 37 cost about a second to import and
build models nobody reads; the ApiClient's generic request path gives the
same authentication (kubeconfig, exec plugins such as `aws eks get-token`,
client certificates, in-cluster service accounts) for a fraction of that.
Only GET requests leave this module: it cannot change the cluster.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from ..model import BackendUnreachable, FactUnavailable, UsageError
from .calls import CallRecorder


class NotFound(Exception):
    """The object does not exist (HTTP 404)."""


class KubeConfigError(UsageError):
    """The kubeconfig or context cannot be used: a usage error."""


@dataclass(frozen=True)
class KubeTarget:
    """Which cluster the client talks to, for messages ("node x not found in context y")."""

    context: str
    server: str


def _kubeconfig_path(explicit: str | None) -> str | None:
    # resolved at run time: the client reads $KUBECONFIG only once, at import
    return explicit or os.environ.get("KUBECONFIG") or None


class KubeClient:
    """GET-only JSON access to one cluster, recording every call."""

    def __init__(self, *, kubeconfig: str | None, context: str | None, recorder: CallRecorder, request_timeout_s: float = 10.0):
        from kubernetes import config as kube_config
        from kubernetes.client.api_client import ApiClient
        from kubernetes.client.configuration import Configuration

        configuration = Configuration()
        path = _kubeconfig_path(kubeconfig)
        try:
            if path is None and os.environ.get("KUBERNETES_SERVICE_HOST") and context is None:
                kube_config.load_incluster_config(client_configuration=configuration)
                context_name = "in-cluster"
            else:
                files = path or os.path.expanduser("~/.kube/config")
                _ensure_readable(files)
                kube_config.load_kube_config(config_file=files, context=context, client_configuration=configuration, persist_config=False)
                context_name = context or _current_context(files)
        except KubeConfigError:
            raise
        except Exception as error:  # ConfigException and friends: say which file and context
            raise KubeConfigError(f"cannot use kubeconfig {path or '~/.kube/config'}" + (f" context {context!r}" if context else "") + f": {error}") from error
        # a read that timed out is not retried: an incident tool should lose one slow fact in 10 s,
        # not wait 4 x 10 s (urllib3's default) for it; refused connects are still retried briefly
        from urllib3 import Retry

        configuration.retries = Retry(total=2, connect=2, read=0, status=0, redirect=0)
        self.configuration = configuration
        self.target = KubeTarget(context_name, configuration.host)
        self._api = ApiClient(configuration)
        self._recorder = recorder
        self._timeout = request_timeout_s
        self._lock = threading.Lock()

    def get(self, path: str, query: Mapping[str, Any] | None = None, *, permission: str) -> dict:
        """GET a JSON object; `permission` names the RBAC rule a 403 means is missing."""
        response = self._request(path, query, permission=permission, accept="application/json")
        try:
            return json.loads(response)
        except ValueError as error:
            raise FactUnavailable(f"the API server sent non-JSON for {path}: {error}") from error

    def get_text(self, path: str, query: Mapping[str, Any] | None = None, *, permission: str, limit_bytes: int | None = None) -> str:
        raw = self._request(path, query, permission=permission, accept="text/plain")
        if limit_bytes is not None:
            raw = raw[:limit_bytes]
        return raw.decode("utf-8", errors="replace")

    def _request(self, path: str, query: Mapping[str, Any] | None, *, permission: str, accept: str) -> bytes:
        params = [(k, v) for k, v in (query or {}).items() if v is not None]
        started = time.perf_counter()
        status: int | None = None
        try:
            method, url, headers, _, _ = self._api.param_serialize(
                "GET", path, query_params=params, header_params={"Accept": accept}, auth_settings=["BearerToken"]
            )
            response = self._api.call_api(method, url, header_params=headers, _request_timeout=self._timeout)
            status = response.status
            data = response.read()
        except Exception as error:  # urllib3 connection errors, TLS, timeouts
            from urllib3.exceptions import ReadTimeoutError

            self._recorder.record("kubernetes", permission, time.perf_counter() - started, ok=False, error=type(error).__name__, detail=path)
            cause = _cause(error)
            unreachable = _unreachable(cause)
            if unreachable:
                raise BackendUnreachable(f"cannot reach the Kubernetes API server at {self.target.server} (context {self.target.context}): {unreachable}") from error
            if isinstance(cause, ReadTimeoutError):
                raise FactUnavailable(f"the Kubernetes API server did not answer GET {path} within {self._timeout:g}s") from error
            raise FactUnavailable(f"Kubernetes API request GET {path} failed: {_short(cause)}") from error
        self._recorder.record(
            "kubernetes", permission, time.perf_counter() - started, ok=200 <= status < 300, error=None if status < 300 else str(status), detail=path
        )
        if status == 404:
            raise NotFound(_status_message(data) or f"{path} not found")
        if status == 401:
            raise BackendUnreachable(
                f"the Kubernetes API server at {self.target.server} rejected the credentials of context "
                f"{self.target.context} (401 Unauthorized): renew them (for EKS: aws eks update-kubeconfig --name CLUSTER)"
            )
        if status == 403:
            raise FactUnavailable(f"forbidden: {_status_message(data) or path}", missing_permission=permission)
        if status >= 300:
            raise FactUnavailable(f"Kubernetes API answered {status} for GET {path}: {_status_message(data)}")
        return data or b""

    def exec_client(self):
        """A separate ApiClient for exec: kubernetes.stream patches the client it uses, so it must not be shared."""
        from kubernetes.client.api_client import ApiClient

        return ApiClient(self.configuration)


def _ensure_readable(path: str) -> None:
    for part in path.split(os.pathsep):
        if not os.path.exists(part):
            raise KubeConfigError(f"kubeconfig {part} does not exist")
        if not os.path.isfile(part):
            raise KubeConfigError(f"kubeconfig {part} is not a file")
        if not os.access(part, os.R_OK):
            raise KubeConfigError(f"kubeconfig {part} is not readable")


def _current_context(path: str) -> str:
    from kubernetes.config.kube_config import list_kube_config_contexts

    try:
        _, active = list_kube_config_contexts(config_file=path)
        return active["name"]
    except Exception:  # noqa: BLE001 - only used for messages
        return "current-context"


def _cause(error: BaseException) -> BaseException:
    """What went wrong under urllib3's "Max retries exceeded" wrapper."""
    from urllib3.exceptions import MaxRetryError

    return error.reason if isinstance(error, MaxRetryError) and error.reason is not None else error


def _unreachable(cause: BaseException) -> str | None:
    """Why no connection to the API server could be made at all, or None when one was made.

    Refused, unresolvable or connect-timed-out (a private EKS endpoint seen from outside its VPC) ends
    the run: no fact can be gathered. A server that was reached but answered one request too slowly
    (a read timeout, a reset) loses only that fact, so it must not be reported as unreachable.
    """
    from urllib3.exceptions import ConnectTimeoutError  # NewConnectionError and NameResolutionError are subclasses

    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
        return "connection refused"
    return _short(cause) if isinstance(cause, ConnectTimeoutError) else None


def _short(error: BaseException) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]


def _status_message(data: bytes | None) -> str:
    try:
        return str(json.loads(data or b"{}").get("message", ""))
    except (ValueError, AttributeError):
        return (data or b"")[:200].decode("utf-8", errors="replace")
