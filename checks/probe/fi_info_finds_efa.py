from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.probe._probe import located, quote, requested, run_here, unknown_reason
from efadoctor.facts.kube import EFA_RESOURCE, ContainerInfo, PodInfo, quantity_int
from efadoctor.parsers.fi_info import EXIT_TIMED_OUT
from efadoctor.parsers.probe_output import EXIT_KILLED, ProbeReport


@check(
    id="PRB004",
    title="libfabric finds the EFA devices (fi_info -p efa -t FI_EP_RDM succeeds)",
    layer=Layer.RUNTIME,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    # what makes fi_info -p efa fail, from the image to the instance: any of these explains the -61
    caused_by=(
        "PRB001", "PRB002", "PRB003", "PRB005", "PRB006",
        "POD001", "POD002", "POD006", "POD009",
        "K8S001", "K8S002", "AWS001", "AWS002",
    ),
    targets=("pod", "local"),
)
def fi_info_finds_efa(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    `fi_info -p efa -t FI_EP_RDM`, run in the workload's own container and
    environment, is the test that decides `fi_getinfo: -61`: it either lists
    one `provider: efa` entry per EFA device, or fails with `fi_getinfo: -61`
    (`(No data available)` since libfabric 1.19) and exit status 61. -61 is
    local: libfabric found no usable EFA device; no packet was sent, so
    security groups, subnets and placement groups cannot cause it. Under NCCL
    the same condition makes aws-ofi-nccl fail `fi_getinfo` and NCCL quietly
    use sockets. Fewer devices than the container requested means fewer NICs
    for NCCL (lower bandwidth).

    ## Fix
    Fix the cause this report ranks above it: the pod's EFA request, the
    image's libfabric, `FI_PROVIDER`/`FI_EFA_IFACE`, or the instance's EFA
    interfaces. Then run the same command in the container to confirm.
    """
    if probe_report.fi_info_present.value is False:
        return skipped(f"fi_info is not {located(pod, workload_container)}: PRB001 reports that")
    observed = probe_report.fi_info_efa
    result = observed.value
    if result is None:
        return unknown(unknown_reason(probe_report, observed, "the result of fi_info -p efa"))
    at = located(pod, workload_container)
    evidence = quote(observed.evidence, workload_container)
    verify = run_here(pod, workload_container, ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"])
    if result.enodata:
        line = result.error_line.text if result.error_line else f"exit status {result.exit_code}"
        return failed(
            f"fi_info -p efa -t FI_EP_RDM {at} fails with `{line}`: libfabric finds no usable EFA device "
            "(a local result: no packet was sent, so security groups cannot cause it)",
            fix="Fix what hides the EFA devices from libfabric (this report ranks it: the container's EFA request, the "
            "image's libfabric, FI_PROVIDER/FI_EFA_IFACE, or the instance's EFA interfaces), then confirm where it failed:",
            commands=[verify],
            evidence=evidence,
            observed=[Symptom.ENODATA],
        )
    if result.exit_code in (EXIT_TIMED_OUT, EXIT_KILLED) or (result.exit_code is None and not result.ok):
        return unknown(unknown_reason(probe_report, observed, "the result of fi_info -p efa"), evidence=evidence)
    if not result.ok:
        what = f"`{result.error_line.text}`" if result.error_line else f"exit status {result.exit_code} and no efa entry"
        return failed(
            f"fi_info -p efa -t FI_EP_RDM {at} fails with {what}: libfabric offers no EFA endpoint",
            fix="Read the full error with libfabric's logging in the container, then fix what it names:",
            commands=[run_here(pod, workload_container, ["env", "FI_LOG_LEVEL=warn", "fi_info", "-p", "efa", "-t", "FI_EP_RDM"])],
            evidence=evidence,
        )
    found = result.device_count
    wanted = quantity_int(requested(workload_container, EFA_RESOURCE))
    shown = ", ".join(result.devices[:4]) + (f", ... {found} in all" if found > 4 else "")
    if wanted and found < wanted:
        return warned(
            f"fi_info -p efa {at} lists {found} EFA device(s) ({shown}) but container {workload_container.name} "
            f"requests {wanted} {EFA_RESOURCE}: NCCL will use only {found} NIC(s)",
            fix="Find what hides the other devices (FI_EFA_IFACE, a partial EFA attachment, the device plugin's count) "
            "with libfabric's log in the container:",
            commands=[run_here(pod, workload_container, ["env", "FI_LOG_LEVEL=info", "fi_info", "-p", "efa", "-t", "FI_EP_RDM"])],
            evidence=evidence,
            observed=[Symptom.DEGRADED],
        )
    as_asked = f" (as many as the {wanted} requested)" if wanted else ""
    return passed(f"fi_info -p efa -t FI_EP_RDM {at} lists {found} EFA device(s){as_asked}: {shown}", evidence=evidence)
