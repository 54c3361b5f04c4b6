"""Answers and account facts for the scale-out tests: load balancer targets and sensor fleets.

``everything`` extends tests.awsfacts.inventory with what it does not read:
load balancers, target groups (with their registered sensors), listeners, the
cross-zone attribute, endpoint services and endpoints, described without ids.
"""

from __future__ import annotations

import functools
from collections import Counter

import boto3

from vpc_mirror.models.plan import TargetPlan, TestBeaconPlan
from tests.awsfacts import demo_plan, ec2, inventory

SETUP_TAG = "vpc-mirror:setup"


@functools.lru_cache
def _elb_client(endpoint_url: str, region: str):
    return boto3.client("elbv2", endpoint_url=endpoint_url, region_name=region)


def elb(sandbox):
    return _elb_client(sandbox.endpoint_url, sandbox.region)


def nlb_plan(**target):
    return demo_plan(target=TargetPlan(type="nlb", **target))


def gwlb_plan(**target):
    return demo_plan(target=TargetPlan(type="gwlb", **target))


def fleet_plan(count: int = 3, target: str = "eni", beacon: bool = True):
    base = demo_plan()
    return demo_plan(sensor=base.sensor.model_copy(update={"count": count}), target=TargetPlan(type=target),
                     test_beacon=base.test_beacon if beacon else TestBeaconPlan(enabled=False))


def _name(tags) -> str:
    return next((t["Value"] for t in tags or () if t["Key"] == "Name"), "-")


def elb_tags(sandbox, arns: list[str]) -> dict[str, list[dict]]:
    out = {}
    for start in range(0, len(arns), 20):
        for d in elb(sandbox).describe_tags(ResourceArns=arns[start:start + 20])["TagDescriptions"]:
            out[d["ResourceArn"]] = d.get("Tags", [])
    return out


def load_balancing(sandbox) -> Counter:
    """Load balancers, target groups, listeners, endpoint services and endpoints, counted, without ids."""
    client, c = elb(sandbox), ec2(sandbox)
    names = {i["InstanceId"]: _name(i.get("Tags")) for r in c.describe_instances()["Reservations"]
             for i in r["Instances"]}
    lbs = client.describe_load_balancers()["LoadBalancers"]
    groups = client.describe_target_groups()["TargetGroups"]
    tags = elb_tags(sandbox, [lb["LoadBalancerArn"] for lb in lbs] + [g["TargetGroupArn"] for g in groups])
    items: Counter = Counter()
    lb_names = {}
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        lb_names[arn] = _name(tags[arn])
        cross = {a["Key"]: a["Value"] for a in client.describe_load_balancer_attributes(
            LoadBalancerArn=arn)["Attributes"]}.get("load_balancing.cross_zone.enabled")
        items[("lb", lb_names[arn], lb["Type"], lb.get("Scheme"), cross)] += 1
    tg_names = {g["TargetGroupArn"]: _name(tags[g["TargetGroupArn"]]) for g in groups}
    for g in groups:
        health = client.describe_target_health(TargetGroupArn=g["TargetGroupArn"])["TargetHealthDescriptions"]
        registered = tuple(sorted(names.get(d["Target"]["Id"], d["Target"]["Id"]) for d in health
                                  if d["TargetHealth"].get("State") != "draining"))
        items[("tg", tg_names[g["TargetGroupArn"]], g["Protocol"], g["Port"], g.get("HealthCheckPort"),
               registered)] += 1
    for lb in lbs:
        for li in client.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            forwards = tuple(tg_names.get(a.get("TargetGroupArn"), "?") for a in li["DefaultActions"])
            items[("listener", lb_names[lb["LoadBalancerArn"]], li.get("Protocol") or None, li.get("Port"),
                   forwards)] += 1
    for s in c.describe_vpc_endpoint_service_configurations()["ServiceConfigurations"]:
        if s.get("ServiceState") not in ("Deleted", "Deleting"):
            items[("endpoint-service", _name(s.get("Tags")), s.get("AcceptanceRequired"))] += 1
    for e in c.describe_vpc_endpoints()["VpcEndpoints"]:
        if e.get("State", "").lower() not in ("deleted", "deleting"):
            items[("endpoint", _name(e.get("Tags")), e.get("VpcEndpointType"))] += 1
    return items


def everything(sandbox) -> Counter:
    return inventory(sandbox) + load_balancing(sandbox)


def setup_tagged_elb(sandbox, setup: str) -> dict[str, list[dict]]:
    """ARN -> tags of every load balancer and target group (to check each of ours carries the setup tag)."""
    client = elb(sandbox)
    arns = ([lb["LoadBalancerArn"] for lb in client.describe_load_balancers()["LoadBalancers"]]
            + [g["TargetGroupArn"] for g in client.describe_target_groups()["TargetGroups"]])
    return elb_tags(sandbox, arns)


def demo_subnet(sandbox, name: str = "demo-public-a") -> dict:
    return ec2(sandbox).describe_subnets(Filters=[{"Name": "tag:Name", "Values": [name]}])["Subnets"][0]


def other_vpc_subnet(sandbox, cidr: str | None = None) -> dict:
    """A subnet in demo-public-a's zone of another VPC, peered with nothing: the default VPC's, or a new VPC
    of ``cidr``."""
    c = ec2(sandbox)
    zone = demo_subnet(sandbox)["AvailabilityZone"]
    if cidr is None:
        vpc = c.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
        return c.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                           {"Name": "availability-zone", "Values": [zone]}])["Subnets"][0]
    vpc = c.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    return c.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]


def target_group_of(sandbox, load_balancer_arn: str) -> str:
    """The target group the load balancer's (first) listener forwards to."""
    listener = elb(sandbox).describe_listeners(LoadBalancerArn=load_balancer_arn)["Listeners"][0]
    return listener["DefaultActions"][0]["TargetGroupArn"]


def registered(sandbox, group_arn: str) -> list[str]:
    """The instances registered in a target group (not draining)."""
    health = elb(sandbox).describe_target_health(TargetGroupArn=group_arn)["TargetHealthDescriptions"]
    return sorted(d["Target"]["Id"] for d in health if d["TargetHealth"].get("State") != "draining")


def stickiness(sandbox, group_name: str) -> tuple[str | None, str | None]:
    """(stickiness.enabled, stickiness.type) of the setup's target group whose Name tag is ``group_name``."""
    client = elb(sandbox)
    arns = [g["TargetGroupArn"] for g in client.describe_target_groups()["TargetGroups"]]
    [arn] = [a for a, tags in elb_tags(sandbox, arns).items()
             if _name(tags) == group_name and any(t["Key"] == SETUP_TAG for t in tags)]
    attrs = {a["Key"]: a["Value"] for a in client.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]}
    return attrs.get("stickiness.enabled"), attrs.get("stickiness.type")


def lookalike_nlb(sandbox) -> None:
    """Someone else's NLB and target group, named like ours (Name tags) but without the setup tag."""
    subnet = demo_subnet(sandbox)
    client = elb(sandbox)
    lb = client.create_load_balancer(Name="zeek-lookalike", Type="network", Scheme="internal",
                                     Subnets=[subnet["SubnetId"]],
                                     Tags=[{"Key": "Name", "Value": "vpc-mirror/demo/lb"}])["LoadBalancers"][0]
    group = client.create_target_group(Name="zeek-lookalike", Protocol="UDP", Port=4789, VpcId=subnet["VpcId"],
                                       TargetType="instance",
                                       Tags=[{"Key": "Name", "Value": "vpc-mirror/demo/lb/target-group"}])
    client.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="UDP", Port=4789,
                           DefaultActions=[{"Type": "forward",
                                            "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}])


def users_nlb(sandbox, listener: bool = True, subnet: dict | None = None) -> str:
    """An NLB of the user's own (untagged), with a UDP 4789 listener to an instance target group, in ``subnet``
    (demo-public-a); its ARN."""
    subnet = subnet or demo_subnet(sandbox)
    client = elb(sandbox)
    lb = client.create_load_balancer(Name="users-zeek", Type="network", Scheme="internal",
                                     Subnets=[subnet["SubnetId"]])["LoadBalancers"][0]
    group = client.create_target_group(Name="users-zeek", Protocol="UDP", Port=4789, VpcId=subnet["VpcId"],
                                       TargetType="instance", HealthCheckProtocol="TCP", HealthCheckPort="22")
    if listener:
        client.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="UDP", Port=4789,
                               DefaultActions=[{"Type": "forward",
                                                "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}])
    return lb["LoadBalancerArn"]


def more_sources(sandbox, count: int, subnet: dict | None = None, prefix: str = "extra") -> list[str]:
    """``count`` more supported instances (m5.large) in ``subnet`` (the demo's first), named ``prefix-N``; their
    ``name:`` refs."""
    c = ec2(sandbox)
    subnet = subnet or demo_subnet(sandbox)
    image = c.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-1"]}])[
        "Reservations"][0]["Instances"][0]["ImageId"]
    refs = []
    for n in range(1, count + 1):
        c.run_instances(ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1,
                        SubnetId=subnet["SubnetId"],
                        TagSpecifications=[{"ResourceType": "instance",
                                            "Tags": [{"Key": "Name", "Value": f"{prefix}-{n}"}]}])
        refs.append(f"name:{prefix}-{n}")
    return refs


def users_gwlb_endpoint(sandbox, lb_subnet: dict | None = None) -> str:
    """A Gateway Load Balancer of the user's own (untagged) in ``lb_subnet`` (demo-public-a) with a GENEVE
    instance target group, its endpoint service and an endpoint in the demo VPC; the endpoint's id."""
    subnet = demo_subnet(sandbox)
    lb_subnet = lb_subnet or subnet
    client, c = elb(sandbox), ec2(sandbox)
    lb = client.create_load_balancer(Name="users-gwlb", Type="gateway",
                                     Subnets=[lb_subnet["SubnetId"]])["LoadBalancers"][0]
    group = client.create_target_group(Name="users-gwlb", Protocol="GENEVE", Port=6081, VpcId=lb_subnet["VpcId"],
                                       TargetType="instance", HealthCheckProtocol="TCP", HealthCheckPort="22")
    client.create_listener(LoadBalancerArn=lb["LoadBalancerArn"],
                           DefaultActions=[{"Type": "forward",
                                            "TargetGroupArn": group["TargetGroups"][0]["TargetGroupArn"]}])
    service = c.create_vpc_endpoint_service_configuration(GatewayLoadBalancerArns=[lb["LoadBalancerArn"]],
                                                          AcceptanceRequired=False)["ServiceConfiguration"]
    return c.create_vpc_endpoint(VpcEndpointType="GatewayLoadBalancer", VpcId=subnet["VpcId"],
                                 ServiceName=service["ServiceName"],
                                 SubnetIds=[subnet["SubnetId"]])["VpcEndpoint"]["VpcEndpointId"]
