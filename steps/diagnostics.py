"""Why no mirrored traffic arrives: a checklist against live AWS state, the sensor and the capture.

The runbook's only test is "tcpdump shows lines, or there's an issue with the
mirroring". Each check here names one cause, says ok / failed / unknown /
warning, and for a failure says what to do. AWS facts are read once
(`gather`), then judged by a pure function (`evaluate`) so that every rule can
be tested on its own.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal

from vpc_mirror.models.mirroring_support import VXLAN_OVERHEAD_IPV4, VXLAN_OVERHEAD_IPV6, support_of
from vpc_mirror.steps.capture.decode import GENEVE_PORT
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import guarded
from vpc_mirror.steps.test_beacon import mirrors_beacon

CheckStatus = Literal["ok", "failed", "unknown", "warning"]

#: A mirror target of this type (a Gateway Load Balancer endpoint) hands each mirrored VXLAN packet to the sensor
#: inside GENEVE, on GENEVE_PORT, from the load balancer's own addresses.
GWLB_ENDPOINT = "gateway-load-balancer-endpoint"

#: The sources' MTU is not visible from here; 1500 (traffic leaving the VPC) is
#: the common case, and catches a capture interface left at 1500. Sources that
#: talk jumbo frames (9001) inside the VPC are truncated above 8947 bytes anyway.
DEFAULT_SOURCE_MTU = 1500


@dataclass(frozen=True)
class DiagnosticCheck:
    """One line of the checklist: a cause of silence, whether it is ruled out, and what to do."""

    name: str
    status: CheckStatus
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str
    up: bool
    mtu: int


@dataclass(frozen=True)
class SensorView:
    """What the sensor says about itself (over SSH): its interfaces, and where the capture runs."""

    interfaces: list[Interface]
    capture_interface: str | None = None


@dataclass(frozen=True)
class CaptureView:
    seconds: float
    vxlan_packets: int
    vnis: dict[int, int] = field(default_factory=dict)


@dataclass
class Source:
    instance_id: str
    name: str | None
    instance_type: str
    eni: str
    address: str
    ipv6: bool = False


@dataclass
class AwsView:
    """The live AWS facts the checks need, read for one setup."""

    setup: str
    port: int
    sources: list[Source]
    target_id: str | None
    filter_id: str | None
    sensor_id: str | None
    target_type: str | None = None  # AWS's Type of the mirror target; a GWLB endpoint delivers GENEVE
    sessions: list[dict] = field(default_factory=list)
    filter: dict | None = None
    target_eni: dict | None = None
    security_groups: list[dict] = field(default_factory=list)
    network_acl: dict | None = None
    type_info: dict[str, dict] = field(default_factory=dict)


def _live_id(ctx: Context, key: str) -> str | None:
    res = ctx.state.resource(key)
    return res.id if res is not None and res.status in ("created", "reused") else None


def gather(ctx: Context) -> AwsView:
    """Read everything the checks need, by the ids the setup's state holds (blocking; run in a worker)."""
    ec2 = ctx.aws.ec2
    facts = ctx.state.step("sources").facts.get("sources", [])
    sources = [
        Source(instance_id=s["instance_id"], name=s.get("name"), instance_type=s["instance_type"],
               eni=_live_id(ctx, f"source-eni/{s['instance_id']}") or s["primary_eni"], address=s["private_ip"])
        for s in facts
    ]
    for src in sources:  # a dedicated ENI has its own address
        res = ctx.state.resource(f"source-eni/{src.instance_id}")
        if res is not None and res.status == "created" and res.attrs.get("private_ip"):
            src.address = res.attrs["private_ip"]
    beacon = ctx.state.resource("test-beacon")
    if mirrors_beacon(ctx) and beacon is not None and beacon.status == "created":
        sources.append(Source(instance_id=beacon.id, name="test-beacon", instance_type=beacon.attrs["instance_type"],
                              eni=beacon.attrs["primary_eni"], address=beacon.attrs["private_ip"]))
    view = AwsView(setup=ctx.setup, port=ctx.plan.sensor_eni.vxlan_port, sources=sources,
                   target_id=_live_id(ctx, "target"), filter_id=_live_id(ctx, "filter"),
                   sensor_id=_live_id(ctx, "sensor"))
    if view.target_id:
        found = ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[view.target_id])["TrafficMirrorTargets"]
        view.target_type = found[0].get("Type") if found else None
    if view.target_type == GWLB_ENDPOINT:
        view.port = GENEVE_PORT
    enis = sorted({s.eni for s in sources})
    if enis:
        view.sessions = ec2.describe_traffic_mirror_sessions(
            Filters=[{"Name": "network-interface-id", "Values": enis}])["TrafficMirrorSessions"]
    if view.filter_id:
        found = ec2.describe_traffic_mirror_filters(
            Filters=[{"Name": "traffic-mirror-filter-id", "Values": [view.filter_id]}])["TrafficMirrorFilters"]
        view.filter = found[0] if found else None
    target_eni_id = _live_id(ctx, "sensor-eni")
    if ctx.plan.target.type != "eni" and _live_id(ctx, "sensor"):
        # a load balancer sends to the sensor's primary interface (instance targets); no capture ENI
        target_eni_id = ctx.state.resource("sensor").attrs.get("primary_eni")
    if target_eni_id:
        found = ec2.describe_network_interfaces(
            Filters=[{"Name": "network-interface-id", "Values": [target_eni_id]}])["NetworkInterfaces"]
        view.target_eni = found[0] if found else None
    if view.target_eni:
        groups = [g["GroupId"] for g in view.target_eni.get("Groups", [])]
        if groups:
            view.security_groups = ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]
        acls = ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [view.target_eni["SubnetId"]]}])["NetworkAcls"]
        view.network_acl = acls[0] if acls else None
    types = sorted({s.instance_type for s in sources})
    if types:
        view.type_info = {t["InstanceType"]: t for t in ec2.describe_instance_types(InstanceTypes=types)["InstanceTypes"]}
    return view


async def diagnose(ctx: Context, sensor: SensorView | None = None, capture: CaptureView | None = None,
                   source_mtu: int = DEFAULT_SOURCE_MTU) -> list[DiagnosticCheck]:
    view = await ctx.call(guarded(lambda: gather(ctx), context="reading the setup's mirroring resources"))
    return evaluate(view, sensor, capture, source_mtu)


def evaluate(aws: AwsView, sensor: SensorView | None = None, capture: CaptureView | None = None,
             source_mtu: int = DEFAULT_SOURCE_MTU) -> list[DiagnosticCheck]:
    target_mac = (aws.target_eni or {}).get("MacAddress")
    interface = next((i for i in sensor.interfaces if i.mac.lower() == (target_mac or "").lower()), None) \
        if sensor else None
    return [
        _sessions(aws),
        _filter_rules(aws),
        _target_attached(aws),
        _interface_up(aws, sensor, interface),
        _security_group(aws),
        _network_acl(aws),
        _source_types(aws),
        _capture_interface(sensor, interface),
        _vni(aws, capture),
        _mtu(aws, interface, source_mtu),
    ]


def _label(src: Source) -> str:
    return f"{src.instance_id} ({src.name})" if src.name else src.instance_id


def _sessions(aws: AwsView) -> DiagnosticCheck:
    name = "a mirror session per source"
    missing, wrong = [], []
    for src in aws.sources:
        mine = [s for s in aws.sessions if s["NetworkInterfaceId"] == src.eni]
        if not mine:
            missing.append(_label(src))
        elif not any(s["TrafficMirrorTargetId"] == aws.target_id and s["TrafficMirrorFilterId"] == aws.filter_id
                     for s in mine):
            wrong.append(_label(src))
    if missing or wrong:
        parts = []
        if missing:
            parts.append(f"no session on {', '.join(missing)}")
        if wrong:
            parts.append(f"sessions on {', '.join(wrong)} point at another target or filter")
        return DiagnosticCheck(name, "failed", "; ".join(parts),
                               f"run `vpc-mirror resume {aws.setup}` to recreate the sessions of this setup")
    return DiagnosticCheck(name, "ok",
                           f"{len(aws.sources)} sessions point at {aws.target_id} with filter {aws.filter_id}")


def _filter_rules(aws: AwsView) -> DiagnosticCheck:
    name = "filter accepts both directions"
    if aws.filter is None:
        return DiagnosticCheck(name, "failed", f"filter {aws.filter_id or '(none)'} does not exist",
                               f"run `vpc-mirror resume {aws.setup}` to recreate it")
    missing = [d for d, key in (("ingress", "IngressFilterRules"), ("egress", "EgressFilterRules"))
               if not any(r["RuleAction"] == "accept" for r in aws.filter.get(key, []))]
    if missing:
        return DiagnosticCheck(name, "failed", f"filter {aws.filter_id} has no accept rule for {' or '.join(missing)}",
                               "add an accept rule for that direction (filter step) and resume; without one AWS "
                               "mirrors nothing that way")
    return DiagnosticCheck(name, "ok", f"filter {aws.filter_id} accepts ingress and egress traffic")


def _target_attached(aws: AwsView) -> DiagnosticCheck:
    """With an ENI target, the capture ENI must be on the sensor; behind a load balancer, the traffic arrives on
    the sensor's primary interface (instance targets), which this checks is the sensor's."""
    behind_lb = aws.target_type not in (None, "network-interface")
    name = ("load balancer's traffic arrives on the sensor's primary interface" if behind_lb
            else "target ENI attached to the sensor")
    eni = aws.target_eni
    if eni is None:
        what = "the sensor's primary interface was not found" if behind_lb else "the capture ENI does not exist"
        return DiagnosticCheck(name, "failed", what, f"run `vpc-mirror resume {aws.setup}`")
    attachment = eni.get("Attachment") or {}
    if attachment.get("InstanceId") != aws.sensor_id or attachment.get("Status") != "attached":
        where = attachment.get("InstanceId") or "nothing"
        return DiagnosticCheck(name, "failed",
                               f"{eni['NetworkInterfaceId']} is attached to {where}, not the sensor {aws.sensor_id}",
                               f"run `vpc-mirror resume {aws.setup}` to attach it")
    return DiagnosticCheck(name, "ok",
                           f"{eni['NetworkInterfaceId']} ({eni.get('MacAddress')}) is attached to {aws.sensor_id}")


def _interface_up(aws: AwsView, sensor: SensorView | None, interface: Interface | None) -> DiagnosticCheck:
    name = "capture interface is up on the sensor"
    mac = (aws.target_eni or {}).get("MacAddress", "?")
    if sensor is None:
        return DiagnosticCheck(name, "unknown", "the sensor was not asked (no SSH connection)",
                               "connect to the sensor to check its interfaces")
    if interface is None:
        return DiagnosticCheck(name, "failed", f"no interface on the sensor has the capture ENI's MAC {mac}",
                               "check that the ENI is attached, then reboot the sensor or run `ip link` to see it")
    if not interface.up:
        return DiagnosticCheck(name, "failed", f"{interface.name} ({mac}) is down",
                               f"bring it up: `sudo ip link set {interface.name} up` (the zeek step does it for good)")
    return DiagnosticCheck(name, "ok", f"{interface.name} ({mac}) is up")


def _permits(perm: dict, port: int, address: ipaddress._BaseAddress | None) -> bool:
    """Whether a security group rule admits UDP `port` from `address` (None: from some address)."""
    proto = perm.get("IpProtocol")
    if proto not in ("udp", "17", "-1"):
        return False
    if proto != "-1" and not (perm.get("FromPort", 0) <= port <= perm.get("ToPort", 65535)):
        return False
    ranges = [r.get("CidrIp") for r in perm.get("IpRanges", [])] + \
             [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", [])]
    return any(cidr and (address is None or address.version == ipaddress.ip_network(cidr).version
                         and address in ipaddress.ip_network(cidr)) for cidr in ranges)


def _security_group(aws: AwsView) -> DiagnosticCheck:
    if aws.target_type == GWLB_ENDPOINT:
        return _security_group_geneve(aws)
    name = f"security group allows UDP {aws.port} from the sources"
    if aws.target_eni is None:
        return DiagnosticCheck(name, "unknown", "the capture ENI does not exist")
    refused = [
        f"{_label(src)} {src.address}"
        for src in aws.sources
        if not any(_permits(p, aws.port, ipaddress.ip_address(src.address))
                   for g in aws.security_groups for p in g.get("IpPermissions", []))
    ]
    groups = ", ".join(g["GroupId"] for g in aws.security_groups) or "none"
    if refused:
        return DiagnosticCheck(name, "failed", f"groups {groups} drop VXLAN from {', '.join(refused)}",
                               f"allow UDP {aws.port} from those addresses (/32), "
                               f"or run `vpc-mirror resume {aws.setup}`")
    return DiagnosticCheck(name, "ok", f"groups {groups} admit UDP {aws.port} from every source")


def _security_group_geneve(aws: AwsView) -> DiagnosticCheck:
    """Behind a Gateway Load Balancer the sensor hears GENEVE from the load balancer, whose addresses are not ours
    to know: some rule must admit UDP 6081."""
    name = f"security group allows UDP {GENEVE_PORT} (GENEVE) from the load balancer"
    if aws.target_eni is None:
        return DiagnosticCheck(name, "unknown", "the capture ENI does not exist")
    groups = ", ".join(g["GroupId"] for g in aws.security_groups) or "none"
    if not any(_permits(p, GENEVE_PORT, None) for g in aws.security_groups for p in g.get("IpPermissions", [])):
        return DiagnosticCheck(name, "failed", f"groups {groups} admit no UDP {GENEVE_PORT}: the Gateway Load "
                               "Balancer's GENEVE packets are dropped",
                               f"allow UDP {GENEVE_PORT} from the load balancer's subnets (or the VPC's CIDR)")
    return DiagnosticCheck(name, "ok", f"groups {groups} admit UDP {GENEVE_PORT}")


def _acl_allows(acl: dict, port: int, address: ipaddress._BaseAddress | None) -> bool:
    """Inbound network ACL rules are evaluated by rule number; the first match decides (`address` None: the
    first rule for the port from any address)."""
    rules = sorted((e for e in acl.get("Entries", []) if not e.get("Egress")), key=lambda e: e["RuleNumber"])
    for entry in rules:
        cidr = entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")
        if not cidr:
            continue
        if address is not None and (ipaddress.ip_network(cidr).version != address.version
                                    or address not in ipaddress.ip_network(cidr)):
            continue
        proto = str(entry.get("Protocol"))
        if proto not in ("-1", "17"):
            continue
        ports = entry.get("PortRange")
        if proto == "17" and ports and not ports.get("From", 0) <= port <= ports.get("To", 65535):
            continue
        return entry["RuleAction"] == "allow"
    return False


def _network_acl(aws: AwsView) -> DiagnosticCheck:
    name = f"network ACL admits UDP {aws.port}"
    if aws.network_acl is None:
        return DiagnosticCheck(name, "unknown", "no network ACL found for the capture ENI's subnet")
    if aws.target_type == GWLB_ENDPOINT:
        acl = aws.network_acl["NetworkAclId"]
        if not _acl_allows(aws.network_acl, aws.port, None):
            return DiagnosticCheck(name, "failed", f"{acl} denies inbound UDP {aws.port} (GENEVE from the load "
                                   "balancer)", f"add an inbound allow rule for UDP {aws.port} from the load "
                                   "balancer's subnets, numbered before the deny")
        return DiagnosticCheck(name, "ok", f"{acl} admits UDP {aws.port} (GENEVE from the load balancer)")
    refused = [f"{_label(s)} {s.address}" for s in aws.sources
               if not _acl_allows(aws.network_acl, aws.port, ipaddress.ip_address(s.address))]
    acl = aws.network_acl["NetworkAclId"]
    if refused:
        return DiagnosticCheck(name, "failed", f"{acl} denies inbound UDP {aws.port} from {', '.join(refused)}",
                               f"add an inbound allow rule for UDP {aws.port} from the sources, "
                               "numbered before the deny")
    return DiagnosticCheck(name, "ok", f"{acl} admits UDP {aws.port} from every source")


def _source_types(aws: AwsView) -> DiagnosticCheck:
    name = "source instance types support mirroring"
    bad = []
    for src in aws.sources:
        info = aws.type_info.get(src.instance_type, {})
        support = support_of(src.instance_type, info.get("Hypervisor"), bool(info.get("BareMetal")))
        if not support.supported:
            bad.append(f"{_label(src)}: {support.reason}")
    if bad:
        return DiagnosticCheck(name, "failed", "; ".join(bad), "move those sources to a supported Nitro type")
    return DiagnosticCheck(name, "ok", f"{len(aws.sources)} sources of supported types")


def _capture_interface(sensor: SensorView | None, interface: Interface | None) -> DiagnosticCheck:
    name = "capture runs on the target ENI's interface"
    if sensor is None or sensor.capture_interface is None:
        return DiagnosticCheck(name, "unknown", "no capture is running on the sensor")
    if interface is None:
        return DiagnosticCheck(name, "unknown", "the target ENI's interface was not found on the sensor")
    if sensor.capture_interface != interface.name:
        return DiagnosticCheck(name, "failed",
                               f"the capture listens on {sensor.capture_interface}, but the target ENI is "
                               f"{interface.name}", f"capture on {interface.name} (--interface {interface.name})")
    return DiagnosticCheck(name, "ok", f"capturing on {interface.name}")


def _vni(aws: AwsView, capture: CaptureView | None) -> DiagnosticCheck:
    name = "packets carry this setup's VNI"
    ours = {s.get("VirtualNetworkId") for s in aws.sessions
            if s["TrafficMirrorTargetId"] == aws.target_id and s.get("VirtualNetworkId") is not None}
    if capture is None or capture.vxlan_packets == 0:
        return DiagnosticCheck(name, "unknown", "no VXLAN packets captured yet")
    seen = set(capture.vnis)
    if ours and not seen & ours:
        return DiagnosticCheck(name, "failed",
                               f"packets arrive with VNI {', '.join(map(str, sorted(seen)))}, but this setup's "
                               f"sessions use {', '.join(map(str, sorted(ours)))}: they are another session's",
                               "check which sessions point at this target (another setup may mirror here)")
    return DiagnosticCheck(name, "ok", f"VNI {', '.join(map(str, sorted(seen & ours or seen)))} seen")


def _mtu(aws: AwsView, interface: Interface | None, source_mtu: int) -> DiagnosticCheck:
    name = "target MTU fits mirrored packets"
    if interface is None:
        return DiagnosticCheck(name, "unknown", "the capture interface's MTU is not known")
    overhead = VXLAN_OVERHEAD_IPV6 if any(s.ipv6 for s in aws.sources) else VXLAN_OVERHEAD_IPV4
    needed = source_mtu + overhead
    if needed > interface.mtu:
        return DiagnosticCheck(name, "warning",
                               f"source packets up to {source_mtu} bytes + {overhead} of encapsulation exceed "
                               f"{interface.name}'s MTU {interface.mtu}; AWS truncates them",
                               f"raise the MTU (`sudo ip link set {interface.name} mtu 9001`) "
                               "or set session.packet_length")
    return DiagnosticCheck(name, "ok", f"{interface.name} MTU {interface.mtu} fits {source_mtu}-byte packets")
