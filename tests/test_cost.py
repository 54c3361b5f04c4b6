"""The mirroring cost shown by status and the review screen."""

from __future__ import annotations

import pytest

from vpc_mirror.steps.cost import Cost, planned_cost, running_cost
from tests.awsfacts import demo_plan, run
from tests.exporting import planned


def test_cost_is_per_session_hour_with_a_month_of_730_hours():
    cost = Cost(3)
    assert cost.hourly == pytest.approx(0.045)
    assert cost.monthly == pytest.approx(32.85)
    assert "USD 0.045/hour" in cost.line() and "USD 32.85/month" in cost.line()
    assert "data transfer, instances and load balancers are billed separately" in cost.line()
    assert Cost(0).monthly == 0


def test_plan_and_applied_setup_cost_the_same_and_teardown_ends_it(sandbox, state_dir):
    _, actions = planned(sandbox, demo_plan())
    assert planned_cost(actions).sessions == 4  # three sources and the test beacon
    ctx = run(sandbox, state_dir)
    assert running_cost(ctx.state) == planned_cost(actions)
    ctx = run(sandbox, state_dir, teardown=True)
    assert running_cost(ctx.state).sessions == 0
