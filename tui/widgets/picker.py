"""A filterable table of AWS things, loaded in the background, for choosing one (or several).

Type to filter; Down moves into the table; Enter picks the highlighted row
(in the filter: the first row shown). With ``multi``, Enter or Space toggles a
row. Rows may be marked unavailable, with the reason shown when highlighted.
With ``readonly``, nothing is chosen: the table is there to look through.
Rows, choice and loading state may be set before it is mounted (a page that
mounts it lazily): it shows them once it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Static


@dataclass(frozen=True)
class Row:
    key: str
    cells: tuple[str, ...]
    #: why it cannot be chosen; None = it can
    unavailable: str | None = None
    note: str = ""


class _Table(DataTable):
    BINDINGS = [Binding("space", "toggle", "Toggle", show=False)]

    def action_toggle(self) -> None:
        self.action_select_cursor()

    def on_resize(self) -> None:
        """Show the cursor row as if scrolled to from the top at this size.

        The rows and the choice often arrive while the table is still its
        loading size; scrolled then, where the chosen row ends up in the grown
        table depended on which came first (and pictures differed under load).
        """
        self.scroll_to(y=0, animate=False, immediate=True)
        self.move_cursor(row=self.cursor_row)


class Picker(Vertical):
    DEFAULT_CSS = """
    Picker { height: auto; }
    Picker > Input { margin: 0; }
    Picker > DataTable { height: auto; max-height: 8; }
    Picker .picker-note { color: $text-muted; height: auto; }
    Picker .picker-note.-unavailable { color: $warning; }
    """

    class Changed(Message):
        """The choice changed; ``chosen`` holds the keys chosen."""

        def __init__(self, picker: Picker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> Picker:
            return self.picker

    def __init__(self, columns: list[str], *, multi: bool = False, readonly: bool = False, id: str | None = None,
                 placeholder: str = "type to filter") -> None:
        super().__init__(id=id)
        self.columns = columns
        self.multi = multi
        self.readonly = readonly
        self.placeholder = placeholder
        self.rows: list[Row] = []
        self.chosen: list[str] = []
        self._loading = False
        self._error: str | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=self.placeholder, compact=True, classes="picker-filter")
        table = _Table(cursor_type="row", zebra_stripes=False, show_cursor=True)
        table.add_column(" ", key="mark", width=1)
        for column in self.columns:
            table.add_column(column)
        yield table
        yield Static("", classes="picker-note")

    @property
    def table(self) -> DataTable:
        return self.query_one(_Table)

    def on_mount(self) -> None:
        self.table.loading = self._loading
        self._fill(jump_to_choice=True)
        if self._error:
            self._note(self._error, True)

    def start_loading(self) -> None:
        self._loading, self._error = True, None
        if self.is_mounted:
            self.table.loading = True

    def set_rows(self, rows: list[Row]) -> None:
        self.rows = rows
        self.chosen = [k for k in self.chosen if any(r.key == k for r in rows)]
        self._loading = False
        if self.is_mounted:
            self.table.loading = False
            self._fill(jump_to_choice=True)

    def set_error(self, message: str) -> None:
        self._loading, self._error = False, message
        if self.is_mounted:
            self.table.loading = False
            self._note(message, True)

    def choose(self, keys: list[str]) -> None:
        """Set the choice from the answers (no Changed message)."""
        self.chosen = list(keys)
        if self.is_mounted:
            self._fill()

    def _visible(self) -> list[Row]:
        needle = self.query_one(Input).value.strip().lower()
        return [r for r in self.rows if not needle or needle in " ".join((r.key, *r.cells)).lower()]

    def _fill(self, jump_to_choice: bool = False) -> None:
        table = self.table
        cursor = table.cursor_row
        table.clear()
        for row in self._visible():
            mark = "✓" if row.key in self.chosen else ("✗" if row.unavailable else " ")
            table.add_row(mark, *row.cells, key=row.key)
        if table.row_count:
            keys = [r.key for r in self._visible()]
            if jump_to_choice and self.chosen and self.chosen[0] in keys:
                cursor = keys.index(self.chosen[0])
            table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
        self._describe()

    def _row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def _describe(self) -> None:
        table = self.table
        if not table.row_count:
            self._note("nothing matches" if self.rows else "", False)
            return
        row = self._row(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        self._note(row.unavailable or row.note, bool(row.unavailable))

    def _note(self, text: str, warn: bool) -> None:
        note = self.query_one(".picker-note", Static)
        note.update(text)
        note.set_class(warn, "-unavailable")

    @on(Input.Changed)
    def _filter(self, event: Input.Changed) -> None:
        event.stop()
        self._fill()

    @on(Input.Submitted)
    def _pick_first(self, event: Input.Submitted) -> None:
        event.stop()
        if self.table.row_count:
            self._toggle(self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value)

    def on_key(self, event) -> None:
        if event.key == "down" and self.query_one(Input).has_focus:
            event.stop()
            self.table.focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._describe()

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._toggle(event.row_key.value)

    def _toggle(self, key: str) -> None:
        if self.readonly:
            return
        row = self._row(key)
        if row.unavailable and key not in self.chosen:
            self.app.bell()
            self._note(row.unavailable, True)
            return
        if self.multi:
            self.chosen = [k for k in self.chosen if k != key] if key in self.chosen else [*self.chosen, key]
        else:
            self.chosen = [key]
        self._fill()
        self.post_message(self.Changed(self))
        if not self.multi:
            self._focus_after()

    def _focus_after(self) -> None:
        """A single choice made: move on to the control after this picker."""
        chain = self.screen.focus_chain
        mine = [i for i, w in enumerate(chain) if w is self or self in w.ancestors]
        if mine and mine[-1] + 1 < len(chain):
            chain[mine[-1] + 1].focus()
