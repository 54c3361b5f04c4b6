"""The CloudFormation export: valid for cfn-lint, and the same resources as the plan."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
import yaml

from vpc_mirror.models.plan import TestBeaconPlan
from vpc_mirror.steps.exports import cloudformation
from tests.awsfacts import demo_plan
from tests.exporting import planned
from tests.scale_answers import fleet_plan, gwlb_plan, nlb_plan, users_nlb
from tests.test_apply import CREATE_ANSWERS

UNMIRRORED_BEACON = {"test_beacon": TestBeaconPlan(enabled=True, mirror=False)}
#: a created VPC (IPv6, an internet gateway) whose test beacon is mirrored
CREATED_VPC_BEACON = {**CREATE_ANSWERS, "test_beacon": TestBeaconPlan(enabled=True)}


PLANS = {"demo": demo_plan, "unmirrored-beacon": lambda: demo_plan(**UNMIRRORED_BEACON),
         "created-vpc-dedicated-enis": lambda: demo_plan(**CREATE_ANSWERS),
         "created-vpc-beacon": lambda: demo_plan(**CREATED_VPC_BEACON), "gwlb": gwlb_plan}


def nlb_fleet():
    """3 sensors behind an NLB, cross-zone (tests/test_export_sync.py lints it, with --with-sync)."""
    return fleet_plan(3, "nlb").model_copy(update={"target": nlb_plan(cross_zone=True).target})


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_template_passes_cfn_lint(sandbox, tmp_path, plan):
    _lint(tmp_path, cloudformation.render(*planned(sandbox, plan())))


def _lint(tmp_path, template: str) -> None:
    path = tmp_path / "setup.yaml"
    path.write_text(template)
    result = subprocess.run(["cfn-lint", "--regions", "us-east-1", "--", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _of_type(resources: dict, rtype: str) -> dict[str, dict]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == rtype}


def test_nlb_fleet_is_a_load_balancer_listener_and_target_group_of_the_sensors(sandbox):
    ctx, actions = planned(sandbox, nlb_fleet())
    resources = yaml.safe_load(cloudformation.render(ctx, actions))["Resources"]
    (lb,) = _of_type(resources, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert (lb["Type"], lb["Scheme"], lb["Subnets"]) == ("network", "internal", [{"Ref": "Subnet"}])
    assert lb["LoadBalancerAttributes"] == [{"Key": "load_balancing.cross_zone.enabled", "Value": "true"}]
    (group,) = _of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert (group["Protocol"], group["Port"], group["HealthCheckProtocol"], group["HealthCheckPort"]) \
        == ("UDP", 4789, "TCP", "22")
    assert group["Targets"] == [{"Id": {"Ref": s}} for s in ("Sensor", "Sensor2", "Sensor3")]
    (listener,) = _of_type(resources, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert listener == {"LoadBalancerArn": {"Ref": "Lb"}, "Protocol": "UDP", "Port": 4789,
                        "DefaultActions": [{"Type": "forward", "TargetGroupArn": {"Ref": "LbTargetGroup"}}]}
    (target,) = _of_type(resources, "AWS::EC2::TrafficMirrorTarget").values()
    assert target["NetworkLoadBalancerArn"] == {"Ref": "Lb"} and "NetworkInterfaceId" not in target
    # the load balancer sends to each sensor's primary interface: it carries the VXLAN group
    for sensor in ("Sensor", "Sensor2", "Sensor3"):
        assert {"Fn::GetAtt": ["VxlanSg", "GroupId"]} in resources[sensor]["Properties"]["NetworkInterfaces"][0][
            "GroupSet"]


def test_gwlb_target_is_an_endpoint_of_the_load_balancers_endpoint_service(sandbox):
    ctx, actions = planned(sandbox, gwlb_plan())
    resources = yaml.safe_load(cloudformation.render(ctx, actions))["Resources"]
    (service,) = _of_type(resources, "AWS::EC2::VPCEndpointService").values()
    assert service["GatewayLoadBalancerArns"] == [{"Ref": "Lb"}] and service["AcceptanceRequired"] is False
    (endpoint,) = _of_type(resources, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["VpcEndpointType"] == "GatewayLoadBalancer"
    assert endpoint["ServiceName"] == {"Fn::Join": ["", ["com.amazonaws.vpce.", {"Ref": "AWS::Region"}, ".",
                                                         {"Ref": "GwlbService"}]]}
    (group,) = _of_type(resources, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert (group["Protocol"], group["Port"], group["Targets"]) == ("GENEVE", 6081, [{"Id": {"Ref": "Sensor"}}])
    (target,) = _of_type(resources, "AWS::EC2::TrafficMirrorTarget").values()
    assert target["GatewayLoadBalancerEndpointId"] == {"Ref": "GwlbEndpoint"}


def test_existing_nlb_is_a_parameter_and_registering_the_sensor_is_left_to_the_user(sandbox, tmp_path):
    """CloudFormation has no resource that registers a target in an existing target group: an Output says so."""
    arn = users_nlb(sandbox)
    ctx, actions = planned(sandbox, nlb_plan(load_balancer_arn=arn))
    text = cloudformation.render(ctx, actions)
    _lint(tmp_path, text)
    template = yaml.safe_load(text)
    assert template["Parameters"]["Lb"]["Default"] == arn
    (target,) = _of_type(template["Resources"], "AWS::EC2::TrafficMirrorTarget").values()
    assert target["NetworkLoadBalancerArn"] == {"Ref": "Lb"}
    assert _of_type(template["Resources"], "AWS::ElasticLoadBalancingV2::LoadBalancer") == {}
    assert template["Parameters"]["LbTargetGroup"]["Default"].startswith("arn:aws:elasticloadbalancing:")
    (by_hand,) = template["Outputs"].values()
    assert "cannot register targets in an existing target group" in by_hand["Description"]
    assert by_hand["Value"] == {"Fn::Join": [" ", ["aws elbv2 register-targets --target-group-arn",
                                                   {"Ref": "LbTargetGroup"}, "--targets",
                                                   {"Fn::Join": ["", ["Id=", {"Ref": "Sensor"}]]}]]}


@pytest.mark.parametrize("answers", [{}, CREATED_VPC_BEACON], ids=["demo", "created-vpc"])
def test_mirrored_beacon_gets_a_declared_primary_interface_with_its_public_address(sandbox, answers):
    ctx, actions = planned(sandbox, demo_plan(**answers))
    resources = yaml.safe_load(cloudformation.render(ctx, actions))["Resources"]
    beacon = resources["TestBeacon"]["Properties"]
    assert beacon["NetworkInterfaces"] == [{"NetworkInterfaceId": {"Ref": "TestBeaconPrimaryEni"}, "DeviceIndex": "0"}]
    eni = resources["TestBeaconPrimaryEni"]
    assert eni["Type"] == "AWS::EC2::NetworkInterface"
    assert eni["Properties"]["SubnetId"] == {"Ref": "Subnet"} and eni["Properties"]["Tags"] == beacon["Tags"]
    assert resources["SessionTestBeacon"]["Properties"]["NetworkInterfaceId"] == {"Ref": "TestBeaconPrimaryEni"}
    # apply's launch gives the beacon a public IPv4 address; an existing interface gets it as an Elastic IP
    assert resources["TestBeaconPrimaryEniPublicIpAssociation"]["Properties"]["NetworkInterfaceId"] \
        == {"Ref": "TestBeaconPrimaryEni"}
    # the sensor's primary interface is named by nothing: it stays the instance's own
    assert "SubnetId" in resources["Sensor"]["Properties"]["NetworkInterfaces"][0]


def test_template_has_the_plans_resources_and_parameters_for_what_exists(sandbox):
    ctx, actions = planned(sandbox, demo_plan())
    template = yaml.safe_load(cloudformation.render(ctx, actions))
    types = Counter(r["Type"] for r in template["Resources"].values())
    sources = ctx.facts("sources")["sources"]
    assert types["AWS::EC2::TrafficMirrorSession"] == len(sources) + 1 == 4  # and the test beacon's
    assert types["AWS::EC2::TrafficMirrorTarget"] == types["AWS::EC2::TrafficMirrorFilter"] == 1
    assert types["AWS::EC2::TrafficMirrorFilterRule"] == 4
    assert types["AWS::EC2::Instance"] == 2 and types["AWS::EC2::NetworkInterfaceAttachment"] == 1
    assert types["AWS::EC2::NetworkInterface"] == 2  # the sensor's capture ENI, the beacon's primary one
    # The reused VPC, subnet and source ENIs are parameters defaulting to the ids the plan found.
    defaults = {p["Default"] for p in template["Parameters"].values()}
    assert {s["primary_eni"] for s in sources} | {ctx.facts("vpc")["vpc_id"], ctx.facts("vpc")["subnet_id"]} \
        == defaults
    sessions = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::EC2::TrafficMirrorSession"]
    assert {s["NetworkInterfaceId"]["Ref"] for s in sessions} == set(template["Parameters"]) - {"Vpc", "Subnet"} \
        | {"TestBeaconPrimaryEni"}
    assert all(s["VirtualNetworkId"] == 4242 and s["SessionNumber"] == 1 for s in sessions)
    filt = next(r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::TrafficMirrorFilter")
    assert filt["Properties"]["NetworkServices"] == ["amazon-dns"]
    assert {"Key": "vpc-mirror:setup", "Value": "demo"} in filt["Properties"]["Tags"]


@pytest.mark.parametrize("plan, kind", [(nlb_fleet, "source_ip"), (gwlb_plan, "source_ip_dest_ip")],
                         ids=["nlb", "gwlb"])
def test_target_group_keeps_each_flow_on_one_sensor(sandbox, tmp_path, plan, kind):
    ctx, actions = planned(sandbox, plan())
    text = cloudformation.render(ctx, actions)
    _lint(tmp_path, text)
    (group,) = _of_type(yaml.safe_load(text)["Resources"], "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert group["TargetGroupAttributes"] == [{"Key": "stickiness.enabled", "Value": "true"},
                                              {"Key": "stickiness.type", "Value": kind}]
