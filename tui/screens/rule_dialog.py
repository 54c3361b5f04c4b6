"""Add or edit one filter rule; each field's message shows as typed, and OK waits for a valid rule."""

from __future__ import annotations

from pydantic import ValidationError

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Select, Static

from vpc_mirror.models.answers import problems_of
from vpc_mirror.models.plan import FilterPlan, FilterRule
from vpc_mirror.tui.screens.dialogs import ModalDialog
from vpc_mirror.tui.widgets.field import Field

_PROTOCOLS = [("all", "all"), ("tcp (6)", "6"), ("udp (17)", "17"), ("icmp (1)", "1"), ("icmpv6 (58)", "58")]


def _ports(text: str) -> dict | None:
    text = text.strip()
    if not text:
        return None
    low, _, high = text.partition("-")
    return {"from_port": low.strip(), "to_port": (high or low).strip()}


def _text(ports: dict | None) -> str:
    if not ports:
        return ""
    return str(ports["from_port"]) if ports["from_port"] == ports["to_port"] else \
        f"{ports['from_port']}-{ports['to_port']}"


class RuleDialog(ModalDialog[FilterRule | None]):
    DEFAULT_CSS = """
    RuleDialog > Vertical { width: 76; }
    RuleDialog .rule-error { color: $error; }
    RuleDialog .dialog-buttons { padding-top: 0; }  /* the error line above is the space */
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="rule-cancel")]

    def __init__(self, rule: dict | None, others: list[dict]) -> None:
        super().__init__()
        self.rule = rule or {"direction": "ingress", "number": _free_number(others), "action": "accept"}
        self.others = others

    def compose(self) -> ComposeResult:
        r = self.rule
        with Vertical():
            yield Static("Filter rule", classes="dialog-title")
            yield Field("Direction", Select([("ingress", "ingress"), ("egress", "egress")], value=r["direction"],
                                            allow_blank=False, compact=True, id="rule-direction"))
            yield Field("Number", Input(str(r["number"]), type="integer", compact=True, id="rule-number"),
                        id="f-number")
            yield Field("Action", Select([("accept", "accept"), ("reject", "reject")], value=r.get("action", "accept"),
                                         allow_blank=False, compact=True, id="rule-action"))
            proto = str(r["protocol"]) if r.get("protocol") is not None else "all"
            yield Field("Protocol", Select(_PROTOCOLS, value=proto if proto in dict((v, 0) for _, v in _PROTOCOLS)
                                           else "all", allow_blank=False, compact=True, id="rule-protocol"))
            yield Field("Source CIDR", Input(r.get("source_cidr", "0.0.0.0/0"), compact=True, id="rule-source"),
                        id="f-source_cidr")
            yield Field("Source ports", Input(_text(r.get("source_ports")), placeholder="any, or 22 or 1024-65535",
                                              compact=True, id="rule-sport"), id="f-source_ports")
            yield Field("Destination CIDR", Input(r.get("destination_cidr", "0.0.0.0/0"), compact=True,
                                                  id="rule-destination"), id="f-destination_cidr")
            yield Field("Destination ports", Input(_text(r.get("destination_ports")),
                                                   placeholder="any, or 22 or 1024-65535", compact=True,
                                                   id="rule-dport"), id="f-destination_ports")
            yield Static("", classes="rule-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.check()

    def _data(self) -> dict:
        value = lambda sel: self.query_one(sel).value  # noqa: E731
        data = {"direction": value("#rule-direction"), "number": value("#rule-number") or None,
                "action": value("#rule-action"), "source_cidr": value("#rule-source").strip(),
                "destination_cidr": value("#rule-destination").strip(),
                "source_ports": _ports(value("#rule-sport")), "destination_ports": _ports(value("#rule-dport"))}
        if value("#rule-protocol") != "all":
            data["protocol"] = int(value("#rule-protocol"))
        return {k: v for k, v in data.items() if v is not None}

    def check(self) -> FilterRule | None:
        """The rule if valid (alone and beside the others), showing each field's message."""
        rule, problems = None, {}
        try:
            rule = FilterRule.model_validate(self._data())
            FilterPlan(rules=[*self.others, rule])
        except ValidationError as exc:
            for line in problems_of(exc):
                where, message = line.split(": ", 1)
                name = where.split(".")[0] if where != "rules" else ""
                problems.setdefault(name if name in FilterRule.model_fields else "", message)
            rule = None
        for field in self.query(Field):
            if field.id:
                field.set_error(problems.pop(field.id.removeprefix("f-"), None))
        self.query_one(".rule-error", Static).update("\n".join(problems.values()))
        self.query_one("#ok", Button).disabled = rule is None
        return rule

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self.check()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        rule = self.check()
        if rule is not None:
            self.dismiss(rule)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def _free_number(others: list[dict]) -> int:
    used = {r["number"] for r in others}
    return next(n for n in range(100, 32767, 100) if n not in used)
