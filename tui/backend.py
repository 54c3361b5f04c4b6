"""Where the wizard's engine work runs: the AWS endpoint, the state directory, the demo sandbox.

Everything here that touches boto3 or moto is called from worker threads,
never while the first screen is being drawn: those imports take longer than
drawing it. ``Run`` lets the UI cancel an engine coroutine running on a worker
thread's own event loop (the state is saved before and after every change, so
a cancelled run resumes cleanly).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


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
        from vpc_mirror.steps.state_store import StateStore

        return StateStore(self.state_dir)

    def start_sandbox(self) -> None:
        """Start the demo account (blocking, ~1 s): its endpoint and credentials become this process's."""
        from vpc_mirror.sandbox.server import Sandbox

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
        from vpc_mirror.steps.aws import Aws

        key = (self.profile or profile, self.region or region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = Aws(region=key[1], profile=key[0], endpoint_url=self.endpoint_url)
            return self._clients[key]

    def context(self, plan, *, log: Callable[[str], None] = lambda line: None, progress=None, saved: bool = True):
        """An engine context for ``plan``; ``saved=False`` never writes the state (the review's plan)."""
        self.ready.wait()
        from vpc_mirror.steps.setup import open_context

        ctx = open_context(plan, self.store, endpoint_url=self.endpoint_url, profile=self.profile,
                           region=self.region, concurrency=self.concurrency, log=log, progress=progress)
        if not saved:
            ctx.store = None
        return ctx


class Run:
    """An engine coroutine on a worker thread's event loop that the UI thread can cancel."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self.cancelled = False

    async def __call__(self, coro: Coroutine) -> Any:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.ensure_future(coro)
        if self.cancelled:
            self._task.cancel()
        return await self._task

    def cancel(self) -> None:
        self.cancelled = True
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
