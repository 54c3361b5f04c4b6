"""A whole setup: the steps in order, and apply / resume / status / teardown over them.

Apply first inspects every step (nothing changes until the whole plan is known
to be valid), then applies the steps in order; each step's status is saved.
"""

from __future__ import annotations

from collections.abc import Callable

from vpc_mirror.models.actions import Action
from vpc_mirror.models.plan import Plan
from vpc_mirror.models.state import State
from vpc_mirror.steps.account import AccountStep
from vpc_mirror.steps.aws import Aws
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step, set_status
from vpc_mirror.steps.filter import FilterStep
from vpc_mirror.steps.permissions import permission_checks
from vpc_mirror.steps.sensor import SensorStep
from vpc_mirror.steps.sensor_eni import SensorEniStep
from vpc_mirror.steps.session import SessionStep
from vpc_mirror.steps.source_eni import SourceEniStep
from vpc_mirror.steps.sources import SourcesStep
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.steps.target import TargetStep
from vpc_mirror.steps.test_beacon import TestBeaconStep
from vpc_mirror.steps.vpc import VpcStep

STEPS: list[Step] = [
    AccountStep(),
    VpcStep(),
    SensorStep(),
    TestBeaconStep(),
    SourcesStep(),
    SourceEniStep(),
    SensorEniStep(),
    TargetStep(),
    FilterStep(),
    SessionStep(),
]

#: Every step of a setup in docs/design.md's order: the AWS steps above, then the four on the sensor
#: (run by `vpc-mirror zeek`, `watch`, `hunt` and `ship` or their wizard pages).
STEP_NAMES: list[str] = [step.name for step in STEPS] + ["zeek", "verify", "hunt", "ship"]


def open_context(plan: Plan, store: StateStore | None, *, endpoint_url: str | None = None,
                 profile: str | None = None, region: str | None = None, concurrency: int = 8,
                 log: Callable[[str], None] = lambda line: None,
                 progress: Callable[[Action, str, str | None], None] | None = None) -> Context:
    """The context for one run: the saved state (or a new one) and AWS clients."""
    state = (store.load(plan.setup) if store else None) or State(setup=plan.setup)
    aws = Aws(region=region or plan.account.region, profile=profile or plan.account.profile,
              endpoint_url=endpoint_url, pool=max(concurrency * 2, 10))
    for name in STEP_NAMES:
        state.step(name)
    ctx = Context(plan=plan, state=state, aws=aws, store=store, concurrency=concurrency, log=log)
    if progress is not None:
        ctx.progress = progress
    return ctx


def change_state(ctx: Context, change: Callable[[Context], object]):
    """``change(ctx)`` on the setup's state as saved now, under its lock; returns what ``change`` returns.

    Another run (the CLI, a second wizard) may have saved the state since this
    context read it: re-reading it under the lock means no step's result is
    written back over theirs. Raises SetupBusy while another process holds it.
    A context that saves nothing (no store) just runs ``change``.
    """
    if ctx.store is None:
        return change(ctx)
    with ctx.store.lock(ctx.setup):
        saved = ctx.store.load(ctx.setup)
        if saved is not None:
            for name in STEP_NAMES:
                saved.step(name)
            ctx.state = saved
        return change(ctx)


def saved_context(store: StateStore, name: str, **options) -> Context | None:
    """A context for a saved setup (its answers and state) that never writes the state back.

    For read-only uses such as exports and preflight; ``options`` are open_context's.
    """
    plan = store.load_answers(name)
    if plan is None:
        return None
    ctx = open_context(plan, store, **options)
    ctx.store = None
    return ctx


async def inspect_setup(ctx: Context) -> tuple[list[Action], list[tuple[str, str]]]:
    """Inspect every step: the actions of the usable ones, and (step, reason) for each problem."""
    actions: list[Action] = []
    problems: list[tuple[str, str]] = []
    for step in STEPS:
        try:
            await step.inspect(ctx)
        except Refused as exc:
            problems += [(step.name, reason) for reason in exc.reasons]
            continue
        actions += step.plan(ctx)
    return actions, problems


def skipped_steps(ctx: Context, actions: list[Action], problems: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(step, why) for each step that plans nothing and has no problem: apply marks these skipped."""
    busy = {a.step for a in actions} | {step for step, _ in problems}
    return [(step.name, step.skip_reason(ctx)) for step in STEPS if step.name not in busy]


async def plan_setup(ctx: Context) -> list[Action]:
    """Inspect every step and return all actions; Refused lists every problem found."""
    actions, problems = await inspect_setup(ctx)
    if problems:
        raise Refused("plan", [reason for _, reason in problems])
    return actions


async def apply_setup(ctx: Context, confirm: Callable[[list[Action]], bool] | None = None) -> bool:
    """Plan, check permissions (DryRun), confirm, then apply every step; False when the user declined.

    A denied permission stops here, before the first change; a check AWS
    could not answer (a placeholder id it did not like) is only logged. State
    is kept on failure.
    """
    actions = await plan_setup(ctx)
    checks = await permission_checks(ctx, actions)
    for check in checks:
        if check.ok is None:
            ctx.log(f"preflight {check.what}: {check.detail}")
    denied = [check.detail for check in checks if check.ok is False]
    if denied:
        raise Refused("preflight", denied)
    if confirm is not None and not confirm(actions):
        return False
    if ctx.store is not None:
        ctx.store.save_answers(ctx.plan)
    ctx.save()
    for step in STEPS:
        step_actions = [a for a in actions if a.step == step.name]
        if not any(a.verb in ("create", "reuse") for a in step_actions):
            set_status(ctx, step.name, "done" if step_actions else "skipped")
            continue
        set_status(ctx, step.name, "in-progress")
        try:
            await step.apply(ctx)
        except BaseException as exc:
            set_status(ctx, step.name, "failed", str(exc) or type(exc).__name__)
            raise
        set_status(ctx, step.name, "done")
    return True


async def teardown_setup(ctx: Context) -> None:
    """Undo every step in reverse; deletes only what this setup created and still carries its tag."""
    for step in reversed(STEPS):
        try:
            await step.undo(ctx)
        except BaseException as exc:
            set_status(ctx, step.name, "failed", f"teardown: {exc}")
            raise
        set_status(ctx, step.name, "pending")
