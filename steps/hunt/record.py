"""The hunt step's result in the setup's state (`status` shows it), recorded the same way by
`vpc-mirror hunt NAME` and the wizard's Hunt page."""

from __future__ import annotations

from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import set_status
from vpc_mirror.steps.setup import change_state

from .beacon import TestBeacon


def setup_beacon(ctx: Context) -> TestBeacon | None:
    """The setup's test beacon, or None when it has none."""
    answers = ctx.plan.test_beacon
    if not answers.enabled:
        return None
    made = ctx.state.resource("test-beacon")
    return TestBeacon(made.attrs.get("private_ip") if made is not None else None, answers.destination,
                      answers.interval_seconds)


def record_result(ctx: Context, facts: dict, error: str | None) -> None:
    """The hunt step on the state as saved now: ``facts`` (hunt_facts), and done, or failed with ``error``."""
    def record(saved: Context) -> None:
        saved.facts("hunt").update(facts)
        set_status(saved, "hunt", "failed" if error else "done", error)

    change_state(ctx, record)
