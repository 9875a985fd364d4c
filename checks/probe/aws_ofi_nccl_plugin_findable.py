import re

from efadoctor import Confidence, Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.probe._probe import located, not_set, quote, run_here, unknown_reason
from efadoctor.checks.probe.fi_info_present import INSTALL
from efadoctor.facts.kube import GPU_RESOURCE, ContainerInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport

# Directories the dynamic loader searches without being told (the default paths and Debian/Ubuntu multiarch).
_STANDARD = re.compile(r"^/(?:usr/)?(?:local/)?lib(?:64|32)?(?:/[a-z0-9_]+-linux-gnu[a-z]*)?$")
LD_PATH = "export LD_LIBRARY_PATH=/opt/amazon/ofi-nccl/lib/$(uname -m)-linux-gnu:/opt/amazon/ofi-nccl/lib:/opt/amazon/efa/lib:$LD_LIBRARY_PATH"


def _dir(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


@check(
    id="PRB010",
    title="NCCL can find the aws-ofi-nccl plugin",
    layer=Layer.IMAGE,
    severity=Severity.HIGH,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    caused_by=("PRB001",),  # no EFA user space at all: installing it brings the plugin too
    targets=("pod", "local"),
)
def aws_ofi_nccl_plugin_findable(probe_report: ProbeReport, pod: PodInfo | None = None, workload_container: ContainerInfo | None = None):
    """
    ## Why it matters
    NCCL reaches EFA only through the aws-ofi-nccl net plugin
    (`libnccl-net.so`, or `libnccl-net-ofi.so` since aws-ofi-nccl 1.15.0, which
    `NCCL_NET_PLUGIN=ofi` selects), loaded with `dlopen` from the loader's
    search path. When it is not found NCCL says so only at INFO level
    (`NET/Plugin: Could not find ...`, `No plugin found`) and quietly uses
    `NET/Socket`: the job runs, many times slower. The EFA installer puts the
    plugin under `/opt/amazon/ofi-nccl/lib[/<arch>]`, which is not a default
    loader path, so images add it to `LD_LIBRARY_PATH`. This check looks in
    `LD_LIBRARY_PATH`, `/opt/amazon/efa`, `/opt/amazon/ofi-nccl`,
    `/opt/aws-ofi-nccl`, `/usr/lib*` and `/usr/local/lib*`, two levels deep;
    a plugin in a Python package elsewhere is not seen.

    ## Fix
    Install aws-ofi-nccl (the EFA installer bundles it) and put its
    directory on `LD_LIBRARY_PATH`, e.g.
    `/opt/amazon/ofi-nccl/lib/x86_64-linux-gnu` (Ubuntu layout) or
    `/opt/amazon/ofi-nccl/lib`.
    """
    plugin = probe_report.aws_ofi_nccl_plugin
    at = located(pod, workload_container)
    libs = probe_report.found_libraries.value
    if plugin.value is None and (libs is None or probe_report.found_libraries.note):
        return unknown(unknown_reason(probe_report, plugin, "where the NCCL net plugin is"))
    env = probe_report.env.value or {}
    search = [entry for entry in env.get("LD_LIBRARY_PATH", "").split(":") if entry.startswith("/")]
    evidence = quote(plugin.evidence or probe_report.nccl_net_plugins.evidence, workload_container, limit=6)
    ld_line = probe_report.env_var("LD_LIBRARY_PATH")
    evidence += quote(ld_line.evidence, workload_container) or [not_set(workload_container, "LD_LIBRARY_PATH")]
    if plugin.value is True:
        found = [path for path in probe_report.nccl_net_plugins.value or () if path.startswith(("/opt/amazon/", "/opt/aws-ofi-nccl/")) or "libnccl-net-ofi" in path]
        reachable = [path for path in found if _dir(path).rstrip("/") in {d.rstrip("/") for d in search} or _STANDARD.match(_dir(path))]
        if reachable:
            return passed(f"the aws-ofi-nccl plugin {at} is on the loader's path: {', '.join(reachable[:2])}", evidence=evidence)
        directory = _dir(found[0]) if found else "/opt/amazon/ofi-nccl/lib"
        return warned(
            f"the aws-ofi-nccl plugin {at} ({', '.join(found[:2])}) is in {directory}, which is not on LD_LIBRARY_PATH: "
            "unless the image's ld.so.conf lists it, NCCL will not load it and uses sockets",
            fix=f"Put {directory} on LD_LIBRARY_PATH in the image (Dockerfile ENV) or the container's env.",
            commands=[f"export LD_LIBRARY_PATH={directory}:$LD_LIBRARY_PATH",
                      run_here(pod, workload_container, ["sh", "-c", "echo $LD_LIBRARY_PATH"])],
            evidence=evidence,
            confidence=Confidence.MEDIUM,
        )
    if plugin.value is None:
        return unknown(unknown_reason(probe_report, plugin, "which NCCL net plugin this is"), evidence=evidence)
    nccl = [p for p in libs or () if p.rsplit("/", 1)[-1].startswith("libnccl.so")]
    nccl_env = sorted(name for name in env if name.startswith(("NCCL_", "OFI_NCCL_")))
    gpus = workload_container is not None and GPU_RESOURCE in (set(workload_container.requests) | set(workload_container.limits))
    reasons = ([f"NCCL is at {nccl[0]}"] if nccl else []) + ([f"NCCL variables are set ({', '.join(nccl_env[:3])})"] if nccl_env else []) \
        + ([f"container {workload_container.name} requests {GPU_RESOURCE}"] if gpus else [])
    if not reasons:
        return skipped(f"no NCCL found {at} (no libnccl.so, no NCCL_* variables, no GPU request): the plugin matters only to NCCL")
    return failed(
        f"no aws-ofi-nccl plugin (libnccl-net*.so) {at} although {'; '.join(reasons)}: NCCL will silently use sockets",
        fix="Install aws-ofi-nccl in the image (the EFA installer bundles it under /opt/amazon/ofi-nccl) and put its "
        "directory on LD_LIBRARY_PATH (Dockerfile ENV):",
        commands=[*INSTALL, LD_PATH],
        evidence=evidence,
    )
