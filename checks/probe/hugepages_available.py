from efadoctor import Layer, Severity, check, passed, skipped, unknown, warned
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.checks.probe._probe import located, quote, requested, unknown_reason
from efadoctor.facts.kube import HUGEPAGES_2MI, ContainerInfo, PodInfo, quantity_bytes
from efadoctor.parsers.probe_output import ProbeReport

OFF = ("0", "false", "no", "off", "n")


@check(
    id="PRB009",
    title="2 MiB huge pages are there for the EFA provider where the container relies on them",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    caused_by=("POD005",),  # the pod spec's own huge-page finding explains this one
    targets=("pod", "local"),
)
def hugepages_available(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    libfabric's EFA provider takes its internal buffers from 2 MiB huge pages
    unless `FI_EFA_USE_HUGE_PAGE=0` (or `FI_EFA_FORK_SAFE`) is set (fi_efa(7)).
    A pod that requests `hugepages-2Mi` relies on the node having them (the
    EFA driver pre-allocates 5128 on the host, EKS user guide). The counts in
    `/proc/meminfo` are node-wide, not the container's: the container may use
    huge pages only up to its own `hugepages-2Mi` request, which the pod-spec
    check (POD005) judges. This check reads what the node has.

    ## Fix
    Request `hugepages-2Mi` only on nodes that reserve them (the EFA-enabled
    EKS AMIs do), or set `FI_EFA_USE_HUGE_PAGE=0` in the container so the
    provider uses regular pages.
    """
    env = probe_report.env
    switch = probe_report.env_var("FI_EFA_USE_HUGE_PAGE")
    host = f"the node of pod {pod.ref}" if pod is not None else "this machine"
    at = located(pod, workload_container)
    if switch.value is not None and switch.value.strip().lower() in OFF:
        return skipped(f"FI_EFA_USE_HUGE_PAGE={switch.value} {at}: the EFA provider uses regular pages")
    if probe_report.env_var("FI_EFA_FORK_SAFE").value is not None:
        return skipped(f"FI_EFA_FORK_SAFE is set {at}: the EFA provider does not use huge pages")
    asked = requested(workload_container, HUGEPAGES_2MI)
    if workload_container is not None:
        if not asked or not quantity_bytes(asked):
            return skipped(f"container {workload_container.name} requests no {HUGEPAGES_2MI}: POD005 judges that from the pod spec")
    total, free, size = probe_report.hugepages_total, probe_report.hugepages_free, probe_report.hugepage_size_kib
    if total.value is None or env.value is None:
        return unknown(unknown_reason(probe_report, total if total.value is None else env, "the huge pages in /proc/meminfo"))
    evidence = quote(total.evidence + free.evidence + size.evidence, workload_container)
    request = f" (container {workload_container.name} requests {HUGEPAGES_2MI}: {asked})" if asked else ""
    if size.value is not None and size.value != 2048:
        return skipped(f"the default huge page size here is {size.value} kB, not 2 MiB: this check reads 2 MiB pages only")
    if total.value == 0:
        commands = (edit_commands(pod, f"remove {HUGEPAGES_2MI} or add env FI_EFA_USE_HUGE_PAGE=0 to container {workload_container.name}")
                    if pod is not None and workload_container is not None else ["export FI_EFA_USE_HUGE_PAGE=0"])
        return warned(
            f"{host} reserves no 2 MiB huge pages (HugePages_Total: 0){request}: the EFA provider's huge-page "
            "buffers cannot come from there",
            fix="Run on a node that reserves 2 MiB huge pages (the EFA-enabled EKS AMIs do), or set FI_EFA_USE_HUGE_PAGE=0 "
            "in the container.",
            commands=commands,
            evidence=evidence,
        )
    return passed(f"{host} has {free.value if free.value is not None else '?'} of {total.value} 2 MiB huge pages free{request}",
                  evidence=evidence)
