"""Page 5 — sources: the instances to monitor, each with AWS's verdict on whether it can be mirrored, and
selectors (tag, subnet, VPC) for the instances that come and go."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Static, TextArea

from vpc_mirror.steps import inventory
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.form import Loaded, StepForm
from vpc_mirror.tui.pages.sensor import vpc_of
from vpc_mirror.tui.widgets.picker import Picker, Row


class SourcesForm(StepForm):
    PAGE = "sources"
    DEFAULT_CSS = "SourcesForm #sources-selectors { height: auto; max-height: 6; padding: 0; }"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.instances: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Static("Choose the instances whose traffic Zeek should see (Enter or Space toggles), or select "
                     "them below, or both. AWS mirrors Nitro types and a few Xen families, never bare metal.",
                     classes="intro")
        yield self.field("instances", "Sources", Picker(["name", "mirror", "type", "id", "state", "private IP"],
                                                        multi=True, id="sources-picker"))
        yield self.field("select", "Also select", TextArea(placeholder="e.g. tag:env=prod", compact=True,
                                                           id="sources-selectors"),
                         help="one a line: tag:KEY=VALUE, subnet:subnet-… or vpc:vpc-…; `vpc-mirror sync` "
                              "follows the instances as they come and go")
        yield self.section_error()

    def activate(self) -> None:
        picker = self.query_one("#sources-picker", Picker)
        picker.choose(self.value("instances"))
        picker.start_loading()
        self.query_one("#sources-selectors", TextArea).text = "\n".join(self.value("select"))
        vpc = vpc_of(self.model.draft.answers)
        self.load("instances", lambda aws: inventory.instances(aws, vpc))
        super().activate()

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        picker = self.query_one("#sources-picker", Picker)
        if event.error:
            picker.set_error(event.error)
            return
        self.instances = event.result
        refs = [next((i["id"] for i in self.instances if f"name:{i['name']}" == ref), ref)
                for ref in self.value("instances")]
        if refs != self.value("instances"):
            self.answers["instances"] = refs
        picker.choose(refs)
        sensor = self.model.draft.answers.get("sensor", {}).get("instance_id")
        rows = []
        for i in self.instances:
            unavailable = None if i["supported"] else i["reason"]
            if i["id"] == sensor:
                unavailable = "this is the sensor; a mirror target cannot be a source"
            rows.append(Row(i["id"], (i["name"] or "-", i["badge"], i["type"], i["id"], i["state"], i["private_ip"]),
                            unavailable=unavailable, note=i["reason"]))
        picker.set_rows(rows)
        self.changed()

    @on(Picker.Changed, "#sources-picker")
    def _chosen(self, event: Picker.Changed) -> None:
        event.stop()
        self.answers["instances"] = list(event.picker.chosen)
        self.changed()

    @on(TextArea.Changed, "#sources-selectors")
    def _selectors(self, event: TextArea.Changed) -> None:
        """One selector a line: EC2 tag values may hold commas and spaces, never a line break."""
        event.stop()
        self.set_answer("select", [line.strip() for line in event.text_area.text.splitlines() if line.strip()]
                        or None)

    def problems(self) -> dict[str, str]:
        problems = super().problems()
        if not self.value("instances") and not self.value("select"):
            problems["instances"] = "choose at least one instance to monitor, or select them below"
        return problems
