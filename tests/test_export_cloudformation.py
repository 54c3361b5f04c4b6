"""The CloudFormation export: valid for cfn-lint, and the same resources as the plan."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
import yaml

from vpc_mirror.models.plan import TestBeaconPlan
from vpc_mirror.steps.exports import NotExportable, cloudformation
from tests.awsfacts import demo_plan
from tests.exporting import planned
from tests.test_apply import CREATE_ANSWERS

#: CloudFormation cannot name an instance's primary ENI, so the demo without mirroring its beacon.
UNMIRRORED_BEACON = {"test_beacon": TestBeaconPlan(enabled=True, mirror=False)}


@pytest.mark.parametrize("answers", [UNMIRRORED_BEACON, CREATE_ANSWERS], ids=["demo", "created-vpc-dedicated-enis"])
def test_template_passes_cfn_lint(sandbox, tmp_path, answers):
    ctx, actions = planned(sandbox, demo_plan(**answers))
    path = tmp_path / "setup.yaml"
    path.write_text(cloudformation.render(ctx, actions))
    result = subprocess.run(["cfn-lint", "--regions", "us-east-1", "--", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mirrored_beacon_is_refused_with_what_to_do_instead(sandbox):
    ctx, actions = planned(sandbox, demo_plan())
    with pytest.raises(NotExportable, match="primary network interface of test-beacon.*terraform or aws-cli"):
        cloudformation.render(ctx, actions)


def test_template_has_the_plans_resources_and_parameters_for_what_exists(sandbox):
    ctx, actions = planned(sandbox, demo_plan(**UNMIRRORED_BEACON))
    template = yaml.safe_load(cloudformation.render(ctx, actions))
    types = Counter(r["Type"] for r in template["Resources"].values())
    sources = ctx.facts("sources")["sources"]
    assert types["AWS::EC2::TrafficMirrorSession"] == len(sources) == 3
    assert types["AWS::EC2::TrafficMirrorTarget"] == types["AWS::EC2::TrafficMirrorFilter"] == 1
    assert types["AWS::EC2::TrafficMirrorFilterRule"] == 4
    assert types["AWS::EC2::Instance"] == 2 and types["AWS::EC2::NetworkInterfaceAttachment"] == 1
    # The reused VPC, subnet and source ENIs are parameters defaulting to the ids the plan found.
    defaults = {p["Default"] for p in template["Parameters"].values()}
    assert {s["primary_eni"] for s in sources} | {ctx.facts("vpc")["vpc_id"], ctx.facts("vpc")["subnet_id"]} \
        == defaults
    sessions = [r["Properties"] for r in template["Resources"].values()
                if r["Type"] == "AWS::EC2::TrafficMirrorSession"]
    assert {s["NetworkInterfaceId"]["Ref"] for s in sessions} <= set(template["Parameters"])
    assert all(s["VirtualNetworkId"] == 4242 and s["SessionNumber"] == 1 for s in sessions)
    filt = next(r for r in template["Resources"].values() if r["Type"] == "AWS::EC2::TrafficMirrorFilter")
    assert filt["Properties"]["NetworkServices"] == ["amazon-dns"]
    assert {"Key": "vpc-mirror:setup", "Value": "demo"} in filt["Properties"]["Tags"]
