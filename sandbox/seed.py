"""The accounts the sandbox starts with.

``empty``: nothing but what every AWS account can see (moto's defaults and the
public images of :mod:`sandbox.catalog`). ``demo``: a small VPC with instances
of every mirroring-support case, for the wizard's demo and the tests:

=========  ==========  =========================================
Name       type        as a mirror source
=========  ==========  =========================================
web-1      m5.large    Nitro, supported
api-1      c5.large    Nitro, supported
db-1       m6i.large   Nitro family AWS lists as not supported
legacy-1   t2.micro    Xen T2, not supported
batch-1    m4.large    Xen family AWS supports
=========  ==========  =========================================

The demo is built through the EC2 API itself (a boto3 client on the sandbox's
endpoint), so it is exactly what a user's calls would have made. Nothing is
tagged ``vpc-mirror:setup``: the wizard must not take any of it for its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

UBUNTU_24_04_PARAMETER = "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id"

#: Name tag -> (instance type, index of the subnet it runs in).
DEMO_INSTANCES = {
    "web-1": ("m5.large", 0),
    "api-1": ("c5.large", 1),
    "db-1": ("m6i.large", 1),
    "legacy-1": ("t2.micro", 0),
    "batch-1": ("m4.large", 1),
}


@dataclass(frozen=True)
class DemoSeed:
    vpc_id: str
    subnet_ids: tuple[str, str]
    internet_gateway_id: str
    instances: dict[str, str]
    key_name: str
    ubuntu_ami_id: str


def _name(resource_type: str, name: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "Name", "Value": name}]}]


def seed_empty(ec2: Any) -> None:
    """Nothing to create: an empty account already has moto's default VPC and the catalog."""


def seed_demo(ec2: Any, ubuntu_ami_id: str) -> DemoSeed:
    """Create the demo account through ``ec2`` (a boto3 EC2 client on the sandbox)."""
    zones = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]][:2]
    vpc_id = ec2.create_vpc(
        CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True, TagSpecifications=_name("vpc", "demo-vpc")
    )["Vpc"]["VpcId"]
    subnet_ids = tuple(
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone, TagSpecifications=_name("subnet", name)
        )["Subnet"]["SubnetId"]
        for cidr, zone, name in zip(("10.0.1.0/24", "10.0.2.0/24"), zones, ("demo-public-a", "demo-private-b"))
    )
    igw_id = ec2.create_internet_gateway(TagSpecifications=_name("internet-gateway", "demo-igw"))[
        "InternetGateway"
    ]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    public_routes = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=_name("route-table", "demo-public"))[
        "RouteTable"
    ]["RouteTableId"]
    ec2.create_route(RouteTableId=public_routes, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    ec2.associate_route_table(RouteTableId=public_routes, SubnetId=subnet_ids[0])
    key_name = ec2.create_key_pair(KeyName="demo-key")["KeyName"]
    instances = {}
    for name, (instance_type, subnet) in DEMO_INSTANCES.items():
        reservation = ec2.run_instances(
            ImageId=ubuntu_ami_id,
            InstanceType=instance_type,
            MinCount=1,
            MaxCount=1,
            KeyName=key_name,
            SubnetId=subnet_ids[subnet],
            TagSpecifications=_name("instance", name),
        )
        instances[name] = reservation["Instances"][0]["InstanceId"]
    return DemoSeed(vpc_id, subnet_ids, igw_id, instances, key_name, ubuntu_ami_id)
