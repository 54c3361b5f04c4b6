"""What the sensor panes (Zeek, Hunt, Ship) share: how they are made, the phase line and the output log.

Each pane names its widgets ``#<PREFIX>-phase`` (a Static) and
``#<PREFIX>-output`` (a BatchedLog); this base writes to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from vpc_mirror.tui.widgets.log_view import BatchedLog


class PhaseAndLog(Widget):
    """A pane working on a setup's sensor: what it is doing now (red when it failed), every line of what it did.

    ``context`` makes the setup's Context (in a worker: it reads the state and may call AWS); the pane keeps
    it as ``ctx`` once made. ``known_hosts`` and ``ssh_config`` are for its SSH connections.
    """

    PREFIX: ClassVar[str]

    def __init__(self, *, context: Callable | None, known_hosts: Path, demo: bool = False,
                 ssh_config: Sequence[str] | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._context_factory = context
        self.known_hosts = known_hosts
        self.demo = demo
        self.ssh_config = ssh_config
        self.ctx = None

    def _phase(self, text: str, error: bool = False) -> None:
        phase = self.query_one(f"#{self.PREFIX}-phase", Static)
        phase.update(Text(text))
        phase.set_class(error, "-error")

    def _log(self, text: str) -> None:
        output = self.query_one(f"#{self.PREFIX}-output", BatchedLog)
        for line in text.rstrip("\n").split("\n"):
            output.add(line)
