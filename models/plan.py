"""The answers: what the user wants, one sub-model per wizard step.

An answers file is this model as YAML; the wizard edits the same model. Every
field is validated here, with a message naming the fix, so that bad input is
refused before anything is created.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from vpc_mirror.models.ids import (
    Cidr,
    Host,
    InstanceId,
    InstanceRef,
    InstanceType,
    Ipv4Cidr,
    KeyName,
    NlbArn,
    Region,
    SetupName,
    SourceSelector,
    SubnetRef,
    VpcEndpointId,
    VpcRef,
)
from vpc_mirror.models.mirroring_support import MAX_RULES_PER_FILTER
from vpc_mirror.models.zeek import ZeekPlan


def _description(value: str) -> str:
    """One line of text: EC2 takes up to 255 characters and answers in XML 1.0, which cannot carry control
    characters, U+FFFE or U+FFFF (and a lone surrogate is no character at all)."""
    bad = next((c for c in value if unicodedata.category(c) in ("Cc", "Cs") or c in "\ufffe\uffff"), None)
    if bad is not None:
        raise ValueError(f"contains U+{ord(bad):04X} at position {value.index(bad) + 1}, which EC2 cannot carry; "
                         "a description is one line of printable text")
    return value


#: Free text sent to AWS as typed (a target's, filter's, rule's or session's Description).
Description = Annotated[str, AfterValidator(_description)]

TCP, UDP = 6, 17


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class AccountPlan(_Model):
    """Which AWS account and region; credentials come from the profile, never from here."""

    profile: str | None = Field(
        None, description="AWS profile name; omitted = the default credential chain", examples=["default"]
    )
    region: Region = Field("us-east-1", description="AWS region, e.g. us-east-1")


class VpcPlan(_Model):
    """Use an existing VPC, or create one with IPv6, an internet gateway and routes [runbook 1]."""

    mode: Literal["existing", "create"] = "existing"
    vpc_id: VpcRef | None = Field(None, description="the VPC to use, by id or name:<Name tag> (mode: existing)",
                                    examples=["vpc-0123456789abcdef0"])
    subnet_id: SubnetRef | None = Field(
        None, description="subnet for the sensor, its capture ENI and the test beacon, by id or name:<Name tag> "
        "(mode: existing)", examples=["subnet-0123456789abcdef0"]
    )
    cidr: Ipv4Cidr = Field("10.77.0.0/16", description="IPv4 block of a new VPC, /16 to /28 (mode: create)")
    ipv6: bool = Field(True, description="ask for an Amazon-provided IPv6 block (mode: create)")
    ssh_from: Cidr | None = Field(
        None,
        description="address block allowed to SSH to the sensor, e.g. your address as a /32; "
        "omitted = no SSH security group is created",
        examples=["203.0.113.7/32"],
    )

    @field_validator("cidr")
    @classmethod
    def _cidr_size(cls, value: str) -> str:
        prefix = ipaddress.IPv4Network(value).prefixlen
        if not 16 <= prefix <= 28:
            raise ValueError(f"{value} is a /{prefix}; AWS allows VPC blocks from /16 to /28, e.g. 10.77.0.0/16")
        return value

    @field_validator("ssh_from")
    @classmethod
    def _ssh_not_world(cls, value: str | None) -> str | None:
        if value is not None and ipaddress.ip_network(value).prefixlen == 0:
            raise ValueError(
                f"{value} would open SSH to the whole internet; give your own address, e.g. 203.0.113.7/32"
            )
        return value

    @model_validator(mode="after")
    def _mode_fields(self) -> "VpcPlan":
        if self.mode == "existing":
            if self.vpc_id is None:
                raise ValueError("vpc_id is required when mode is existing; give vpc-… or use mode: create")
            if self.subnet_id is None:
                raise ValueError("subnet_id is required when mode is existing; give the subnet-… for the sensor")
        return self

    def warnings(self) -> list[str]:
        if self.mode == "create" and not ipaddress.IPv4Network(self.cidr).is_private:
            return [f"vpc.cidr: {self.cidr} is not a private (RFC 1918) range; 10.0.0.0/8 is usual"]
        return []


#: Images resolved through SSM public parameters (see steps.launch).
KNOWN_IMAGES = ("ubuntu-24.04", "ubuntu-22.04", "debian-12", "amazon-linux-2023")


def _image(value: str) -> str:
    if value in KNOWN_IMAGES or re.match(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$", value):
        return value
    raise ValueError(f"{value!r} is neither a known image ({', '.join(KNOWN_IMAGES)}) nor an ami-… id; "
                     "use e.g. ubuntu-24.04 or ami-0123456789abcdef0")


SensorImage = Annotated[str, AfterValidator(_image)]


class SensorPlan(_Model):
    """The Zeek sensor: an existing instance, or a new one [runbook 2]."""

    mode: Literal["existing", "launch"] = "launch"
    instance_id: InstanceId | None = Field(None, description="the sensor instance (mode: existing)",
                                           examples=["i-0123456789abcdef0"])
    image: SensorImage = Field(
        "ubuntu-24.04", description="a well-known image, resolved via SSM public parameters, or an ami-… id"
    )
    instance_type: InstanceType = Field("t3a.xlarge", description="sensor instance type")
    root_volume_gib: int = Field(32, ge=8, le=16384, description="root volume size in GiB (8-16384)")
    key_name: KeyName | None = Field(None, description="EC2 key pair for SSH (mode: launch)", examples=["my-key"])
    count: int = Field(1, ge=1, le=20, description="how many sensors to launch, 1-20 (mode: launch); behind an "
                       "nlb or gwlb target they share the traffic, with eni targets each takes its share of the "
                       "sources")

    @model_validator(mode="after")
    def _mode_fields(self) -> "SensorPlan":
        if self.mode == "existing" and self.instance_id is None:
            raise ValueError("instance_id is required when mode is existing; give i-… or use mode: launch")
        if self.mode == "existing" and self.count != 1:
            raise ValueError(f"count is {self.count} but mode is existing, which names one sensor; use mode: "
                             "launch for a fleet, or count: 1")
        if self.mode == "launch" and self.key_name is None:
            raise ValueError("key_name is required when mode is launch; give an EC2 key pair name")
        return self


class TestBeaconPlan(_Model):
    """An optional instance that beacons like the runbook's tame test: ping, UDP 999, HTTPS [runbook 3]."""

    __test__ = False  # not a pytest test class despite the name

    enabled: bool = False
    destination: Host = Field("example.com", description="where the beacon pings, sends UDP 999 and GETs HTTPS")
    interval_seconds: int = Field(34, ge=5, le=3600, description="seconds between beacons (5-3600)")
    instance_type: InstanceType = Field("t3.micro", description="test instance type")
    mirror: bool = Field(True, description="mirror the beacon's own traffic too (a session on its primary ENI), "
                                           "so the live view shows its periodic flow")


class SourcesPlan(_Model):
    """Instances whose traffic is mirrored: listed one by one, selected by tag, subnet or VPC, or both.

    Listed instances must all support mirroring (one that does not is refused);
    selected ones that do not are listed with their reason and skipped.
    """

    instances: list[InstanceRef] = Field(
        default_factory=list, description="instance ids, or name:<Name tag>",
        examples=[["i-0123456789abcdef0", "name:web-1"]],
    )
    select: list[SourceSelector] = Field(
        default_factory=list, max_length=20,
        description="instances to mirror as they come and go: tag:KEY=VALUE, subnet:subnet-… or vpc:vpc-… "
                    "(an instance matching any one is selected); `vpc-mirror sync` follows them",
        examples=[["tag:env=prod"]],
    )

    @field_validator("instances", "select")
    @classmethod
    def _unique(cls, value: list[str], info: ValidationInfo) -> list[str]:
        seen = set()
        for ref in value:
            if ref in seen:
                what = "source instance" if info.field_name == "instances" else "selector"
                raise ValueError(f"{ref} is listed twice; list each {what} once")
            seen.add(ref)
        return value

    @model_validator(mode="after")
    def _some(self) -> "SourcesPlan":
        if not self.instances and not self.select:
            raise ValueError("instances and select are both empty; list the instances to mirror, "
                             "e.g. instances: [name:web-1], or select them, e.g. select: [tag:env=prod]")
        return self


class SourceEniPlan(_Model):
    """Mirror each source's primary ENI (default), or create and attach a dedicated one [runbook 4]."""

    mode: Literal["primary", "dedicated"] = "primary"


class SensorEniPlan(_Model):
    """The capture ENI on the sensor; its security group admits UDP 4789 from the sources only [runbook 5]."""

    device_index: int = Field(1, ge=1, le=15, description="device index on the sensor (1-15)")
    vxlan_port: int = Field(4789, ge=1, le=65535, description="UDP port of VXLAN (AWS uses 4789)")


class TargetPlan(_Model):
    """Where mirrored traffic goes [runbook 6]: the sensor's capture ENI, or a load balancer in front of the sensors.

    ``nlb``: an internal Network Load Balancer (UDP 4789 listener, the sensors
    as its target group), made here or given by ARN. ``gwlb``: a Gateway Load
    Balancer, its endpoint service and an endpoint in the sources' VPC (the
    sensors receive the VXLAN inside GENEVE, UDP 6081), made here or an
    existing endpoint given by id.
    """

    type: Literal["eni", "nlb", "gwlb"] = Field(
        "eni", description="eni: the sensor's capture ENI (up to 10 sources, 100 on the largest sizes); "
                           "nlb: a Network Load Balancer; gwlb: a Gateway Load Balancer endpoint")
    load_balancer_arn: NlbArn | None = Field(
        None, description="an existing Network Load Balancer to use (type: nlb); omitted = one is created",
        examples=["arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/zeek/0123456789abcdef"])
    gwlb_endpoint_id: VpcEndpointId | None = Field(
        None, description="an existing Gateway Load Balancer endpoint to use (type: gwlb); omitted = one is created",
        examples=["vpce-0123456789abcdef0"])
    cross_zone: bool = Field(
        False, description="spread traffic over sensors in every Availability Zone (type: nlb or gwlb); AWS "
                           "charges for the traffic that crosses zones")
    health_check_port: int = Field(22, ge=1, le=65535,
                                   description="TCP port on each sensor the load balancer's health check opens "
                                               "(type: nlb or gwlb); SSH (22) answers on every sensor")
    description: Description = Field("vpc-mirror target", max_length=255)

    @model_validator(mode="after")
    def _type_fields(self) -> "TargetPlan":
        if self.load_balancer_arn is not None and self.type != "nlb":
            raise ValueError(f"load_balancer_arn is for type: nlb, but type is {self.type}; set type: nlb or "
                             "drop load_balancer_arn")
        if self.gwlb_endpoint_id is not None and self.type != "gwlb":
            raise ValueError(f"gwlb_endpoint_id is for type: gwlb, but type is {self.type}; set type: gwlb or "
                             "drop gwlb_endpoint_id")
        return self


class PortRange(_Model):
    from_port: int = Field(ge=0, le=65535, examples=[443])
    to_port: int = Field(ge=0, le=65535, examples=[443])

    @model_validator(mode="after")
    def _ordered(self) -> "PortRange":
        if self.from_port > self.to_port:
            raise ValueError(f"from_port {self.from_port} is above to_port {self.to_port}; swap them")
        return self


class FilterRule(_Model):
    """One traffic-mirror filter rule, checked as AWS checks it."""

    direction: Literal["ingress", "egress"]
    number: int = Field(ge=1, le=32766, description="rule number, 1-32766, unique per direction", examples=[100])
    action: Literal["accept", "reject"] = "accept"
    protocol: int | None = Field(None, ge=0, le=255, description="IP protocol number 0-255; omitted = all",
                                examples=[6])
    source_cidr: Cidr = "0.0.0.0/0"
    destination_cidr: Cidr = "0.0.0.0/0"
    source_ports: PortRange | None = None
    destination_ports: PortRange | None = None
    description: Description = Field("", max_length=255)

    @model_validator(mode="after")
    def _consistent(self) -> "FilterRule":
        if (self.source_ports or self.destination_ports) and self.protocol not in (TCP, UDP):
            raise ValueError("ports need protocol 6 (TCP) or 17 (UDP); set protocol or drop the ports")
        src = ipaddress.ip_network(self.source_cidr).version
        dst = ipaddress.ip_network(self.destination_cidr).version
        if src != dst:
            raise ValueError(
                f"source_cidr is IPv{src} but destination_cidr is IPv{dst}; "
                "use the same family (e.g. ::/0 with ::/0)"
            )
        return self


def default_rules() -> list[FilterRule]:
    """Mirror everything, both directions, IPv4 and IPv6 (runbook step 7)."""
    return [
        FilterRule(direction=direction, number=number, source_cidr=cidr, destination_cidr=cidr)
        for direction in ("ingress", "egress")
        for number, cidr in ((100, "0.0.0.0/0"), (200, "::/0"))
    ]


class FilterPlan(_Model):
    """The traffic-mirror filter and its rules [runbook 7]."""

    rules: list[FilterRule] = Field(default_factory=default_rules, max_length=MAX_RULES_PER_FILTER)
    mirror_amazon_dns: bool = Field(True, description="also mirror traffic to the Amazon DNS server")
    description: Description = Field("vpc-mirror filter", max_length=255)

    @field_validator("rules")
    @classmethod
    def _unique_numbers(cls, rules: list[FilterRule]) -> list[FilterRule]:
        seen: set[tuple[str, int]] = set()
        for rule in rules:
            key = (rule.direction, rule.number)
            if key in seen:
                raise ValueError(
                    f"rule number {rule.number} is used twice for {rule.direction}; give each rule its own number"
                )
            seen.add(key)
        return rules


class SessionPlan(_Model):
    """One mirror session per source ENI [runbook 8]."""

    session_number: int | None = Field(
        None, ge=1, le=32766, description="1-32766, lower is evaluated first; omitted = lowest free number",
        examples=[1],
    )
    vni: int | None = Field(None, ge=1, le=16777215, description="VXLAN id 1-16777215; omitted = AWS picks",
                            examples=[4242])
    packet_length: int | None = Field(
        None, ge=1, le=8500, description="bytes of each packet to mirror, 1-8500; omitted = the whole packet (8500 for an nlb target, "
                    "as AWS does)",
        examples=[1500],
    )
    description: Description = Field("vpc-mirror session", max_length=255)


class Plan(_Model):
    """The whole answers file."""

    setup: SetupName = Field(description="name of this setup; tags and state files carry it", examples=["prod-zeek"])
    account: AccountPlan = Field(default_factory=AccountPlan)
    vpc: VpcPlan = Field(examples=[{"mode": "existing", "vpc_id": "vpc-0123456789abcdef0",
                                    "subnet_id": "subnet-0123456789abcdef0"}])
    sensor: SensorPlan = Field(examples=[{"mode": "launch", "key_name": "my-key"}])
    test_beacon: TestBeaconPlan = Field(default_factory=TestBeaconPlan)
    sources: SourcesPlan = Field(examples=[{"instances": ["name:web-1"]}])
    source_eni: SourceEniPlan = Field(default_factory=SourceEniPlan)
    sensor_eni: SensorEniPlan = Field(default_factory=SensorEniPlan)
    target: TargetPlan = Field(default_factory=TargetPlan)
    filter: FilterPlan = Field(default_factory=FilterPlan)
    session: SessionPlan = Field(default_factory=SessionPlan)
    zeek: ZeekPlan = Field(default_factory=ZeekPlan)

    @field_validator("sources")
    @classmethod
    def _sensor_is_no_source(cls, sources: SourcesPlan, info: ValidationInfo) -> SourcesPlan:
        sensor = info.data.get("sensor")
        if sensor is not None and sensor.mode == "existing" and sensor.instance_id in sources.instances:
            raise ValueError(f"{sensor.instance_id} is the sensor; a mirror target cannot be a source, "
                             "so list only the instances to watch, e.g. [name:web-1]")
        return sources

    def warnings(self) -> list[str]:
        return self.vpc.warnings()
