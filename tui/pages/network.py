"""Pages 6 to 8 — which ENIs are mirrored, the capture ENI on the sensor, and the mirror target."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Input, RadioButton, RadioSet, Select, Static

from vpc_mirror.models.mirroring_support import MAX_SESSIONS_PER_SOURCE_ENI
from vpc_mirror.steps import inventory
from vpc_mirror.tui.pages.form import Loaded, StepForm
from vpc_mirror.tui.widgets.picker import Picker, Row


class SourceEniForm(StepForm):
    PAGE = "source_eni"

    def compose(self) -> ComposeResult:
        yield Static("Mirror each source's primary ENI (nothing to create), or create and attach a dedicated "
                     "ENI per source. AWS allows 3 sessions per ENI.", classes="intro")
        yield self.field("mode", "Mirror", RadioSet(RadioButton("the primary ENI", name="primary"),
                                                    RadioButton("a dedicated new ENI", name="dedicated"),
                                                    compact=True))
        yield self.field("enis", "The sources' network interfaces",
                         Picker(["ENI", "instance", "device", "private IP", "sessions"], readonly=True,
                                id="source_eni-enis"))
        yield self.section_error()

    def activate(self) -> None:
        for button in self.query(RadioButton):
            button.value = button.name == self.value("mode")
        self.query_one("#source_eni-enis", Picker).start_loading()
        sources = self.model.draft.answers.get("sources", {}).get("instances", [])
        self.load("enis", lambda aws: inventory.source_enis(aws, sources))
        super().activate()

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        picker = self.query_one("#source_eni-enis", Picker)
        if event.error:
            picker.set_error(event.error)
            return
        rows = []
        for eni in event.result or []:
            full = eni["sessions"] >= eni["limit"]
            primary = eni["device_index"] == 0
            note = (f"{eni['id']} is {'the primary' if primary else 'a secondary'} ENI of {eni['instance_id']}; "
                    f"{eni['sessions']} of AWS's {eni['limit']} sessions per ENI are in use")
            rows.append(Row(eni["id"], (eni["id"], eni["instance_id"], str(eni["device_index"]), eni["private_ip"],
                                        f"{eni['sessions']} of {eni['limit']}"),
                            unavailable=f"{note}: full, so mirror a dedicated new ENI" if full and primary else None,
                            note=note))
        picker.set_rows(rows)
        self.changed()

    def problems(self) -> dict[str, str]:
        problems = super().problems()
        full = [row.key for row in self.query_one("#source_eni-enis", Picker).rows if row.unavailable]
        if full and self.value("mode") == "primary":
            problems["mode"] = (f"{', '.join(full)} already carr{'ies' if len(full) == 1 else 'y'} AWS's "
                                f"{MAX_SESSIONS_PER_SOURCE_ENI} sessions per ENI; choose a dedicated new ENI")
        return problems


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
