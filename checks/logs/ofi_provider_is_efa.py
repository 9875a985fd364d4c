from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.logs._logs import env_settings, on_hosts, quote, signature_lines, unset_in_pod
from efadoctor.checks.pod.pod_env_fi_provider_efa import allows_efa
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.parsers.logs import HostLogFacts, LogFacts


@check(
    id="LOG006",
    title="aws-ofi-nccl used the efa provider (FI_PROVIDER does not exclude it)",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.DEGRADED, Symptom.SOCKET_FALLBACK),
    caused_by=("POD009", "PRB005"),  # FI_PROVIDER in the pod spec / in the container's environment
    targets=("logs", "pod"),
)
def ofi_provider_is_efa(log_facts: LogFacts, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    aws-ofi-nccl asks libfabric for a provider and logs the one it took:
    `NET/OFI Selected provider is efa, fabric is efa (found 32 nics)`
    (`Selected Provider is efa` before 1.14.0). On EC2 it restricts itself to
    `efa` unless `FI_PROVIDER` says otherwise, so anything else (`tcp`,
    `tcp;ofi_rxm`, `sockets`) comes from `FI_PROVIDER`: NCCL still reports
    `Using network Libfabric`, but the traffic goes over TCP, many times
    slower, and older aws-ofi-nccl refuse outright (`NET/OFI Only EFA
    provider is supported`). NCCL does not echo `FI_PROVIDER`; it shows up
    only where the log printed the environment.

    ## Fix
    Remove `FI_PROVIDER` from the job's environment (or set it to `efa`).
    """
    selected = [h for h in log_facts.hosts if h.ofi.providers]
    refused = [h for h in log_facts.hosts if any(e.kind == "efa_only_provider" for e in h.errors)]
    settings = [(h, v, line) for h, v, line in env_settings(log_facts, "FI_PROVIDER") if not allows_efa(v.strip("'\""))]
    if not selected and not refused and not settings:
        return skipped("the log does not show which libfabric provider aws-ofi-nccl selected")
    other = [h for h in selected if not all(p.startswith("efa") for p in h.ofi.providers)]
    if not other and not refused and not settings:
        evidence = [e for h in selected for e in quote(h, signature_lines(h, "ofi_provider"), 1)][:6]
        return passed(f"aws-ofi-nccl selected the efa provider{on_hosts([h.host for h in selected])}", evidence=evidence)
    problems = []
    if other:
        providers = ", ".join(sorted({p for h in other for p in h.ofi.providers if not p.startswith("efa")}))
        problems.append(f"aws-ofi-nccl selected {providers} instead of efa{on_hosts([h.host for h in other])} (TCP, not EFA)")
    if refused:
        problems.append(f"aws-ofi-nccl refused a non-EFA provider{on_hosts([h.host for h in refused])}")
    if settings:
        values = ", ".join(sorted({v for _, v, _ in settings}))
        problems.append(f"FI_PROVIDER={values} excludes efa")
    evidence = [e for h in other for e in quote(h, signature_lines(h, "ofi_provider"), 1)]
    evidence += [e for h in refused for e in quote(h, _refusal_lines(h), 1)]
    evidence += [e for h, _, line in settings for e in quote(h, [line], 1)]
    commands = unset_in_pod(pod, workload_container, ["FI_PROVIDER"])
    return failed(
        "; ".join(problems) + ": libfabric does not use EFA",
        fix="Remove FI_PROVIDER from the job's environment (or set it to efa): on EC2 aws-ofi-nccl selects efa by itself.",
        commands=commands,
        evidence=evidence[:8],
    )


def _refusal_lines(host: HostLogFacts):
    return [line for err in host.errors if err.kind == "efa_only_provider" for line in err.evidence]
