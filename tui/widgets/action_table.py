"""One row per planned action, with a spinner while it runs and ok / failed after."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.widgets import DataTable

if TYPE_CHECKING:
    from vpc_mirror.models.actions import Action


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_STATUS = {"pending": "·", "done": "✓", "failed": "✗"}


class ActionTable(DataTable):
    """Rows keyed by action key; ``mark`` is fed from the engine's progress callback."""

    DEFAULT_CSS = "ActionTable { height: 1fr; min-height: 4; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._spinning: set[str] = set()
        self._spin_frame = 0

    def on_mount(self) -> None:
        self.add_column(" ", key="status", width=1)
        self.add_column("step", key="step")
        self.add_column("action", key="action")
        self.add_column("result", key="result")
        self.set_interval(0.1, self._spin)

    def show(self, actions: list[Action]) -> None:
        self.clear()
        self._spinning.clear()
        for action in actions:
            if action.verb == "check":
                continue
            self.add_row(_STATUS["pending"], action.step.replace("_", "-"), action.summary, "", key=action.key)

    def mark(self, key: str, phase: str, detail: str | None) -> None:
        """phase: running | done | failed (as the engine reports it)."""
        if key not in self.rows:
            return
        if phase == "running":
            self._spinning.add(key)
        else:
            self._spinning.discard(key)
            self.update_cell(key, "status", _STATUS[phase])
        if detail is not None:
            self.update_cell(key, "result", detail if phase != "failed" else "failed: " + detail.splitlines()[0])

    def _spin(self) -> None:
        if not self._spinning:
            return
        self._spin_frame = (self._spin_frame + 1) % len(SPINNER)
        for key in self._spinning:
            self.update_cell(key, "status", SPINNER[self._spin_frame])
