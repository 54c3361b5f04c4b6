"""The ship step in a setup's state, and RITA's internal subnets from the setup's VPC (sandbox)."""

from __future__ import annotations

import asyncio

from vpc_mirror.models.plan import TestBeaconPlan, VpcPlan
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.ship import record_result, vpc_cidrs
from vpc_mirror.steps.state_store import StateStore

from tests.awsfacts import demo_plan, run


def test_rita_subnets_hold_the_vpcs_ipv4_and_ipv6_blocks_and_the_step_is_recorded(sandbox, state_dir):
    plan = demo_plan(vpc=VpcPlan(mode="create", cidr="10.77.0.0/16", ssh_from="203.0.113.9/32"),
                     test_beacon=TestBeaconPlan(enabled=False))
    run(sandbox, state_dir, plan=plan)
    store = StateStore(state_dir)
    ctx = open_context(plan, store, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        cidrs = asyncio.run(vpc_cidrs(ctx))
        record_result(ctx, {"sensor_id": "ip10770010__10770010", "hunter": "hunter.example.org"}, "done")
    finally:
        ctx.close()
    assert cidrs[0] == "10.77.0.0/16" and len(cidrs) == 2 and cidrs[1].endswith("::/56")
    saved = store.load(plan.setup)
    assert saved.steps["ship"].status == "done"
    assert saved.steps["ship"].facts["hunter"] == "hunter.example.org"
    assert saved.steps["session"].status == "done"  # the other steps are left as they were
