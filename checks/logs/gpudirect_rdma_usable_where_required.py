from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.logs._logs import OFF, on_hosts, quote, settings_among
from efadoctor.parsers.logs import HostLogFacts, LogFacts


@check(
    id="LOG011",
    title="aws-ofi-nccl had GPUDirect RDMA on an instance type that requires it",
    layer=Layer.NODE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    caused_by=("POD010", "PRB007"),  # FI_EFA_USE_DEVICE_RDMA=0 on such a type
    targets=("logs", "pod"),
)
def gpudirect_rdma_usable_where_required(log_facts: LogFacts):
    """
    ## Why it matters
    On instance types where GPUDirect RDMA over EFA is part of the design
    (p4d/p4de, p5/p5e/p5en, p6, g7e.12/24/48xlarge, trn), aws-ofi-nccl
    refuses to start without it: `GDR disabled on GDR-supported instance
    type p5.48xlarge`, its initialisation fails, and NCCL falls back to
    sockets or stops. GPUDirect RDMA is unusable when the GPU driver stack
    offers neither DMA-BUF nor nvidia-peermem (a driver or kernel mismatch),
    or when `FI_EFA_USE_DEVICE_RDMA=0` turned it off.

    ## Fix
    Fix the GPU driver stack on the node (DMA-BUF support or the
    nvidia-peermem module) and remove `FI_EFA_USE_DEVICE_RDMA` from the
    job. `OFI_NCCL_DISABLE_GDR_REQUIRED_CHECK=1` skips the check, for a test
    only: the job then runs without GPUDirect RDMA, slower.
    """
    refused = [h for h in log_facts.hosts if _refusals(h)]
    if not refused:
        plugin = [h for h in log_facts.hosts if h.ofi.versions or h.ofi.providers or h.ofi.platforms]
        if not plugin:
            return skipped("the log has no aws-ofi-nccl lines")
        return passed(f"aws-ofi-nccl did not report GPUDirect RDMA missing{on_hosts([h.host for h in plugin])}")
    types = sorted({g.detail for h in refused for g in h.gdr if g.kind == "gdr_required_fail"})
    evidence = [e for h in refused for e in quote(h, [line for g in _refusals(h) for line in g.evidence], 1)][:6]
    off = settings_among(log_facts, "FI_EFA_USE_DEVICE_RDMA", OFF)
    evidence += [e for h, _, line in off for e in quote(h, [line], 1)]
    return failed(
        f"aws-ofi-nccl refused to run without GPUDirect RDMA, which {', '.join(types)} requires,{on_hosts([h.host for h in refused])}"
        + (": FI_EFA_USE_DEVICE_RDMA=0 was set" if off else ": most likely the GPU driver offers neither DMA-BUF nor nvidia-peermem")
        + "; NCCL cannot use EFA",
        fix="Remove FI_EFA_USE_DEVICE_RDMA from the job and make GPUDirect RDMA work on the node (a GPU driver with DMA-BUF "
        "support, or the nvidia-peermem module loaded); whether nvidia-peermem is loaded (run on the node):",
        commands=["lsmod | grep nvidia_peermem"],
        evidence=evidence,
    )


def _refusals(host: HostLogFacts):
    return [g for g in host.gdr if g.kind == "gdr_required_fail"]
