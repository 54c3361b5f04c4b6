"""Troubleshoot a host: where to SSH and what to capture, for a sensor that is not (or not yet) a saved setup.

The same fields `vpc-mirror watch --host` takes, checked as typed by the
model the Zeek step uses (models.zeek.ZeekPlan), so a bad port or MAC is named
next to its field and Watch stays disabled until the form is valid.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Static

from vpc_mirror.models.zeek import ZeekPlan, capture_fields
from vpc_mirror.tui.screens.dialogs import ModalDialog
from vpc_mirror.tui.screens.troubleshoot import WatchTarget
from vpc_mirror.tui.widgets.field import Field

#: field id -> (label, placeholder, ZeekPlan field it fills)
FIELDS = {
    "host": ("host", "sensor address (required)", "host"),
    "port": ("SSH port", "22 or ~/.ssh/config", "port"),
    "user": ("user", "ubuntu, ec2-user, … or ~/.ssh/config", "user"),
    "identity": ("key file", "~/.ssh/config or the agent", "identity"),
    "capture": ("capture", "interface or MAC (required)", None),
    "vxlan": ("VXLAN port", "4789", None),
}


class WatchHostDialog(ModalDialog[WatchTarget | None]):
    """Dismisses with a ``WatchTarget`` for the host, or None (Escape)."""

    DEFAULT_CSS = """
    WatchHostDialog > Vertical { width: 76; max-height: 100%; }
    WatchHostDialog .dialog-title { padding-bottom: 0; }
    WatchHostDialog #watch-help { color: $text-muted; padding-bottom: 1; }
    WatchHostDialog Field .field-label { width: 12; }
    WatchHostDialog Field > Horizontal > .field-label { width: 12; }
    WatchHostDialog Field .field-error { padding-left: 12; }
    WatchHostDialog Input { height: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="watch-cancel")]

    def __init__(self, state_dir: Path) -> None:
        super().__init__()
        self.state_dir = state_dir

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Troubleshoot a host", id="watch-title", classes="dialog-title")
            yield Static("tcpdump runs there over SSH (the host key is checked first); nothing is changed.",
                         id="watch-help")
            for name, (label, placeholder, _) in FIELDS.items():
                yield Field(label, Input(placeholder=placeholder, id=f"watch-{name}", compact=True),
                            id=f"watch-field-{name}")
            with Horizontal(id="watch-buttons", classes="dialog-buttons"):
                yield Button("Watch", id="watch-go", variant="primary", compact=True, disabled=True)
                yield Button("Cancel", id="watch-no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#watch-host", Input).focus()

    def _values(self) -> dict[str, str]:
        return {name: self.query_one(f"#watch-{name}", Input).value.strip() for name in FIELDS}

    def problems(self) -> dict[str, str]:
        """Field id -> what is wrong with it and how to fix it; empty when the form can be used."""
        values = self._values()
        problems = {}
        if not values["host"]:
            problems["host"] = "give the sensor's address or host name"
        if not values["capture"]:
            problems["capture"] = "give the capture interface (e.g. ens6) or the capture ENI's MAC address"
        plan = {model: values[name] or None for name, (_, _, model) in FIELDS.items() if model}
        plan.update(capture_fields(values["capture"]))
        try:
            ZeekPlan.model_validate(plan)
        except ValidationError as exc:
            by_model = {model: name for name, (_, _, model) in FIELDS.items() if model}
            for error in exc.errors():
                field = by_model.get(str(error["loc"][0]) if error["loc"] else "", "capture")
                problems.setdefault(field, error["msg"].removeprefix("Value error, "))
        vxlan = values["vxlan"]
        if vxlan and not (vxlan.isdigit() and 1 <= int(vxlan) <= 65535):
            problems["vxlan"] = "a UDP port from 1 to 65535 (AWS mirrors to 4789)"
        return problems

    @on(Input.Changed)
    def _check(self) -> None:
        problems = self.problems()
        values = self._values()
        for name in FIELDS:
            # an empty required field is not an error before anything was typed in it; Watch stays disabled
            shown = problems.get(name) if values[name] or name not in ("host", "capture") else None
            self.query_one(f"#watch-field-{name}", Field).set_error(shown)
        self.query_one("#watch-go", Button).disabled = bool(problems)

    @on(Input.Submitted)
    @on(Button.Pressed, "#watch-go")
    def _watch(self) -> None:
        if self.problems():
            return
        values = self._values()
        self.dismiss(WatchTarget(
            state_dir=self.state_dir, host=values["host"], port=int(values["port"]) if values["port"] else None,
            user=values["user"] or None,
            identity=Path(values["identity"]).expanduser() if values["identity"] else None,
            known_hosts=self.state_dir / "known_hosts", vxlan_port=int(values["vxlan"] or 4789),
            **capture_fields(values["capture"])))

    @on(Button.Pressed, "#watch-no")
    def action_cancel(self) -> None:
        self.dismiss(None)

