"""EC2 facts: the node's instance, its network interfaces, security groups, placement group and type.

Built from EC2 API responses (boto3-shaped dicts) by pure functions that never raise: a field the
response lacks becomes None or empty, so a partial answer still yields what it holds. The values are
per instance on purpose (zone, subnet, placement group, security groups), so a later job-level check
can compare the nodes of one job with nothing more than these facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

EFA_TYPES = ("efa", "efa-only")
ALL_TRAFFIC = "-1"  # IpProtocol of an "All traffic" rule: every protocol, every port
# where InstanceInfo.interfaces came from, as evidence names it
INTERFACE_TYPES_SOURCE = "ec2:DescribeInstances Reservations[].Instances[].NetworkInterfaces[].InterfaceType"


def _list(value: Any) -> list[Any]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class NetworkInterface:
    """One ENI attached to the instance, where it sits (card, device) and which groups guard it."""

    eni_id: str
    interface_type: str  # "interface" (ENA only), "efa" (EFA with ENA), "efa-only" (EFA without ENA or IP)
    network_card_index: int
    device_index: int
    group_ids: tuple[str, ...]
    subnet_id: str | None
    private_ip: str | None

    @property
    def is_efa(self) -> bool:
        return self.interface_type in EFA_TYPES

    @property
    def is_primary(self) -> bool:
        """Card 0, device 0: the interface that must carry ENA (never efa-only)."""
        return self.network_card_index == 0 and self.device_index == 0

    @property
    def position(self) -> str:
        return f"card {self.network_card_index} device {self.device_index}"


@dataclass(frozen=True)
class InstanceInfo:
    """The node's EC2 instance as DescribeInstances reports it."""

    instance_id: str
    instance_type: str | None
    state: str | None
    availability_zone: str | None
    subnet_id: str | None
    vpc_id: str | None
    placement_group: str | None
    interfaces: tuple[NetworkInterface, ...]
    region: str | None = None  # the region it was found in (fix commands name it)
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def efa_interfaces(self) -> tuple[NetworkInterface, ...]:
        return tuple(i for i in self.interfaces if i.is_efa)

    @property
    def efa_count(self) -> int:
        return len(self.efa_interfaces)

    @property
    def efa_group_ids(self) -> tuple[str, ...]:
        """Every security group on any EFA interface, in first-seen order."""
        seen: dict[str, None] = {}
        for interface in self.efa_interfaces:
            for group in interface.group_ids:
                seen.setdefault(group, None)
        return tuple(seen)

    @property
    def layout(self) -> str:
        """Every interface by place and type, for evidence: "card 0 device 0: interface, card 0 device 1: efa-only"."""
        return ", ".join(f"{i.position}: {i.interface_type}" for i in self.interfaces) or "(none)"

    @property
    def launch_template_id(self) -> str | None:
        """EC2 tags every instance launched from a launch template with its id."""
        return self.tags.get("aws:ec2launchtemplate:id")

    @property
    def launch_template_version(self) -> str | None:
        return self.tags.get("aws:ec2launchtemplate:version")


def interface_from_api(item: Mapping[str, Any]) -> NetworkInterface:
    attachment = item.get("Attachment") if isinstance(item.get("Attachment"), Mapping) else {}
    return NetworkInterface(
        eni_id=_str(item.get("NetworkInterfaceId")) or "",
        interface_type=_str(item.get("InterfaceType")) or "interface",
        network_card_index=_int(attachment.get("NetworkCardIndex")) or 0,
        device_index=_int(attachment.get("DeviceIndex")) or 0,
        group_ids=tuple(g["GroupId"] for g in _list(item.get("Groups")) if _str(g.get("GroupId"))),
        subnet_id=_str(item.get("SubnetId")),
        private_ip=_str(item.get("PrivateIpAddress")),
    )


def instance_from_api(item: Mapping[str, Any], region: str | None = None) -> InstanceInfo:
    """One element of DescribeInstances Reservations[].Instances[]."""
    placement = item.get("Placement") if isinstance(item.get("Placement"), Mapping) else {}
    state = item.get("State") if isinstance(item.get("State"), Mapping) else {}
    interfaces = sorted(
        (interface_from_api(n) for n in _list(item.get("NetworkInterfaces"))),
        key=lambda i: (i.network_card_index, i.device_index, i.eni_id),
    )
    tags = {t["Key"]: str(t.get("Value", "")) for t in _list(item.get("Tags")) if _str(t.get("Key"))}
    return InstanceInfo(
        instance_id=_str(item.get("InstanceId")) or "",
        instance_type=_str(item.get("InstanceType")),
        state=_str(state.get("Name")),
        availability_zone=_str(placement.get("AvailabilityZone")),
        subnet_id=_str(item.get("SubnetId")),
        vpc_id=_str(item.get("VpcId")),
        placement_group=_str(placement.get("GroupName")),
        interfaces=tuple(interfaces),
        region=region,
        tags=tags,
    )


def instances_from_api(response: Mapping[str, Any], region: str | None = None) -> list[InstanceInfo]:
    return [
        instance_from_api(instance, region)
        for reservation in _list(response.get("Reservations"))
        for instance in _list(reservation.get("Instances"))
    ]


@dataclass(frozen=True)
class Rule:
    """One IpPermissions entry of a security group (one protocol/port range, any number of peers)."""

    protocol: str  # "-1" = all traffic; "tcp", "udp", "icmp" or a protocol number
    from_port: int | None
    to_port: int | None
    group_ids: tuple[str, ...]  # referenced security groups (UserIdGroupPairs)
    cidrs: tuple[str, ...]  # IPv4 and IPv6 ranges
    prefix_list_ids: tuple[str, ...] = ()

    @property
    def all_traffic(self) -> bool:
        return self.protocol == ALL_TRAFFIC

    def references(self, groups: Iterable[str]) -> bool:
        return bool(set(self.group_ids) & set(groups))

    def __str__(self) -> str:
        if self.all_traffic:
            what = "all traffic"
        elif self.from_port is None or self.from_port == -1:
            what = self.protocol
        else:
            ports = str(self.from_port) if self.from_port == self.to_port else f"{self.from_port}-{self.to_port}"
            what = f"{self.protocol} {ports}"
        peers = [*self.group_ids, *self.cidrs, *self.prefix_list_ids]
        return f"{what} with {', '.join(peers) if peers else '(no peer)'}"


@dataclass(frozen=True)
class SecurityGroupInfo:
    group_id: str
    group_name: str | None
    vpc_id: str | None
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]

    def allows_all_from(self, groups: Iterable[str]) -> bool:
        """An inbound all-traffic rule whose source is one of these groups."""
        wanted = tuple(groups)
        return any(rule.all_traffic and rule.references(wanted) for rule in self.ingress)

    def allows_all_to(self, groups: Iterable[str]) -> bool:
        """An outbound all-traffic rule whose destination is one of these groups (0.0.0.0/0 does not count)."""
        wanted = tuple(groups)
        return any(rule.all_traffic and rule.references(wanted) for rule in self.egress)

    @property
    def label(self) -> str:
        return f"{self.group_id} ({self.group_name})" if self.group_name else self.group_id


def _rule(item: Mapping[str, Any]) -> Rule:
    cidrs = [r.get("CidrIp") for r in _list(item.get("IpRanges"))] + [r.get("CidrIpv6") for r in _list(item.get("Ipv6Ranges"))]
    protocol = item.get("IpProtocol")
    return Rule(
        protocol=str(protocol) if protocol is not None else "",
        from_port=_int(item.get("FromPort")),
        to_port=_int(item.get("ToPort")),
        group_ids=tuple(p["GroupId"] for p in _list(item.get("UserIdGroupPairs")) if _str(p.get("GroupId"))),
        cidrs=tuple(c for c in cidrs if _str(c)),
        prefix_list_ids=tuple(p["PrefixListId"] for p in _list(item.get("PrefixListIds")) if _str(p.get("PrefixListId"))),
    )


def security_group_from_api(item: Mapping[str, Any]) -> SecurityGroupInfo:
    """One element of DescribeSecurityGroups SecurityGroups[]."""
    return SecurityGroupInfo(
        group_id=_str(item.get("GroupId")) or "",
        group_name=_str(item.get("GroupName")),
        vpc_id=_str(item.get("VpcId")),
        ingress=tuple(_rule(p) for p in _list(item.get("IpPermissions"))),
        egress=tuple(_rule(p) for p in _list(item.get("IpPermissionsEgress"))),
    )


@dataclass(frozen=True)
class PlacementGroupInfo:
    name: str
    strategy: str | None  # cluster | spread | partition
    state: str | None
    group_id: str | None


def placement_group_from_api(item: Mapping[str, Any]) -> PlacementGroupInfo:
    """One element of DescribePlacementGroups PlacementGroups[]."""
    return PlacementGroupInfo(
        name=_str(item.get("GroupName")) or "",
        strategy=_str(item.get("Strategy")),
        state=_str(item.get("State")),
        group_id=_str(item.get("GroupId")),
    )


@dataclass(frozen=True)
class InstanceTypeInfo:
    """EFA-relevant facts of the node's instance type (live from EC2, or the offline data)."""

    instance_type: str
    efa_supported: bool
    max_efa_interfaces: int | None  # NetworkInfo.EfaInfo.MaximumEfaInterfaces; 0 without EFA
    max_network_cards: int | None
    network_performance: str | None
    gpu_count: int
    gpu_name: str | None
    gdr: str  # GPUDirect RDMA over EFA: "yes" | "no" | "unknown" (offline data; EC2 does not publish it)
    card_interface_types: tuple[tuple[str, ...], ...]  # per network card index: the interface types it takes
    gpu_memory_mib: int | None = None  # summed over all GPUs
    vcpus: int | None = None
    accelerator: str | None = None  # non-GPU accelerators: "16x Trainium"
    gdr_required: bool | None = None  # aws-ofi-nccl refuses to run without GDR here
    source: str = "ec2:DescribeInstanceTypes"

    @property
    def family(self) -> str:
        return self.instance_type.split(".", 1)[0]


def _gdr(instance_type: str) -> tuple[str, bool | None]:
    from ..instance_types import lookup

    offline = lookup(instance_type)
    return (offline.gdr, offline.gdr_required) if offline else ("unknown", None)


def instance_type_from_api(item: Mapping[str, Any]) -> InstanceTypeInfo:
    """One element of DescribeInstanceTypes InstanceTypes[]; GPUDirect RDMA comes from the offline data."""
    name = _str(item.get("InstanceType")) or ""
    network = item.get("NetworkInfo") if isinstance(item.get("NetworkInfo"), Mapping) else {}
    efa_info = network.get("EfaInfo") if isinstance(network.get("EfaInfo"), Mapping) else {}
    efa_supported = network.get("EfaSupported") is True
    cards = sorted(_list(network.get("NetworkCards")), key=lambda c: _int(c.get("NetworkCardIndex")) or 0)
    gpu_info = item.get("GpuInfo") if isinstance(item.get("GpuInfo"), Mapping) else {}
    gpus = _list(gpu_info.get("Gpus"))
    accelerators = [
        a
        for key, inner in (("NeuronInfo", "NeuronDevices"), ("InferenceAcceleratorInfo", "Accelerators"))
        if isinstance(item.get(key), Mapping)
        for a in _list(item[key].get(inner))
    ]
    vcpu = item.get("VCpuInfo") if isinstance(item.get("VCpuInfo"), Mapping) else {}
    gdr, required = _gdr(name)
    first = accelerators[0] if accelerators else None
    return InstanceTypeInfo(
        instance_type=name,
        efa_supported=efa_supported,
        max_efa_interfaces=_int(efa_info.get("MaximumEfaInterfaces")) if efa_supported else 0,
        max_network_cards=_int(network.get("MaximumNetworkCards")),
        network_performance=_str(network.get("NetworkPerformance")),
        gpu_count=sum(_int(g.get("Count")) or 0 for g in gpus),
        gpu_name=_str(gpus[0].get("Name")) if gpus else None,
        gdr=gdr,
        card_interface_types=tuple(tuple(t for t in c.get("InterfaceTypes") or () if isinstance(t, str)) for c in cards),
        gpu_memory_mib=_int(gpu_info.get("TotalGpuMemoryInMiB")),
        vcpus=_int(vcpu.get("DefaultVCpus")),
        accelerator=f"{_int(first.get('Count')) or 0}x {_str(first.get('Name')) or '?'}" if first else None,
        gdr_required=required,
    )


def instance_type_offline(name: str, reason: str | None = None) -> InstanceTypeInfo | None:
    """The shipped instance-type data as the same fact, for when EC2 cannot be asked."""
    from ..instance_types import lookup

    info = lookup(name)
    if info is None:
        return None
    gpus = info.gpus
    return InstanceTypeInfo(
        instance_type=info.instance_type,
        efa_supported=info.efa_supported,
        max_efa_interfaces=info.max_efa_interfaces,
        max_network_cards=info.max_network_cards,
        network_performance=info.network_performance,
        gpu_count=info.gpu_count,
        gpu_name=gpus.name if gpus else None,
        gdr=info.gdr,
        card_interface_types=(),
        gpu_memory_mib=gpus.memory_mib_total if gpus else None,
        vcpus=info.vcpus,
        gdr_required=info.gdr_required,
        source="efadoctor offline instance-type data" + (f" ({reason})" if reason else ""),
    )
