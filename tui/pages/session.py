"""Page 10 — sessions: one per source ENI; session number, VXLAN id and packet length (all optional)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, Static

from vpc_mirror.tui.pages.form import StepForm


class SessionForm(StepForm):
    PAGE = "session"
    FIELDS = ("session_number", "vni", "packet_length", "description")

    def compose(self) -> ComposeResult:
        yield Static("One session per mirrored ENI, all sending to the target through the filter. Leave a "
                     "field blank for AWS's default.", classes="intro")
        yield self.field("session_number", "Session number", Input(placeholder="lowest free", compact=True,
                                                                   type="integer"),
                         help="1-32766; lower numbers are evaluated first on an ENI")
        yield self.field("vni", "VXLAN id (VNI)", Input(placeholder="chosen by AWS", compact=True, type="integer"),
                         help="1-16777215; the live view checks packets carry it")
        yield self.field("packet_length", "Packet length", Input(placeholder="whole packet", compact=True,
                                                                 type="integer"),
                         help="bytes of each packet to mirror, 1-8500")
        yield self.field("description", "Description", Input(compact=True))
        yield self.section_error()

    def activate(self) -> None:
        for name in self.FIELDS:
            value = self.value(name)
            self.query_one(f"#session-{name}", Input).value = "" if value is None else str(value)
        super().activate()
