"""How to change a pod's template, per owner kind: shared by the pod checks (no check lives here).

Why: a pod's spec is immutable, so every pod-spec fix is a change to whatever created the pod.
Deployments, StatefulSets and DaemonSets take `kubectl set env` and `kubectl edit` (their pods are
replaced); a Job's pod template is immutable, so Jobs and the training operators' kinds (MPIJob,
PyTorchJob...) are changed in the manifest and re-created; a bare pod is replaced.
"""

from __future__ import annotations

from typing import Sequence

from efadoctor.facts.kube import PodInfo

EDITABLE = ("Deployment", "StatefulSet", "DaemonSet")


def edit_commands(pod: PodInfo, what: str) -> list[str]:
    """Commands to change the pod template of whatever owns `pod`; `what` says what to change."""
    if pod.controller and pod.controller[0] in EDITABLE:
        kind, name = pod.controller
        return [f"kubectl -n {pod.namespace} edit {kind.lower()} {name}  # {what}"]
    if pod.controller:
        kind, name = pod.controller
        # the API server generated a Job's selector from its uid: a copy that keeps it is rejected on re-create
        generated = "; delete spec.selector and the template's controller-uid labels" if kind == "Job" else ""
        return [
            f"kubectl -n {pod.namespace} get {kind.lower()} {name} -o yaml > {name}.yaml  # {what} in its pod template{generated}",
            f"kubectl replace --force -f {name}.yaml  # a {kind}'s pod template cannot be edited in place: this re-creates it",
        ]
    return [
        f"kubectl -n {pod.namespace} get pod {pod.name} -o yaml > {pod.name}.yaml  # {what}",
        f"kubectl replace --force -f {pod.name}.yaml  # pods are immutable: this deletes and recreates the pod",
    ]


def unset_env_commands(pod: PodInfo, container: str, names: Sequence[str]) -> list[str]:
    """Remove environment variables from the workload's template (`kubectl set env NAME-`)."""
    if pod.controller and pod.controller[0] in EDITABLE:
        kind, name = pod.controller
        return [f"kubectl -n {pod.namespace} set env {kind.lower()}/{name} -c {container} " + " ".join(f"{n}-" for n in names)]
    return edit_commands(pod, f"remove {', '.join(names)} from container {container}")


def env_value(value: str | None) -> str | None:
    """A literal value, or None when it is unset or comes from a ConfigMap/Secret/field reference."""
    if value is None or value.startswith("<from "):
        return None
    return value
