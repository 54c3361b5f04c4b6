"""The apply page: a row per action driven by the engine's progress callback, the log, and what to do on failure.

The engine saves the state before and after every change, so each choice
after a failure is safe: Retry (apply is idempotent), Stop here (resume
later), or Tear down what this setup created.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import asyncio

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from vpc_mirror.tui.backend import Run
from vpc_mirror.tui.screens.dialogs import FailureDialog
from vpc_mirror.tui.screens.messages import PageChanged
from vpc_mirror.tui.widgets.action_table import ActionTable
from vpc_mirror.tui.widgets.log_view import BatchedLog

if TYPE_CHECKING:
    from vpc_mirror.models.actions import Action


class Progress(Message):
    def __init__(self, key: str, phase: str, detail: str | None) -> None:
        super().__init__()
        self.key, self.phase, self.detail = key, phase, detail


class Finished(Message):
    """Apply ended: ``error`` is None on success; ``state`` is the saved state as it is now;
    ``changed``: whether the setup has made anything, now or before (a DryRun refusal makes nothing)."""

    def __init__(self, error: str | None, state, changed: bool) -> None:
        super().__init__()
        self.error, self.state, self.changed = error, state, changed


class ApplyPane(Vertical):
    DEFAULT_CSS = """
    ApplyPane { height: 1fr; padding: 0 1; }
    ApplyPane #apply-status { height: auto; }
    ApplyPane ActionTable { height: 2fr; }
    ApplyPane BatchedLog { height: 1fr; }
    """

    def __init__(self) -> None:
        super().__init__(id="page-apply")
        self.done = False
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static("", id="apply-status")
        yield ActionTable(id="apply-actions")
        yield BatchedLog(id="apply-log")

    def focus_first(self) -> None:
        self.query_one(ActionTable).focus()

    def start(self, actions: list[Action]) -> None:
        self.done, self.running = False, True
        self.query_one(ActionTable).show(actions)
        self.query_one("#apply-status", Static).update("Applying: checking permissions (DryRun), then creating…")
        self.post_message(PageChanged())
        self.apply(self.app.plan())

    def log_line(self, line: str) -> None:
        self.app.log_lines.append(line)
        self.query_one(BatchedLog).add(line)

    @work(thread=True, group="engine", exit_on_error=False)
    async def apply(self, plan) -> None:
        from vpc_mirror.steps.engine import Refused
        from vpc_mirror.steps.setup import apply_setup

        run = Run()
        self.app.runs.add(run)
        error, state = None, None

        def progress(action: Action, phase: str, detail: str | None) -> None:
            self.post_message(Progress(action.key, phase, detail))

        try:
            ctx = self.app.backend.context(plan, log=self.log_line, progress=progress)
            try:
                with ctx.store.lock(plan.setup):
                    await run(apply_setup(ctx))
            finally:
                ctx.close()
                state = ctx.state
        except asyncio.CancelledError:
            error = "stopped before it finished; the state is saved"
        except Refused as exc:
            error = "Nothing was changed:\n" + "\n".join(f"• {r}" for r in exc.reasons)
        except Exception as exc:  # shown in the failure dialog, with the three ways on
            error = str(exc) or type(exc).__name__
        finally:
            self.app.runs.discard(run)
        self.post_message(Finished(error, state, state is not None and bool(state.made())))

    def on_progress(self, event: Progress) -> None:
        self.query_one(ActionTable).mark(event.key, event.phase, event.detail)

    def on_finished(self, event: Finished) -> None:
        self.running = False
        self.query_one(BatchedLog).flush()
        if event.state is not None:
            self.app.state = event.state
        status = self.query_one("#apply-status", Static)
        if event.error is None:
            self.done = True
            self.app.applied()
            status.update("✓ Applied. Next: set Zeek up on the sensor.")
            self.post_message(PageChanged())
            return
        status.update(f"✗ {event.error.splitlines()[0]}")
        self.post_message(PageChanged())
        self.app.push_screen(FailureDialog(event.error, created=event.changed), self._after_failure)

    def _after_failure(self, choice: str) -> None:
        if choice == "retry":
            self.start(self.app.planned_actions)
        elif choice == "teardown":
            from vpc_mirror.tui.screens.teardown import TeardownScreen

            self.app.push_screen(TeardownScreen(self.app.draft.setup), lambda _: self.app.back_to_start())
        else:
            self.app.back_to_start()
