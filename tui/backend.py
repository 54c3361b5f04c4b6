"""Where the wizard's engine work runs: the AWS endpoint, the state directory, the demo sandbox.

Everything here that touches boto3 or moto is called from worker threads,
never while the first screen is being drawn: those imports take longer than
drawing it. Engine coroutines run in Textual thread workers (group
``ENGINE``) through ``cancellable``, so cancelling the worker stops the engine
(the state is saved before and after every change, so a stopped run resumes
cleanly).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from textual.worker import get_current_worker

#: the worker group of engine runs (apply, teardown, resume): the quit question asks while one runs
ENGINE = "engine"
#: how often a running engine coroutine looks whether its worker was cancelled
_CANCEL_POLL_SECONDS = 0.1

T = TypeVar("T")


@dataclass
class Backend:
    state_dir: Path
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    concurrency: int = 8
    #: --demo: the embedded sandbox's account (started by the app unless ``endpoint_url`` is given)
    demo: bool = False
    ready: threading.Event = field(default_factory=threading.Event)
    _sandbox: Any = field(default=None, repr=False)
    _clients: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def store(self):
        """The saved setups (steps.state_store.StateStore)."""
        from vpc_mirror.steps.state_store import StateStore  # pydantic: after the first screen (start-up time)

        return StateStore(self.state_dir)

    def start_sandbox(self) -> None:
        """Start the demo account (blocking, ~1 s): its endpoint and credentials become this process's."""
        from vpc_mirror.sandbox.server import Sandbox  # moto: after the first screen (start-up time)

        self._sandbox = Sandbox(seed="demo").start()
        os.environ.update(self._sandbox.env())
        self.endpoint_url = self._sandbox.endpoint_url
        self.ready.set()

    def stop(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    def aws(self, profile: str | None, region: str):
        """The AWS adapter for a profile and region, made once (in a worker: it imports boto3)."""
        self.ready.wait()
        from vpc_mirror.steps.aws import Aws  # boto3: after the first screen (start-up time)

        key = (self.profile or profile, self.region or region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = Aws(region=key[1], profile=key[0], endpoint_url=self.endpoint_url)
            return self._clients[key]

    def context(self, plan, *, log: Callable[[str], None] = lambda line: None, progress=None, saved: bool = True):
        """An engine context for ``plan``; ``saved=False`` never writes the state (the review's plan)."""
        self.ready.wait()
        from vpc_mirror.steps.setup import open_context  # boto3: after the first screen (start-up time)

        ctx = open_context(plan, self.store, endpoint_url=self.endpoint_url, profile=self.profile,
                           region=self.region, concurrency=self.concurrency, log=log, progress=progress)
        if not saved:
            ctx.store = None
        return ctx


async def cancellable(coro: Coroutine[Any, Any, T]) -> T:
    """Await an engine coroutine inside a thread worker so that cancelling the worker cancels it.

    Textual cannot interrupt a thread: a thread worker learns it was cancelled
    from ``is_cancelled``. The engine runs here as a task of the thread's own
    loop, cancelled once the worker is (a quit, a closed screen): it then stops
    as at any failure, the state saved.
    """
    worker = get_current_worker()
    task = asyncio.ensure_future(coro)
    while not task.done():
        await asyncio.wait({task}, timeout=_CANCEL_POLL_SECONDS)
        if worker.is_cancelled:
            task.cancel()  # once: the engine's own clean-up (saving the state) must not be cancelled too
            break
    return await task
