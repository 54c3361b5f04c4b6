"""Resume: re-read a saved setup in AWS and say what changed since it was left.

Trusts AWS over the file (docs/design.md): every step's ``discover`` re-finds its
resources by id and by tag, adopts what a lost answer created, and forgets
what was deleted behind our back so that apply makes it again.
"""

from __future__ import annotations

from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, set_status
from vpc_mirror.steps.setup import STEPS


def _snapshot(ctx: Context) -> dict[str, tuple[str, str | None, str]]:
    return {key: (res.status, res.id, step.name)
            for step in ctx.state.steps.values() for key, res in step.resources.items()}


async def rediscover(ctx: Context) -> list[str]:
    """Discover every AWS step in order; returns one line per change (state is saved as it goes)."""
    before = _snapshot(ctx)
    problems: list[str] = []
    for step in STEPS:
        try:
            await step.discover(ctx)
        except Refused as exc:
            problems += [f"{step.name.replace('_', '-')}: {reason}" for reason in exc.reasons]
    changes = []
    lost_steps = set()
    for key, (status, rid, step) in _snapshot(ctx).items():
        old_status, old_id, _ = before.get(key, (None, None, step))
        if old_status == "created" and status == "intended":
            changes.append(f"{key} ({old_id}) no longer exists; apply creates it again")
            lost_steps.add(step)
        elif old_status == "intended" and status == "created":
            changes.append(f"{key} was found in AWS ({rid}) and adopted; it is not created twice")
    for name in lost_steps:
        if ctx.state.step(name).status == "done":
            set_status(ctx, name, "pending")
    return changes + problems
