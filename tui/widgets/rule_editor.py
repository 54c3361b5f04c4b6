"""The filter's rule table: add, edit and delete rules, with AWS's 10-rule budget in view."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from vpc_mirror.models.mirroring_support import MAX_RULES_PER_FILTER

_PROTOCOLS = {None: "all", 1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


def _ports(rng: dict | None) -> str:
    if not rng:
        return "*"
    return str(rng["from_port"]) if rng["from_port"] == rng["to_port"] else f"{rng['from_port']}-{rng['to_port']}"


class RuleTable(DataTable):
    BINDINGS = [
        Binding("a", "add", "Add rule", id="rule-add"),
        Binding("e", "edit", "Edit rule", id="rule-edit"),
        Binding("d,delete", "delete", "Delete rule", id="rule-delete"),
    ]

    def action_add(self) -> None:
        self.post_message(RuleEditor.Edit(None))

    def action_edit(self) -> None:
        if self.row_count:
            self.post_message(RuleEditor.Edit(self.cursor_row))

    def action_delete(self) -> None:
        if self.row_count:
            self.post_message(RuleEditor.Delete(self.cursor_row))


class RuleEditor(Vertical):
    DEFAULT_CSS = """
    RuleEditor { height: auto; }
    RuleEditor > RuleTable { height: auto; max-height: 12; }
    RuleEditor > .budget { color: $text-muted; }
    RuleEditor > .budget.-over { color: $error; }
    """

    class Edit(Message):
        def __init__(self, index: int | None) -> None:
            super().__init__()
            self.index = index

    class Delete(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def compose(self) -> ComposeResult:
        yield Static("", classes="budget")
        table = RuleTable(cursor_type="row", zebra_stripes=False)
        for column in ("dir", "#", "action", "proto", "source", "sport", "destination", "dport"):
            table.add_column(column)
        yield table

    def show(self, rules: list[dict]) -> None:
        table = self.query_one(RuleTable)
        cursor = table.cursor_row
        table.clear()
        for r in rules:
            table.add_row(r["direction"][:3], str(r["number"]), r.get("action", "accept"),
                          _PROTOCOLS.get(r.get("protocol"), str(r.get("protocol"))), r.get("source_cidr", "0.0.0.0/0"),
                          _ports(r.get("source_ports")), r.get("destination_cidr", "0.0.0.0/0"),
                          _ports(r.get("destination_ports")))
        if table.row_count:
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
        budget = self.query_one(".budget", Static)
        budget.update(f"{len(rules)} of {MAX_RULES_PER_FILTER} rules (AWS's limit per filter) · "
                      "a add · e/Enter edit · d delete")
        budget.set_class(len(rules) > MAX_RULES_PER_FILTER, "-over")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Edit(event.cursor_row))
