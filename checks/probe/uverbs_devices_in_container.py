from efadoctor import Layer, Severity, Symptom, check, failed, passed, unknown
from efadoctor.checks.pod._template_fix import edit_commands
from efadoctor.checks.probe._probe import quote, requested, run_here, target, unknown_reason
from efadoctor.facts.kube import EFA_RESOURCE, ContainerInfo, NodeInfo, PodInfo
from efadoctor.parsers.probe_output import ProbeReport


@check(
    id="PRB003",
    title="The container has /dev/infiniband/uverbs* devices",
    layer=Layer.POD_SPEC,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.SOCKET_FALLBACK),
    # each of these failing explains a container without device nodes: fold this one under it
    caused_by=("POD001", "POD002", "K8S001", "K8S002", "AWS001", "AWS002"),
    targets=("pod", "local"),
)
def uverbs_devices_in_container(
    probe_report: ProbeReport,
    pod: PodInfo | None = None,
    workload_container: ContainerInfo | None = None,
    node: NodeInfo | None = None,
):
    """
    ## Why it matters
    libibverbs builds its device list from `/sys/class/infiniband_verbs` and
    silently drops every device whose `/dev/infiniband/uverbsN` node cannot be
    opened (rdma-core libibverbs/init.c). sysfs is shared with the host, so a
    container can see the node's EFA devices there and still get none: the
    device nodes are passed in only by the EFA device plugin, and only to a
    container that requests `vpc.amazonaws.com/efa`. With no device,
    libfabric's efa provider finds nothing and `fi_info -p efa` prints
    `fi_getinfo: -61`. When sysfs shows no EFA device either, the node (or
    this machine) has none: no EFA interface, or no efa kernel driver.

    ## Fix
    Request `vpc.amazonaws.com/efa` (requests and limits, the node's full
    count) in the container that runs NCCL, on a node that advertises it.
    If the node has no EFA device at all, the instance needs EFA interfaces
    (the AWS checks of `efadoctor pod`/`run` say which).
    """
    uverbs = probe_report.uverbs_devices
    here = target(pod, workload_container)
    if uverbs.value is None:
        return unknown(unknown_reason(probe_report, uverbs, "/dev/infiniband"))
    evidence = quote(uverbs.evidence, workload_container, limit=6)
    if uverbs.value:
        count = len(uverbs.value)
        return passed(f"{here} has {count} EFA/RDMA device node(s) in /dev/infiniband ({_names(uverbs.value)})", evidence=evidence)
    efa = probe_report.sysfs_efa_devices
    evidence += quote(efa.evidence, workload_container, limit=6)
    check_cmd = run_here(pod, workload_container, ["ls", "-la", "/dev/infiniband/"])
    if efa.value:
        asked = requested(workload_container, EFA_RESOURCE)
        wanted = node.allocatable.get(EFA_RESOURCE) if node is not None else None
        why = (
            f"container {workload_container.name} requests {asked} {EFA_RESOURCE}" if asked
            else f"container {workload_container.name} requests no {EFA_RESOURCE}" if workload_container is not None
            else "it was not given them"
        )
        count = wanted or str(len(efa.value))
        commands = [check_cmd]
        if pod is not None and workload_container is not None:
            what = f"add {EFA_RESOURCE}: {count} to requests and limits of container {workload_container.name}"
            commands = [*edit_commands(pod, what), check_cmd]
        return failed(
            f"{here} has no /dev/infiniband/uverbs* although the node has {len(efa.value)} EFA device(s) "
            f"({_names(efa.value)}): the container did not get the EFA devices ({why}), so libfabric sees none",
            fix=f"Request {EFA_RESOURCE}: {count} in both requests and limits of the container that runs NCCL, on a node that "
            "advertises it; the EFA device plugin then passes the device nodes in (no privileged mode or hostPath needed).",
            commands=commands,
            evidence=evidence,
        )
    if efa.value is None:
        return unknown(unknown_reason(probe_report, efa, "the EFA devices in /sys/class/infiniband"), evidence=evidence)
    return failed(
        f"{here} has no /dev/infiniband/uverbs* and the kernel shows no EFA device (/sys/class/infiniband has none): "
        f"{'the node' if pod is not None else 'this machine'} has no EFA device (no EFA interface attached, or the efa "
        "driver not loaded)",
        fix="Run on an instance with EFA interfaces and the efa kernel driver (an EFA-enabled EKS AMI); with EKS, "
        "`efadoctor pod NAMESPACE/POD` checks the instance's interfaces and the node.",
        commands=[check_cmd, run_here(pod, workload_container, ["ls", "/sys/class/infiniband/"])],
        evidence=evidence,
    )


def _names(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:4])
    return shown + (f", ... {len(names)} in all" if len(names) > 4 else "")
