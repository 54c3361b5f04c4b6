"""The Textual wizard: start screen, one page per step, review, apply, Zeek and verify.

The app is the wizard's controller: it moves between screens and owns the
model the pages share (tui.model.WizardModel: the backend, the draft answers,
the applied state, the log). Engine and AWS work happens in worker threads
that report back with messages; boto3, moto and asyncssh are imported there,
after the first screen is up.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker

from vpc_mirror.tui.backend import ENGINE, Backend, cancellable
from vpc_mirror.tui.drafts import Draft, drop_draft, load_draft
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.base import LeaveWizard
from vpc_mirror.tui.saved import saved_setups
from vpc_mirror.tui.screens.dialogs import ConfirmDialog, MessageDialog
from vpc_mirror.tui.screens.help import HelpScreen
from vpc_mirror.tui.screens.log import LogScreen
from vpc_mirror.tui.screens.teardown import TeardownScreen
from vpc_mirror.tui.screens.wizard import WizardScreen
from vpc_mirror.tui.wizard_steps import FORM_PAGES, PAGES, STEP_NAMES

if TYPE_CHECKING:
    from vpc_mirror.models.plan import Plan
    from vpc_mirror.models.state import State


class WizardApp(App):
    TITLE = "vpc-mirror"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", id="quit", priority=True),
        Binding("ctrl+c", "request_quit", "Quit", id="interrupt", show=False, priority=True),
        Binding("q", "request_quit", "Quit", id="quit-q", show=False),
        Binding("f1,question_mark", "help", "Help", id="help"),
    ]

    def __init__(self, backend: Backend, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.model = WizardModel(backend, clock) if clock else WizardModel(backend)

    # -- start ------------------------------------------------------------------
    def on_mount(self) -> None:
        if self.model.backend.demo:
            self.sub_title = "demo account (embedded sandbox)"
        if not (self.model.backend.demo and self.model.backend.endpoint_url is None):
            self.model.backend.ready.set()
        if saved_setups(self.model.backend.state_dir):
            from vpc_mirror.tui.screens.start import StartScreen  # only when there are setups (start-up time)

            self.push_screen(StartScreen(self.model, self))
        else:  # nothing to resume: straight to a new setup (the start screen comes when it is left)
            self.new_setup()

    def on_ready(self) -> None:
        """The first screen is up: now the demo's sandbox may take its second to start (pickers wait for it)."""
        if not self.model.backend.ready.is_set():
            self.start_sandbox()

    @work(thread=True, exit_on_error=False)
    def start_sandbox(self) -> None:
        try:
            self.model.backend.start_sandbox()
        except Exception as exc:  # the demo cannot work without it: say so
            self.call_from_thread(self.show_error, "The demo sandbox did not start", str(exc))

    def show_error(self, title: str, message: str) -> None:
        self.push_screen(MessageDialog(title, message, error=True))

    # -- setups -------------------------------------------------------------------
    def new_setup(self) -> None:
        name = "demo" if self.model.backend.demo else ""
        self.model.start(Draft(setup=name, answers={"setup": name,
                                                    "account": {"region": self.model.backend.region or "us-east-1"}}))
        self.push_screen(WizardScreen(self.model, "account"))

    def resume(self, name: str, *, applied: bool) -> None:
        if not applied:
            draft = load_draft(self.model.backend.state_dir, name)
            if draft is None:  # unreadable: start afresh under its name, and say so
                self.notify(f"The draft of {name} cannot be read; starting it again.", severity="warning")
                draft = Draft(setup=name, answers={"setup": name})
            self.model.start(draft, own_name=name)
            first = next((p.name for p in FORM_PAGES if p.name not in self.model.draft.answered), "review")
            self.push_screen(WizardScreen(self.model, first))
            return
        self.notify(f"Resuming {name}: re-reading its resources in AWS…", timeout=3)
        self.rediscover(name)

    @work(thread=True, group=ENGINE, exit_on_error=False)
    async def rediscover(self, name: str) -> None:
        """Re-read a saved setup's resources (by id and tag), then continue at its first unfinished step."""
        from vpc_mirror.steps.resume import rediscover  # boto3: only in a worker (start-up time)

        try:
            plan = self.model.backend.store.load_answers(name)
            ctx = self.model.backend.context(plan, log=self.model.log_lines.append)
            try:
                with ctx.store.lock(name):
                    changes = await cancellable(rediscover(ctx))
            finally:
                ctx.close()
        except BaseException as exc:  # noqa: BLE001 - any failure, cancellation included, is reported
            self.call_from_thread(self.show_error, f"Cannot resume {name}", str(exc) or type(exc).__name__)
            return
        self.call_from_thread(self._resumed, plan, ctx.state, changes)

    def _resumed(self, plan: Plan, state: State, changes: list[str]) -> None:
        self.model.start(Draft(setup=plan.setup, answers=plan.model_dump(mode="json", exclude_none=True),
                               answered=[p.name for p in FORM_PAGES]), own_name=plan.setup, state=state)
        first = next(name for name in [*STEP_NAMES, "verify"]
                     if name == "verify" or state.step(name).status not in ("done", "skipped"))
        self.push_screen(WizardScreen(self.model, first))
        body = "\n".join(f"• {c}" for c in changes) or "Nothing changed: every resource is where it was left."
        self.push_screen(MessageDialog(f"Resuming {plan.setup} at {first.replace('_', '-')}",
                                       "Since the last run:\n" + body))

    def teardown(self, name: str, *, applied: bool) -> None:
        def answer(yes: bool) -> None:
            if not yes:
                return
            if not applied:
                drop_draft(self.model.backend.state_dir, name)
                self.back_to_start()
                return
            self.push_screen(TeardownScreen(self.model, name), lambda _: self.back_to_start())

        body = (f"Delete, newest first, every resource setup {name} created that still carries its tag. "
                "Nothing else is touched." if applied else
                f"{name} was never applied: this only forgets its draft answers.")
        self.push_screen(ConfirmDialog(f"Tear down {name}?", body, yes="Tear down", no="Keep it"), answer)

    def troubleshoot(self, name: str | None) -> None:
        """The live troubleshooting screen for an applied setup, or (``None``) for a host asked in a dialog."""
        if name is not None:
            self.open_troubleshoot(name)
            return
        # pydantic and the capture: not before the first screen (start-up time)
        from vpc_mirror.tui.screens.troubleshoot import TroubleshootScreen, WatchTarget
        from vpc_mirror.tui.screens.watch_host import WatchHostDialog

        def watch(target: WatchTarget | None) -> None:
            if target is not None:
                self.push_screen(TroubleshootScreen.for_sensor(self, target))

        self.push_screen(WatchHostDialog(self.model.backend.state_dir), watch)

    @work(thread=True, exit_on_error=False)
    def open_troubleshoot(self, name: str) -> None:
        # the Verify pane and the engine: only in a worker (start-up time)
        from vpc_mirror.tui.pages.sensor_panes import watched_setup
        from vpc_mirror.tui.screens.troubleshoot import TroubleshootScreen

        try:
            watched = watched_setup(self, self.model.backend, name)
        except Exception as exc:  # shown as a dialog; the start screen stays
            self.call_from_thread(self.show_error, f"Cannot watch {name}", str(exc))
            return
        self.call_from_thread(self.push_screen, TroubleshootScreen(
            watched.live, watched.source, diagnose=watched.diagnose, names=watched.names, where=f"setup {name}",
            on_traffic=watched.record, on_leave=watched.watch.close if watched.watch else None))

    def back_to_start(self) -> None:
        from vpc_mirror.tui.screens.start import StartScreen  # see on_mount (start-up time)

        while not isinstance(self.screen, StartScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        if not isinstance(self.screen, StartScreen):
            self.push_screen(StartScreen(self.model, self))

    @on(LeaveWizard)
    def _leave_wizard(self, event: LeaveWizard) -> None:
        if event.teardown is None:
            self.back_to_start()
        else:
            self.push_screen(TeardownScreen(self.model, event.teardown), lambda _: self.back_to_start())

    # -- quitting, help, commands -------------------------------------------------------
    def engine_workers(self) -> list[Worker]:
        """The engine runs in progress (apply, teardown, resume)."""
        return [w for w in self.workers if w.group == ENGINE and w.is_running]

    def work_running(self) -> list[str]:
        """What leaving now would interrupt, for the quit question (empty: nothing)."""
        running = []
        if self.engine_workers():
            running.append("AWS work is still running. Leaving stops it after the calls already sent; the state "
                           "is saved before and after every change, and Resume on the start screen continues "
                           "where it stopped.")
        if any(screen.query(".-changing-sensor") for screen in self.screen_stack):
            running.append("Zeek is being set up on the sensor. Leaving closes the connection: files already "
                           "written stay, and the Zeek step run again finishes the rest (it changes only what "
                           "still differs).")
        return running

    def action_request_quit(self) -> None:
        running = self.work_running()
        if not running:
            self.exit()
            return

        def answer(yes: bool) -> None:
            if yes:
                for worker in self.engine_workers():
                    worker.cancel()
                self.exit()

        self.push_screen(ConfirmDialog("Leave while work runs?", "\n\n".join(running), yes="Leave", no="Stay"),
                         answer)

    def action_help(self) -> None:
        keys = [(self.get_key_display(b.binding), b.binding.description)
                for b in self.active_bindings.values() if b.binding.description]
        self.push_screen(HelpScreen(keys))

    def export_answers(self) -> None:
        # pydantic: not before the first screen (start-up time)
        from pydantic import ValidationError

        from vpc_mirror.models.answers import dump_answers, problems_of
        from vpc_mirror.steps.state_dir import write_private

        try:
            plan = self.model.plan()
        except ValidationError as exc:
            self.notify("The answers are not complete yet:\n" + "\n".join(problems_of(exc)[:3]), severity="warning")
            return
        path = Path.cwd() / f"{plan.setup}.answers.yaml"
        try:
            write_private(path, dump_answers(plan))
        except OSError as exc:
            self.notify(f"Cannot write {path}: {exc.strerror}", severity="error")
            return
        self.notify(f"Answers written to {path.name} (use: vpc-mirror apply {path.name})")

    def open_log(self) -> None:
        self.push_screen(LogScreen(self.model.log_lines))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        if isinstance(screen, WizardScreen):
            answered = self.model.draft.answered
            reachable = len(answered) + 1
            for index, page in enumerate(PAGES):
                if page.name in ("review", "apply") or (index >= reachable and page.name not in answered):
                    continue
                yield SystemCommand(f"Go to step: {page.title}", f"Step {index + 1} of {len(PAGES)}",
                                    partial(screen.go, page.name))
            yield SystemCommand("Export answers", "Write the answers as an answers file for `vpc-mirror apply`",
                                self.export_answers)
        yield SystemCommand("Troubleshoot a host", "Watch mirrored traffic arrive on any sensor, over SSH",
                            partial(self.troubleshoot, None))
        yield SystemCommand("Open log", "Everything the engine logged in this session", self.open_log)
        yield SystemCommand("Switch theme", "Choose the colour theme", self.action_change_theme)
        yield SystemCommand("Help", "What the wizard does and its keys", self.action_help)
        yield SystemCommand("Quit", "Leave (asks first while AWS work runs)", self.action_request_quit)


def run_wizard(*, demo: bool, state_dir: Path, endpoint_url: str | None, profile: str | None,
               region: str | None) -> int:
    """The wizard in this terminal; ``demo`` runs it on the embedded sandbox with a throwaway state dir."""
    scratch = Path(tempfile.mkdtemp(prefix="vpc-mirror-demo-")) if demo else None
    backend = (Backend(scratch, demo=True) if demo else
               Backend(Path(state_dir), endpoint_url=endpoint_url, profile=profile, region=region))
    try:
        WizardApp(backend).run()
    finally:
        backend.stop()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
