from efadoctor import Layer, Severity, Symptom, check, failed, passed, warned
from efadoctor.checks.pod._template_fix import env_value, unset_env_commands
from efadoctor.facts.kube import ContainerInfo, PodInfo

ENV = "k8s: Pod spec.containers[].env"


def _enabled(value: str | None) -> bool:
    """NCCL reads these as integers: any non-zero number turns the switch on."""
    try:
        return int((value or "0").strip()) != 0
    except ValueError:
        return False


@check(
    id="POD011",
    title="No NCCL variable set in the belief that it forces or tests TCP",
    layer=Layer.RUNTIME,
    severity=Severity.MEDIUM,
    symptoms=(Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    targets=("pod",),
)
def pod_env_no_tcp_folklore(pod: PodInfo, workload_container: ContainerInfo):
    """
    ## Why it matters
    A widespread runbook says to set `NCCL_P2P_DISABLE=1` or
    `NCCL_IB_DISABLE=1` "to test TCP mode". Neither does that when
    aws-ofi-nccl is loaded: `NCCL_P2P_DISABLE` turns off the intra-node GPU
    peer-to-peer transport (NVLink/PCI), so GPUs of one node talk more slowly;
    `NCCL_IB_DISABLE` only disables NCCL's internal InfiniBand transport, and
    NCCL still picks the aws-ofi-nccl plugin (NCCL env docs; nccl
    src/transport/net_ib/init.cc). The one variable that does force TCP is
    `NCCL_NET=Socket`: left in a training job, EFA is never used.

    ## Fix
    Remove them. To test TCP on purpose, set `NCCL_NET=Socket` for that run
    only; to make NCCL fail loudly instead of silently falling back, set
    `NCCL_NET` to the network name NCCL prints in `Using network ...`
    (`Libfabric` with aws-ofi-nccl 1.13 and later, `AWS Libfabric` before).
    """
    env = workload_container.env
    net = env_value(env.get("NCCL_NET"))
    p2p, ib = env_value(env.get("NCCL_P2P_DISABLE")), env_value(env.get("NCCL_IB_DISABLE"))
    evidence = [(ENV, f"{workload_container.name}: " + ", ".join(
        f"{name}={env[name]}" for name in ("NCCL_NET", "NCCL_P2P_DISABLE", "NCCL_IB_DISABLE") if name in env) or "none of NCCL_NET, NCCL_P2P_DISABLE, NCCL_IB_DISABLE")]
    problems, names = [], []
    if net is not None and net.strip().lower() == "socket":
        problems.append(f"NCCL_NET={net} forces NCCL's socket transport: EFA is not used")
        names.append("NCCL_NET")
    if _enabled(p2p):
        problems.append("NCCL_P2P_DISABLE does not force TCP: it turns off NVLink/PCI peer-to-peer between the node's GPUs (slower)")
        names.append("NCCL_P2P_DISABLE")
    if _enabled(ib):
        problems.append("NCCL_IB_DISABLE does not force TCP: it disables only NCCL's internal IB transport; aws-ofi-nccl is still used")
        names.append("NCCL_IB_DISABLE")
    if not problems:
        return passed(f"container {workload_container.name} of pod {pod.ref} sets no NCCL variable that forces or 'tests' TCP", evidence=evidence)
    summary = f"container {workload_container.name} of pod {pod.ref}: " + "; ".join(problems)
    fix = (f"Remove {', '.join(names)} from container {workload_container.name} of {pod.template_owner}. To force EFA and fail "
           "loudly instead, set NCCL_NET to the name NCCL prints in `Using network ...` (Libfabric with aws-ofi-nccl >= 1.13).")
    commands = unset_env_commands(pod, workload_container.name, names)
    if "NCCL_NET" in names:
        return failed(summary, fix=fix, commands=commands, evidence=evidence)
    return warned(summary, fix=fix, commands=commands, evidence=evidence)
