"""Pages 6 to 8 — which ENIs are mirrored, the capture ENI on the sensor, and the mirror target."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Select, Static

from vpc_mirror.models.mirroring_support import (
    MAX_SESSIONS_PER_SOURCE_ENI,
    MAX_SOURCES_PER_ENI_TARGET,
    MAX_SOURCES_PER_LARGE_ENI_TARGET,
    sources_per_eni_target,
)
from vpc_mirror.models.plan import SensorPlan
from vpc_mirror.steps import inventory
from vpc_mirror.tui.model import WizardModel
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
        yield Static("", id="source_eni-selected", classes="intro")
        yield self.section_error()

    def activate(self) -> None:
        for button in self.query(RadioButton):
            button.value = button.name == self.value("mode")
        self.query_one("#source_eni-enis", Picker).start_loading()
        sources = self.model.draft.answers.get("sources", {}).get("instances", [])
        selectors = self.model.draft.answers.get("sources", {}).get("select", [])
        selected = self.query_one("#source_eni-selected", Static)
        selected.update(f"The instances the sources page selects ({'; '.join(selectors)}) are found when "
                        "applied and by `vpc-mirror sync`, so they are not listed here.")
        selected.display = bool(selectors)
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


#: The answers each target type uses besides type and description; the others are put aside while hidden.
TYPE_FIELDS = {"eni": (), "nlb": ("load_balancer_arn", "cross_zone", "health_check_port"),
               "gwlb": ("gwlb_endpoint_id", "cross_zone", "health_check_port")}
LB_FIELDS = ("load_balancer_arn", "gwlb_endpoint_id", "cross_zone", "health_check_port")


def eni_note(sensor: dict) -> str:
    """How many sources an ENI target takes: for the sensor's type when it is launched (an existing one's type
    is not in the answers)."""
    fields = SensorPlan.model_fields
    launched = sensor.get("mode", fields["mode"].default) == "launch"
    itype = sensor.get("instance_type", fields["instance_type"].default) if launched else None
    limit = (f"an ENI target on {itype} take up to {sources_per_eni_target(itype)} sources" if itype else
             f"an ENI target take up to {MAX_SOURCES_PER_ENI_TARGET} sources ({MAX_SOURCES_PER_LARGE_ENI_TARGET} "
             "on the largest instance types)")
    return f"AWS lets {limit}. For more, or to spread the traffic over several sensors, choose nlb or gwlb."


class TargetForm(StepForm):
    PAGE = "target"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        #: answers of the types not chosen, kept while hidden so that choosing the type again brings them back
        self.put_aside: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield Static("Where the sessions send mirrored traffic: each sensor's capture ENI, or a load balancer "
                     "in front of the sensors.", classes="intro")
        yield self.field("type", "Target type", Select([("the capture ENI (eni)", "eni"),
                                                        ("a Network Load Balancer (nlb)", "nlb"),
                                                        ("a Gateway Load Balancer (gwlb)", "gwlb")],
                                                       allow_blank=False, compact=True))
        yield Static("", id="target-eni-note", classes="intro")
        yield self.field("load_balancer_arn", "Existing NLB ARN",
                         Input(placeholder="blank = create one", compact=True),
                         help="blank = an internal NLB with a UDP 4789 listener is made in the sensor's subnet")
        yield self.field("gwlb_endpoint_id", "Existing endpoint",
                         Input(placeholder="vpce-…, blank = create one", compact=True),
                         help="blank = a GWLB, its endpoint service and an endpoint in the sources' VPC are made")
        yield self.field("cross_zone", "Cross-zone", Checkbox(compact=True),
                         help="on: all sensors share all traffic, and AWS bills the part that crosses zones; "
                              "off: each zone's sensors get only their zone's")
        yield self.field("health_check_port", "Health check port", Input(compact=True, type="integer"),
                         help="TCP port the load balancer opens on each sensor; SSH (22) answers")
        yield self.field("description", "Description", Input(compact=True))
        yield self.section_error()

    def remembered(self, field: str):
        """What was put aside while hidden, else the answer or the model's default: what the control shows."""
        return self.put_aside.get(field, self.value(field))

    def activate(self) -> None:
        self.query_one("#target-type", Select).value = self.value("type")
        self.query_one("#target-load_balancer_arn", Input).value = self.remembered("load_balancer_arn") or ""
        self.query_one("#target-gwlb_endpoint_id", Input).value = self.remembered("gwlb_endpoint_id") or ""
        self.query_one("#target-cross_zone", Checkbox).value = self.remembered("cross_zone")
        self.query_one("#target-health_check_port", Input).value = str(self.remembered("health_check_port"))
        self.query_one("#target-description", Input).value = self.value("description")
        self.query_one("#target-eni-note", Static).update(eni_note(self.model.draft.answers.get("sensor", {})))
        self._show()
        super().activate()

    def set_answer(self, field: str, value) -> None:
        if field == "type":  # the answers the new type uses come back; the others are put aside
            for name in LB_FIELDS:
                if name in TYPE_FIELDS[value]:
                    if name in self.put_aside:
                        self.answers[name] = self.put_aside.pop(name)
                elif name in self.answers:
                    self.put_aside[name] = self.answers.pop(name)
        elif field in LB_FIELDS and field not in TYPE_FIELDS[self.value("type")]:
            # a hidden control was filled in (the page being shown): kept for when its type is chosen
            self.put_aside.pop(field, None)
            if value is not None and value != "":
                self.put_aside[field] = value
            return
        super().set_answer(field, value)

    def _show(self) -> None:
        used = TYPE_FIELDS[self.value("type")]
        self.query_one("#target-eni-note").display = self.value("type") == "eni"
        for field in LB_FIELDS:
            self.query_one(f"#field-target-{field}").display = field in used

    def changed(self) -> None:
        self._show()
        super().changed()
