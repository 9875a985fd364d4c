from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.logs._logs import in_container, instance_evidence, on_hosts, quote, signature_lines
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.instance_types import closest_efa_sizes
from efadoctor.parsers.logs import HostLogFacts, LogFacts

NO_DEVICE = ("enodata", "no_provider", "efa_iface_filtered")


@check(
    id="LOG004",
    title="libfabric found the EFA devices (no fi_getinfo -61 in the log)",
    layer=Layer.RUNTIME,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    # -61 is local: what hides the devices from libfabric, from the image to the instance (as PRB004)
    caused_by=(
        "LOG005",
        "PRB001", "PRB002", "PRB003", "PRB004", "PRB005", "PRB006",
        "POD001", "POD002", "POD006", "POD009",
        "K8S001", "K8S002", "AWS001", "AWS002",
    ),
    targets=("logs", "pod"),
)
def libfabric_found_efa_devices(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
):
    """
    ## Why it matters
    `fi_getinfo: -61` (`(No data available)` since libfabric 1.19) means the
    efa provider found no usable EFA device: libibverbs drops every device
    whose `/dev/infiniband/uverbsN` the container cannot open, so a pod that
    did not request `vpc.amazonaws.com/efa`, an image whose libfabric lacks
    the efa provider, `FI_PROVIDER`/`FI_EFA_IFACE` excluding it, or an
    instance without EFA interfaces all end here. It is local: no packet was
    sent, so security groups, subnets and placement groups cannot cause it.
    Through NCCL it reads `NET/OFI OFI fi_getinfo() call failed: No data
    available`, or libfabric's `fi_getinfo: provider efa output empty list`,
    and NCCL then falls back to sockets: -61 in disguise.

    ## Fix
    Make the EFA devices visible to the container: request
    `vpc.amazonaws.com/efa` (the node's full count) in the workload
    container, use an image with the EFA installer's libfabric, leave
    `FI_PROVIDER` unset, and let `FI_EFA_IFACE` name real devices. Confirm
    with `fi_info -p efa -t FI_EP_RDM` inside that container.
    """
    failing = [h for h in log_facts.hosts if _no_device(h)]
    working = [h for h in log_facts.hosts if _found_efa(h)]
    broken = [h for h in failing if h not in working]  # -61 then `Selected provider is efa`: one protocol's query failed, not the devices
    if not failing and not working:
        return skipped("the log shows no fi_getinfo result (aws-ofi-nccl's `Selected provider` line, fi_info output or a -61)")
    if not broken:
        evidence = [e for h in working for e in quote(h, signature_lines(h, "ofi_provider", "fi_info_provider"), 1)][:6]
        note = " (a -61 logged earlier was one query's; the efa provider was then selected)" if failing else ""
        return passed(f"libfabric found the EFA devices{on_hosts([h.host for h in working])}{note}", evidence=evidence)
    names = [h.host for h in broken]
    evidence = [e for h in broken for e in quote(h, [line for err in h.errors if err.kind in NO_DEVICE for line in err.evidence], 2)][:8]
    reasons = []
    info = expected_instance_type.info if expected_instance_type else None
    if info is not None and not info.efa_supported:
        evidence += instance_evidence(expected_instance_type)  # type: ignore[arg-type]
        sizes = closest_efa_sizes(info.instance_type)[:3]
        reasons.append(f"{info.instance_type} has no EFA" + (f" (EFA-capable sizes: {', '.join(sizes)})" if sizes else ""))
    bare = not any(_names_efa(h) for h in broken)
    if any(h.signature("ofi_getinfo_failed") or h.signature("ofi_no_provider") for h in broken):
        via = " through aws-ofi-nccl"
    else:
        via = " (fi_info)" if any(h.signature("fi_info_enodata") for h in broken) else ""
    summary = (
        f"libfabric found no usable EFA device{via}{on_hosts(names)} ({_seen(broken)})"
        + (f": {'; '.join(reasons)}" if reasons else "")
        + "; a local condition (no packet was sent, so no security group can cause it)"
    )
    fix = (
        "Make the EFA devices visible to the job's container (request vpc.amazonaws.com/efa in that container, use the EFA "
        "installer's libfabric, leave FI_PROVIDER unset, FI_EFA_IFACE naming real devices), then confirm there:"
    )
    if info is not None and not info.efa_supported:
        fix = f"Run the job on an instance type with EFA ({info.instance_type} has none), then confirm in its container:"
    return failed(
        summary,
        fix=fix,
        commands=[
            in_container(pod, workload_container, ["fi_info", "-p", "efa", "-t", "FI_EP_RDM"]),
            in_container(pod, workload_container, ["ls", "-l", "/dev/infiniband/"]),
        ],
        evidence=evidence,
        # a bare `fi_getinfo: -61` does not name the provider it was asked for
        confidence=Confidence.MEDIUM if bare else Confidence.HIGH,
        observed=[Symptom.ENODATA],
    )


def _seen(hosts: list[HostLogFacts]) -> str:
    kinds = {e.kind for h in hosts for e in h.errors}
    seen = ["fi_getinfo -61, No data available"] if "enodata" in kinds else []
    seen += ["no eligible provider"] if "no_provider" in kinds else []
    seen += ["devices filtered out by FI_EFA_IFACE"] if "efa_iface_filtered" in kinds else []
    return "; ".join(seen)


def _no_device(host: HostLogFacts) -> bool:
    """-61, or every device filtered out; "No eligible providers" counts only when the plugin then gave up
    (newer aws-ofi-nccl print it for one protocol and go on to try the next)."""
    kinds = {e.kind for e in host.errors}
    return bool(kinds & {"enodata", "efa_iface_filtered"}) or ("no_provider" in kinds and host.plugin.outcome == "init_failed")


def _found_efa(host: HostLogFacts) -> bool:
    return any(p.startswith("efa") for p in host.ofi.providers) or any(e.provider.startswith("efa") for e in host.fi_info.entries)


def _names_efa(host: HostLogFacts) -> bool:
    """Whether a failing line names EFA: a bare `fi_getinfo: -61` (fi_info without FI_LOG_LEVEL) does not say
    which provider was asked for."""
    if host.signature("ofi_getinfo_failed") or host.signature("ofi_no_provider"):
        return True
    lines = [line.text for err in host.errors if err.kind in NO_DEVICE for line in err.evidence]
    return any("provider efa" in text or "FI_EFA_IFACE" in text for text in lines)
