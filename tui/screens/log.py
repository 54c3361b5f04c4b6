"""Everything the engine logged in this session (apply, teardown, resume), for the command palette."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Log

from vpc_mirror.tui.screens.dialogs import ModalDialog


class LogScreen(ModalDialog[None]):
    """The frame is the Log itself (its focus tint reaches the border), not the dialogs' Vertical box."""

    BINDINGS = [Binding("escape", "dismiss", "Close", id="log-close")]
    DEFAULT_CSS = "LogScreen > Log { width: 90%; height: 90%; border: thick $primary; background: $surface; }"

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def compose(self) -> ComposeResult:
        log = Log(max_lines=5000)
        log.border_title = "log (Escape closes)"
        yield log

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write_lines(list(self.lines) or ["(nothing logged yet)"])
        log.focus()
