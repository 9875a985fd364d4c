from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown
from efadoctor.checks.logs._logs import efa_expectation, in_container, on_hosts, quote, unknown_expectation_hint
from efadoctor.facts.kube import ContainerInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import LogFacts

# Where the EFA installer and the aws-ofi-nccl builds put the plugin (efa-domain notes A.2).
PLUGIN_GLOBS = "/opt/amazon/ofi-nccl/lib/*/libnccl-net*.so /opt/amazon/ofi-nccl/lib/libnccl-net*.so /opt/aws-ofi-nccl/lib/libnccl-net*.so"


@check(
    id="LOG003",
    title="NCCL found and loaded its net plugin (aws-ofi-nccl)",
    layer=Layer.IMAGE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.SOCKET_FALLBACK,),
    caused_by=("PRB010",),  # the probe looks for the same library in the same container
    targets=("logs", "pod"),
)
def nccl_loaded_the_net_plugin(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
):
    """
    ## Why it matters
    NCCL reaches EFA only through an external net plugin, aws-ofi-nccl,
    which it `dlopen`s at start (`libnccl-net.so`, or `libnccl-net-<name>.so`
    for `NCCL_NET_PLUGIN=<name>`). When the library is not on the library
    path NCCL says so (`NET/Plugin : No plugin found (libnccl-net.so)`, worded
    differently in almost every NCCL release) and quietly uses its own
    sockets. When the library is there but one of its own dependencies is
    not (`libfabric.so.1: cannot open shared object file`), loading fails the
    same quiet way. On a machine without EFA "No plugin found" is normal, so
    it is only a fault when EFA was expected.

    ## Fix
    Ship aws-ofi-nccl in the image and put its directory on
    `LD_LIBRARY_PATH`: the EFA installer puts it in
    `/opt/amazon/ofi-nccl/lib/<arch>` (older builds: `/opt/aws-ofi-nccl/lib`),
    next to libfabric in `/opt/amazon/efa/lib`. Since aws-ofi-nccl 1.15.0 the
    library is `libnccl-net-ofi.so` with a `libnccl-net.so` link, so
    `NCCL_NET_PLUGIN=ofi` also selects it.
    """
    hosts = [h for h in log_facts.hosts if h.plugin.outcome]
    if not hosts:
        return skipped("the log does not say whether NCCL loaded a net plugin (NCCL_DEBUG=INFO prints `NET/Plugin` lines)")
    missing = [h for h in hosts if h.plugin.outcome in ("not_found", "load_failed")]
    if not missing:
        loaded = [h for h in hosts if h.plugin.outcome in ("loaded", "init_failed")]
        versions = sorted({v for h in loaded for v in h.ofi.versions})
        ofi = versions or any(h.plugin.evidence and "NET/OFI" in h.plugin.evidence.text for h in loaded)
        plugin = ("aws-ofi-nccl " + "/".join(versions)).strip() if ofi else (loaded[0].plugin.name or "its net plugin")
        evidence = [e for h in loaded for e in quote(h, [h.plugin.evidence] if h.plugin.evidence else [], 1)]
        return passed(f"NCCL loaded {plugin}{on_hosts([h.host for h in loaded])}", evidence=evidence[:6])
    names = [h.host for h in missing]
    evidence = [e for h in missing for e in quote(h, [h.plugin.evidence] if h.plugin.evidence else [], 1)][:6]
    failed_load = [h for h in missing if h.plugin.outcome == "load_failed"]
    expectation = efa_expectation(log_facts, expected_instance_type)
    evidence += list(expectation.evidence)
    if not failed_load:  # "No plugin found" is what every machine without aws-ofi-nccl prints
        if expectation.expected is False:
            return passed(f"NCCL found no net plugin{on_hosts(names)}; {expectation.reason}, so none is needed", evidence=evidence)
        if expectation.expected is None:
            return unknown(
                f"NCCL found no net plugin{on_hosts(names)} and used its own transport; {expectation.reason}: "
                f"{unknown_expectation_hint(pod)}",
                evidence=evidence,
            )
    list_plugin = in_container(pod, workload_container, ["sh", "-c", f'ls -l {PLUGIN_GLOBS}; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"'])
    if failed_load:
        unresolved = in_container(
            pod, workload_container, ["sh", "-c", f'for f in {PLUGIN_GLOBS}; do [ -e "$f" ] && ldd "$f" | grep "not found"; done']
        )
        return failed(
            f"NCCL found a net plugin{on_hosts([h.host for h in failed_load])} but could not load it (the quoted line says why: "
            "a library it needs, typically libfabric, is missing, or the plugin was built for another NCCL): NCCL falls back "
            "to its own transport",
            fix="Make the plugin loadable in the image: put its dependencies on the library path (the EFA installer's libfabric "
            "is in /opt/amazon/efa/lib), or install an aws-ofi-nccl build that matches the image's NCCL; then list what is "
            "still unresolved:",
            commands=[unresolved, list_plugin],
            evidence=evidence,
        )
    return failed(
        f"NCCL found no net plugin (aws-ofi-nccl){on_hosts(names)} although {expectation.reason}: it cannot use EFA and "
        "falls back to sockets",
        fix="Ship aws-ofi-nccl in the image and add its directory to LD_LIBRARY_PATH (/opt/amazon/ofi-nccl/lib/<arch> from the "
        "EFA installer, or /opt/aws-ofi-nccl/lib), next to /opt/amazon/efa/lib; then check where the library is:",
        commands=[list_plugin],
        evidence=evidence,
    )
