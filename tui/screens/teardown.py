"""Tear a setup down: delete, in reverse, what it created and still carries its tag; the log as it goes.

Log shipping set up on the sensor (the ship step) is asked about first, as `vpc-mirror teardown` asks:
the sensor may go with the setup. asyncssh, boto3 and the sensor panes (pydantic) are imported in workers
(start-up time).
"""

from __future__ import annotations

import asyncio

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Static

from vpc_mirror.tui.backend import ENGINE, cancellable
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.screens.dialogs import ConfirmDialog
from vpc_mirror.tui.widgets.log_view import BatchedLog


class TornDown(Message):
    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class TeardownScreen(Screen[bool]):
    """Runs the teardown when shown; Close is enabled when it has ended. Dismisses with success."""

    BINDINGS = [Binding("escape", "close", "Close", id="teardown-close")]
    DEFAULT_CSS = """
    TeardownScreen > Vertical { padding: 0 1; }
    TeardownScreen #teardown-status { height: auto; }
    TeardownScreen Horizontal { height: auto; align-horizontal: right; }
    """

    def __init__(self, model: WizardModel, setup: str) -> None:
        super().__init__()
        self.model = model
        self.setup = setup
        self.ok: bool | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical():
            yield Static(f"Tearing down [b]{self.setup}[/b]: deleting what it created, newest first…",
                         id="teardown-status")
            yield BatchedLog(id="teardown-log")
            with Horizontal():
                yield Button("Close", id="close", disabled=True, compact=True)
        yield Footer()

    def on_mount(self) -> None:
        self.start()

    @work(group=ENGINE, exit_on_error=False)
    async def start(self) -> None:
        """Log shipping first, when the ship step set it up (asked; the dialogs need the app's loop), then AWS."""
        state = await asyncio.to_thread(self.model.backend.store.load, self.setup)
        if state is not None and state.step("ship").status not in ("pending", "skipped"):
            await self.remove_shipping()
        self.teardown()

    async def remove_shipping(self) -> None:
        """On yes: ``steps.ship.remove`` on the sensor and the ship step pending again; on no, say it is left."""
        from vpc_mirror.steps import ship  # asyncssh and boto3: only in a worker (start-up time)
        from vpc_mirror.steps import ship_scripts as scripts
        from vpc_mirror.steps.engine import set_status
        from vpc_mirror.steps.setup import change_state
        from vpc_mirror.tui.panes.setup_sensor import connect_setup_sensor  # pydantic (start-up time)

        what = f"{scripts.CRON_FILE}, {scripts.TRANSPORT}, user {scripts.SENSOR_USER} and its key"
        if not await self.app.push_screen(ConfirmDialog("Remove log shipping?", f"Remove log shipping from the "
                                                        f"sensor ({what})?", yes="Remove", no="Leave it"),
                                          wait_for_dismiss=True):
            self.log_line(f"Log shipping is left on the sensor ({what}); the ship step stays as it was.")
            return

        def pending(saved) -> None:
            saved.facts("ship").clear()
            set_status(saved, "ship", "pending")

        backend = self.model.backend
        ctx = sensor = None
        try:
            ctx = await asyncio.to_thread(backend.context, backend.store.load_answers(self.setup))
            sensor = await connect_setup_sensor(self.app, ctx, backend.state_dir / "known_hosts", self.log_line)
            await ship.remove(sensor, log=self.log_line)
            await asyncio.to_thread(change_state, ctx, pending)
            self.log_line("Log shipping is removed from the sensor.")
        except Exception as exc:  # unreachable sensor, refused key: said; the AWS teardown goes on
            self.log_line(f"Log shipping could not be removed from the sensor ({exc}); the ship step stays as it "
                          "was: tear down again once the sensor can be reached")
        finally:
            if sensor is not None:
                sensor.close()
            if ctx is not None:
                ctx.close()

    def log_line(self, line: str) -> None:
        self.model.log_lines.append(line)
        self.query_one(BatchedLog).add(line)

    @work(thread=True, group=ENGINE, exit_on_error=False)
    async def teardown(self) -> None:
        from vpc_mirror.steps.setup import teardown_setup  # boto3: only in a worker (start-up time)

        error = None
        backend = self.model.backend
        try:
            plan = backend.store.load_answers(self.setup)
            ctx = backend.context(plan, log=self.log_line)
            try:
                with ctx.store.lock(self.setup):
                    await cancellable(teardown_setup(ctx))
            finally:
                ctx.close()
        except asyncio.CancelledError:
            error = "stopped before it finished; run the teardown again to finish it"
        except Exception as exc:  # shown on the screen; the state says what is left
            error = str(exc) or type(exc).__name__
        self.post_message(TornDown(error))

    def on_torn_down(self, event: TornDown) -> None:
        self.ok = event.error is None
        self.query_one(BatchedLog).flush()
        text = (f"✓ {self.setup} is torn down: everything it created is deleted." if self.ok
                else f"✗ teardown stopped: {event.error}\nThe state is kept; tear down again to finish.")
        self.query_one("#teardown-status", Static).update(text)
        close = self.query_one("#close", Button)
        close.disabled = False
        close.focus()

    @on(Button.Pressed, "#close")
    def action_close(self) -> None:
        if self.ok is not None:
            self.dismiss(self.ok)
