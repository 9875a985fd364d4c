from efadoctor import Layer, Severity, Symptom, check, failed, passed
from efadoctor.aws_fixes import region_flag
from efadoctor.facts.aws import InstanceTypeInfo
from efadoctor.facts.kube import NodeInfo
from efadoctor.instance_types import closest_efa_sizes


@check(
    id="AWS001",
    title="The instance type supports EFA",
    layer=Layer.AWS_INSTANCE,
    severity=Severity.CRITICAL,
    symptoms=(Symptom.ENODATA, Symptom.PENDING, Symptom.SOCKET_FALLBACK),
)
def instance_type_supports_efa(node: NodeInfo, instance_type_info: InstanceTypeInfo):
    """
    ## Why it matters
    Only some instance types, and often only their larger sizes, take an EFA
    interface at all: `g5.2xlarge` has none, while `g5.8xlarge` and larger have
    one. On a type without EFA no interface can be attached, the device plugin
    finds no device, the node advertises no `vpc.amazonaws.com/efa`, pods that
    request it stay Pending, and a pod without the request sees
    `fi_getinfo: -61` (NCCL then falls back to sockets).

    ## Fix
    Run the workload on an EFA-capable size: `efadoctor instance-types FAMILY`
    lists them with their EFA interface counts. Change the node group's instance
    type or the Karpenter NodePool's `node.kubernetes.io/instance-type`
    requirement accordingly.
    """
    info = instance_type_info
    evidence = [
        (f"{info.source} NetworkInfo.EfaSupported", f"{info.instance_type}: {info.efa_supported}"),
        (f"{info.source} NetworkInfo.EfaInfo.MaximumEfaInterfaces", f"{info.instance_type}: {info.max_efa_interfaces}"),
        ("k8s: Node metadata.labels[node.kubernetes.io/instance-type]", f"{node.name}: {node.instance_type}"),
    ]
    if info.efa_supported:
        return passed(
            f"instance type {info.instance_type} of node {node.name} supports EFA (up to {info.max_efa_interfaces} interfaces)",
            evidence=evidence,
        )
    sizes = closest_efa_sizes(info.instance_type)[:5]
    family = info.family
    if sizes:
        choices = f" The closest EFA-capable sizes of {family}: {', '.join(sizes)}."
    else:
        choices = f" No size of {family} supports EFA."
    return failed(
        f"instance type {info.instance_type} of node {node.name} does not support EFA",
        fix="Move the workload to an EFA-capable instance type; the node cannot get an EFA interface." + choices,
        commands=_list_commands(sizes, node.region),
        evidence=evidence,
    )


def _list_commands(sizes: list[str], region: str | None) -> list[str]:
    if not sizes:
        return ["efadoctor instance-types"]
    return [
        f"efadoctor instance-types {' '.join(sizes)}",
        f"aws ec2 describe-instance-types{region_flag(region)} --instance-types {' '.join(sizes)} "
        "--query 'InstanceTypes[].[InstanceType,NetworkInfo.EfaInfo.MaximumEfaInterfaces,GpuInfo.Gpus[0].Count]' --output table",
    ]
