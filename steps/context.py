"""What every step and resource kind works with: the run's Context, a Found resource, the setup tag.

Kept apart from the engine so that the resource kinds (steps.resources), which
the engine drives, can use these without importing the engine.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from vpc_mirror.models.actions import Action, Ref, substitute
from vpc_mirror.models.plan import Plan
from vpc_mirror.models.state import Resource, State
from vpc_mirror.steps.aws import Aws
from vpc_mirror.steps.state_store import StateStore

#: The tag every resource this tool creates carries, with the setup's name as its value.
SETUP_TAG = "vpc-mirror:setup"


class StepFailed(Exception):
    """A step could not finish; the message says why (and, where it can, what to do)."""

    def __init__(self, step: str, message: str):
        self.step = step
        super().__init__(message)


@dataclass
class Found:
    """A resource as AWS knows it: its id and the attributes later actions refer to (``Ref(key, attr)``)."""

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
        """A ClientToken that a retried or resumed create repeats, and nothing else ever sends.

        AWS answers a repeated token with the original resource, even a
        terminated or deleted one, so the token is made of the resource
        record's random nonce, saved with the intent before the call: another
        state directory (a new laptop, CI) has its own, and a deleted or
        vanished resource gets a new one for its next life.
        """
        res = self.state.resource(action.key)
        parts = (self.setup, action.step, action.key, res.nonce)
        return hashlib.sha256("/".join(parts).encode()).hexdigest()[:48]

    def takes_client_token(self, api: str, service: str = "ec2") -> bool:
        model = self.aws.client(service).meta.service_model.operation_model(api)
        return "ClientToken" in model.input_shape.members

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

    @contextmanager
    def changing(self) -> Iterator[State]:
        """The state, for a change ``record()`` does not make (a step's facts, a forgotten record), under the
        lock other workers save with; saved when the block ends."""
        with self._lock:
            yield self.state
            self.save()

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
        """Replace each Ref with the recorded id / attribute (and Joined with its text); strings stay as they are."""
        return substitute(value, self._lookup)

    def _lookup(self, ref: Ref) -> Any:
        res = self.state.resource(ref.key)
        if res is None or res.id is None or res.status == "deleted":
            what = ref.key if ref.attr is None else f"{ref.key}'s {ref.attr}"
            raise StepFailed("engine", f"{what} is not created yet; apply the earlier steps first")
        return res.id if ref.attr is None else res.attrs[ref.attr]
