"""Validated string types for AWS ids, names and addresses.

Each type's error says what was wrong and what a right value looks like, so the
answers-file loader and the wizard's fields can show it next to the field.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from pydantic import AfterValidator

_HEX_ID = r"(?:[0-9a-f]{8}|[0-9a-f]{17})"

#: How an answer names an instance, VPC or subnet by its Name tag instead of its id: ``name:web-1``.
NAME_REF = "name:"


def named(ref: str) -> str | None:
    """The Name tag a ``name:`` reference gives, or None when ``ref`` is an id."""
    return ref[len(NAME_REF):] if ref.startswith(NAME_REF) else None

ID_PREFIXES = {
    "vpc": "vpc-",
    "subnet": "subnet-",
    "instance": "i-",
    "network interface": "eni-",
    "security group": "sg-",
    "traffic mirror filter": "tmf-",
    "traffic mirror filter rule": "tmfr-",
    "traffic mirror target": "tmt-",
    "traffic mirror session": "tms-",
    "image": "ami-",
    "VPC endpoint": "vpce-",
}


def _id_type(what: str, *, by_name: bool = False):
    prefix = ID_PREFIXES[what]
    pattern = re.compile(rf"^{re.escape(prefix)}{_HEX_ID}$")

    def check(value: str) -> str:
        value = value.strip()
        if pattern.match(value):
            return value
        if by_name and named(value):
            return value
        hint = f"{prefix} followed by 8 or 17 hex digits, e.g. {prefix}0123456789abcdef0"
        if by_name:
            hint += ", or name:<its Name tag>"
        article = "an" if what[0] in "aeiou" else "a"
        raise ValueError(f"{value!r} is not {article} {what} id; use {hint}")

    return Annotated[str, AfterValidator(check)]


VpcId = _id_type("vpc")
SubnetId = _id_type("subnet")
InstanceId = _id_type("instance")
EniId = _id_type("network interface")
SecurityGroupId = _id_type("security group")
FilterId = _id_type("traffic mirror filter")
FilterRuleId = _id_type("traffic mirror filter rule")
TargetId = _id_type("traffic mirror target")
SessionId = _id_type("traffic mirror session")
VpcEndpointId = _id_type("VPC endpoint")
#: By id, or by the Name tag as ``name:web-1``.
InstanceRef = _id_type("instance", by_name=True)
VpcRef = _id_type("vpc", by_name=True)
SubnetRef = _id_type("subnet", by_name=True)


def _matching(pattern: str, problem: str):
    """A string type that must match ``pattern``; ``problem`` says what is wrong with ``{value!r}`` and the fix."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.match(value):
            return value
        raise ValueError(problem.format(value=value))

    return Annotated[str, AfterValidator(check)]


Region = _matching(
    r"^[a-z]{2}(?:-gov|-iso[a-z]?)?-(?:north|south|east|west|central|northeast|northwest|southeast|southwest)-\d{1,2}$",
    "{value!r} is not an AWS region name; use one like us-east-1 or eu-west-2")
SetupName = _matching(r"^[a-z0-9][a-z0-9-]{0,38}[a-z0-9]$|^[a-z0-9]$",
                      "{value!r} is not a setup name; use 1-40 lower-case letters, digits and dashes, e.g. prod-zeek")


def _ipv4_cidr(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        if ":" in value:
            raise ValueError(f"{value!r} is an IPv6 block; this one must be IPv4 (AWS adds the IPv6 block), "
                             "e.g. 10.77.0.0/16") from None
        raise ValueError(f"{value!r} is not an IPv4 CIDR block ({exc}); use one like 10.0.0.0/16") from None
    return str(net)


def _any_cidr(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not a CIDR block ({exc}); use one like 10.0.0.0/8, 0.0.0.0/0 or ::/0"
        ) from None


Ipv4Cidr = Annotated[str, AfterValidator(_ipv4_cidr)]
Cidr = Annotated[str, AfterValidator(_any_cidr)]

_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(?:\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")


def _host(value: str) -> str:
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        pass
    if _HOST.match(value):
        return value
    raise ValueError(f"{value!r} is neither a host name nor an IP address; use one like example.com")


Host = Annotated[str, AfterValidator(_host)]

#: printable ASCII, without a leading or trailing space
KeyName = _matching(r"^(?! )[\x20-\x7e]{1,255}(?<! )$",
                    "{value!r} is not a key pair name; use the name shown in EC2 > Key pairs, e.g. my-key")

InstanceType = _matching(r"^[a-z][a-z0-9-]*\.[a-z0-9-]+$",
                         "{value!r} is not an instance type; use one like t3a.xlarge")


#: An existing Network Load Balancer: arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/net/NAME/ID.
NlbArn = _matching(
    r"^arn:aws(?:-[a-z]+)*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/net/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$",
    "{value!r} is not a Network Load Balancer ARN; use the ARN shown in EC2 > Load balancers, e.g. "
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/zeek/0123456789abcdef")

_SELECTOR = re.compile(r"^(?:tag:[^=\s][^=]{0,127}=.{0,256}|subnet:subnet-" + _HEX_ID + r"|vpc:vpc-" + _HEX_ID + r")$")


def _selector(value: str) -> str:
    if _SELECTOR.match(value):
        return value
    raise ValueError(f"{value!r} is not a source selector; use tag:KEY=VALUE (VALUE may use * and ?), "
                     "subnet:subnet-… or vpc:vpc-…, e.g. tag:env=prod")


#: Which instances to mirror besides the listed ones: ``tag:env=prod``, ``subnet:subnet-…``, ``vpc:vpc-…``.
SourceSelector = Annotated[str, AfterValidator(_selector)]
