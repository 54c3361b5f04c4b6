"""What inspect says before any change: a source listed twice, a source the sensor cannot be reached from,
an instance type the region does not offer."""

from __future__ import annotations

import pytest

from vpc_mirror.models.plan import SensorPlan, SourcesPlan, TestBeaconPlan
from vpc_mirror.steps.engine import Refused
from tests.awsfacts import Recorder, demo_plan, ec2, inventory, run
from tests.exporting import planned
from tests.test_apply import CREATE_ANSWERS

NO_BEACON = {"test_beacon": TestBeaconPlan(enabled=False)}


def _instance_id(sandbox, name: str) -> str:
    found = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])["Reservations"]
    return found[0]["Instances"][0]["InstanceId"]


def _refused(sandbox, state_dir, plan) -> str:
    """The reasons apply gives, after checking it changed nothing."""
    before, recorder = inventory(sandbox), Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, plan=plan, recorder=recorder)
    assert recorder.mutating_calls() == [] and inventory(sandbox) == before
    return "\n".join(err.value.reasons)


def test_an_instance_by_id_and_by_name_is_mirrored_once_and_the_plan_says_so(sandbox):
    web = _instance_id(sandbox, "web-1")
    ctx, actions = planned(sandbox, demo_plan(sources=SourcesPlan(instances=["name:web-1", web, "name:api-1"]),
                                              **NO_BEACON))
    sessions = [a for a in actions if a.kind == "mirror-session"]
    assert sorted(a.key for a in sessions) == sorted([f"session/{web}", f"session/{_instance_id(sandbox, 'api-1')}"])
    check = next(a for a in actions if a.key == f"source/{web}")
    assert f"listed 2 times, as name:web-1 and {web}: mirrored once" in check.summary


def _far_instance(sandbox) -> tuple[str, str]:
    """An instance (far-1) in a VPC of its own; returns (its VPC, the instance id)."""
    c = ec2(sandbox)
    vpc = c.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = c.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    image = c.describe_images()["Images"][0]["ImageId"]
    instance = c.run_instances(ImageId=image, InstanceType="m5.large", MinCount=1, MaxCount=1, SubnetId=subnet,
                               TagSpecifications=[{"ResourceType": "instance",
                                                   "Tags": [{"Key": "Name", "Value": "far-1"}]}])
    return vpc, instance["Instances"][0]["InstanceId"]


def test_a_source_in_an_unconnected_vpc_is_refused_until_they_are_peered(sandbox, state_dir):
    far_vpc, far = _far_instance(sandbox)
    plan = demo_plan(sources=SourcesPlan(instances=["name:web-1", "name:far-1"]), **NO_BEACON)
    reasons = _refused(sandbox, state_dir, plan)
    assert f"sources.instances: {far} (far-1, m5.large) is in {far_vpc}" in reasons
    assert "no VPC peering connection or transit gateway connects" in reasons and f"peer {far_vpc}" in reasons
    assert "web-1" not in reasons

    c = ec2(sandbox)
    demo_vpc = c.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["demo-vpc"]}])["Vpcs"][0]["VpcId"]
    peering = c.create_vpc_peering_connection(VpcId=demo_vpc, PeerVpcId=far_vpc)["VpcPeeringConnection"]
    c.accept_vpc_peering_connection(VpcPeeringConnectionId=peering["VpcPeeringConnectionId"])
    _, actions = planned(sandbox, plan)
    assert f"session/{far}" in {a.key for a in actions}


def test_a_source_outside_a_vpc_the_setup_creates_is_flagged_on_the_review(sandbox):
    """A VPC that does not exist yet cannot be peered: the plan goes ahead, and its review line says what to do."""
    _, actions = planned(sandbox, demo_plan(**CREATE_ANSWERS))
    checks = [a.summary for a in actions if a.kind == "source"]
    assert checks and all("is not connected to the VPC this setup creates; peer them" in s for s in checks)


@pytest.mark.parametrize(("answers", "field", "typed", "nearest"), [
    ({"sensor": SensorPlan(instance_type="zz9.huge", key_name="demo-key")}, "sensor.instance_type", "zz9.huge",
     "t3a.xlarge, the default"),
    ({"sensor": SensorPlan(instance_type="t3a.xlrage", key_name="demo-key")}, "sensor.instance_type",
     "t3a.xlrage", "t3a.xlarge"),
    ({"test_beacon": TestBeaconPlan(enabled=True, instance_type="t3.mirco")}, "test_beacon.instance_type",
     "t3.mirco", "t3.micro"),
], ids=["made-up", "sensor-typo", "beacon-typo"])
def test_an_instance_type_the_region_does_not_offer_is_refused(sandbox, state_dir, answers, field, typed, nearest):
    reasons = _refused(sandbox, state_dir, demo_plan(**answers))
    assert f"{field}: {typed} is not an instance type us-east-1 offers; pick one it does, e.g. " in reasons
    assert nearest in reasons.split("e.g. ", 1)[1]
