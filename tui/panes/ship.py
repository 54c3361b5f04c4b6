"""The Ship pane: carry Zeek's rotated logs from the sensor to AI-Hunter / RITA, as `vpc-mirror ship` does.

``ShipPane(*, context, known_hosts, demo=False, ssh_config=None)``

- ``context``: a callable returning the setup's engine ``Context`` (called in a worker thread); the
  sensor's address, login and console fingerprints come from it, and the result is recorded in its
  state (step ``ship``) with ``steps.ship.record_result``.
- ``demo``: show what a real sensor and hunter would get (every file diff and command, for a sample
  sensor id) and say plainly that the demo does not apply it; ``a`` acknowledges, and the step is
  recorded as skipped with the reason.

The form (hunter, the admin login there, the receiving user, DEST, RITA) is checked as typed with
ShipPlan's messages. Connecting uses the Zeek pane's dialogs (host key, sudo); the hunter's host key,
read from the sensor's side, is trusted only after a question. Apply asks first, then shows what
arrived on the hunter. Posts ``ShipPane.Confirmed`` once the state says so. steps.ship (asyncssh,
boto3) is imported in workers (start-up time); the page is mounted after the hunt has loaded them.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Label, Static, TabbedContent, TabPane

from vpc_mirror.tui.panes.setup_sensor import connect_setup_sensor
from vpc_mirror.tui.panes.zeek import connect_sensor
from vpc_mirror.tui.screens.dialogs import ConfirmDialog, MessageDialog
from vpc_mirror.tui.panes.progress import PhaseAndLog
from vpc_mirror.tui.widgets.log_view import BatchedLog

#: the demo's stand-in for zeek_log_transport's sensor id (short host name, "__", primary address)
DEMO_SENSOR_ID = "ip-10-0-1-100__10.0.1.100"
DEMO_LOG_DIR = "/opt/zeek/logs"
DEMO_HUNTER_KEY = "ssh-ed25519 <the hunter's host key, as the sensor reads it and you confirm>"
#: the demo's sample hunter, so its preview shows at once (typing another shows that one's)
DEMO_HUNTER = "ai-hunter.example.net"
_FIELDS = ("hunter", "hunter_user", "ship_user", "dest_dir")


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


class ShipPane(PhaseAndLog):
    """The shipping form, the planned changes on sensor and hunter, the transport's output, what arrived."""

    PREFIX = "ship"

    DEFAULT_CSS = """
    ShipPane { layout: vertical; height: 1fr; }
    ShipPane .ship-form { height: 1; }
    ShipPane .ship-form Label { width: auto; padding: 0 1 0 0; }
    ShipPane .ship-form Input { width: 1fr; margin-right: 1; }
    ShipPane .ship-form Checkbox { width: auto; }
    ShipPane #ship-problems { height: auto; padding: 0 1; color: $error; }
    ShipPane #ship-demo-notice { height: auto; padding: 0 1; background: $warning 25%; }
    ShipPane #ship-phase { height: auto; padding: 0 1; background: $boost; }
    ShipPane #ship-phase.-error { color: $error; text-style: bold; }
    ShipPane TabbedContent { height: 1fr; }
    ShipPane TabPane { padding: 0; }
    ShipPane .ship-file { height: auto; border: round $primary-background; margin-bottom: 1; }
    ShipPane #ship-summary, ShipPane #ship-commands, ShipPane #ship-arrived { height: auto; padding: 0 1; }
    ShipPane #ship-files { height: auto; }
    ShipPane #ship-actions { height: 1; align-horizontal: right; }
    ShipPane #ship-actions Button { margin-left: 1; }
    """

    BINDINGS = [Binding("a", "acknowledge", "Understood (demo)", id="ship-acknowledge-key")]

    class Confirmed(Message):
        """The step is in the state: shipped (``status`` "done"), waiting for the hunter's admin
        ("in-progress"), or the demo preview acknowledged ("skipped")."""

        def __init__(self, status: str) -> None:
            super().__init__()
            self.status = status

    def __init__(self, *, context: Callable, known_hosts: Path, demo: bool = False,
                 ssh_config: Sequence[str] | None = None, id: str | None = None) -> None:
        super().__init__(context=context, known_hosts=known_hosts, demo=demo, ssh_config=ssh_config, id=id)
        self.sensor = None
        self.hunter = None
        self.plan = None  # the ShipPlan the changes shown were worked out for
        self.work = None  # steps.ship.SensorSurvey
        self.hunter_work = None  # steps.ship.HunterSurvey, with a hunter login
        self.hunter_keys: list[str] = []  # verified from the sensor's side; written to known_hosts on Apply

    def compose(self) -> ComposeResult:
        if self.demo:
            yield Static(Text.assemble(("Demo: ", "bold"), "this is what vpc-mirror would set up on a real sensor "
                                       f"(sensor id {DEMO_SENSOR_ID}) and hunter. ",
                                       ("The demo does not connect anywhere and does not apply it.", "bold")),
                         id="ship-demo-notice")
        with Horizontal(classes="ship-form"):
            yield Label("hunter")
            yield Input(DEMO_HUNTER if self.demo else "", placeholder="AI-Hunter / RITA address", id="ship-hunter",
                        compact=True)
            yield Label("admin")
            yield Input(placeholder="sudo login there (optional)", id="ship-hunter_user", compact=True)
        with Horizontal(classes="ship-form"):
            yield Label("ship user")
            yield Input("dataimport", id="ship-ship_user", compact=True)
            yield Label("dest")
            yield Input("/opt/zeek/remotelogs", id="ship-dest_dir", compact=True)
            yield Checkbox("RITA", id="ship-rita", compact=True)
        yield Static(id="ship-problems")
        yield Static(id="ship-phase")
        with TabbedContent(id="ship-tabs"):
            with TabPane("Changes", id="ship-tab-plan"):
                with VerticalScroll(id="ship-plan"):
                    yield Static(id="ship-summary")
                    yield Static(id="ship-commands")
                    yield Vertical(id="ship-files")
            with TabPane("Output", id="ship-tab-output"):
                yield BatchedLog(id="ship-output")
            with TabPane("Arrived", id="ship-tab-arrived"):
                yield Static(id="ship-arrived")
        with Horizontal(id="ship-actions"):
            yield Button("Show the plan" if self.demo else "Connect", id="ship-connect", variant="primary",
                         compact=True, disabled=True)
            if self.demo:
                yield Button("Understood: not applied in the demo", id="ship-acknowledge", compact=True,
                             disabled=True)
            else:
                yield Button("Apply…", id="ship-apply", variant="success", compact=True, disabled=True)

    def on_mount(self) -> None:
        self._phase("Where do the logs go? Fill in the hunter, then "
                    + ("Show the plan." if self.demo else "Connect."))
        self._open()

    def on_unmount(self) -> None:
        self._close()
        if self.ctx is not None:
            self.ctx.close()

    def _close(self) -> None:
        for conn in (self.sensor, self.hunter):
            if conn is not None:
                conn.close()
        self.sensor = self.hunter = None

    @work(thread=True, group="ship-load", exit_on_error=False)
    def _open(self) -> None:
        """The setup's context, and steps.ship imported (boto3, asyncssh) off the event loop."""
        import vpc_mirror.steps.ship  # noqa: F401  # warmed here, used as typed (start-up time)

        try:
            self.ctx = self._context_factory()
        except Exception as exc:  # shown; the demo preview and the form still work
            self.app.call_from_thread(self._phase, f"Could not read the setup: {_message(exc)}", True)
        self.app.call_from_thread(self._validate)
        if self.demo:
            self.app.call_from_thread(self._connect)

    # -- the form ------------------------------------------------------------------------------------------------

    def _form(self) -> tuple[object | None, str | None, dict[str, str]]:
        """(the ShipPlan, the hunter admin login, field -> ShipPlan's message) as the form now says."""
        from pydantic import TypeAdapter, ValidationError

        from vpc_mirror.models.zeek import LoginUser
        from vpc_mirror.steps.ship import ShipPlan  # loaded by _open (start-up time)

        values = {name: self.query_one(f"#ship-{name}", Input).value.strip() for name in _FIELDS}
        problems: dict[str, str] = {}
        admin = values.pop("hunter_user") or None
        if admin is not None:
            try:
                TypeAdapter(LoginUser).validate_python(admin)
            except ValidationError:
                problems["hunter_user"] = f"{admin!r} is not a login name"
        if not values["hunter"]:
            problems["hunter"] = "give the AI-Hunter / RITA host, as the sensor reaches it"
        try:
            plan = ShipPlan(**values, rita=self.query_one("#ship-rita", Checkbox).value)
        except ValidationError as exc:
            plan = None
            for error in exc.errors():
                problems.setdefault(str(error["loc"][0]), error["msg"].removeprefix("Value error, "))
        return (None if problems else plan), admin, problems

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _validate(self) -> None:
        if "vpc_mirror.steps.ship" not in sys.modules:
            return  # _open calls again once loaded
        plan, _, problems = self._form()
        lines = [f"{name.replace('_', ' ')}: {message}" for name, message in problems.items()]
        self.query_one("#ship-problems", Static).update(Text("\n".join(lines)))
        for name in _FIELDS:
            self.query_one(f"#ship-{name}", Input).set_class(name in problems, "-invalid")
        self.query_one("#ship-connect", Button).disabled = plan is None
        if not self.demo and self.plan is not None and self.plan != plan:
            self.query_one("#ship-apply", Button).disabled = True  # the changes shown were for other answers

    @on(Input.Submitted)
    @on(Button.Pressed, "#ship-connect")
    def _connect(self) -> None:
        plan, admin, problems = self._form()
        if plan is None:
            return
        if self.demo:
            self._preview(plan, admin)
        else:
            self._connect_and_survey(plan, admin)

    # -- the demo ------------------------------------------------------------------------------------------------

    def _preview(self, plan, admin: str | None) -> None:
        from vpc_mirror.steps import ship_scripts as scripts  # loaded by _open (start-up time)
        from vpc_mirror.steps.ship import SensorSurvey, admin_instructions
        from vpc_mirror.steps.zeek import FileChange

        transport = scripts.Transport(log_dir=DEMO_LOG_DIR, hunter=plan.hunter, port=plan.port,
                                      ship_user=plan.ship_user, sensor_id=DEMO_SENSOR_ID)
        work = SensorSurvey(transport, user_exists=False, public_key=None, files=[
            FileChange(scripts.TRANSPORT, None, scripts.transport_script(transport), 0o755),
            FileChange(scripts.CRON_FILE, None, scripts.cron_file(plan.hunter)),
            FileChange(scripts.KNOWN_HOSTS, None, scripts.known_hosts(plan.hunter, plan.port, [DEMO_HUNTER_KEY]))])
        hunter = ("With the admin login, vpc-mirror runs this on the hunter itself:" if admin
                  else "The hunter's admin runs, as root:")
        self._show(plan, work, None, f"{hunter}\n{admin_instructions(plan, None, DEMO_SENSOR_ID)}")
        self._phase("Demo preview: what a real sensor and hunter would get (nothing is applied). "
                    "Press a to acknowledge.")
        acknowledge = self.query_one("#ship-acknowledge", Button)
        acknowledge.disabled = False
        acknowledge.focus()  # so `a` acknowledges rather than typing into the form

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "acknowledge":
            return self.demo and self.work is not None
        return True

    @on(Button.Pressed, "#ship-acknowledge")
    def action_acknowledge(self) -> None:
        self._phase("Acknowledged: the demo does not ship logs; a real setup does it at this step.")
        self._record_and_confirm({"demo": True, "sensor_id": DEMO_SENSOR_ID}, "skipped",
                                 "the demo has no sensor or hunter: the plan was shown, nothing was applied")

    # -- a real sensor -------------------------------------------------------------------------------------------

    @work(exclusive=True, group="ship-ssh", exit_on_error=False)
    async def _connect_and_survey(self, plan, admin: str | None) -> None:
        # asyncssh and boto3: only when connecting (start-up time)
        from vpc_mirror.steps import ship
        from vpc_mirror.steps.ssh import HostKeyPolicy, SshTarget

        self._close()
        self.plan = None
        self.query_one("#ship-connect", Button).disabled = True
        self.query_one("#ship-apply", Button).disabled = True
        try:
            if self.ctx is None:
                raise ValueError("the setup could not be read, so its sensor is unknown")
            self.sensor = await connect_setup_sensor(self.app, self.ctx, self.known_hosts, self._phase,
                                                     self.ssh_config)
            self._phase(f"Reading {plan.hunter}'s host key from the sensor's side…")
            keys = await ship.verify_hunter_keys(await ship.scan_hunter_keys(self.sensor, plan), plan,
                                                 self.known_hosts, HostKeyPolicy(ask=self._ask_hunter_key),
                                                 log=self._log)
            self.hunter_keys = keys  # recorded in known_hosts only when applied
            if admin:
                self._phase(f"Connecting to the hunter as {admin}…")
                hunter = SshTarget(host=plan.hunter, port=plan.port, user=admin, known_hosts=self.known_hosts,
                                   ssh_config=self.ssh_config)
                self.hunter = await connect_sensor(self.app, hunter, None, self._log)
            self._phase("Working out the changes on the sensor" + (" and the hunter…" if admin else "…"))
            self.work = await ship.survey_sensor(self.sensor, plan, keys, self.ctx.facts("zeek").get("prefix")
                                                 or self.ctx.plan.zeek.zeek_prefix)
            sid = self.work.transport.sensor_id
            self.hunter_work = (await ship.survey_hunter(self.hunter, plan, self.work.public_key, sid,
                                                         source=self.work.address)
                                if self.hunter else None)
        except Exception as exc:  # a refused key, SshError, ShipRefused, the unforeseen: shown, with Connect
            self._fail(exc, "Connecting failed")
            return
        self.plan = plan
        admin_text = None if self.hunter else ("The hunter's admin runs, as root (vpc-mirror has no login there):\n"
                                               + ship.admin_instructions(plan, self.work.public_key, sid,
                                                                         source=self.work.address))
        self._show(plan, self.work, self.hunter_work, admin_text)
        changes = self.work.changes_anything or (self.hunter_work is not None and self.hunter_work.changes_anything)
        self._phase("Review the changes, then Apply." if changes
                    else "Nothing to change: shipping is set up. Apply runs the transport once.")
        self.query_one("#ship-apply", Button).disabled = False

    async def _ask_hunter_key(self, question: str) -> bool:
        return await self.app.push_screen(ConfirmDialog("Trust the hunter's host key?", question,
                                                        yes="Trust", no="Don't trust"), wait_for_dismiss=True)

    def _fail(self, exc: BaseException, title: str) -> None:
        text = _message(exc)
        self._phase(f"{title}: {text}", error=True)
        self._log(f"{title}: {text}")
        self.query_one("#ship-connect", Button).disabled = False
        self.app.push_screen(MessageDialog(title, text, error=True))

    def _show(self, plan, work, hunter_work, admin_text: str | None) -> None:
        self.work = work
        t = work.transport
        summary = Text()
        summary.append("Sensor id: ", "bold")
        summary.append(f"{t.sensor_id}\n")
        summary.append("Ships: ", "bold")
        summary.append(f"{t.log_dir} -> {plan.ship_user}@{plan.hunter}:{plan.dest_dir}/{t.sensor_id}/ "
                       "hourly at 5 past")
        self.query_one("#ship-summary", Static).update(summary)
        commands = Text()
        sensor_commands = work.commands()
        commands.append("Runs on the sensor (as root):\n" if sensor_commands else "Nothing to run on the sensor.\n",
                        "bold")
        for command in sensor_commands:
            commands.append(f"  $ {command}\n")
        if hunter_work is not None and hunter_work.account_missing:
            commands.append(f"Makes user {plan.ship_user} and {plan.dest_dir} on the hunter.\n", "bold")
        self.query_one("#ship-commands", Static).update(commands)
        files = self.query_one("#ship-files", Vertical)
        files.remove_children()
        shown = [(c.path, Syntax(c.diff, "diff", theme="ansi_dark", background_color="default"))
                 for c in work.files + (hunter_work.files if hunter_work else [])]
        if admin_text:
            shown.append(("on the hunter", Syntax(admin_text, "bash", theme="ansi_dark", background_color="default")))
        for title, syntax in shown:
            box = Static(syntax, classes="ship-file")
            box.border_title = title
            files.mount(box)
        self.query_one("#ship-tabs", TabbedContent).active = "ship-tab-plan"

    @on(Button.Pressed, "#ship-apply")
    def _confirm_apply(self) -> None:
        if self.work is None or self.sensor is None or self.plan is None:
            return
        body = (f"On {self.sensor.target.label}: {len(self.work.files)} file(s) written, "
                f"{len(self.work.commands())} command(s) run as root"
                + (f"; on {self.plan.hunter}: {len(self.hunter_work.files)} file(s)" if self.hunter_work else "")
                + "; then the transport runs once.")
        self.app.push_screen(ConfirmDialog("Set up log shipping?", body, yes="Apply", no="Cancel"),
                             callback=lambda yes: self._apply() if yes else None)

    @work(exclusive=True, group="ship-ssh", exit_on_error=False)
    async def _apply(self) -> None:
        from vpc_mirror.steps import ship  # asyncssh: only when applying (start-up time)
        from vpc_mirror.steps import ship_scripts as scripts

        plan, work = self.plan, self.work
        sid = work.transport.sensor_id
        self.query_one("#ship-apply", Button).disabled = True
        self.query_one("#ship-tabs", TabbedContent).active = "ship-tab-output"
        self._phase(f"Setting up shipping on {self.sensor.target.label}…")
        self.add_class("-changing-sensor")  # the app asks before quitting while this is set
        facts = {**work.facts(), "ship_user": plan.ship_user, "dest_dir": plan.dest_dir, "rita": plan.rita}
        try:
            ship.record_hunter_key(self.known_hosts, plan, self.hunter_keys, log=self._log)
            public_key = await ship.prepare_sensor(self.sensor, work, log=self._log)
            if self.hunter is not None:
                await ship.prepare_hunter(self.hunter, plan, self.hunter_work, public_key, sid, source=work.address,
                                          log=self._log)
            elif work.public_key is None:
                self._log(ship.admin_instructions(plan, public_key, sid, source=work.address))
                self._phase(f"The sensor is ready. The hunter's admin must now run the commands in Output as root "
                            f"on {plan.hunter}; then Connect and Apply again to ship once.")
                await self._record(facts, "in-progress", "waiting for the hunter's admin to authorize the key")
                return
            self._log(f"… running the transport once: runuser -u {scripts.SENSOR_USER} -- {scripts.TRANSPORT}")
            result = await ship.run_transport(self.sensor)
            self._log(result.output)
            files = await ship.arrived(self.hunter, plan, sid) if self.hunter else ship.sent(result)
        except Exception as exc:  # SshError with the failing command's output, the unforeseen
            self._fail(exc, "Setting up shipping failed")
            await self._record(facts, "failed", _message(exc))
            return
        finally:
            self.remove_class("-changing-sensor")
        error = None if result.exit_status == 0 else f"the transport failed (exit {result.exit_status})"
        where = f"{plan.hunter}:{plan.dest_dir}/{sid}/"
        self.query_one("#ship-arrived", Static).update(Text(
            (f"On the hunter in {where}: " if self.hunter else f"Sent to {where}: ") + f"{len(files)} log file(s)\n"
            + "".join(f"  {name}\n" for name in files)))
        self.query_one("#ship-tabs", TabbedContent).active = "ship-tab-arrived"
        self._phase(error or f"Shipping works: hourly at 5 past, {scripts.CRON_FILE} runs {scripts.TRANSPORT}.",
                    error=error is not None)
        self.query_one("#ship-apply", Button).disabled = False
        await self._record(facts, "failed" if error else "done", error)

    # -- the state -----------------------------------------------------------------------------------------------

    async def _record(self, facts: dict, status: str, reason: str | None) -> None:
        """The result in the setup's state, as `vpc-mirror ship NAME` records it; then Confirmed (not on failure)."""
        from vpc_mirror.steps.ship import record_result  # boto3: only in a worker (start-up time)

        if self.ctx is None:
            self._phase("The result could not be saved: the setup could not be read.", error=True)
            return
        try:
            await asyncio.to_thread(record_result, self.ctx, facts, status, reason)
        except Exception as exc:  # the state is busy (another run holds it): said
            self._phase(f"The result could not be saved in the setup's state: {exc}", error=True)
            return
        if status != "failed":
            self.post_message(self.Confirmed(status))

    def _record_and_confirm(self, facts: dict, status: str, reason: str) -> None:
        self.run_worker(self._record(facts, status, reason), group="ship-record", exit_on_error=False)
