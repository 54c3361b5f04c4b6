"""A labelled form row: label, control, and the model's message for it right below, shown as typed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static


class Field(Vertical):
    DEFAULT_CSS = """
    Field { height: auto; }
    Field > Horizontal { height: auto; }
    Field .field-label { width: 20; padding-right: 1; color: $text-muted; }
    Field > Horizontal > * { width: 1fr; }
    Field > Horizontal > .field-label { width: 20; }
    Field .field-error { color: $error; padding-left: 20; display: none; height: auto; }
    Field.-invalid .field-error { display: block; }
    Field .field-help { color: $text-muted; padding-left: 20; height: auto; }
    Field.-stacked .field-error, Field.-stacked .field-help { padding-left: 0; }
    Field.-stacked > .field-label { width: 1fr; }
    """

    def __init__(self, label: str, control: Widget, *, help: str = "", stacked: bool = False,
                 id: str | None = None) -> None:
        """``stacked``: the label above the control (tables), instead of beside it."""
        super().__init__(id=id, classes="-stacked" if stacked else None)
        self.label = label
        self.control = control
        self.help = help
        self.stacked = stacked

    def compose(self) -> ComposeResult:
        if self.stacked:
            yield Label(self.label, classes="field-label")
            yield self.control
        else:
            with Horizontal():
                yield Label(self.label, classes="field-label")
                yield self.control
        if self.help:
            yield Static(self.help, classes="field-help")
        yield Static("", classes="field-error")

    def set_error(self, message: str | None) -> None:
        self.query_one(".field-error", Static).update(message or "")
        self.set_class(bool(message), "-invalid")

    @property
    def error(self) -> str:
        return str(self.query_one(".field-error", Static).content) if self.has_class("-invalid") else ""
