"""sources.select: instances chosen by tag, subnet or VPC, against the sandbox; the unmirrorable ones skipped."""

from __future__ import annotations

import asyncio

import pytest
from vpc_mirror.models.plan import SourcesPlan
from vpc_mirror.steps.engine import Refused
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.sources import SourcesStep
from vpc_mirror.steps.vpc import VpcStep

from tests.awsfacts import demo_plan, ec2, run
from tests.test_sync import launch, mirrored, sync

XEN = "t2.micro is a Xen (non-Nitro) type outside AWS's supported list; use a Nitro type"
EXCLUDED = "m6i.large: AWS lists the Nitro family m6i as not supported for traffic mirroring"


def instance(sandbox, name: str) -> dict:
    found = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": [name]}])
    return found["Reservations"][0]["Instances"][0]


def inspect(sandbox, **sources) -> dict:
    """The sources step's facts for these answers, as the review would show them (nothing is created)."""
    ctx = open_context(demo_plan(sources=SourcesPlan(**sources)), None, endpoint_url=sandbox.endpoint_url,
                       region=sandbox.region)
    try:
        asyncio.run(VpcStep().inspect(ctx))
        asyncio.run(SourcesStep().inspect(ctx))
        return ctx.facts("sources")
    finally:
        ctx.close()


def test_select_by_vpc_mirrors_the_supported_skips_the_rest_and_never_the_setups_own(sandbox, state_dir):
    vpc = instance(sandbox, "web-1")["VpcId"]
    plan = demo_plan(sources=SourcesPlan(select=[f"vpc:{vpc}"]))
    ctx = run(sandbox, state_dir, plan=plan)
    facts = ctx.facts("sources")
    assert {s["name"] for s in facts["sources"]} == {"web-1", "api-1", "batch-1"}
    assert all(s["selected"] and s["refs"] == [f"vpc:{vpc}"] for s in facts["sources"])
    assert {s["name"]: s["reason"] for s in facts["skipped"]} == {"legacy-1": XEN, "db-1": EXCLUDED}
    review = [a.summary for a in SourcesStep().plan(ctx)]
    legacy = instance(sandbox, "legacy-1")["InstanceId"]
    assert f"skip {legacy} (legacy-1, t2.micro), selected by vpc:{vpc}: {XEN}" in review
    # The sensor and the test beacon now run in that VPC too: a sync selects neither (the beacon keeps its one
    # session as the test beacon).
    result = sync(sandbox, state_dir, plan=plan)
    assert not result.changed
    beacon, sensor = ctx.state.resource("test-beacon").id, ctx.state.resource("sensor").id
    assert mirrored(sandbox) == {instance(sandbox, n)["InstanceId"]: 1 for n in ("web-1", "api-1", "batch-1")} | \
        {beacon: 1}
    assert sensor not in {s.instance_id for s in result.skipped}


def test_tag_selectors_take_ec2_wildcards_and_any_selector_matches(sandbox):
    prod, preview, dev = (launch(sandbox, 1, "m5.large", env=env)[0] for env in ("prod", "preview", "dev"))
    facts = inspect(sandbox, select=["tag:env=pr*", "tag:Name=api-?"])
    chosen = {s["instance_id"]: s["refs"] for s in facts["sources"]}
    api = instance(sandbox, "api-1")["InstanceId"]
    assert chosen == {prod: ["tag:env=pr*"], preview: ["tag:env=pr*"], api: ["tag:Name=api-?"]}
    assert dev not in chosen and facts["skipped"] == []


def test_a_listed_and_selected_instance_is_mirrored_once_and_a_listed_unsupported_one_still_refused(sandbox):
    web = instance(sandbox, "web-1")
    facts = inspect(sandbox, instances=["name:web-1"], select=[f"subnet:{web['SubnetId']}"])
    by_name = {s["name"]: s for s in facts["sources"]}
    assert set(by_name) == {"web-1"}  # legacy-1 shares the subnet and is skipped
    assert by_name["web-1"]["selected"] is False and by_name["web-1"]["refs"] == ["name:web-1"]
    assert [s["name"] for s in facts["skipped"]] == ["legacy-1"]

    with pytest.raises(Refused) as err:
        inspect(sandbox, instances=["name:legacy-1"], select=[f"subnet:{web['SubnetId']}"])
    assert any("legacy-1" in r and "cannot be mirrored" in r for r in err.value.reasons)


def test_a_selected_instance_the_sensor_cannot_be_reached_from_is_skipped_with_why(sandbox):
    c = ec2(sandbox)
    default = c.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnet = c.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [default]}])["Subnets"][0]["SubnetId"]
    far = c.run_instances(ImageId=instance(sandbox, "web-1")["ImageId"], InstanceType="m5.large", MinCount=1,
                          MaxCount=1, SubnetId=subnet)["Instances"][0]["InstanceId"]
    facts = inspect(sandbox, instances=["name:web-1"], select=[f"vpc:{default}"])
    assert [s["name"] for s in facts["sources"]] == ["web-1"]
    [skipped] = facts["skipped"]
    assert skipped["instance_id"] == far
    assert f"it is in {default} and the sensor in" in skipped["reason"] and "transit gateway" in skipped["reason"]
