"""The phase line and output log that the sensor panes (Zeek, Hunt, Ship) share.

Each pane names its widgets ``#<PREFIX>-phase`` (a Static) and
``#<PREFIX>-output`` (a BatchedLog); this mixin writes to them.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from vpc_mirror.tui.widgets.log_view import BatchedLog


class PhaseAndLog(Widget):
    """What the pane is doing now (red when it failed), and every line of what it did."""

    PREFIX: ClassVar[str]

    def _phase(self, text: str, error: bool = False) -> None:
        phase = self.query_one(f"#{self.PREFIX}-phase", Static)
        phase.update(Text(text))
        phase.set_class(error, "-error")

    def _log(self, text: str) -> None:
        output = self.query_one(f"#{self.PREFIX}-output", BatchedLog)
        for line in text.rstrip("\n").split("\n"):
            output.add(line)
