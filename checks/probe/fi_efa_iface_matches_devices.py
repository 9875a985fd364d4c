from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.probe._probe import located, not_set, quote, run_here, target, unknown_reason, unset_here
from efadoctor.checks.probe.efa_provider_compiled_in import visible_efa_devices
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport

FILTER_SINCE = (2, 0)  # FI_EFA_IFACE arrived in libfabric 2.0.0 (ofiwg/libfabric fb5bc87e6)


def allowed_names(value: str) -> tuple[str, ...] | None:
    """The device names FI_EFA_IFACE lets through; None for `all` (libfabric: a value starting with "all")."""
    if value.startswith("all"):
        return None
    return tuple(name for name in value.split(",") if name)


@check(
    id="PRB006",
    title="FI_EFA_IFACE names EFA devices the container has",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.ENODATA, Symptom.DEGRADED),
    targets=("pod", "local"),
)
def fi_efa_iface_matches_devices(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    Since libfabric 2.0.0 the efa provider uses only the devices whose names
    `FI_EFA_IFACE` lists (comma-separated, exact names such as `rdmap79s0`;
    `all` or unset: every device), and skips the others ("Device %s filtered
    out by FI_EFA_IFACE" at FI_LOG_LEVEL=info, prov/efa/src/efa_device.c).
    A value copied from another instance type or node names devices this
    container does not have: every device is filtered out and `fi_getinfo`
    returns -61, or only some remain and NCCL uses fewer NICs. Older
    libfabric ignores the variable.

    ## Fix
    Unset `FI_EFA_IFACE`, or list device names that exist in this container
    (`ls /sys/class/infiniband`, for those with a `/dev/infiniband/uverbsN`).
    """
    env = probe_report.env
    if env.value is None:
        return unknown(unknown_reason(probe_report, env, "the container's environment"))
    value = probe_report.env_var("FI_EFA_IFACE")
    here = target(pod, workload_container)
    at = located(pod, workload_container)
    if value.value is None:
        if env.note:
            return unknown(unknown_reason(probe_report, env, "the container's environment"))
        return passed(f"FI_EFA_IFACE is not set {at}: libfabric uses every EFA device it sees",
                      evidence=[not_set(workload_container, "FI_EFA_IFACE")])
    evidence = quote(value.evidence, workload_container)
    names = allowed_names(value.value)
    if names is None:
        return passed(f"FI_EFA_IFACE={value.value} {at} lets every EFA device through", evidence=evidence)
    version = probe_report.fi_info_version.value
    release = version.release if version is not None else None
    if release is not None and release < FILTER_SINCE:
        return passed(
            f"FI_EFA_IFACE={value.value} is set {at}, but libfabric {version.libfabric} ignores it (it arrived in 2.0.0)",
            evidence=evidence + quote(version.lines[:2], workload_container),
        )
    devices = visible_efa_devices(probe_report)
    if devices is None:
        return unknown(unknown_reason(probe_report, probe_report.sysfs_efa_devices, "the container's EFA devices"), evidence=evidence)
    if not devices:
        return skipped(f"FI_EFA_IFACE={value.value} is set, but {here} has no EFA device for it to select (PRB003 says why)")
    evidence += quote(probe_report.sysfs_verbs.evidence, workload_container, limit=4)
    filtered = probe_report.fi_info_efa.value.filtered_devices if probe_report.fi_info_efa.value else ()
    fix = "Unset FI_EFA_IFACE (libfabric then uses every EFA device the container has), or list only names that exist here."
    commands = [*unset_here(pod, workload_container, "FI_EFA_IFACE"), run_here(pod, workload_container, ["ls", "/sys/class/infiniband/"])]
    matching = [name for name in names if name in devices]
    shown = ", ".join(devices[:4]) + (f", ... {len(devices)} in all" if len(devices) > 4 else "")
    confidence = Confidence.HIGH if release is not None else Confidence.MEDIUM  # unknown version: it may ignore the variable
    if not matching:
        return failed(
            f"FI_EFA_IFACE={value.value} {at} names none of its EFA devices ({shown}): libfabric filters out every "
            "device and fi_getinfo returns -61" + (f" (libfabric logged {len(filtered)} device(s) filtered out)" if filtered else ""),
            fix=fix,
            commands=commands,
            evidence=evidence,
            confidence=confidence,
        )
    if len(matching) < len(devices):
        return warned(
            f"FI_EFA_IFACE={value.value} {at} lets {len(matching)} of its {len(devices)} EFA devices through: "
            "NCCL uses fewer NICs than the container has",
            fix=fix,
            commands=commands,
            evidence=evidence,
            confidence=confidence,
        )
    return passed(f"FI_EFA_IFACE={value.value} {at} names all {len(devices)} of its EFA devices", evidence=evidence)
