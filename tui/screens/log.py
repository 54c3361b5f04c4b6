"""Everything the engine logged in this session (apply, teardown, resume), for the command palette."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Log


class LogScreen(ModalScreen):
    BINDINGS = [Binding("escape", "dismiss", "Close", id="log-close")]
    DEFAULT_CSS = """
    LogScreen { align: center middle; }
    LogScreen Log { width: 90%; height: 90%; border: thick $primary; background: $surface; }
    """

    def compose(self) -> ComposeResult:
        log = Log(max_lines=5000)
        log.border_title = "log (Escape closes)"
        yield log

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.write_lines(list(self.app.log_lines) or ["(nothing logged yet)"])
        log.focus()
