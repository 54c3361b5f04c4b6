"""The ship step in a setup's state, and RITA's internal subnets from the setup's VPC (sandbox, stand-ins)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from vpc_mirror.models.plan import TestBeaconPlan, VpcPlan
from vpc_mirror.steps.ec2_describe import VpcUnreadable, vpc_blocks
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.ship import record_result
from vpc_mirror.steps.state_store import StateStore

from tests.awsfacts import demo_plan, run


def test_rita_subnets_hold_the_vpcs_ipv4_and_ipv6_blocks_and_the_step_is_recorded(sandbox, state_dir):
    plan = demo_plan(vpc=VpcPlan(mode="create", cidr="10.77.0.0/16", ssh_from="203.0.113.9/32"),
                     test_beacon=TestBeaconPlan(enabled=False))
    run(sandbox, state_dir, plan=plan)
    store = StateStore(state_dir)
    ctx = open_context(plan, store, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        cidrs = vpc_blocks(ctx)
        record_result(ctx, {"sensor_id": "ip10770010__10770010", "hunter": "hunter.example.org"}, "done")
    finally:
        ctx.close()
    assert cidrs[0] == "10.77.0.0/16" and len(cidrs) == 2 and cidrs[1].endswith("::/56")
    saved = store.load(plan.setup)
    assert saved.steps["ship"].status == "done"
    assert saved.steps["ship"].facts["hunter"] == "hunter.example.org"
    assert saved.steps["session"].status == "done"  # the other steps are left as they were


def _ctx(describe_vpcs):
    """A stand-in context: a recorded VPC and an EC2 client answering DescribeVpcs with ``describe_vpcs``."""
    return SimpleNamespace(state=SimpleNamespace(resource=lambda name: SimpleNamespace(id="vpc-1")),
                           facts=lambda step: {}, aws=SimpleNamespace(ec2=SimpleNamespace(describe_vpcs=describe_vpcs)))


def test_only_associated_blocks_count_a_missing_state_too():
    vpc = {"CidrBlockAssociationSet": [{"CidrBlock": "10.0.0.0/16", "CidrBlockState": {"State": "associated"}},
                                       {"CidrBlock": "10.1.0.0/16", "CidrBlockState": {"State": "disassociating"}},
                                       {"CidrBlock": "10.2.0.0/16"}],
           "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18::/56",
                                            "Ipv6CidrBlockState": {"State": "associated"}},
                                           {"Ipv6CidrBlock": "2600:1f19::/56"}]}
    assert vpc_blocks(_ctx(lambda **kw: {"Vpcs": [vpc]})) == ["10.0.0.0/16", "2600:1f18::/56"]


def test_a_denied_describe_vpcs_is_a_message_naming_the_permission():
    def denied(**kw):
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "DescribeVpcs")

    with pytest.raises(VpcUnreadable, match="ec2:DescribeVpcs") as caught:
        vpc_blocks(_ctx(denied))
    assert caught.value.code == 1 and "vpc-1" in str(caught.value)
