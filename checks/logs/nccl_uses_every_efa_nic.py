from efadoctor import Layer, Severity, Symptom, check, passed, skipped, unknown, warned
from efadoctor.checks.logs._logs import EFA_NODES, instance_evidence, on_hosts, quote, run_node_commands, signature_lines
from efadoctor.facts.kube import NodeInfo, PodInfo
from efadoctor.facts.logs import ExpectedInstanceType
from efadoctor.parsers.logs import LogFacts


@check(
    id="LOG007",
    title="aws-ofi-nccl found every EFA interface of the instance type",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.DEGRADED,),
    # fewer interfaces attached (AWS003), advertised (K8S007), requested (POD004) or matched by FI_EFA_IFACE (PRB006)
    caused_by=("AWS003", "K8S007", "POD004", "PRB006"),
    targets=("logs", "pod"),
)
def nccl_uses_every_efa_nic(
    log_facts: LogFacts,
    expected_instance_type: ExpectedInstanceType | None = None,
    pod: PodInfo | None = None,
    node: NodeInfo | None = None,
):
    """
    ## Why it matters
    Each EFA interface is one network card's share of the bandwidth (32 on a
    p5.48xlarge, 4 on a p4d.24xlarge). aws-ofi-nccl logs how many it found:
    `Selected provider is efa, fabric is efa (found 4 nics)`. Fewer than the
    instance type has means the job works at a fraction of the speed: the
    instance was launched with fewer EFA interfaces, the node advertises
    fewer, the pod requested fewer `vpc.amazonaws.com/efa` than the node has,
    or `FI_EFA_IFACE` names only some devices.

    ## Fix
    Launch the node with one EFA interface per network card, request the
    node's full `vpc.amazonaws.com/efa` count in the workload container, and
    leave `FI_EFA_IFACE` unset. `efadoctor run --node NODE` checks the first
    two against EC2 and the node object.
    """
    counted = [h for h in log_facts.hosts if h.ofi.nic_counts]
    if not counted:
        return skipped("aws-ofi-nccl did not log how many NICs it found (`(found N nics)` in its `Selected provider` line)")
    info = expected_instance_type.info if expected_instance_type else None
    found = {h.host: max(h.ofi.nic_counts) for h in counted}
    evidence = [e for h in counted for e in quote(h, signature_lines(h, "ofi_provider"), 1)][:6]
    counts = "/".join(str(n) for n in sorted(set(found.values())))
    if info is None or not info.max_efa_interfaces:
        what = expected_instance_type.name if expected_instance_type else "the instance type"
        hint = "" if expected_instance_type else ": give --instance-type TYPE"
        return unknown(f"aws-ofi-nccl found {counts} NIC(s); how many {what} has is not known{hint}", evidence=evidence)
    evidence += instance_evidence(expected_instance_type)  # type: ignore[arg-type]
    maximum = info.max_efa_interfaces
    short = {host: n for host, n in found.items() if n < maximum}
    if not short:
        return passed(f"aws-ofi-nccl found all {maximum} EFA NICs of {info.instance_type}{on_hosts(list(found))}", evidence=evidence)
    if len(set(short.values())) == 1:
        how_many = f"{next(iter(short.values()))} of the {maximum} EFA NICs"
    else:
        how_many = f"fewer than the {maximum} EFA NICs (" + ", ".join(f"{h}: {n}" for h, n in list(short.items())[:4]) + ")"
    commands = run_node_commands(list(short), node, pod) or [EFA_NODES]
    if pod is not None:
        commands.append(
            f"kubectl get pod -n {pod.namespace} {pod.name} -o jsonpath='{{range .spec.containers[*]}}{{.name}}: "
            f"{{.resources.requests.vpc\\.amazonaws\\.com/efa}}{{\"\\n\"}}{{end}}'"
        )
    return warned(
        f"aws-ofi-nccl found {how_many} of {info.instance_type}{on_hosts(list(short))}: "
        "NCCL runs at a fraction of the bandwidth",
        fix=f"Give the job every EFA interface: launch the node with {maximum} (one per network card) and request "
        f"vpc.amazonaws.com/efa: {maximum} in the workload container; efadoctor run --node checks the node against EC2:",
        commands=commands,
        evidence=evidence,
    )
