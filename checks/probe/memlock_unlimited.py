from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, unknown
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.checks.probe._probe import located, quote, run_here, unknown_reason
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport

IPC_LOCK = ("IPC_LOCK", "CAP_IPC_LOCK", "ALL")
SPEC = "k8s: Pod spec.containers[].securityContext"


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

    ## Fix
    Add `IPC_LOCK` to the container's `securityContext.capabilities.add`
    (the limit then does not bind), or run the container with an unlimited
    memlock limit (container runtime setting, e.g. containerd's
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
    if workload_container is not None:
        caps = [cap for cap in workload_container.capabilities_add if cap.upper() in IPC_LOCK]
        granted = caps or (["privileged"] if workload_container.privileged else [])
        if granted:
            spec = (f"{workload_container.name}: capabilities.add {list(workload_container.capabilities_add)}, "
                    f"privileged {workload_container.privileged}")
            return passed(
                f"locked memory is limited to {kib} KiB {at}, but the container holds CAP_IPC_LOCK ({', '.join(granted)}), "
                "so the limit does not bind EFA registrations",
                evidence=[*evidence, (SPEC, spec)],
            )
        evidence.append((SPEC, f"{workload_container.name}: capabilities.add {list(workload_container.capabilities_add) or '(none)'}"))
        commands = edit_commands(pod, f"add securityContext.capabilities.add: [\"IPC_LOCK\"] to container {workload_container.name}")
        confidence = Confidence.HIGH
    else:
        commands = ["ulimit -l unlimited  # needs CAP_SYS_RESOURCE; for a container: docker run --ulimit memlock=-1:-1 ..."]
        # run as root on a host, the probe's process holds CAP_IPC_LOCK and the limit does not bind
        confidence = Confidence.MEDIUM if probe_report.uid.value == 0 else Confidence.HIGH
    return failed(
        f"locked memory is limited to {kib} KiB {at}: EFA memory registrations beyond it fail with "
        "-12 Cannot allocate memory",
        fix="Give the container CAP_IPC_LOCK (securityContext.capabilities.add: [\"IPC_LOCK\"]) or an unlimited memlock "
        "limit in the container runtime; then confirm:",
        commands=[*commands, run_here(pod, workload_container, ["sh", "-c", "ulimit -l"])],
        evidence=evidence,
        confidence=confidence,
    )
