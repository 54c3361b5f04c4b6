"""The Zeek sensor pane: connect over SSH, show what would change on the sensor, apply it, show ``zeekctl status``.

``ZeekPane(answers=None, *, context=None, known_hosts, demo=False, ssh_config=None, id=None)``

- ``answers``: the setup's ``models.zeek.ZeekPlan``; prefills the form (host, port, user, key file,
  capture interface or MAC) and says what to configure (prefix, package, workers).
- ``context``: a callable returning the setup's engine ``Context`` (called in a worker thread: it
  imports boto3). Fills in what the answers leave out from the saved state (the sensor's address,
  login user, capture ENI MAC; ``steps.zeek_target``), gives the instance's console fingerprints
  for the host-key check, and the result is recorded in the state (step ``zeek``). Closed on unmount.
- ``known_hosts``: our known_hosts file (the state directory's).
- ``demo``: show what would change on a fresh Ubuntu 24.04 sensor and say plainly that the demo does
  not apply it; nothing connects anywhere.
- ``ssh_config``: OpenSSH client config files (None = ~/.ssh/config; tests pass []).

On first contact the host key is shown in a dialog with whether it matches the fingerprints the
instance printed to its console (match: trust it; mismatch: refused with a warning; no console data:
the user decides). A sudo password, when sudo needs one, is asked in a masked dialog and never kept
here. Errors are shown plainly (and as a dialog) with Retry. Posts ``ZeekPane.Confirmed`` once Zeek
is confirmed running, or the demo preview is acknowledged, so the wizard can enable Next.

``connect_sensor`` (the dialogs around ``steps.ssh.connect``) is shared with the troubleshooting screen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError
from rich.syntax import Syntax
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, DataTable, Input, Label, Static, TabbedContent, TabPane

from vpc_mirror.models.zeek import ZeekPlan, ZeekStatus, capture_fields
from vpc_mirror.tui.screens.dialogs import ConfirmDialog, MessageDialog, ModalDialog
from vpc_mirror.tui.panes.progress import PhaseAndLog
from vpc_mirror.tui.widgets.log_view import BatchedLog

_FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")


# -- dialogs --------------------------------------------------------------------------------------------------------

class HostKeyDialog(ModalDialog[bool]):
    """First contact: the host key's fingerprint and what the instance's console output says of it.

    ``verdict`` is "match" (trust it), "mismatch" (refused: only Close) or "unknown" (no console data:
    the user decides; "Don't trust" is focused). Dismisses with True only when the user trusts it.
    """

    DEFAULT_CSS = """
    HostKeyDialog > Vertical { width: 76; }
    HostKeyDialog.-error .dialog-title { color: $error; }
    HostKeyDialog #hostkey-fingerprint { text-style: bold; padding: 0 2 1 2; }
    """
    BINDINGS = [Binding("escape", "refuse", "Don't trust", id="hostkey-refuse")]
    TITLES = {"match": "Host key matches the instance's console output",
              "mismatch": "WARNING: host key does NOT match the instance's console output",
              "unknown": "Unknown host key: no console output to compare it with"}

    def __init__(self, host: str, fingerprint: str, verdict: str, console: Sequence[str] | None = None) -> None:
        super().__init__(classes="-error" if verdict == "mismatch" else None)
        self.host, self.fingerprint, self.verdict, self.console = host, fingerprint, verdict, list(console or [])

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.TITLES[self.verdict], id="hostkey-title", classes="dialog-title")
            yield Static(f"{self.host} presents the host key", markup=False)
            yield Static(self.fingerprint, id="hostkey-fingerprint", markup=False)
            yield Static(self._explanation(), markup=False, id="hostkey-body")
            with Horizontal(classes="dialog-buttons"):
                if self.verdict == "mismatch":
                    yield Button("Close", id="refuse", variant="error", compact=True)
                else:
                    yield Button("Trust and connect", id="trust", variant="primary", compact=True)
                    yield Button("Don't trust", id="refuse", compact=True)

    def _explanation(self) -> str:
        if self.verdict == "match":
            return ("It is among the fingerprints the instance printed to its console at boot (cloud-init), so "
                    "this is the sensor. Trusting records it in vpc-mirror's known_hosts; a changed key later is "
                    "refused.")
        if self.verdict == "mismatch":
            return ("The instance printed these fingerprints to its console:\n"
                    + "\n".join(f"  {fp}" for fp in self.console)
                    + "\nDo not connect: the address may belong to another machine, or someone is in between. "
                      "The key was refused and nothing was recorded.")
        return ("Compare it with the sensor's own: `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the "
                "sensor (e.g. over the EC2 serial console). Trust it only if they are the same.")

    def on_mount(self) -> None:
        self.query_one("#trust" if self.verdict == "match" else "#refuse", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "trust")

    def action_refuse(self) -> None:
        self.dismiss(False)


class PasswordDialog(ModalDialog[str | None]):
    """The sudo password, masked; handed to the SSH connection and never kept by the UI."""

    DEFAULT_CSS = """
    PasswordDialog > Vertical { width: 64; }
    PasswordDialog Static { padding-bottom: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="password-cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__()
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.prompt.strip().rstrip(':')}\nsudo on the sensor needs it; it is used for this "
                         "connection only and never saved.", markup=False)
            yield Input(password=True, id="password", placeholder="password")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self, event: Message) -> None:
        event.stop()
        value = self.query_one(Input).value
        self.query_one(Input).value = ""
        self.dismiss(value or None)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


async def connect_sensor(app: App, target, fingerprints: list[str] | None, log: Callable[[str], None],
                         accept: str | None = None):
    """``steps.ssh.connect`` with the host-key and sudo-password questions asked in dialogs (call from a worker).

    The host-key verdict is decided here against ``fingerprints`` (the console's; None = no console
    data) and shown before anything is trusted: a mismatch can only be closed, so it is refused.
    ``accept`` (``--accept-host-key``) trusts that one fingerprint without asking.
    """
    from vpc_mirror.steps.ssh import HostKeyPolicy, connect  # asyncssh: only when connecting (start-up time)

    async def ask_host_key(question: str) -> bool:
        found = _FINGERPRINT.search(question)
        fingerprint = found.group(0) if found else question
        verdict = "unknown" if not fingerprints else "match" if fingerprint in fingerprints else "mismatch"
        if verdict == "mismatch":
            log(f"WARNING: {target.host} presented {fingerprint}, not one of the console's fingerprints; refused")
        return await app.push_screen(HostKeyDialog(target.host, fingerprint, verdict, fingerprints),
                                     wait_for_dismiss=True)

    async def ask_password(prompt: str) -> str | None:
        return await app.push_screen(PasswordDialog(prompt), wait_for_dismiss=True)

    return await connect(target, HostKeyPolicy(accept=accept, ask=ask_host_key), ask_password=ask_password, log=log)


def _message(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "\n".join(f"{'.'.join(map(str, e['loc'])) or 'answers'}: {e['msg'].removeprefix('Value error, ')}"
                         for e in exc.errors())
    return str(exc) or type(exc).__name__


# -- the pane -------------------------------------------------------------------------------------------------------

class ZeekPane(PhaseAndLog):
    """Connection form, planned changes (diffs and commands), streamed output and ``zeekctl status``."""

    PREFIX = "zeek"

    DEFAULT_CSS = """
    ZeekPane { layout: vertical; height: 1fr; }
    ZeekPane .zeek-form { height: 1; }
    ZeekPane .zeek-form Label { width: auto; padding: 0 1 0 0; }
    ZeekPane .zeek-form Input { width: 1fr; margin-right: 1; }
    ZeekPane #zeek-port { width: 7; }
    ZeekPane #zeek-user { width: 16; }
    ZeekPane #zeek-capture { width: 20; }
    ZeekPane #zeek-demo-notice { height: auto; padding: 0 1; background: $warning 25%; }
    ZeekPane #zeek-phase { height: auto; padding: 0 1; background: $boost; }
    ZeekPane #zeek-phase.-error { color: $error; text-style: bold; }
    ZeekPane TabbedContent { height: 1fr; }
    ZeekPane TabPane { padding: 0; }
    ZeekPane .zeek-file { height: auto; border: round $primary-background; margin-bottom: 1; }
    ZeekPane #zeek-summary, ZeekPane #zeek-commands { height: auto; padding: 0 1; }
    ZeekPane #zeek-commands { margin-bottom: 1; }
    ZeekPane #zeek-files { height: auto; }
    ZeekPane #zeek-status-table { height: 1fr; }
    ZeekPane #zeek-actions { height: 1; align-horizontal: right; }
    ZeekPane #zeek-actions Button { margin-left: 1; }
    """

    BINDINGS = [Binding("a", "acknowledge", "Understood (demo)", id="zeek-acknowledge-key")]

    class Confirmed(Message):
        """Zeek runs on the sensor (``status``), or the demo preview was acknowledged (``demo``, no status)."""

        def __init__(self, status: ZeekStatus | None, demo: bool) -> None:
            super().__init__()
            self.status, self.demo = status, demo

    def __init__(self, answers: ZeekPlan | None = None, *, context: Callable | None = None, known_hosts: Path,
                 demo: bool = False, ssh_config: Sequence[str] | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(context=context, known_hosts=known_hosts, demo=demo, ssh_config=ssh_config, id=id,
                         classes=classes)
        self.answers = answers or ZeekPlan()
        self.sensor = None
        self.work = None  # the last Survey
        self.status: ZeekStatus | None = None
        self._mac: str | None = None  # the capture ENI's, from the state
        self._mac_for_apply: str | None = None  # what the survey found the interface by

    def compose(self) -> ComposeResult:
        if self.demo:
            from vpc_mirror.steps.zeek import DEMO_INTERFACE  # asyncssh: only in the demo (start-up time)

            yield Static(Text.assemble(("Demo: ", "bold"), "this is what vpc-mirror would change on a real sensor "
                                       f"(a fresh Ubuntu 24.04 instance whose capture ENI is {DEMO_INTERFACE}). ",
                                       ("The demo does not connect to a sensor and does not apply it.", "bold")),
                         id="zeek-demo-notice")
        else:
            a = self.answers
            with Horizontal(classes="zeek-form"):
                yield Label("host")
                yield Input(a.host or "", placeholder="sensor address", id="zeek-host", compact=True)
                yield Label("port")
                yield Input(str(a.port or ""), placeholder="22", id="zeek-port", compact=True, type="integer")
                yield Label("user")
                yield Input(a.user or "", placeholder="ubuntu", id="zeek-user", compact=True)
            with Horizontal(classes="zeek-form"):
                yield Label("key file")
                yield Input(a.identity or "", placeholder="~/.ssh/config or the agent", id="zeek-identity",
                            compact=True)
                yield Label("capture")
                yield Input(a.interface or a.mac or "", placeholder="interface or MAC", id="zeek-capture",
                            compact=True)
                yield Button("Connect", id="zeek-connect", variant="primary", compact=True)
        yield Static(id="zeek-phase")
        with TabbedContent(id="zeek-tabs"):
            with TabPane("Changes", id="zeek-tab-plan"):
                with VerticalScroll(id="zeek-plan"):
                    yield Static(id="zeek-summary")
                    yield Static(id="zeek-commands")
                    yield Vertical(id="zeek-files")
            with TabPane("Output", id="zeek-tab-output"):
                yield BatchedLog(id="zeek-output")
            with TabPane("zeekctl status", id="zeek-tab-status"):
                yield DataTable(id="zeek-status-table", cursor_type="row")
        with Horizontal(id="zeek-actions"):
            if self.demo:
                yield Button("Understood: not applied in the demo", id="zeek-acknowledge", variant="primary",
                             compact=True)
            else:
                yield Button("Retry", id="zeek-retry", compact=True, disabled=True)
                yield Button("Apply…", id="zeek-apply", variant="success", compact=True, disabled=True)

    def on_mount(self) -> None:
        self.query_one("#zeek-status-table", DataTable).add_columns("node", "type", "host", "status", "pid",
                                                                     "started")
        if self.demo:
            self._phase("Demo preview: what a real sensor would get (nothing is applied).")
            self._load_demo()
        elif self._context_factory is not None:
            self._phase("Reading the setup's sensor (address, user, console fingerprints)…")
            self.query_one("#zeek-connect", Button).disabled = True
            self._load_setup()
        else:
            self._phase("Fill in how to reach the sensor, then Connect.")

    def on_unmount(self) -> None:
        self._close_sensor()
        if self.ctx is not None:
            self.ctx.close()

    def _close_sensor(self) -> None:
        if self.sensor is not None:
            self.sensor.close()
            self.sensor = None

    # -- prefill -------------------------------------------------------------------------------------------------

    @work(thread=True, group="zeek-load", exit_on_error=False)
    def _load_demo(self) -> None:
        from vpc_mirror.steps.zeek import demo_survey  # asyncssh: only in a worker (start-up time)

        work = demo_survey(self.answers)
        self.app.call_from_thread(self._show_demo_survey, work)

    def _show_demo_survey(self, work) -> None:
        self._show_survey(work)
        self.focus_acknowledge()

    def focus_acknowledge(self) -> bool:
        """In the demo, once its preview is shown, focus what the user does next: acknowledge it (``a`` works from
        there too). False while there is no preview to acknowledge. The page asks too when it focuses its first
        control, which may come before or after the preview: either way the button ends up focused."""
        if not (self.demo and self.work is not None):
            return False
        self.query_one("#zeek-acknowledge", Button).focus()
        return True

    @work(thread=True, group="zeek-load", exit_on_error=False)
    def _load_setup(self) -> None:
        from vpc_mirror.steps.zeek_target import sensor_login  # boto3: only in a worker (start-up time)

        try:
            self.ctx = self._context_factory()
            self.answers = self.ctx.plan.zeek
            found = sensor_login(self.ctx)
        except Exception as exc:  # no state or AWS unreachable: the form can still be filled by hand
            self.app.call_from_thread(self._fail, exc, "Could not read the setup's sensor")
            self.app.call_from_thread(setattr, self.query_one("#zeek-connect", Button), "disabled", False)
            return
        self.app.call_from_thread(self._prefill, *found)

    def _prefill(self, host: str | None, user: str | None, mac: str | None, fingerprints: list[str] | None) -> None:
        a = self.answers
        self._mac = mac
        for field, value in (("host", a.host or host), ("port", a.port), ("user", a.user or user),
                             ("identity", a.identity), ("capture", a.interface or a.mac or mac)):
            self.query_one(f"#zeek-{field}", Input).value = "" if value is None else str(value)
        self.query_one("#zeek-connect", Button).disabled = False
        known = "its console shows host key fingerprints" if fingerprints else "its console shows no host key yet"
        sensors = self.ctx.plan.sensor.count if self.ctx is not None and self.ctx.plan.sensor.mode == "launch" else 1
        fleet = (f" This page sets up the first of the {sensors} sensors; `vpc-mirror zeek {self.ctx.setup}` sets "
                 "up all of them at once." if sensors > 1 else "")
        self._phase(f"Sensor from the setup's state ({known}). Connect when ready.{fleet}")

    # -- connect and survey --------------------------------------------------------------------------------------

    def _form_answers(self) -> tuple[ZeekPlan, str | None]:
        """The answers as the form now says (validated), and the MAC to find the capture interface by."""
        values = self.answers.model_dump()
        form = {name: self.query_one(f"#zeek-{name}", Input).value.strip()
                for name in ("host", "port", "user", "identity", "capture")}
        capture = form.pop("capture")
        values.update({k: (v or None) for k, v in form.items()})
        values.update(capture_fields(capture))
        answers = ZeekPlan.model_validate(values)
        if not answers.host:
            raise ValueError("host: give the sensor's address")
        return answers, None if (answers.interface or answers.mac) else self._mac

    @on(Button.Pressed, "#zeek-connect")
    @on(Button.Pressed, "#zeek-retry")
    def _connect(self) -> None:
        self._connect_and_survey()

    @work(exclusive=True, group="zeek-ssh", exit_on_error=False)
    async def _connect_and_survey(self) -> None:
        # asyncssh and boto3: only when connecting (start-up time)
        from vpc_mirror.steps.ssh import HostKeyRefused, SshError, SshTarget
        from vpc_mirror.steps.zeek import ZeekRefused, behind_load_balancer, survey, zeekctl_status
        from vpc_mirror.steps.zeek_target import sensor_login

        self._close_sensor()
        self._buttons(connect=False, retry=False, apply=False)
        try:
            answers, mac = self._form_answers()
            target = SshTarget(host=answers.host, known_hosts=self.known_hosts, port=answers.port, user=answers.user,
                               identity=Path(answers.identity).expanduser() if answers.identity else None,
                               ssh_config=self.ssh_config)
            self._phase(f"Connecting to {target.label}…")
            # read each time: the console shows the fingerprints only minutes after a launch
            fingerprints = (await asyncio.to_thread(sensor_login, self.ctx))[3] if self.ctx is not None else None
            self.sensor = await connect_sensor(self.app, target, fingerprints, self._log)
            self._phase(f"Connected to {target.label}; reading what it has (OS, Zeek, interfaces, files)…")
            work = await survey(self.sensor, answers, mac,
                                self.ctx is not None and behind_load_balancer(self.ctx.plan))
        except HostKeyRefused as exc:
            self._fail(exc, "Host key refused", dialog=False)
            return
        except ZeekRefused as exc:
            self._fail(exc, "Cannot set Zeek up yet")
            return
        except Exception as exc:  # SshError, bad form values, or anything unforeseen: shown, with Retry
            self._fail(exc, "Connecting failed")
            return
        self.answers, self._mac_for_apply = answers, mac
        self._show_survey(work)
        if work.changes_anything:
            self._phase("Review the changes, then Apply.")
            self._buttons(connect=True, retry=True, apply=True)
            return
        try:
            status = await zeekctl_status(self.sensor, work.prefix)
        except SshError as exc:
            self._fail(exc, "Reading zeekctl status failed")
            return
        self._done(status, f"Nothing to change: Zeek {work.zeek_version} already runs on {work.interface}.")

    def _buttons(self, *, connect: bool, retry: bool, apply: bool) -> None:
        for name, enabled in (("connect", connect), ("retry", retry), ("apply", apply)):
            self.query_one(f"#zeek-{name}", Button).disabled = not enabled

    def _fail(self, exc: BaseException, title: str, dialog: bool = True) -> None:
        text = _message(exc)
        self._phase(f"{title}: {text}", error=True)
        self._log(f"{title}: {text}")
        if not self.demo:
            self._buttons(connect=True, retry=True, apply=False)
        if dialog:
            self.app.push_screen(MessageDialog(title, text, error=True))

    def _show_survey(self, work) -> None:
        self.work = work
        summary = Text()
        summary.append("Sensor: ", "bold")
        summary.append(f"{work.os.pretty or work.os.key}, {'systemd' if work.systemd else 'no systemd (cron)'}\n")
        summary.append("Zeek: ", "bold")
        summary.append(f"{work.zeek_version} in {work.prefix}\n" if work.zeek_version
                       else f"not installed: installs {self.answers.package} into {work.prefix}\n")
        summary.append("Capture interface: ", "bold")
        summary.append(f"{work.interface} ({'; '.join(work.interface_fixes) or 'ready'})")
        self.query_one("#zeek-summary", Static).update(summary)
        files = self.query_one("#zeek-files", Vertical)
        files.remove_children()
        shown = [(f.path, Syntax(f.diff, "diff", theme="ansi_dark", background_color="default")) for f in work.files]
        if work.install:
            shown.insert(0, ("install script (run as root)",
                             Syntax(work.install, "bash", theme="ansi_dark", background_color="default")))
        for title, syntax in shown:
            box = Static(syntax, classes="zeek-file")
            box.border_title = title
            files.mount(box)
        commands = Text()
        commands.append("Runs, in order (as root):\n" if work.commands() else "Nothing to run.", "bold")
        for command in work.commands():
            commands.append(f"  $ {command}\n")
        self.query_one("#zeek-commands", Static).update(commands)
        self.query_one("#zeek-tabs", TabbedContent).active = "zeek-tab-plan"

    # -- apply ---------------------------------------------------------------------------------------------------

    @on(Button.Pressed, "#zeek-apply")
    def _confirm_apply(self) -> None:
        if self.demo or self.work is None or self.sensor is None:
            return
        work = self.work
        body = (f"On {self.sensor.target.label}: {len(work.files)} file(s) written (originals kept as "
                f"*.vpc-mirror.bak), {len(work.commands())} command(s) run as root"
                + (", Zeek installed first" if work.install else "") + ".")
        self.app.push_screen(ConfirmDialog("Apply these changes to the sensor?", body, yes="Apply", no="Cancel"),
                             callback=lambda yes: self._apply() if yes else None)

    @work(exclusive=True, group="zeek-ssh", exit_on_error=False)
    async def _apply(self) -> None:
        from vpc_mirror.steps.zeek import carry_out  # asyncssh: only when applying (start-up time)

        self._buttons(connect=False, retry=False, apply=False)
        self.query_one("#zeek-tabs", TabbedContent).active = "zeek-tab-output"
        self._phase(f"Applying on {self.sensor.target.label}…")
        self.add_class("-changing-sensor")  # the app asks before quitting while this is set
        try:
            status = await carry_out(self.sensor, self.work, self.answers, self._mac_for_apply, log=self._log)
        except Exception as exc:  # SshError (with the failing command's output), ZeekRefused, the unforeseen
            self._fail(exc, "Applying failed")
            await self._record(None, str(exc))
            return
        finally:
            self.remove_class("-changing-sensor")
        self._done(status, f"Zeek runs on {self.work.interface}: {status.summary()}.")

    def _done(self, status: ZeekStatus, text: str) -> None:
        self.status = status
        self._log(status.output.rstrip())
        table = self.query_one("#zeek-status-table", DataTable)
        table.clear()
        for node in status.nodes:
            table.add_row(node.name, node.type, node.host,
                          Text(node.status, "bold green" if node.status == "running" else "bold red"),
                          "" if node.pid is None else str(node.pid), node.started or "")
        self.query_one("#zeek-tabs", TabbedContent).active = "zeek-tab-status"
        self._phase(text, error=not status.running)
        self._buttons(connect=True, retry=True, apply=False)
        self.run_worker(self._record_and_confirm(status), group="zeek-record", exit_on_error=False)

    async def _record_and_confirm(self, status: ZeekStatus) -> None:
        """Confirmed is posted once the state says so, so whoever reloads the state then sees it."""
        await self._record(status, None)
        if status.running:
            self.post_message(self.Confirmed(status, demo=False))

    async def _record(self, status: ZeekStatus | None, error: str | None) -> None:
        """The result in the setup's state, as `vpc-mirror zeek NAME` records it."""
        if self.ctx is None or self.work is None:
            return
        from vpc_mirror.steps.zeek import record_result  # asyncssh: only when recording (start-up time)

        await asyncio.to_thread(record_result, self.ctx, self.work.facts(), status, error)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return self.demo if action == "acknowledge" else True

    @on(Button.Pressed, "#zeek-acknowledge")
    def action_acknowledge(self) -> None:
        self._phase("Acknowledged: the demo does not apply these changes; a real sensor gets them at this step.")
        self.post_message(self.Confirmed(None, demo=True))
