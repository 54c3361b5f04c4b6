"""A saved setup's status: each step, its resources and the running cost of its mirror sessions."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from vpc_mirror.models.state import State
from vpc_mirror.steps.cost import running_cost

_MARK = {"done": "✓", "failed": "✗", "in-progress": "…", "pending": "·", "skipped": "-"}


class StatusScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back", id="status-back")]
    DEFAULT_CSS = """
    StatusScreen > Vertical { padding: 0 1; }
    StatusScreen Static { height: auto; }
    StatusScreen DataTable { height: 1fr; }
    """

    def __init__(self, state: State) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        state = self.state
        yield Header()
        with Vertical():
            yield Static(f"[b]{state.setup}[/b]: account {state.account_id or '?'} in {state.region or '?'}, "
                         f"{state.done_count()} of {len(state.steps)} steps")
            table = DataTable(cursor_type="row", zebra_stripes=False)
            for column in (" ", "step", "status", "resources"):
                table.add_column(column)
            for step in state.steps.values():
                ids = ", ".join(r.id for r in step.resources.values() if r.status in ("created", "reused") and r.id)
                table.add_row(_MARK[step.status], step.name.replace("_", "-"), step.status,
                              (f"error: {step.error}" if step.error else ids) or "-")
            yield table
            yield Static(running_cost(state).line())
        yield Footer()
