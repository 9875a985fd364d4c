from efadoctor import Layer, Severity, Symptom, check, failed, passed, skipped
from efadoctor.checks.pod._template_fix import env_value, unset_env_commands
from efadoctor.facts.kube import ContainerInfo, PodInfo

ENV = "k8s: Pod spec.containers[].env"


def allows_efa(value: str) -> bool:
    """libfabric's FI_PROVIDER: a comma-separated list of providers, or `^a,b` to exclude them."""
    names = [n.strip().lower() for n in value.strip().lstrip("^").split(",") if n.strip()]
    excluding = value.strip().startswith("^")
    return ("efa" not in names) if excluding else ("efa" in names)


@check(
    id="POD009",
    title="FI_PROVIDER is unset or names efa",
    layer=Layer.RUNTIME,
    severity=Severity.HIGH,
    symptoms=(Symptom.SOCKET_FALLBACK, Symptom.DEGRADED),
    targets=("pod",),
)
def pod_env_fi_provider_efa(pod: PodInfo, workload_container: ContainerInfo):
    """
    ## Why it matters
    `FI_PROVIDER` restricts libfabric to the providers it names. Set to
    anything that excludes `efa` (`tcp`, `sockets`, `verbs`, `^efa`), libfabric
    never offers EFA: aws-ofi-nccl then runs over TCP (`Selected provider is
    tcp`, slow), older versions refuse (`Only EFA provider is supported`),
    and with a provider the image lacks `fi_getinfo` finds nothing and NCCL
    falls back to sockets. Unset is right: on EC2 aws-ofi-nccl selects
    `efa` by itself. `FI_PROVIDER=efa` (a runbook's advice) is harmless on an
    EFA node but gives `-61` on a node without EFA.

    ## Fix
    Remove `FI_PROVIDER` from the container (or set it to `efa`).
    """
    container = workload_container
    raw = container.env.get("FI_PROVIDER")
    evidence = [(ENV, f"{container.name}: FI_PROVIDER={raw if raw is not None else '(unset)'}")]
    if raw is None:
        return passed(f"container {container.name} of pod {pod.ref} leaves FI_PROVIDER unset (aws-ofi-nccl selects efa)", evidence=evidence)
    value = env_value(raw)
    if value is None:
        return skipped(f"FI_PROVIDER of container {container.name} comes {raw.strip('<>')}: the in-pod probe reads its value")
    if allows_efa(value):
        return passed(f"container {container.name} of pod {pod.ref} sets FI_PROVIDER={value}, which allows efa", evidence=evidence)
    return failed(
        f"container {container.name} of pod {pod.ref} sets FI_PROVIDER={value}: libfabric will not use EFA "
        "(NCCL runs over TCP or falls back to sockets)",
        fix=f"Remove FI_PROVIDER from container {container.name} of {pod.template_owner}: on EC2, aws-ofi-nccl selects efa itself.",
        commands=unset_env_commands(pod, container.name, ["FI_PROVIDER"]),
        evidence=evidence,
    )
