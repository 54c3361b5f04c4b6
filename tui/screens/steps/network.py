"""Pages 6 to 8 — which ENIs are mirrored, the capture ENI on the sensor, and the mirror target."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable, Input, RadioButton, RadioSet, Select, Static

from steps import inventory
from tui.screens.steps.base import Loaded, StepForm


class SourceEniForm(StepForm):
    PAGE = "source_eni"

    def compose(self) -> ComposeResult:
        yield Static("Mirror each source's primary ENI (nothing to create), or create and attach a dedicated "
                     "ENI per source. AWS allows 3 sessions per ENI.", classes="intro")
        yield self.field("mode", "Mirror", RadioSet(RadioButton("the primary ENI", name="primary"),
                                                    RadioButton("a dedicated new ENI", name="dedicated"),
                                                    compact=True))
        yield Static("The sources' network interfaces:", classes="subhead")
        table = DataTable(id="source_eni-enis", cursor_type="row")
        for column in ("ENI", "instance", "device", "private IP", "sessions"):
            table.add_column(column)
        yield table
        yield self.section_error()

    def activate(self) -> None:
        for button in self.query(RadioButton):
            button.value = button.name == self.value("mode")
        self.query_one(DataTable).loading = True
        sources = self.app.draft.answers.get("sources", {}).get("instances", [])
        ids = [s for s in sources if s.startswith("i-")]
        self.load("enis", lambda aws: inventory.source_enis(aws, ids))
        super().activate()

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        table = self.query_one(DataTable)
        table.loading = False
        table.clear()
        for eni in event.result or []:
            table.add_row(eni["id"], eni["instance_id"], str(eni["device_index"]), eni["private_ip"],
                          f"{eni['sessions']} of {eni['limit']}")
        if event.error:
            self.query_one(".section-error", Static).update(event.error)


class SensorEniForm(StepForm):
    PAGE = "sensor_eni"

    def compose(self) -> ComposeResult:
        yield Static("A capture ENI is created in the sensor's subnet and attached to it. Its security group "
                     "admits VXLAN only from the sources' addresses, never from everywhere.", classes="intro")
        yield self.field("device_index", "Device index", Input(compact=True, type="integer"),
                         help="1-15; the sensor's primary ENI is 0")
        yield self.field("vxlan_port", "VXLAN UDP port", Input(compact=True, type="integer"),
                         help="AWS sends mirrored traffic to UDP 4789")
        yield self.section_error()

    def activate(self) -> None:
        self.query_one("#sensor_eni-device_index", Input).value = str(self.value("device_index"))
        self.query_one("#sensor_eni-vxlan_port", Input).value = str(self.value("vxlan_port"))
        super().activate()


class TargetForm(StepForm):
    PAGE = "target"

    def compose(self) -> ComposeResult:
        yield Static("Where the sessions send mirrored traffic: the sensor's capture ENI. Network Load Balancer "
                     "and Gateway Load Balancer endpoint targets come later.", classes="intro")
        yield self.field("type", "Target type", Select([("the capture ENI (eni)", "eni")], allow_blank=False,
                                                       compact=True))
        yield self.field("description", "Description", Input(compact=True))
        yield self.section_error()

    def activate(self) -> None:
        self.query_one("#target-description", Input).value = self.value("description")
        super().activate()
