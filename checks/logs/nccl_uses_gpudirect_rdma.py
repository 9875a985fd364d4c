from efadoctor import Layer, Severity, Symptom, check, passed, skipped, unknown, warned
from efadoctor.checks.logs._logs import LIBFABRIC, OFF, instance_evidence, on_hosts, quote, settings_among, signature_lines
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import HostLogFacts, LogFacts


@check(
    id="LOG008",
    title="NCCL's EFA channels use GPUDirect RDMA where the instance type supports it",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED,),
    caused_by=("POD010", "PRB007"),  # FI_EFA_USE_DEVICE_RDMA=0 in the pod spec / the container
    targets=("logs", "pod"),
)
def nccl_uses_gpudirect_rdma(log_facts: LogFacts, expected_instance_type: ExpectedInstanceType | None = None):
    """
    ## Why it matters
    NCCL prints one line per channel connection; over EFA it ends
    `via NET/Libfabric/<n>/GDRDMA` when the NIC reads and writes GPU memory
    directly (GPUDirect RDMA), and without `/GDRDMA` when every transfer
    bounces through host memory. GPUDirect RDMA over EFA exists on the
    P-series from p4d on (and g7e.12/24/48xlarge); p3dn, g4dn, g5, g6 and g6e
    have none, so plain `via NET/Libfabric/<n>` is right there. On a type
    that has it, channels without it run slower: the GPU driver exposes
    neither DMA-BUF nor nvidia-peermem, or `FI_EFA_USE_DEVICE_RDMA=0` turned
    it off.

    ## Fix
    On the node, use a GPU driver with DMA-BUF support or load
    `nvidia-peermem`; remove `FI_EFA_USE_DEVICE_RDMA` from the job (the
    default follows the hardware).
    """
    hosts = [h for h in log_facts.hosts if _efa_channels(h)[0] + _efa_channels(h)[1]]
    if not hosts:
        return skipped("the log shows no channel connection over aws-ofi-nccl (`via NET/Libfabric/...` lines)")
    gdr = sum(_efa_channels(h)[0] for h in hosts)
    total = sum(sum(_efa_channels(h)) for h in hosts)
    without = [h for h in hosts if _efa_channels(h)[1]]
    info = expected_instance_type.info if expected_instance_type else None
    evidence = [e for h in hosts for e in quote(h, signature_lines(h, "transport_net_gdrdma" if not _efa_channels(h)[1] else "transport_net"), 1)][:6]
    if info is not None:
        evidence += instance_evidence(expected_instance_type)  # type: ignore[arg-type]
    if not without:
        return passed(f"GPUDirect RDMA (GDRDMA) on all {total} EFA channel connections{on_hosts([h.host for h in hosts])}", evidence=evidence)
    share = f"{total - gdr} of {total} EFA channel connections{on_hosts([h.host for h in without])} go without GPUDirect RDMA"
    if info is not None and info.gdr == "no":
        return passed(f"{share}, as expected: {info.instance_type} has no GPUDirect RDMA over EFA", evidence=evidence)
    if info is None or info.gdr != "yes":
        what = info.instance_type if info else "the instance type"
        return unknown(f"{share}; whether {what} supports GPUDirect RDMA over EFA is not known (give --instance-type TYPE)", evidence=evidence)
    reasons = [e for h in without for e in quote(h, [line for g in h.gdr if g.kind in ("nccl_gdr_disabled", "fi_hmem_no_rdma") for line in g.evidence], 1)]
    off = settings_among(log_facts, "FI_EFA_USE_DEVICE_RDMA", OFF)
    reasons += [e for h, _, line in off for e in quote(h, [line], 1)]
    return warned(
        f"{share}, although {info.instance_type} supports it: every transfer bounces through host memory"
        + ("; FI_EFA_USE_DEVICE_RDMA=0 was set" if off else ""),
        fix="Make GPUDirect RDMA usable: on the node, a GPU driver with DMA-BUF support or the nvidia-peermem module; in the job, "
        "remove FI_EFA_USE_DEVICE_RDMA (the default follows the hardware). Whether nvidia-peermem is loaded (run on the node):",
        commands=["lsmod | grep nvidia_peermem"],
        evidence=evidence + reasons,
    )


def _efa_channels(host: HostLogFacts) -> tuple[int, int]:
    """(with GDRDMA, without) over aws-ofi-nccl's network; socket channels never have GDRDMA."""
    nets = [n for n in host.transports.net if n.network in LIBFABRIC]
    return sum(n.gdrdma for n in nets), sum(n.plain for n in nets)
