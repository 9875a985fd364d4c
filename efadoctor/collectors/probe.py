"""The in-container look: fact `probe_report`, what efadoctor/probe/probe.sh saw where the workload runs.

`fi_getinfo: -61` is decided inside the container (the device nodes it was given, the libfabric it
ships, the FI_* variables it sets), so no API call can replace this look. In pod mode the script runs
through `pods/exec` in the workload container; the exec needs only the pod (not the node), so it runs
in the diagnosis' second round, beside the node and EC2 walk, and adds no round of its own. In local
mode (`efadoctor probe --local`) it runs in a local shell. Both are bounded by the same deadline and
byte budget.

Not being able to look is never reported as an EFA fault. `--no-exec` and a pod that is not running
make every probe check SKIP as not applicable; an image without `sh`, a denied exec (naming the
missing RBAC permission), a timeout before any output or an unreadable output make them SKIP as
"could not check", so the report cannot call the pod healthy. An output cut short (deadline, byte
budget) is still read for whatever arrived, with a note the checks repeat.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ..facts.kube import ContainerInfo, PodInfo
from ..model import FactUnavailable, collector

if TYPE_CHECKING:
    from ..clients.script_output import ScriptOutput
    from ..parsers.probe_output import ProbeReport

# The probe's own limit (efadoctor.probe.DEFAULT_TIMEOUT_S) unless --timeout leaves less; a margin
# below --timeout lets this collector's "probe timed out" arrive before the run's own deadline.
_MARGIN_S = 2.0


def _budget(run_timeout_s: float) -> float:
    from ..probe import DEFAULT_TIMEOUT_S

    return max(1.0, min(float(DEFAULT_TIMEOUT_S), run_timeout_s - _MARGIN_S))


@collector
def probe_report(context, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None) -> ProbeReport:
    from ..probe import MAX_OUTPUT_BYTES, SCRIPT

    options = context.options
    budget = _budget(options.timeout_s)
    argv = ["sh", "-c", SCRIPT]  # one fixed script, one argv element: nothing is interpolated into it
    if options.target == "local":
        from ..clients.local_exec import run_script

        output = run_script(argv, timeout_s=budget, max_bytes=MAX_OUTPUT_BYTES)
        return _report(output, "on this machine", budget)
    if options.target != "pod":
        raise FactUnavailable("the in-container probe runs for `efadoctor pod` and `efadoctor probe --local`", not_applicable=True)
    if not options.exec_probe:
        raise FactUnavailable("skipped: --no-exec (the in-pod probe was not run)", not_applicable=True)
    if pod is None or workload_container is None:
        raise FactUnavailable("no container to probe: the pod could not be read", not_applicable=True)
    _require_running(pod, workload_container)
    from ..clients.pod_exec import exec_script

    output = exec_script(
        context,
        namespace=pod.namespace,
        pod=pod.name,
        container=workload_container.name,
        argv=argv,
        timeout_s=budget,
        max_bytes=MAX_OUTPUT_BYTES,
    )
    return _report(output, f"in container {workload_container.name} of pod {pod.ref}", budget)


def _require_running(pod: PodInfo, container: ContainerInfo) -> None:
    """Exec needs a running container; anything else is a reason not to probe, not an EFA finding."""
    if not pod.node_name:
        raise FactUnavailable(f"pod {pod.ref} is not scheduled on a node: there is no container to probe", not_applicable=True)
    if pod.phase != "Running":
        raise FactUnavailable(f"pod {pod.ref} is {pod.phase or 'not running'}: the probe needs a running container", not_applicable=True)
    state = dict(pod.container_states or {}).get(container.name)
    if state is not None and state != "running":
        raise FactUnavailable(f"container {container.name} of pod {pod.ref} is not running ({state}): the probe needs it running", not_applicable=True)


def _report(output: ScriptOutput, where: str, budget: float) -> ProbeReport:
    """Parse what arrived; refuse only when nothing usable did."""
    from ..parsers.probe_output import parse_probe

    if output.no_shell:
        raise FactUnavailable(f"could not probe: no shell in image ({output.failure})")
    if output.failure is not None:
        raise FactUnavailable(f"could not probe {where}: {output.failure}")
    report = parse_probe(output.stdout)
    notes = []
    if output.timed_out:
        notes.append(f"probe timed out after {budget:g}s {where}: its output was cut short")
    if output.truncated:
        notes.append(f"probe output truncated: efadoctor stopped reading after {len(output.stdout) + len(output.stderr)} bytes")
    if output.note:
        notes.append(output.note)
    if output.exit_code not in (0, None):
        notes.append(f"the probe's shell exited with status {output.exit_code}")
    first_error = next((line for line in output.stderr.decode("utf-8", "replace").splitlines() if line.strip()), None)
    if first_error:
        notes.append(f"the probe wrote to stderr: {first_error[:200]}")
    if report.probe_version is None and not report.sections:
        if output.timed_out and not output.stdout:
            raise FactUnavailable(f"probe timed out after {budget:g}s {where}")
        shown = report.stray_lines[0].text[:120] if report.stray_lines else "(no output)"
        reason = "; ".join(notes) or f"{len(output.stdout)} bytes without the probe's header"
        raise FactUnavailable(f"the probe's output {where} is unreadable ({reason}); it begins: {shown!r}")
    if not notes:
        return report
    cut = output.timed_out or output.truncated or output.note is not None
    return replace(report, notes=tuple(notes) + report.notes, complete=report.complete and not cut)
