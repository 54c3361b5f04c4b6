"""Page 2 — VPC: pick one and its subnet, or create one (CIDR, IPv6); optionally an SSH group."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Static

from vpc_mirror.models.ids import named
from vpc_mirror.steps import inventory
from vpc_mirror.tui.pages.form import Loaded, StepForm
from vpc_mirror.tui.widgets.picker import Picker, Row

CREATE = "+create"


def id_of_ref(ref: str | None, items: list[dict]) -> str | None:
    """An answers ref (id or name:<Name tag>) -> the id of the item it names (the ref itself if none)."""
    name = named(ref) if ref else None
    if name is None:
        return ref
    return next((i["id"] for i in items if i["name"] == name), ref)


class VpcForm(StepForm):
    PAGE = "vpc"

    def compose(self) -> ComposeResult:
        yield Static("The sensor, its capture ENI and the test beacon go into this VPC. Pick one, or create a "
                     "new one with a subnet, an internet gateway and routes.", classes="intro")
        yield self.field("vpc_id", "VPC", Picker(["name", "id", "CIDR"], id="vpc-vpcs"))
        with Vertical(id="vpc-existing"):
            yield self.field("subnet_id", "Subnet", Picker(["name", "id", "CIDR", "zone"], id="vpc-subnets"))
        with Vertical(id="vpc-create"):
            yield self.field("cidr", "New VPC CIDR", Input(compact=True), help="/16 to /28, e.g. 10.77.0.0/16")
            yield self.field("ipv6", "Amazon IPv6 block", Checkbox(compact=True))
        yield self.field("ssh_from", "SSH allowed from", Input(placeholder="optional, e.g. 203.0.113.7/32",
                                                               compact=True),
                         help="a security group allowing SSH to the sensor; blank = none")
        yield self.section_error()

    def activate(self) -> None:
        creating = self.value("mode") == "create"
        self.query_one("#vpc-cidr", Input).value = self.value("cidr")
        self.query_one("#vpc-ipv6", Checkbox).value = self.value("ipv6")
        self.query_one("#vpc-ssh_from", Input).value = self.value("ssh_from") or ""
        self.query_one("#vpc-vpcs", Picker).choose([CREATE] if creating else [self.value("vpc_id")])
        self.query_one("#vpc-vpcs", Picker).start_loading()
        self.load("vpcs", inventory.vpcs)
        self._show_mode()
        super().activate()

    def _show_mode(self) -> None:
        creating = self.value("mode") == "create"
        self.query_one("#vpc-create").display = creating
        self.query_one("#vpc-existing").display = not creating
        if not creating and self.value("vpc_id"):
            self.query_one("#vpc-subnets", Picker).choose([self.value("subnet_id")])
            self.query_one("#vpc-subnets", Picker).start_loading()
            self.load("subnets", lambda aws, vpc=self.value("vpc_id"): inventory.subnets(aws, vpc))

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        picker = self.query_one("#vpc-vpcs" if event.what == "vpcs" else "#vpc-subnets", Picker)
        if event.error:
            picker.set_error(event.error)
            return
        field = "vpc_id" if event.what == "vpcs" else "subnet_id"
        ref = self.answers.get(field)
        if ref and ref.startswith("name:"):
            self.answers[field] = id_of_ref(ref, event.result)
            picker.choose([self.answers[field]])
        rows = [Row(i["id"], (i["name"] or "-", i["id"], i["cidr"], *([] if event.what == "vpcs" else [i["az"]])),
                    note="the account's default VPC" if i.get("default") else "")
                for i in event.result]
        if event.what == "vpcs":
            rows.insert(0, Row(CREATE, ("+ create a new VPC", "", ""), note="a new VPC with a subnet, an internet "
                                                                             "gateway and default routes"))
        picker.set_rows(rows)
        self.changed()

    @on(Picker.Changed, "#vpc-vpcs")
    def _vpc(self, event: Picker.Changed) -> None:
        event.stop()
        choice = event.picker.chosen[0]
        if choice == CREATE:
            self.answers["mode"] = "create"
            self.answers.pop("vpc_id", None)
        else:
            self.answers.update(mode="existing", vpc_id=choice)
        self.answers.pop("subnet_id", None)
        self._show_mode()
        self.changed()

    @on(Picker.Changed, "#vpc-subnets")
    def _subnet(self, event: Picker.Changed) -> None:
        event.stop()
        self.set_answer("subnet_id", event.picker.chosen[0])

    def problems(self) -> dict[str, str]:
        problems = super().problems()
        if self.value("mode") == "existing" and not self.value("vpc_id"):
            problems["vpc_id"] = "choose a VPC, or + create a new VPC"
        return problems
