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
from tests.test_apply import CREATE_ANSWERS

UNMIRRORED_BEACON = {"test_beacon": TestBeaconPlan(enabled=True, mirror=False)}
#: a created VPC (IPv6, an internet gateway) whose test beacon is mirrored
CREATED_VPC_BEACON = {**CREATE_ANSWERS, "test_beacon": TestBeaconPlan(enabled=True)}


@pytest.mark.parametrize("answers", [{}, UNMIRRORED_BEACON, CREATE_ANSWERS, CREATED_VPC_BEACON],
                         ids=["demo", "unmirrored-beacon", "created-vpc-dedicated-enis", "created-vpc-beacon"])
def test_template_passes_cfn_lint(sandbox, tmp_path, answers):
    ctx, actions = planned(sandbox, demo_plan(**answers))
    path = tmp_path / "setup.yaml"
    path.write_text(cloudformation.render(ctx, actions))
    result = subprocess.run(["cfn-lint", "--regions", "us-east-1", "--", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


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
