"""The engine: discover, plan, apply and undo the steps, keeping state safe.

Every step's ``plan()`` is a list of Actions; applying a step means making each
action's resource exist (found by its tags first, created otherwise), recording
the intent before each mutating call and the result after it. Undo deletes, in
reverse, only what the state says this setup created.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpc_mirror.models.actions import Action
from vpc_mirror.models.state import Resource, StepStatus, new_nonce, now
from vpc_mirror.steps.aws_errors import explain
from vpc_mirror.steps.context import Context, Found, StepFailed
from vpc_mirror.steps.resources import KINDS, StaleToken


class Refused(Exception):
    """The answers cannot be applied as they are; ``reasons`` say why and what to change."""

    def __init__(self, step: str, reasons: list[str]):
        self.step = step
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class Step:
    """One wizard step. Subclasses set ``name``/``title`` and write ``inspect`` and ``plan``."""

    name: str = ""
    title: str = ""

    async def inspect(self, ctx: Context) -> None:
        """Read what the step depends on into ``ctx.facts(self.name)``; raise Refused if unusable."""

    def plan(self, ctx: Context) -> list[Action]:
        return []

    def skip_reason(self, ctx: Context) -> str:
        """Why the step has nothing to do with these answers (shown on the review when it plans no action)."""
        return "nothing to do with these answers"

    async def discover(self, ctx: Context) -> StepStatus:
        """What already exists: re-reads AWS (by id and by tag), updates state, returns the step's status."""
        await self.inspect(ctx)
        actions = self.plan(ctx)
        await adopt_existing(ctx, actions)
        wanted = [a for a in actions if a.verb == "create"]
        if all(is_live(ctx.state.resource(a.key)) for a in wanted) and actions:
            return "done"
        return "pending" if not any(is_live(ctx.state.resource(a.key)) for a in wanted) else "in-progress"

    async def apply(self, ctx: Context) -> None:
        await execute(ctx, self.plan(ctx))

    async def undo(self, ctx: Context) -> None:
        await undo_step(ctx, self.name)


def is_live(res: Resource | None) -> bool:
    return res is not None and res.id is not None and res.status in ("created", "reused")


def guarded(fn: Callable, action: Action | None = None, context: str | None = None) -> Callable:
    """Wrap a blocking AWS call so failures arrive as AwsError with a useful message."""

    def run(*args: Any) -> Any:
        try:
            return fn(*args)
        except (ClientError, BotoCoreError) as exc:
            raise explain(exc, action.api if action else None, context or (action.summary if action else None))

    return run


def waves(actions: list[Action]) -> list[list[Action]]:
    """Group actions so that each only refers to keys of earlier groups (or of earlier steps)."""
    keys = {a.key for a in actions}
    done: set[str] = set()
    remaining = list(actions)
    out: list[list[Action]] = []
    while remaining:
        ready = [a for a in remaining if not (a.refs() & keys) - done]
        if not ready:
            raise StepFailed(remaining[0].step, f"actions refer to each other in a cycle: {[a.key for a in remaining]}")
        out.append(ready)
        done.update(a.key for a in ready)
        remaining = [a for a in remaining if a not in ready]
    return out


async def adopt_existing(ctx: Context, actions: list[Action]) -> None:
    """Record what AWS already has for these actions: by tag, or by the live relationship."""
    by_kind: dict[str, list[Action]] = {}
    for action in actions:
        if action.verb == "reuse":
            ctx.record(action, status="reused", id=action.id, attrs=action.params)
            ctx.progress(action, "done", action.id)
        elif action.verb == "create":
            by_kind.setdefault(action.kind, []).append(action)
    for kind_name, group in by_kind.items():
        kind = KINDS[kind_name]
        resolvable = [a for a in group if all(is_live(ctx.state.resource(k)) for k in a.refs())]
        if not resolvable:
            continue
        found = await ctx.call(guarded(lambda: kind.existing(ctx, resolvable), context=f"looking up {kind_name}"))
        for action in resolvable:
            res = ctx.state.resource(action.key)
            hit = found.get(action.key)
            if hit is not None:
                if res is None or res.id != hit.id or res.status != "created":
                    ctx.record(action, status="created", id=hit.id, attrs=hit.attrs)
            elif res is not None and res.status == "created":
                ctx.log(f"{action.key} ({res.id}) no longer exists; it will be created again" if kind.taggable else
                        f"{action.key} ({res.id}) no longer holds all the plan wants (e.g. a rule for a new "
                        "source); the missing part will be added")
                ctx.record(action, status="intended", id=None, nonce=new_nonce())


async def execute(ctx: Context, actions: list[Action]) -> None:
    """Make every action's resource exist; concurrent within a wave, bounded by ctx.concurrency."""
    for wave in waves(actions):
        await adopt_existing(ctx, wave)
        todo = []
        for action in (a for a in wave if a.verb == "create"):
            res = ctx.state.resource(action.key)
            if is_live(res):
                await _usable(ctx, action, res)
                ctx.progress(action, "done", res.id)
            else:
                todo.append(action)
        if not todo:
            continue

        async def make(action: Action) -> None:
            params = ctx.resolve(action.params)
            ctx.record(action, status="intended")
            ctx.log(f"… {action.summary}")
            ctx.progress(action, "running", None)
            try:
                made = await ctx.call(guarded(lambda: _create(ctx, action, params), action))
            except Exception as exc:
                ctx.progress(action, "failed", str(exc))
                raise
            ctx.record(action, status="created", id=made.id, attrs=made.attrs)
            ctx.log(f"✓ {action.summary}: {made.id}")
            ctx.progress(action, "done", made.id)

        await _gather_all([make(a) for a in todo])


async def _usable(ctx: Context, action: Action, res: Resource) -> None:
    """An existing resource not yet usable (adopted while still being made: the apply that created it stopped
    while waiting for it) is waited for, as its create would, before a later action uses it."""
    kind = KINDS[action.kind]
    if kind.usable(res.attrs):
        return
    ctx.log(f"… {action.key} ({res.id}) is still being made; waiting for it")
    ready = await ctx.call(guarded(lambda: kind.wait_usable(ctx, action, res.id), action))
    ctx.record(action, status="created", id=ready.id, attrs=ready.attrs)


def _create(ctx: Context, action: Action, params: dict[str, Any]) -> Found:
    """Create with the action's ClientToken; once more with a new one when AWS shows the token is an old one's.

    A token is only ever repeated for the same resource's retried create, so an
    IdempotentParameterMismatch, or an answer that is a terminated instance,
    means the token made something else (a state file restored from a backup
    taken while this create was in flight): a new nonce is saved before the new call.
    """
    kind = KINDS[action.kind]
    if not ctx.takes_client_token(action.api, action.service):
        return kind.create(ctx, action, params)
    try:
        return kind.create(ctx, action, dict(params, ClientToken=ctx.token(action)))
    except (ClientError, StaleToken) as exc:
        if isinstance(exc, ClientError) and exc.response.get("Error", {}).get("Code") != "IdempotentParameterMismatch":
            raise
        ctx.log(f"! {action.key}: {exc}; creating it with a new ClientToken")
        ctx.record(action, nonce=new_nonce())
        return kind.create(ctx, action, dict(params, ClientToken=ctx.token(action)))


async def _gather_all(coros: list) -> None:
    """Run all; when some fail, let the others finish (their results are recorded), then raise the first."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def undo_step(ctx: Context, step_name: str, keys: set[str] | None = None) -> None:
    """Delete, in reverse, what this step created (only the records of ``keys`` when given: sync removes
    the sessions of sources that went); intended-only records are looked up by tag first."""
    step = ctx.state.steps.get(step_name)
    if step is None:
        return
    records = [r for r in step.resources.values() if keys is None or r.key in keys]
    pending = [
        Action(step=step_name, key=r.key, kind=r.kind, verb="create", summary=r.key, name=r.name)
        for r in records
        if r.status == "intended" and r.name
    ]
    for kind_name in {a.kind for a in pending}:
        kind = KINDS[kind_name]
        group = [a for a in pending if a.kind == kind_name and kind.taggable]
        if group:
            found = await ctx.call(guarded(lambda: kind.existing(ctx, group), context=f"looking up {kind_name}"))
            for action in group:
                if action.key in found:
                    ctx.record(action, status="created", id=found[action.key].id, attrs=found[action.key].attrs)
    for batch in _reverse_batches(records):
        async def remove(res: Resource) -> None:
            kind = KINDS[res.kind]
            if res.status == "intended" and res.id is None:
                with ctx._lock:
                    res.status = "deleted"
                    res.nonce = new_nonce()
                ctx.save()
                return
            ctx.log(f"… delete {res.kind} {res.id}")
            await ctx.call(guarded(lambda: kind.delete(ctx, res), context=f"deleting {res.kind} {res.id}"))
            with ctx._lock:
                res.status = "deleted"
                res.nonce = new_nonce()  # a later apply creates it anew, with a new ClientToken
            ctx.save()
            ctx.log(f"✓ deleted {res.kind} {res.id}")

        await _gather_all([remove(r) for r in batch])


def _reverse_batches(records: list[Resource]) -> list[list[Resource]]:
    """Created records in reverse order; neighbours of the same kind are deleted together."""
    live = [r for r in records if r.status in ("created", "intended")]
    batches: list[list[Resource]] = []
    for res in reversed(live):
        if batches and batches[-1][0].kind == res.kind:
            batches[-1].append(res)
        else:
            batches.append([res])
    return batches


def set_status(ctx: Context, step: str, status: StepStatus, error: str | None = None) -> None:
    with ctx._lock:
        st = ctx.state.step(step)
        st.status = status
        st.error = error
        if status == "in-progress":
            st.started_at = now()
        elif status in ("done", "failed", "skipped"):
            st.finished_at = now()
    ctx.save()


__all__ = [
    "Refused",
    "Step",
    "adopt_existing",
    "execute",
    "guarded",
    "is_live",
    "set_status",
    "undo_step",
    "waves",
]
