from efadoctor import Layer, Severity, check, passed, skipped, unknown
from efadoctor.checks.logs._logs import quote, signature_lines
from efadoctor.facts.kube import PodInfo
from efadoctor.parsers.logs import MAX_LINE_CHARS, HostLogFacts, LogFacts, LogLine, summarize

MAX_EVIDENCE = 8


@check(
    id="LOG001",
    title="The log shows what NCCL, aws-ofi-nccl, libfabric or the EFA device plugin did",
    layer=Layer.RUNTIME,
    severity=Severity.LOW,
    targets=("logs", "pod"),
)
def log_says_what_the_network_did(log_facts: LogFacts, pod: PodInfo | None = None):
    """
    ## Why it matters
    Every other log check reads what this one found. NCCL says which network
    it used (`Using network Libfabric`, and one `via NET/...` line per
    channel connection) only with `NCCL_DEBUG=INFO`; aws-ofi-nccl, libfabric
    and the EFA device plugin print their own lines. A log with none of them
    (NCCL_DEBUG unset, the wrong container, the tail of a long run, a binary
    file) proves nothing, so the diagnosis is inconclusive, never healthy.
    When it passes, its summary is the one-line answer: which network, how
    many NICs, whether GPUDirect RDMA carried the channels.

    ## Fix
    Run the job with `NCCL_DEBUG=INFO` (add `FI_LOG_LEVEL=warn` for
    libfabric's own reasons) and give efadoctor the whole log of every rank,
    for example `kubectl logs --prefix` of every worker pod.
    """
    decisive = [h for h in log_facts.hosts if _decisive(h)]
    if decisive:
        evidence: list[tuple[str, str]] = []
        for host in decisive:
            evidence.extend(quote(host, _key_lines(host), 2))
        return passed(summarize(log_facts), evidence=evidence[:MAX_EVIDENCE])
    reason = _nothing_found(log_facts)
    if pod is not None:  # a pod's log tail without NCCL lines is common; the pod's other checks still decide
        return skipped(reason)
    return unknown(reason)


def _decisive(host: HostLogFacts) -> bool:
    """Lines some check can judge; a version number alone says nothing about the network."""
    return bool(
        host.network
        or host.transports.net_total
        or host.plugin.outcome
        or host.ofi.providers
        or host.ofi.versions
        or host.ofi.platforms
        or host.ofi.provider_filters
        or host.errors
        or host.gdr
        or host.device_plugin.seen
        or host.fi_info.entries
        or host.fi_info.listed_providers
        or host.env
    )


def _key_lines(host: HostLogFacts) -> list[LogLine]:
    lines: list[LogLine] = []
    if host.networks:
        lines.append(host.networks[-1].evidence)
    if host.plugin.evidence is not None:
        lines.append(host.plugin.evidence)
    lines += signature_lines(host, "ofi_provider", "transport_net_gdrdma", "transport_net", "dp_device", "dp_no_devices", "fi_info_provider")
    lines += [e.evidence[0] for e in host.errors if e.evidence]
    return list(dict.fromkeys(lines))


def _nothing_found(facts: LogFacts) -> str:
    files = ", ".join(facts.files[:3]) + (f" and {len(facts.files) - 3} more" if len(facts.files) > 3 else "")
    if facts.lines == 0:
        return f"{files}: empty, nothing to judge"
    versions = [f"NCCL {v}" for v in facts.nccl_versions]
    versions += [f"libfabric {v}" for v in dict.fromkeys(v for h in facts.hosts for v in h.fi_info.libfabric_versions)]
    found = f"only versions ({', '.join(versions)}), " if versions else ""
    cut = f"; {facts.truncated_lines} line(s) longer than {MAX_LINE_CHARS} characters (binary data?)" if facts.truncated_lines else ""
    return (
        f"{found}no NCCL network, aws-ofi-nccl, libfabric or EFA device-plugin lines in {facts.lines} line(s) of {files}{cut}: "
        "run the job with NCCL_DEBUG=INFO and give efadoctor that log"
    )
