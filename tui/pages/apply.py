"""The apply page: a row per action driven by the engine's progress callback, the log, and what to do on failure.

The engine saves the state before and after every change, so each choice
after a failure is safe: Retry (apply is idempotent), Stop here (resume
later), or Tear down what this setup created.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from vpc_mirror.tui.backend import ENGINE, cancellable
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.base import LeaveWizard, PageChanged, WizardPage
from vpc_mirror.tui.screens.dialogs import FailureDialog
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


class ApplyPage(WizardPage, Vertical):
    DEFAULT_CSS = """
    ApplyPage { height: 1fr; padding: 0 1; }
    ApplyPage #apply-status { height: auto; }
    ApplyPage ActionTable { height: 2fr; }
    ApplyPage BatchedLog { height: 1fr; }
    """
    PAGE = "apply"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.actions: list[Action] = []  # what is applied (again, on Retry)
        self.done = False
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static("", id="apply-status")
        yield ActionTable(id="apply-actions")
        yield BatchedLog(id="apply-log")

    def can_advance(self) -> bool:
        return self.done

    def can_go_back(self) -> bool:
        return not self.running

    def hint(self, can_advance: bool) -> str:
        return "applying…" if self.running else ("applied" if self.done else "")

    def focus_first(self) -> None:
        self.query_one(ActionTable).focus()

    def start(self, actions: list[Action]) -> None:
        self.actions, self.done, self.running = actions, False, True
        self.query_one(ActionTable).show(actions)
        self.query_one("#apply-status", Static).update("Applying: checking permissions (DryRun), then creating…")
        self.post_message(PageChanged())
        self.apply(self.model.plan())

    def log_line(self, line: str) -> None:
        self.model.log_lines.append(line)
        self.query_one(BatchedLog).add(line)

    @work(thread=True, group=ENGINE, exit_on_error=False)
    async def apply(self, plan) -> None:
        # boto3: only in a worker (start-up time)
        from vpc_mirror.steps.engine import Refused
        from vpc_mirror.steps.setup import apply_setup

        error, state = None, None

        def progress(action: Action, phase: str, detail: str | None) -> None:
            self.post_message(Progress(action.key, phase, detail))

        try:
            ctx = self.model.backend.context(plan, log=self.log_line, progress=progress)
            try:
                with ctx.store.lock(plan.setup):
                    await cancellable(apply_setup(ctx))
            finally:
                ctx.close()
                state = ctx.state
        except asyncio.CancelledError:
            error = "stopped before it finished; the state is saved"
        except Refused as exc:
            error = "Nothing was changed:\n" + "\n".join(f"• {r}" for r in exc.reasons)
        except Exception as exc:  # shown in the failure dialog, with the three ways on
            error = str(exc) or type(exc).__name__
        self.post_message(Finished(error, state, state is not None and bool(state.made())))

    def on_progress(self, event: Progress) -> None:
        self.query_one(ActionTable).mark(event.key, event.phase, event.detail)

    def on_finished(self, event: Finished) -> None:
        self.running = False
        self.query_one(BatchedLog).flush()
        if event.state is not None:
            self.model.state = event.state
        status = self.query_one("#apply-status", Static)
        if event.error is None:
            self.done = True
            self.model.applied()
            status.update("✓ Applied. Next: set Zeek up on the sensor.")
            self.post_message(PageChanged())
            return
        status.update(f"✗ {event.error.splitlines()[0]}")
        self.post_message(PageChanged())
        self.app.push_screen(FailureDialog(event.error, created=event.changed), self._after_failure)

    def _after_failure(self, choice: str) -> None:
        if choice == "retry":
            self.start(self.actions)
        else:
            self.post_message(LeaveWizard(teardown=self.model.draft.setup if choice == "teardown" else None))
