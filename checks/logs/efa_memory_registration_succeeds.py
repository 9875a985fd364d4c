from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.logs._logs import in_container, libfabric_hosts, on_hosts, quote
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.logs import LogFacts


@check(
    id="LOG010",
    title="EFA memory registration succeeded (no -12 / 4112 / RLIMIT_MEMLOCK errors)",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.MEMLOCK,),
    caused_by=("PRB008",),  # the probe reads `ulimit -l` in the same container
    targets=("logs", "pod"),
)
def efa_memory_registration_succeeds(log_facts: LogFacts, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    EFA transfers need their buffers pinned (registered with the device).
    Pinning counts against the process's locked-memory limit unless it has
    `CAP_IPC_LOCK`, so a container with the usual small `ulimit -l` fails:
    `Libfabric error: (-12) Cannot allocate memory`, `Unable to register MR:
    Cannot allocate memory`, `EFA internal error: (4112) Failure to post
    internal receive buffers`, or libibverbs' own warning `RLIMIT_MEMLOCK is
    N bytes. This will severely limit memory registrations.` The process
    aborts, or NCCL fails during its first collectives.

    ## Fix
    Add `IPC_LOCK` to the workload container's
    `securityContext.capabilities.add`, or give the container an unlimited
    memlock limit in the container runtime; then check `ulimit -l` inside
    the pod (`unlimited` is right).
    """
    failing = [h for h in log_facts.hosts if any(e.kind == "memlock" for e in h.errors)]
    if not failing:
        talked = libfabric_hosts(log_facts) or [h for h in log_facts.hosts if h.ofi.providers]
        if not talked:
            return skipped("the log shows no EFA traffic to judge (no aws-ofi-nccl provider or channel lines)")
        return passed(f"no memory-registration error (-12, 4112, RLIMIT_MEMLOCK){on_hosts([h.host for h in talked])}")
    codes = sorted({e.code for h in failing for e in h.errors if e.kind == "memlock" and e.code is not None})
    count = sum(e.count for h in failing for e in h.errors if e.kind == "memlock")
    evidence = [e for h in failing for e in quote(h, [line for err in h.errors if err.kind == "memlock" for line in err.evidence], 3)][:8]
    container = workload_container.name if workload_container else None
    commands = []
    if pod is not None and container:
        commands += edit_commands(pod, f'add "IPC_LOCK" to securityContext.capabilities.add of container {container}')
    commands.append(in_container(pod, workload_container, ["sh", "-c", "ulimit -l"]))
    return failed(
        f"EFA could not register (pin) memory{on_hosts([h.host for h in failing])}"
        + (f" ({', '.join(str(c) for c in codes)}; {count} line(s))" if codes else f" ({count} line(s))")
        + ": the container's locked-memory limit is too low",
        fix="Add IPC_LOCK to the workload container's securityContext.capabilities.add (or set memlock to unlimited in the "
        "container runtime); `ulimit -l` inside the container should then print unlimited:",
        commands=commands,
        evidence=evidence,
        observed=[Symptom.MEMLOCK],
    )
