"""The engine: discover, plan, apply and undo the steps, keeping state safe.

Every step's ``plan()`` is a list of Actions; applying a step means making each
action's resource exist (found by its tags first, created otherwise), recording
the intent before each mutating call and the result after it. Undo deletes, in
reverse, only what the state says this setup created.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpc_mirror.models.actions import REF, Action
from vpc_mirror.models.plan import Plan
from vpc_mirror.models.state import Resource, State, StepStatus, now
from vpc_mirror.steps.aws import Aws
from vpc_mirror.steps.aws_errors import AwsError, explain
from vpc_mirror.steps.state_store import StateStore

SETUP_TAG = "vpc-mirror:setup"


class Refused(Exception):
    """The answers cannot be applied as they are; ``reasons`` say why and what to change."""

    def __init__(self, step: str, reasons: list[str]):
        self.step = step
        self.reasons = reasons
        super().__init__("; ".join(reasons))


class StepFailed(Exception):
    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(message)


@dataclass
class Found:
    id: str
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Context:
    """Everything a step needs; ``state`` is saved through ``save()`` only."""

    plan: Plan
    state: State
    aws: Aws
    store: StateStore | None = None
    concurrency: int = 8
    log: Callable[[str], None] = lambda line: None
    #: Called with (action, "running" | "done" | "failed", id or error) as apply works, for progress views.
    progress: Callable[[Action, str, str | None], None] = lambda action, phase, detail: None
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    @property
    def setup(self) -> str:
        return self.plan.setup

    def facts(self, step: str) -> dict[str, Any]:
        return self.state.step(step).facts

    def name_tag(self, role: str) -> str:
        return f"vpc-mirror/{self.setup}/{role}"

    def tag_specs(self, name: str, *resource_types: str) -> list[dict]:
        tags = [{"Key": SETUP_TAG, "Value": self.setup}, {"Key": "Name", "Value": name}]
        return [{"ResourceType": rt, "Tags": tags} for rt in resource_types]

    def owns(self, tags: Iterable[dict] | None) -> bool:
        return any(t.get("Key") == SETUP_TAG and t.get("Value") == self.setup for t in tags or ())

    def token(self, action: Action) -> str:
        """A ClientToken stable across runs, so a retried create cannot duplicate.

        It changes with the setup's generation (bumped by a finished teardown) and
        the resource's (bumped when it vanished behind our back): AWS answers a
        reused token with the original resource, even a terminated one.
        """
        res = self.state.resource(action.key)
        parts = (self.setup, self.state.generation, action.step, action.key, res.generation if res else 0)
        return hashlib.sha256("/".join(map(str, parts)).encode()).hexdigest()[:48]

    def takes_client_token(self, api: str) -> bool:
        return "ClientToken" in self.aws.ec2.meta.service_model.operation_model(api).input_shape.members

    async def call(self, fn: Callable, *args: Any) -> Any:
        """Run blocking (boto3) work on the engine's bounded worker pool."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="aws")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def save(self) -> None:
        with self._lock:
            if self.store is not None:
                self.store.save(self.state)

    def record(self, action: Action, **changes: Any) -> Resource:
        """Create or update the state's record of ``action``'s resource, then save."""
        with self._lock:
            step = self.state.step(action.step)
            res = step.resources.get(action.key)
            if res is None:
                res = Resource(key=action.key, kind=action.kind, status="intended", name=action.name)
                step.resources[action.key] = res
            for name, value in changes.items():
                setattr(res, name, value)
            self.save()
            return res

    def resolve(self, value: Any) -> Any:
        """Replace ``${key}`` / ``${key.attr}`` with recorded ids / attributes."""
        if isinstance(value, str):
            whole = REF.fullmatch(value)
            if whole:
                return self._lookup(whole)
            return REF.sub(lambda m: str(self._lookup(m)), value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _lookup(self, match: re.Match) -> Any:
        res = self.state.resource(match.group(1))
        if res is None or res.id is None or res.status == "deleted":
            raise StepFailed("engine", f"{match.group(0)} is not created yet; apply the earlier steps first")
        return res.id if match.group(2) is None else res.attrs[match.group(2)]


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
    from vpc_mirror.steps.resources import KINDS

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
                ctx.log(f"{action.key} ({res.id}) no longer exists; it will be created again")
                ctx.record(action, status="intended", id=None, generation=res.generation + 1)


async def execute(ctx: Context, actions: list[Action]) -> None:
    """Make every action's resource exist; concurrent within a wave, bounded by ctx.concurrency."""
    from vpc_mirror.steps.resources import KINDS

    for wave in waves(actions):
        await adopt_existing(ctx, wave)
        todo = []
        for action in (a for a in wave if a.verb == "create"):
            res = ctx.state.resource(action.key)
            if is_live(res):
                ctx.progress(action, "done", res.id)
            else:
                todo.append(action)
        if not todo:
            continue

        async def make(action: Action) -> None:
            kind = KINDS[action.kind]
            params = ctx.resolve(action.params)
            ctx.record(action, status="intended")
            if ctx.takes_client_token(action.api):
                params["ClientToken"] = ctx.token(action)
            ctx.log(f"… {action.summary}")
            ctx.progress(action, "running", None)
            try:
                made = await ctx.call(guarded(lambda: kind.create(ctx, action, params), action))
            except Exception as exc:
                ctx.progress(action, "failed", str(exc))
                raise
            ctx.record(action, status="created", id=made.id, attrs=made.attrs)
            ctx.log(f"✓ {action.summary}: {made.id}")
            ctx.progress(action, "done", made.id)

        await _gather_all([make(a) for a in todo])


async def _gather_all(coros: list) -> None:
    """Run all; when some fail, let the others finish (their results are recorded), then raise the first."""
    results = await asyncio.gather(*coros, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result


async def undo_step(ctx: Context, step_name: str) -> None:
    """Delete, in reverse, what this step created; intended-only records are looked up by tag first."""
    from vpc_mirror.steps.resources import KINDS

    step = ctx.state.steps.get(step_name)
    if step is None:
        return
    records = list(step.resources.values())
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
                ctx.save()
                return
            ctx.log(f"… delete {res.kind} {res.id}")
            await ctx.call(guarded(lambda: kind.delete(ctx, res), context=f"deleting {res.kind} {res.id}"))
            with ctx._lock:
                res.status = "deleted"
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
    "Action",
    "AwsError",
    "Context",
    "Found",
    "Refused",
    "SETUP_TAG",
    "Step",
    "StepFailed",
    "adopt_existing",
    "execute",
    "guarded",
    "is_live",
    "set_status",
    "undo_step",
    "waves",
]
