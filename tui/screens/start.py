"""The start screen: saved setups (how far each got, when, what failed) and what to do next."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Static

from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.saved import SavedSetup, saved_setups


def ago(then: datetime, now: datetime) -> str:
    seconds = int((now - then).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return then.strftime("%Y-%m-%d")


class StartController(Protocol):
    """What the start screen asks of the wizard (the app implements it)."""

    def new_setup(self) -> None: ...

    def resume(self, name: str, *, applied: bool) -> None: ...

    def teardown(self, name: str, *, applied: bool) -> None: ...

    def troubleshoot(self, name: str | None) -> None: ...


class StartScreen(Screen):
    BINDINGS = [
        Binding("n", "new", "New setup", id="start-new"),
        Binding("r", "resume", "Resume", id="start-resume"),
        Binding("s", "status", "Status", id="start-status"),
        Binding("x", "teardown", "Tear down", id="start-teardown"),
        Binding("t", "troubleshoot", "Troubleshoot", id="start-troubleshoot"),
    ]
    DEFAULT_CSS = """
    StartScreen > Vertical { padding: 0 1; }
    StartScreen .intro { height: auto; padding-bottom: 1; }
    StartScreen DataTable { height: 1fr; }
    StartScreen Horizontal { height: auto; }
    StartScreen Button { margin-right: 1; min-width: 0; }
    """

    def __init__(self, model: WizardModel, controller: StartController) -> None:
        super().__init__()
        self.model, self.controller = model, controller
        self.setups: list[SavedSetup] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static("Set up AWS VPC Traffic Mirroring into a Zeek sensor, step by step. Nothing changes in "
                         "AWS before you confirm the review.", classes="intro")
            table = DataTable(id="setups", cursor_type="row", zebra_stripes=False)
            for column in ("setup", "account / region", "progress", "updated", "failed step"):
                table.add_column(column)
            yield table
            with Horizontal():
                yield Button("Resume", id="resume", variant="primary", compact=True)
                yield Button("Status", id="status", compact=True)
                yield Button("Tear down", id="teardown", compact=True)
                yield Button("New setup", id="new", compact=True)
                yield Button("Troubleshoot", id="troubleshoot", compact=True)
        yield Footer()

    def on_screen_resume(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.setups = saved_setups(self.model.backend.state_dir)
        table = self.query_one(DataTable)
        table.clear()
        now = self.model.clock()
        for s in self.setups:
            table.add_row(s.name, s.where, s.progress, ago(s.updated_at, now), s.failed or "-", key=s.name)
        for button in ("resume", "status", "teardown"):
            self.query_one(f"#{button}", Button).disabled = not self.setups
        table.focus()

    def selected(self) -> SavedSetup | None:
        table = self.query_one(DataTable)
        if not self.setups or not table.row_count:
            return None
        return self.setups[table.cursor_row]

    @on(Button.Pressed)
    def _button(self, event: Button.Pressed) -> None:
        self.run_action(event.button.id)

    @on(DataTable.RowSelected)
    def _row(self) -> None:
        self.action_resume()

    def action_new(self) -> None:
        self.controller.new_setup()

    def action_resume(self) -> None:
        if (setup := self.selected()) is not None:
            self.controller.resume(setup.name, applied=setup.applied)

    def action_status(self) -> None:
        if (setup := self.selected()) is None:
            return
        if not setup.applied:
            self.notify(f"{setup.name} is a draft: nothing exists in AWS for it yet. Resume continues its answers.",
                        severity="warning")
            return
        from vpc_mirror.tui.screens.status import StatusScreen  # pydantic (start-up time)

        self.app.push_screen(StatusScreen(self.model.backend.store.load(setup.name)))

    def action_teardown(self) -> None:
        if (setup := self.selected()) is not None:
            self.controller.teardown(setup.name, applied=setup.applied)

    def action_troubleshoot(self) -> None:
        setup = self.selected()
        self.controller.troubleshoot(setup.name if setup and setup.applied else None)
