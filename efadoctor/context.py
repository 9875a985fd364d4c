"""The one door to the outside world: what the user asked for, and lazily built clients.

Collectors receive this as `context`; nothing else reaches boto3, the Kubernetes
API, a pod's shell or the file system. Clients are created on first use, once
per run, so a command that needs no AWS never imports boto3.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .clients.calls import CallRecorder


@dataclass(frozen=True)
class Options:
    """Everything the user said, as plain values (the CLI fills it; tests may too)."""

    target: str  # "node" | "pod" | "logs" | "manifests" | "local"
    node: str | None = None
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    kubeconfig: str | None = None
    kube_context: str | None = None
    profile: str | None = None
    region: str | None = None
    timeout_s: float = 30.0
    exec_probe: bool = True  # False with --no-exec: stay strictly read-only
    read_logs: bool = False  # --logs: also read the pod's own log
    log_tail_lines: int = 2000
    paths: tuple[str, ...] = ()  # log files or manifests
    instance_type: str | None = None  # for `logs`: the instance type the job ran on
    kube_version: str | None = None
    karpenter_version: str | None = None
    debug: bool = False


@dataclass
class Context:
    options: Options
    recorder: CallRecorder = field(default_factory=CallRecorder)
    _clients: dict[str, Any] = field(default_factory=dict)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)  # guards _locks only

    def kube(self):
        """The Kubernetes client for the chosen kubeconfig and context (created once)."""

        def build():
            from .clients.kube import KubeClient

            return KubeClient(
                kubeconfig=self.options.kubeconfig,
                context=self.options.kube_context,
                recorder=self.recorder,
                request_timeout_s=min(10.0, self.options.timeout_s),
            )

        return self.client("kube", build)

    def client(self, name: str, factory):
        """Any other lazily built, shared client (EC2, exec), created once under its own lock.

        One lock per client: building the Kubernetes client can run the kubeconfig's exec plugin
        (`aws eks get-token`, about a second), and the AWS session must not wait for it.
        """
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._clients:
                self._clients[name] = factory()
            return self._clients[name]
