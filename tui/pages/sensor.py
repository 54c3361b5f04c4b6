"""Pages 3 and 4 — the Zeek sensor (an instance, or launch options) and the optional test beacon."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalGroup
from textual.widgets import Checkbox, Input, Select, Static

from vpc_mirror.models.plan import KNOWN_IMAGES
from vpc_mirror.steps import inventory
from vpc_mirror.tui.pages.form import Loaded, StepForm
from vpc_mirror.tui.widgets.picker import Picker, Row

LAUNCH = "+launch"


def vpc_of(answers: dict) -> str | None:
    """The chosen existing VPC's id (None for a VPC still to be created)."""
    vpc = answers.get("vpc", {})
    return vpc.get("vpc_id") if vpc.get("mode", "existing") == "existing" else None


class SensorForm(StepForm):
    PAGE = "sensor"

    def compose(self) -> ComposeResult:
        yield Static("Zeek runs on this instance; mirrored traffic arrives on a capture ENI added to it. "
                     "Use one you have, or launch one.", classes="intro")
        yield self.field("instance_id", "Sensor", Picker(["name", "id", "type", "state", "private IP"],
                                                         id="sensor-instances"))
        with VerticalGroup(id="sensor-launch"):  # its own height: the page scrolls to what follows it
            yield self.field("image", "Image", Select([(i, i) for i in KNOWN_IMAGES], allow_blank=False,
                                                      compact=True))
            yield self.field("instance_type", "Instance type", Input(compact=True),
                             help="Zeek wants 4 vCPUs and 16 GiB for a start: t3a.xlarge")
            yield self.field("root_volume_gib", "Root volume GiB", Input(compact=True, type="integer"))
            yield self.field("key_name", "Key pair", Select([], prompt="choose a key pair", compact=True))
        yield self.field("count", "Sensors", Input(compact=True, type="integer"),
                         help="1-20, launched alike. eni target: each gets its own capture ENI and target and "
                              "takes a share of the sources; nlb or gwlb: the load balancer spreads the traffic "
                              "over them")
        yield self.section_error()

    def activate(self) -> None:
        launching = self.value("mode") == "launch"
        picker = self.query_one("#sensor-instances", Picker)
        picker.choose([LAUNCH] if launching else [self.value("instance_id")])
        picker.start_loading()
        vpc = vpc_of(self.model.draft.answers)
        self.load("instances", lambda aws: inventory.instances(aws, vpc) if vpc else [])
        self.load("keys", inventory.key_pairs)
        self.query_one("#sensor-image", Select).value = self.value("image")
        self.query_one("#sensor-instance_type", Input).value = self.value("instance_type")
        self.query_one("#sensor-root_volume_gib", Input).value = str(self.value("root_volume_gib"))
        self.query_one("#sensor-count", Input).value = str(self.value("count"))
        self._show_launch()
        super().activate()

    def _show_launch(self) -> None:
        """Launch options for a launched sensor; the count also while it is wrong for an existing one."""
        launching = self.value("mode") == "launch"
        self.query_one("#sensor-launch").display = launching
        self.query_one("#field-sensor-count").display = launching or self.value("count") != 1

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        if event.what == "keys":
            select = self.query_one("#sensor-key_name", Select)
            select.set_options([(k, k) for k in event.result or []])
            keys = event.result or []
            if self.value("key_name") in keys or len(keys) == 1:
                select.value = self.value("key_name") or keys[0]
            elif event.error:
                self.query_one("#field-sensor-key_name").set_error(event.error)
            return
        picker = self.query_one("#sensor-instances", Picker)
        if event.error:
            picker.set_error(event.error)
            return
        rows = [Row(LAUNCH, ("+ launch a new sensor", "", "", "", ""), note="set its launch options below")]
        rows += [Row(i["id"], (i["name"] or "-", i["id"], i["type"], i["state"], i["private_ip"]))
                 for i in event.result]
        picker.set_rows(rows)

    @on(Picker.Changed, "#sensor-instances")
    def _instance(self, event: Picker.Changed) -> None:
        event.stop()
        choice = event.picker.chosen[0]
        if choice == LAUNCH:
            self.answers["mode"] = "launch"
            self.answers.pop("instance_id", None)
        else:
            self.answers.update(mode="existing", instance_id=choice)
        self._show_launch()
        self.changed()


class TestBeaconForm(StepForm):
    __test__ = False
    PAGE = "test_beacon"

    def compose(self) -> ComposeResult:
        yield Static("An optional small instance that beacons like the runbook's tame test (ping, UDP 999, "
                     "HTTPS) so the live view and the hunt have something to find.", classes="intro")
        yield self.field("enabled", "Launch a beacon", Checkbox(compact=True))
        with Vertical(id="test_beacon-options"):
            yield self.field("destination", "Beacon to", Input(compact=True), help="host name or IP address")
            yield self.field("interval_seconds", "Every (seconds)", Input(compact=True, type="integer"))
            yield self.field("instance_type", "Instance type", Input(compact=True))
            yield self.field("mirror", "Mirror it too", Checkbox(compact=True),
                             help="a session on its own ENI, so its periodic flow shows in the live view")
        yield self.section_error()

    def activate(self) -> None:
        self.query_one("#test_beacon-enabled", Checkbox).value = self.value("enabled")
        self.query_one("#test_beacon-destination", Input).value = self.value("destination")
        self.query_one("#test_beacon-interval_seconds", Input).value = str(self.value("interval_seconds"))
        self.query_one("#test_beacon-instance_type", Input).value = self.value("instance_type")
        self.query_one("#test_beacon-mirror", Checkbox).value = self.value("mirror")
        self._show()
        super().activate()

    def _show(self) -> None:
        self.query_one("#test_beacon-options").display = bool(self.value("enabled"))

    def changed(self) -> None:
        self._show()
        super().changed()
