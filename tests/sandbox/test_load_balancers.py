"""Elastic Load Balancing and Gateway Load Balancer endpoints, as a mirror target behind them needs them."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.test_mirroring import code

TAGS = [{"Key": "vpc-mirror:setup", "Value": "demo"}]
ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:"


def tags_of(elbv2: Any, arn: str) -> list[dict[str, str]]:
    return elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]


@pytest.fixture
def nlb_stack(elbv2, sandbox) -> dict[str, str]:
    """An internal NLB with a UDP 4789 listener forwarding to a UDP target group, all tagged, as the plan makes it."""
    seed = sandbox.seed_info
    lb = elbv2.create_load_balancer(Name="sensors", Type="network", Scheme="internal",
                                    Subnets=list(seed.subnet_ids), Tags=TAGS)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="sensors", Protocol="UDP", Port=4789, VpcId=seed.vpc_id,
                                      TargetType="instance", HealthCheckProtocol="TCP", HealthCheckPort="22",
                                      Tags=TAGS)["TargetGroups"][0]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="UDP", Port=4789, Tags=TAGS,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
                                     )["Listeners"][0]
    return {"lb": lb["LoadBalancerArn"], "group": group["TargetGroupArn"], "listener": listener["ListenerArn"]}


@pytest.fixture
def gwlb_stack(elbv2, ec2, sandbox) -> dict[str, str]:
    """A GWLB, a GENEVE 6081 target group, a listener without protocol, an endpoint service and an endpoint."""
    seed = sandbox.seed_info
    lb = elbv2.create_load_balancer(Name="sensors-gw", Type="gateway", Subnets=[seed.subnet_ids[1]],
                                    Tags=TAGS)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="sensors-gw", Protocol="GENEVE", Port=6081, VpcId=seed.vpc_id,
                                      TargetType="instance", HealthCheckProtocol="TCP", HealthCheckPort="22",
                                      Tags=TAGS)["TargetGroups"][0]
    listener = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Tags=TAGS,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
                                     )["Listeners"][0]
    service = ec2.create_vpc_endpoint_service_configuration(
        GatewayLoadBalancerArns=[lb["LoadBalancerArn"]], AcceptanceRequired=False,
        TagSpecifications=[{"ResourceType": "vpc-endpoint-service", "Tags": TAGS}],
    )["ServiceConfiguration"]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="GatewayLoadBalancer", VpcId=seed.vpc_id, ServiceName=service["ServiceName"],
        SubnetIds=[seed.subnet_ids[1]], TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": TAGS}],
    )["VpcEndpoint"]
    return {"lb": lb["LoadBalancerArn"], "group": group["TargetGroupArn"], "listener": listener["ListenerArn"],
            "service": service["ServiceId"], "endpoint": endpoint["VpcEndpointId"]}


def test_nlb_and_gwlb_arns_name_their_type(nlb_stack, gwlb_stack):
    assert re.fullmatch(ARN + r"loadbalancer/net/sensors/[0-9a-f]{16}", nlb_stack["lb"])
    assert re.fullmatch(ARN + r"listener/net/sensors/[0-9a-f]{16}/[0-9a-f]{16}", nlb_stack["listener"])
    assert re.fullmatch(ARN + r"loadbalancer/gwy/sensors-gw/[0-9a-f]{16}", gwlb_stack["lb"])
    assert re.fullmatch(ARN + r"listener/gwy/sensors-gw/[0-9a-f]{16}/[0-9a-f]{16}", gwlb_stack["listener"])


def test_listeners_have_the_fields_of_their_load_balancer_type(elbv2, nlb_stack, gwlb_stack):
    (udp,) = elbv2.describe_listeners(LoadBalancerArn=nlb_stack["lb"])["Listeners"]
    assert (udp["Protocol"], udp["Port"]) == ("UDP", 4789) and "SslPolicy" not in udp
    assert udp["DefaultActions"] == [{"Type": "forward", "TargetGroupArn": nlb_stack["group"]}]
    (gateway,) = elbv2.describe_listeners(LoadBalancerArn=gwlb_stack["lb"])["Listeners"]
    assert not {"Protocol", "Port", "SslPolicy"} & set(gateway)
    (geneve,) = elbv2.describe_target_groups(TargetGroupArns=[gwlb_stack["group"]])["TargetGroups"]
    assert (geneve["Protocol"], geneve["Port"], geneve["HealthCheckPort"]) == ("GENEVE", 6081, "22")


def test_everything_carries_its_tags(elbv2, ec2, nlb_stack, gwlb_stack):
    for arn in [*nlb_stack.values(), gwlb_stack["lb"], gwlb_stack["group"], gwlb_stack["listener"]]:
        assert tags_of(elbv2, arn) == TAGS, arn
    (service,) = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[gwlb_stack["service"]])[
        "ServiceConfigurations"]
    (endpoint,) = ec2.describe_vpc_endpoints(VpcEndpointIds=[gwlb_stack["endpoint"]])["VpcEndpoints"]
    assert service["Tags"] == TAGS and endpoint["Tags"] == TAGS


def test_cross_zone_attribute_and_target_health(elbv2, sandbox, nlb_stack):
    elbv2.modify_load_balancer_attributes(
        LoadBalancerArn=nlb_stack["lb"], Attributes=[{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}])
    attributes = elbv2.describe_load_balancer_attributes(LoadBalancerArn=nlb_stack["lb"])["Attributes"]
    assert {"Key": "load_balancing.cross_zone.enabled", "Value": "true"} in attributes
    sensor = sandbox.seed_info.instances["api-1"]
    elbv2.register_targets(TargetGroupArn=nlb_stack["group"], Targets=[{"Id": sensor}])
    (health,) = elbv2.describe_target_health(TargetGroupArn=nlb_stack["group"])["TargetHealthDescriptions"]
    assert health["Target"] == {"Id": sensor, "Port": 4789} and health["HealthCheckPort"] == "22"


def test_a_repeated_create_with_the_same_settings_answers_the_first(elbv2, sandbox, nlb_stack):
    seed = sandbox.seed_info
    again = elbv2.create_load_balancer(Name="sensors", Type="network", Scheme="internal",
                                       Subnets=list(reversed(seed.subnet_ids)), Tags=TAGS)["LoadBalancers"][0]
    group = elbv2.create_target_group(Name="sensors", Protocol="UDP", Port=4789, VpcId=seed.vpc_id,
                                      TargetType="instance", Tags=TAGS)["TargetGroups"][0]
    listener = elbv2.create_listener(LoadBalancerArn=nlb_stack["lb"], Protocol="UDP", Port=4789,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": nlb_stack["group"]}],
                                     )["Listeners"][0]
    assert (again["LoadBalancerArn"], group["TargetGroupArn"], listener["ListenerArn"]) == (
        nlb_stack["lb"], nlb_stack["group"], nlb_stack["listener"])
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1
    assert len(elbv2.describe_target_groups()["TargetGroups"]) == 1
    assert len(elbv2.describe_listeners(LoadBalancerArn=nlb_stack["lb"])["Listeners"]) == 1


def test_the_same_name_with_other_settings_is_refused(elbv2, sandbox, nlb_stack):
    seed = sandbox.seed_info
    attempts = [
        ("DuplicateLoadBalancerName", elbv2.create_load_balancer,
         {"Name": "sensors", "Type": "network", "Scheme": "internal", "Subnets": [seed.subnet_ids[0]]}),
        ("DuplicateTargetGroupName", elbv2.create_target_group,
         {"Name": "sensors", "Protocol": "UDP", "Port": 4790, "VpcId": seed.vpc_id}),
        ("DuplicateListener", elbv2.create_listener,
         {"LoadBalancerArn": nlb_stack["lb"], "Protocol": "TCP", "Port": 4789,
          "DefaultActions": [{"Type": "forward", "TargetGroupArn": nlb_stack["group"]}]}),
    ]
    for expected, call, params in attempts:
        with pytest.raises(ClientError) as excinfo:
            call(**params)
        assert code(excinfo) == expected


def test_a_target_group_in_use_by_a_listener_is_not_deleted(elbv2, nlb_stack):
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_target_group(TargetGroupArn=nlb_stack["group"])
    assert code(excinfo) == "ResourceInUse"
    elbv2.delete_load_balancer(LoadBalancerArn=nlb_stack["lb"])
    elbv2.delete_target_group(TargetGroupArn=nlb_stack["group"])
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
    assert elbv2.describe_target_groups()["TargetGroups"] == []


def test_teardown_order_endpoint_then_service_then_load_balancer(ec2, elbv2, gwlb_stack):
    service = gwlb_stack["service"]
    (failure,) = ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service])["Unsuccessful"]
    assert failure["ResourceId"] == service and failure["Error"]["Code"] == "ExistingVpcEndpointConnections"
    assert ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service])["ServiceConfigurations"]
    with pytest.raises(ClientError) as excinfo:
        elbv2.delete_load_balancer(LoadBalancerArn=gwlb_stack["lb"])
    assert code(excinfo) == "ResourceInUse"

    assert ec2.delete_vpc_endpoints(VpcEndpointIds=[gwlb_stack["endpoint"]])["Unsuccessful"] == []
    assert ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[service])["Unsuccessful"] == []
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service])
    assert code(excinfo) == "InvalidVpcEndpointServiceId.NotFound"
    elbv2.delete_load_balancer(LoadBalancerArn=gwlb_stack["lb"])
    elbv2.delete_target_group(TargetGroupArn=gwlb_stack["group"])
    assert elbv2.describe_load_balancers()["LoadBalancers"] == []
