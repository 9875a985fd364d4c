from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, unknown
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.checks.probe._probe import located, quote, run_here, unknown_reason
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport

IPC_LOCK = ("IPC_LOCK", "CAP_IPC_LOCK", "ALL")
SPEC = "k8s: Pod spec.containers[].securityContext"
NO_AMBIENT = "kubernetes/kubernetes#56374"
CONFIRM = ["sh", "-c", "ulimit -l; grep CapEff /proc/self/status"]
LOCAL_FIX = "ulimit -l unlimited  # needs CAP_SYS_RESOURCE; for a container: docker run --ulimit memlock=-1:-1 ..."
LOCAL_FIX_TEXT = ("Raise the memlock limit to unlimited (or run as root with CAP_IPC_LOCK, outside a user namespace); "
                  "then confirm:")
Evidence = list[tuple[str, str]]


@check(
    id="PRB008",
    title="Locked memory is unlimited in the container (or it holds CAP_IPC_LOCK)",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.MEMLOCK,),
    targets=("pod", "local"),
)
def memlock_unlimited(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    EFA pins every buffer it registers. The kernel refuses a registration
    once the process' pinned pages pass `RLIMIT_MEMLOCK` (`ulimit -l`),
    unless the process holds `CAP_IPC_LOCK` (ib_umem_get). NCCL registers its
    communication buffers, gigabytes on GPU instances, so any finite limit
    shows up as `Libfabric error: (-12) Cannot allocate memory` or `EFA
    internal error: (4112) Failure to post internal receive buffers`.
    Containers inherit their runtime's limit, often a small default (the
    kernel's 64 KiB, or 8 MiB on newer kernels as in the project's Debian
    container capture); the EFA installer raises the limit only in the host's
    limits configuration (its `--skip-limit-conf` option skips even that),
    which a container does not read.

    The probe reads the capability sets of its own shell, which the runtime
    starts in the container with the workload's user and capabilities
    (`CapEff` in `/proc/self/status`; bit 14 is `CAP_IPC_LOCK`), so it sees
    what a process there really holds, not only what the pod spec asks for. Two cases make the spec misleading:
    `capabilities.add` reaches a non-root process' bounding set but not its
    effective set (Kubernetes sets no ambient capabilities,
    kubernetes/kubernetes#56374); and the kernel honours the capability only
    in the initial user namespace, so a pod with `hostUsers: false` holds it
    in vain. Without the probe's capability lines the check falls back to
    the pod spec.

    ## Fix
    Add `IPC_LOCK` to the container's `securityContext.capabilities.add`;
    the limit then does not bind for a process that runs as root
    (`runAsUser: 0`) in the host's user namespace. Or run the container with
    an unlimited memlock limit (container runtime setting, e.g. containerd's
    `LimitMEMLOCK=infinity`, `docker run --ulimit memlock=-1:-1`).
    """
    memlock = probe_report.memlock_kib
    at = located(pod, workload_container)
    if memlock.value is None:
        return unknown(unknown_reason(probe_report, memlock, "ulimit -l"))
    evidence = quote(memlock.evidence, workload_container)
    if memlock.value == "unlimited":
        return passed(f"locked memory is unlimited {at}", evidence=evidence)
    kib = int(memlock.value)
    if probe_report.cap_ipc_lock.value is not None:
        return _judged_by_capabilities(probe_report, kib, evidence, pod, workload_container)
    # No capability lines from the probe (output cut short): the pod spec is what is left.
    if workload_container is not None:
        caps = [cap for cap in workload_container.capabilities_add if cap.upper() in IPC_LOCK]
        granted = caps or (["privileged"] if workload_container.privileged else [])
        if granted:
            return passed(
                f"locked memory is limited to {kib} KiB {at}, but the container holds CAP_IPC_LOCK ({', '.join(granted)}), "
                "so the limit does not bind EFA registrations",
                evidence=[*evidence, _spec(workload_container)],
            )
        evidence.append(_spec(workload_container))
        commands = edit_commands(pod, f"add securityContext.capabilities.add: [\"IPC_LOCK\"] to container {workload_container.name}")
        confidence = Confidence.HIGH
    else:
        commands = [LOCAL_FIX]
        # run as root on a host, the probe's process holds CAP_IPC_LOCK and the limit does not bind
        confidence = Confidence.MEDIUM if probe_report.uid.value == 0 else Confidence.HIGH
    return failed(
        f"locked memory is limited to {kib} KiB {at}: EFA memory registrations beyond it fail with "
        "-12 Cannot allocate memory",
        fix="Give the container CAP_IPC_LOCK (securityContext.capabilities.add: [\"IPC_LOCK\"]) or an unlimited memlock "
        "limit in the container runtime; then confirm:",
        commands=[*commands, run_here(pod, workload_container, CONFIRM)],
        evidence=evidence,
        confidence=confidence,
    )


def _judged_by_capabilities(
    report: ProbeReport, kib: int, evidence: Evidence, pod: PodInfo | None, container: ContainerInfo | None
):
    """The probe saw the process' capabilities: they decide whether the limit binds."""
    at = located(pod, container)
    held, namespace = report.cap_ipc_lock, report.user_namespace
    evidence = [*evidence, *quote(held.evidence + namespace.evidence, container)]
    if container is not None:
        evidence.append(_spec(container))
    if held.value and namespace.value is not True:
        return passed(
            f"locked memory is limited to {kib} KiB {at}, but the process holds CAP_IPC_LOCK (CapEff), "
            "so the limit does not bind EFA registrations",
            evidence=evidence,
        )
    uid = report.uid.value
    evidence += quote(report.uid.evidence, container)
    name = container.name if container is not None else ""
    if held.value:
        reason = ("the process holds CAP_IPC_LOCK only inside a user namespace, while the kernel honours it for "
                  "memory registrations only in the initial one")
        fix = ("Run the pod in the host's user namespace (drop hostUsers: false) with IPC_LOCK, or give the container "
               "an unlimited memlock limit in the container runtime; then confirm:")
        what = "remove hostUsers: false from the pod spec (or raise the runtime's memlock limit)"
    elif uid is not None and uid != 0:
        bounding = " (it is only in the bounding set)" if report.cap_ipc_lock_bounding.value else ""
        reason = f"the process runs as uid {uid} without CAP_IPC_LOCK{bounding}"
        fix = (f"capabilities.add does not reach a non-root process' effective set ({NO_AMBIENT}): give the container "
               "an unlimited memlock limit in the container runtime, or run it as root (runAsUser: 0) with IPC_LOCK; "
               "then confirm:")
        what = f"set securityContext.runAsUser: 0 and capabilities.add: [\"IPC_LOCK\"] on container {name}"
    elif container is not None and any(cap.upper() in IPC_LOCK for cap in container.capabilities_add):
        reason = "the process lacks CAP_IPC_LOCK although the pod spec adds it"
        fix = ("The spec's IPC_LOCK did not reach the process: find what changed the container's capabilities (an "
               "admission webhook, the runtime's configuration), or give the container an unlimited memlock limit in "
               "the container runtime; then confirm:")
        what = None
    else:
        reason = "the process lacks CAP_IPC_LOCK"
        fix = ("Give the container CAP_IPC_LOCK (securityContext.capabilities.add: [\"IPC_LOCK\"]) or an unlimited "
               "memlock limit in the container runtime; then confirm:")
        what = f"add securityContext.capabilities.add: [\"IPC_LOCK\"] to container {name}"
    if pod is not None and container is not None:
        commands = edit_commands(pod, what) if what else []
    else:
        fix, commands = LOCAL_FIX_TEXT, [LOCAL_FIX]
    return failed(
        f"locked memory is limited to {kib} KiB {at} and {reason}: EFA memory registrations beyond it fail with "
        "-12 Cannot allocate memory",
        fix=fix,
        commands=[*commands, run_here(pod, container, CONFIRM)],
        evidence=evidence,
        confidence=Confidence.HIGH,
    )


def _spec(container: ContainerInfo) -> tuple[str, str]:
    added = list(container.capabilities_add) or "(none)"
    return (SPEC, f"{container.name}: capabilities.add {added}, privileged {container.privileged}")
