from efadoctor import Layer, Severity, check, failed, passed, skipped
from efadoctor.checks.logs._logs import ON, instance_evidence, on_hosts, quote, settings_among, unset_in_pod
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import LogFacts


@check(
    id="LOG012",
    title="FI_EFA_USE_DEVICE_RDMA=1 is not forced on an EFA device without RDMA read",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    caused_by=("POD010", "PRB007"),  # the same variable in the pod spec / in the container
    targets=("logs", "pod"),
)
def device_rdma_not_forced_without_rdma_read(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
):
    """
    ## Why it matters
    `FI_EFA_USE_DEVICE_RDMA=1` makes libfabric use RDMA read. The EFA of
    p3dn, g4dn, g5, g6 and g6e has none, and libfabric then stops the
    process: `FI_EFA_USE_DEVICE_RDMA=1 was set by user, but EFA device has no
    rdma-read capability. Application will abort().` Since libfabric 1.18 the
    default follows the hardware ("RDMA operations will occur when
    available"), so the variable is never needed.

    ## Fix
    Remove `FI_EFA_USE_DEVICE_RDMA` from the job's environment.
    """
    aborted = [h for h in log_facts.hosts if any(g.kind == "gdr_forced_abort" for g in h.gdr)]
    forced = settings_among(log_facts, "FI_EFA_USE_DEVICE_RDMA", ON)
    info = expected_instance_type.info if expected_instance_type else None
    commands = unset_in_pod(pod, workload_container, ["FI_EFA_USE_DEVICE_RDMA"])
    fix = "Remove FI_EFA_USE_DEVICE_RDMA from the job's environment: libfabric uses RDMA read by itself where the device has it."
    if aborted:
        evidence = [e for h in aborted for e in quote(h, [line for g in h.gdr if g.kind == "gdr_forced_abort" for line in g.evidence], 1)]
        return failed(
            f"libfabric aborted{on_hosts([h.host for h in aborted])}: FI_EFA_USE_DEVICE_RDMA=1 was set, but the EFA device "
            "has no RDMA read",
            fix=fix,
            commands=commands,
            evidence=evidence[:6],
        )
    if forced and info is not None and info.gdr == "no":
        evidence = [e for h, _, line in forced for e in quote(h, [line], 1)][:4] + instance_evidence(expected_instance_type)  # type: ignore[arg-type]
        return failed(
            f"FI_EFA_USE_DEVICE_RDMA=1 is set on {info.instance_type}, whose EFA has no RDMA read: libfabric aborts the process",
            fix=fix,
            commands=commands,
            evidence=evidence,
        )
    if not forced and not any(h.ofi.providers or h.transports.net_total for h in log_facts.hosts):
        return skipped("the log shows neither FI_EFA_USE_DEVICE_RDMA nor EFA traffic")
    return passed("no FI_EFA_USE_DEVICE_RDMA abort in the log")
