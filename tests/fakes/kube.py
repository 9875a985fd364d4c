"""A fake Kubernetes API server on 127.0.0.1 for tests that drive the real `kubernetes` client.

efadoctor talks to clusters only through the unmodified official client configured by a kubeconfig,
so its tests need a server that answers over real HTTP (and websocket for pods/exec) with the real
wire shapes: typed lists without per-item kind, metav1.Status errors (404 NotFound, 403 Forbidden,
400 BadRequest) with the API server's messages, selectors applied as the server applies them, and
no write verbs at all (405), so a collector that tried to write would fail its tests.

The server runs aiohttp on its own event loop in a background thread. `delay_s` adds latency to every
request (the exec upgrade included) so tests can count sequential round trips; `requests` records them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import yaml
from aiohttp import hdrs, web

from .kube_exec import ExecHandler, ExecOptions, ExecResult, go_bool, stream_exec
from .kube_selectors import SelectorError, fields_match, labels_match, parse_field_selector, parse_label_selector
from .kube_store import RESOURCES, ObjectStore, Resource

__all__ = ["ExecResult", "FakeKube", "UNREACHABLE_CONTEXT"]

Json = dict[str, Any]
UNREACHABLE_CONTEXT = "unreachable"  # the second kubeconfig context: a closed local port


def status_body(code: int, reason: str, message: str, details: Json | None = None) -> Json:
    body: Json = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                  "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def status_response(code: int, reason: str, message: str, details: Json | None = None) -> web.Response:
    return web.json_response(status_body(code, reason, message, details), status=code)


def _details(resource: Resource, name: str | None) -> Json:
    details: Json = {"name": name} if name else {}
    if resource.group:
        details["group"] = resource.group
    details["kind"] = resource.plural
    return details


def bad_request(message: str) -> web.Response:
    return status_response(400, "BadRequest", message)


@dataclass(frozen=True)
class _Deny:
    verb: str
    resource: str
    subresource: str | None
    namespace: str | None

    def matches(self, verb: str, resource: str, subresource: str | None, namespace: str | None) -> bool:
        # a namespace-scoped denial also denies cluster-wide requests, which need every namespace
        return (self.verb in (verb, "*") and self.resource == resource and self.subresource == subresource
                and (self.namespace is None or namespace is None or self.namespace == namespace))


REQUEST_LINE_LIMIT = 1 << 20


class FakeKube:
    """A read-only Kubernetes API server for tests; see the module docstring."""

    def __init__(self, objects: Iterable[Mapping[str, Any]] = (), *, token: str = "fake-token",
                 user: str = "system:serviceaccount:default:efadoctor", git_version: str = "v1.31.4-eks-fake",
                 dra: bool = False) -> None:
        self.token = token
        self.user = user
        self.git_version = git_version
        self.dra = dra  # serve resource.k8s.io/v1; turned on by adding a ResourceSlice
        self.delay_s = 0.0
        self.requests: list[tuple[str, str]] = []
        self.arrivals: list[float] = []  # time.monotonic() of each request, parallel to `requests`
        self.exec_handler: ExecHandler | None = None
        self._store = ObjectStore()
        self._logs: dict[tuple[str, str, str, bool], str] = {}
        self._denials: list[_Deny] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._exec_tasks: set[asyncio.Task[Any]] = set()
        self.port = 0
        self.kubeconfig: Path | None = None  # the last file write_kubeconfig wrote
        for obj in objects:
            self.add(obj)

    # --- state -------------------------------------------------------------------------------
    def add(self, obj: Mapping[str, Any]) -> Json:
        """Store (or replace) an object; returns the stored copy with its resourceVersion."""
        if obj.get("kind") == "ResourceSlice":
            self.dra = True
        return self._store.put(obj)

    def set_log(self, namespace: str, pod: str, text: str, container: str | None = None,
                previous: bool = False) -> None:
        """The log of `container` (default: the pod's only/first container); previous=True: ?previous=true."""
        if container is None:
            stored = self._store.get(RESOURCES["pods"], namespace, pod)
            containers = (stored or {}).get("spec", {}).get("containers", [])
            container = containers[0]["name"] if containers else ""
        self._logs[(namespace, pod, container, previous)] = text

    def deny(self, verb: str, resource: str, subresource: str | None = None, namespace: str | None = None) -> None:
        """Answer matching requests 403 Forbidden as RBAC would; `resource` may be "pods/log"."""
        resource, _, sub = resource.partition("/")
        self._denials.append(_Deny(verb, resource, subresource or sub or None, namespace))

    def reset_requests(self) -> None:
        self.requests.clear()
        self.arrivals.clear()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: str | PathLike[str], context: str = "fake", namespace: str = "default",
                         current_context: str | None = None) -> Path:
        """A kubeconfig with `context` (this server, bearer token) and UNREACHABLE_CONTEXT (a closed port).

        current_context picks which one is current (default: `context`), so tests can check that
        `--context` is honoured by making the current one unreachable.
        """
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": self.url}},
                         {"name": UNREACHABLE_CONTEXT, "cluster": {"server": "http://127.0.0.1:1"}}],
            "users": [{"name": context, "user": {"token": self.token}}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context, "namespace": namespace}},
                         {"name": UNREACHABLE_CONTEXT, "context": {"cluster": UNREACHABLE_CONTEXT, "user": context}}],
            "current-context": current_context or context,
            "preferences": {},
        }
        out = Path(path)
        out.write_text(yaml.safe_dump(config, sort_keys=False))
        self.kubeconfig = out
        return out

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeKube:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = self._loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(self._serve())
            except BaseException as error:  # noqa: BLE001 - reported to the starting thread
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

        self._thread = threading.Thread(target=run, name="FakeKube", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            raise failure[0]
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> FakeKube:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self) -> None:
        app = web.Application(middlewares=[self._middleware])
        for resource in RESOURCES.values():
            base = resource.prefix
            if resource.namespaced:
                app.router.add_get(f"{base}/{resource.plural}", self._collection(resource))
                app.router.add_get(f"{base}/namespaces/{{namespace}}/{resource.plural}", self._collection(resource))
                app.router.add_get(f"{base}/namespaces/{{namespace}}/{resource.plural}/{{name}}", self._item(resource))
            else:
                app.router.add_get(f"{base}/{resource.plural}", self._collection(resource))
                app.router.add_get(f"{base}/{resource.plural}/{{name}}", self._item(resource))
        app.router.add_get("/api/v1/namespaces/{namespace}/pods/{name}/log", self._log)
        app.router.add_route("GET", "/api/v1/namespaces/{namespace}/pods/{name}/exec", self._exec)
        app.router.add_route("POST", "/api/v1/namespaces/{namespace}/pods/{name}/exec", self._exec)
        app.router.add_get("/version", self._version)
        for path in ("/api", "/apis", "/api/v1", "/apis/{group}", "/apis/{group}/v1"):
            app.router.add_get(path, self._discovery)
            app.router.add_get(path + "/", self._discovery)  # clients ask for both forms
        app.router.add_route("*", "/{tail:.*}", self._not_served)
        # the exec URL carries the whole probe script (~15 KB); the real API server reads request lines
        # up to 1 MiB (Go net/http's DefaultMaxHeaderBytes), aiohttp only 8190 bytes by default
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, max_line_size=REQUEST_LINE_LIMIT, max_field_size=REQUEST_LINE_LIMIT
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _shutdown(self) -> None:
        for task in list(self._exec_tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- request plumbing --------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append((request.method, str(request.rel_url)))
        self.arrivals.append(time.monotonic())
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.headers.get(hdrs.AUTHORIZATION) != f"Bearer {self.token}":
            return status_response(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    def _forbidden(self, verb: str, resource: Resource, namespace: str | None, name: str | None = None,
                   subresource: str | None = None) -> web.Response | None:
        if not any(d.matches(verb, resource.plural, subresource, namespace) for d in self._denials):
            return None
        target = f'{resource.qualified} "{name}"' if name else resource.qualified
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        full = f"{resource.plural}/{subresource}" if subresource else resource.plural
        message = (f'{target} is forbidden: User "{self.user}" cannot {verb} resource "{full}" '
                   f'in API group "{resource.group}" {scope}')
        return status_response(403, "Forbidden", message, _details(resource, name))

    def _served(self, resource: Resource) -> bool:
        return resource.plural != "resourceslices" or self.dra

    async def _not_served(self, request: web.Request) -> web.Response:
        if request.method != "GET":
            return status_response(405, "MethodNotAllowed",
                                   "the server does not allow this method on the requested resource", {})
        return status_response(404, "NotFound", "the server could not find the requested resource", {})

    def _not_found(self, resource: Resource, name: str) -> web.Response:
        return status_response(404, "NotFound", f'{resource.qualified} "{name}" not found', _details(resource, name))

    # --- reads -------------------------------------------------------------------------------
    def _collection(self, resource: Resource) -> Any:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not self._served(resource):
                return await self._not_served(request)
            namespace = request.match_info.get("namespace")
            try:
                watch = go_bool(request.query.get("watch", "false"))
            except ValueError as error:
                return bad_request(str(error))
            denied = self._forbidden("watch" if watch else "list", resource, namespace)
            if denied:
                return denied
            try:
                labels = parse_label_selector(request.query.get("labelSelector"))
                fields = parse_field_selector(request.query.get("fieldSelector"), resource.plural)
            except SelectorError as error:
                return bad_request(str(error))
            node = next((t.value for t in fields if t.field == "spec.nodeName" and t.equal), None)
            by_node = node if resource.plural == "pods" else None
            items = [o for o in self._store.select(resource, namespace, by_node)
                     if labels_match(o, labels) and fields_match(o, fields)]
            if watch:
                try:
                    timeout = float(request.query.get("timeoutSeconds") or 0)
                except ValueError as error:
                    return bad_request(str(error))
                return await self._watch(request, items, timeout)
            return self._page(request, resource, items)
        return handle

    def _page(self, request: web.Request, resource: Resource, items: list[Json]) -> web.Response:
        """A typed list (items without kind/apiVersion), honouring limit/continue like the server."""
        metadata: Json = {"resourceVersion": self._store.resource_version}
        try:
            start = int(json.loads(base64.b64decode(request.query["continue"]))["start"]) \
                if request.query.get("continue") else 0
            limit = int(request.query.get("limit") or 0)
        except (ValueError, KeyError, TypeError) as error:
            return bad_request(f"continue key is not valid: {error}")
        end = start + limit if limit > 0 else len(items)
        if end < len(items):
            metadata["continue"] = base64.b64encode(json.dumps({"start": end}).encode()).decode()
            metadata["remainingItemCount"] = len(items) - end
        page = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in items[start:end]]
        body = {"kind": f"{resource.kind}List", "apiVersion": resource.api_version, "metadata": metadata,
                "items": page}
        return web.Response(body=json.dumps(body).encode(), content_type="application/json")

    async def _watch(self, request: web.Request, items: list[Json], timeout: float) -> web.StreamResponse:
        """A bounded watch: the current objects as ADDED events, then the stream ends after timeoutSeconds."""
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for obj in items:
            await response.write(json.dumps({"type": "ADDED", "object": obj}).encode() + b"\n")
        await asyncio.sleep(timeout)
        await response.write_eof()
        return response

    def _item(self, resource: Resource) -> Any:
        async def handle(request: web.Request) -> web.Response:
            if not self._served(resource):
                return await self._not_served(request)
            namespace, name = request.match_info.get("namespace"), request.match_info["name"]
            denied = self._forbidden("get", resource, namespace, name)
            if denied:
                return denied
            obj = self._store.get(resource, namespace, name)
            return web.json_response(obj) if obj is not None else self._not_found(resource, name)
        return handle

    def _pod_container(self, namespace: str, name: str, container: str | None) -> tuple[Json, str] | web.Response:
        """Find the pod and resolve the container the way the API server does for log and exec."""
        pods = RESOURCES["pods"]
        pod = self._store.get(pods, namespace, name)
        if pod is None:
            return self._not_found(pods, name)
        spec = pod.get("spec", {})
        names = [c["name"] for c in spec.get("containers", [])]
        if not container:
            if len(names) != 1:
                return bad_request(f"a container name must be specified for pod {name}, "
                                   f"choose one of: [{' '.join(names)}]")
            container = names[0]
        if container not in names + [c["name"] for c in spec.get("initContainers", [])]:
            return bad_request(f"container {container} is not valid for pod {name}")
        return pod, container

    async def _log(self, request: web.Request) -> web.Response:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        denied = self._forbidden("get", RESOURCES["pods"], namespace, name, "log")
        if denied:
            return denied
        found = self._pod_container(namespace, name, request.query.get("container"))
        if isinstance(found, web.Response):
            return found
        pod, container = found
        try:
            previous = go_bool(request.query.get("previous", "false"))
            tail = int(request.query["tailLines"]) if "tailLines" in request.query else None
            limit = int(request.query["limitBytes"]) if "limitBytes" in request.query else None
        except ValueError as error:
            return bad_request(str(error))
        text = self._logs.get((namespace, name, container, previous))
        if text is None:
            if previous:
                return bad_request(f'previous terminated container "{container}" in pod "{name}" not found')
            waiting = next((s["state"]["waiting"] for s in pod.get("status", {}).get("containerStatuses", [])
                            if s.get("name") == container and "waiting" in s.get("state", {})
                            and not s.get("restartCount")), None)
            if waiting is not None and pod.get("spec", {}).get("nodeName"):
                return bad_request(f'container "{container}" in pod "{name}" is waiting to start: '
                                   f'{waiting.get("reason", "ContainerCreating")}')
            text = ""
        data = text.encode()
        if tail is not None:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-tail:]) if tail > 0 else b""
        if limit is not None:
            data = data[:limit]
        return web.Response(body=data, content_type="text/plain", charset="utf-8")

    async def _exec(self, request: web.Request) -> web.StreamResponse:
        namespace, name = request.match_info["namespace"], request.match_info["name"]
        denied = self._forbidden("create", RESOURCES["pods"], namespace, name, "exec")
        if denied:
            return denied
        try:
            options = ExecOptions.from_query(request.query)
        except ValueError as error:
            return bad_request(str(error))
        found = self._pod_container(namespace, name, options.container)
        if isinstance(found, web.Response):
            return found
        pod, container = found
        if not pod.get("spec", {}).get("nodeName"):
            return bad_request(f"pod {name} does not have a host assigned")
        if request.headers.get(hdrs.UPGRADE, "").lower() != "websocket":
            return bad_request("Upgrade request required")
        # with no handler every command behaves as an executable missing from the image
        handler = self.exec_handler or (lambda *_: ExecResult.missing_binary(options.command[0]))
        task = asyncio.current_task()
        tracked = {task} if task is not None else set()
        self._exec_tasks |= tracked  # so stop() can end execs that are still "running"
        try:
            return await stream_exec(request, options, namespace, name, container, handler)
        finally:
            self._exec_tasks -= tracked

    # --- discovery ---------------------------------------------------------------------------
    async def _version(self, request: web.Request) -> web.Response:
        major, minor = self.git_version.lstrip("v").split(".")[:2]
        return web.json_response({
            "major": major, "minor": minor, "gitVersion": self.git_version, "gitCommit": "0" * 40,
            "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23.6",
            "compiler": "gc", "platform": "linux/amd64"})

    async def _discovery(self, request: web.Request) -> web.Response:
        path = request.path.rstrip("/")
        groups = sorted({r.group for r in RESOURCES.values() if r.group and self._served(r)})
        if path == "/api":
            return web.json_response({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]})
        if path == "/apis":
            return web.json_response({"kind": "APIGroupList", "apiVersion": "v1",
                                      "groups": [self._group_doc(g) for g in groups]})
        group = request.match_info.get("group", "")
        if group and group not in groups:
            return await self._not_served(request)
        if not path.endswith("/v1"):
            return web.json_response({"kind": "APIGroup", "apiVersion": "v1", **self._group_doc(group)})
        resources = []
        for r in RESOURCES.values():
            if r.group == group:
                resources.append({"name": r.plural, "singularName": r.kind.lower(), "namespaced": r.namespaced,
                                  "kind": r.kind, "verbs": ["get", "list", "watch"],
                                  **({"shortNames": list(r.short_names)} if r.short_names else {})})
        if not group:
            resources += [{"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
                          {"name": "pods/exec", "singularName": "", "namespaced": True, "kind": "PodExecOptions",
                           "verbs": ["create", "get"]}]
        return web.json_response({"kind": "APIResourceList", "apiVersion": "v1",
                                  "groupVersion": f"{group}/v1" if group else "v1", "resources": resources})

    @staticmethod
    def _group_doc(group: str) -> Json:
        version = {"groupVersion": f"{group}/v1", "version": "v1"}
        return {"name": group, "versions": [version], "preferredVersion": version}
