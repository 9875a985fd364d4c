from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped, unknown, warned
from efadoctor.checks.logs._logs import instance_evidence, named, node_of_host, on_hosts, quote, signature_lines
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import LogFacts

PLUGIN_PODS = "kubectl get pods -A -o wide | grep -i efa-k8s-device-plugin"


@check(
    id="LOG014",
    title="The EFA device plugin found the node's EFA devices",
    layer=Layer.NODE,
    severity=Severity.HIGH,
    symptoms=(Symptom.PENDING, Symptom.ENODATA, Symptom.DEGRADED),
    caused_by=("K8S001", "AWS001", "AWS002"),  # no EFA on the instance: the plugin rightly finds nothing
    targets=("logs", "pod"),
)
def device_plugin_found_efa_devices(log_facts: LogFacts, expected_instance_type: ExpectedInstanceType | None = None):
    """
    ## Why it matters
    The aws-efa-k8s-device-plugin lists the node's EFA devices when it
    starts (`Fetching EFA devices.`, then one `device: rdmap79s0,uverbs0,...`
    line each) and registers `vpc.amazonaws.com/efa` with the kubelet. When
    it finds none it logs `No valid EFA devices found` and exits, so its pod
    goes Completed / CrashLoopBackOff, the node advertises no EFA, and EFA
    pods stay Pending. That is the node's problem, not the plugin's: the
    instance has no EFA interface (an EFA-capable type launched without
    one) or the host's EFA driver is not loaded. Fewer devices than the
    instance type has means a partial EFA attachment.

    ## Fix
    Relaunch the node with EFA interfaces (one per network card), or install
    and load the host's EFA driver; for nodes never meant to use EFA, keep the
    plugin off them with a nodeSelector. `efadoctor run --node NODE` checks
    the node against EC2.
    """
    plugin = [h for h in log_facts.hosts if h.device_plugin.seen]
    if not plugin:
        return skipped("the log has no EFA device-plugin lines")
    empty = [h for h in plugin if h.device_plugin.no_devices and not h.device_plugin.devices]
    if empty:
        names = [h.host for h in empty]
        evidence = [e for h in empty for e in quote(h, signature_lines(h, "dp_no_devices", "dp_fetching"), 2)][:6]
        commands = [f'efadoctor run --node "{node_of_host(n)}"' for n in names if named(n)][:4] or [PLUGIN_PODS]
        return failed(
            f"the EFA device plugin found no EFA device (`No valid EFA devices found`){on_hosts(names)}: the node has no "
            "EFA interface or its EFA driver is not loaded, so it advertises no vpc.amazonaws.com/efa",
            fix="Relaunch the node with EFA interfaces (or load its EFA driver); if the node is not meant for EFA, keep the plugin "
            "off it with a nodeSelector. Find the plugin's pods and their nodes, then check a node against EC2:",
            commands=commands,
            evidence=evidence,
        )
    found = {h.host: h.device_plugin.devices for h in plugin if h.device_plugin.devices}
    if not found:
        return unknown("the EFA device plugin's log shows neither its devices nor `No valid EFA devices found`")
    evidence = [e for h in plugin for e in quote(h, signature_lines(h, "dp_device", "dp_topology", "dp_registered"), 2)][:6]
    counts = {host: len(devices) for host, devices in found.items()}
    names = ", ".join(sorted({d.name for devices in found.values() for d in devices})[:6])
    info = expected_instance_type.info if expected_instance_type else None
    if info is not None and info.max_efa_interfaces and min(counts.values()) < info.max_efa_interfaces:
        evidence += instance_evidence(expected_instance_type)  # type: ignore[arg-type]
        short = {h: n for h, n in counts.items() if n < info.max_efa_interfaces}
        return warned(
            f"the EFA device plugin found {'/'.join(str(n) for n in sorted(set(short.values())))} of the "
            f"{info.max_efa_interfaces} EFA devices of {info.instance_type}{on_hosts(list(short))}: a partial EFA attachment",
            fix=f"Relaunch the node with one EFA interface per network card ({info.max_efa_interfaces} on {info.instance_type}); "
            "EFA interfaces cannot be added to a running instance. Find the plugin's pods and nodes:",
            commands=[PLUGIN_PODS],
            evidence=evidence,
        )
    total = "/".join(str(n) for n in sorted(set(counts.values())))
    return passed(f"the EFA device plugin found {total} EFA device(s) ({names}){on_hosts(list(found))}", evidence=evidence)
