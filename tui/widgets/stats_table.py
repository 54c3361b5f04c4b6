"""StatsTable: ranked rows of fixed-width text columns, drawn a line at a time (Textual's Line API).

The Verify pane redraws its tables four times a second under heavy traffic. DataTable keys its
render caches by an update counter, so every redraw made all their entries stale at once and they
held seconds of dead renders, whose collection stalled key presses (tests/bench/bench_live.py).
Here, as toolong's log view does, the widget renders its own lines and caches each one under its
position (the header, or a rank): a redraw replaces entries instead of adding them, so the cache
never holds more than one entry per row and never more than ``cache_size``.
"""

from __future__ import annotations

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

CACHE_SIZE = 128  # lines: more than a terminal shows
PADDING = 1  # blank cells on each side of a cell
HEADER = -1  # the header's place in the line cache


def fit(text: str, width: int) -> str:
    """``text`` padded or cut to exactly ``width`` cells, an ellipsis marking a cut."""
    if len(text) <= width and text.isascii():
        return text.ljust(width)
    fitted = set_cell_size(text, width)
    return fitted if fitted.rstrip() == text.rstrip() else set_cell_size(text, width - 1) + "…"


class StatsTable(ScrollView, can_focus=True):
    """Rows of cell texts, row i the i-th in the caller's order; a header; zebra stripes; a row cursor.

    ``columns`` are (label, width) pairs; widths are fixed, so a redraw never measures cells again.
    ``show(rows)`` replaces the rows and repaints only the lines whose cells changed.
    """

    COMPONENT_CLASSES = {"stats-table--header", "stats-table--even-row", "stats-table--cursor"}
    DEFAULT_CSS = """
    StatsTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        &:focus { background-tint: $foreground 5%; }
        &:focus > .stats-table--header { background-tint: $foreground 5%; }
        & > .stats-table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .stats-table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .stats-table--even-row { background: $surface-lighten-1 50%; }
        &:dark > .stats-table--even-row { background: $surface-darken-1 40%; }
        & > .stats-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus > .stats-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor_to(0)", "First row", show=False),
        Binding("end", "cursor_to(-1)", "Last row", show=False),
    ]

    def __init__(self, columns: list[tuple[str, int]], *, id: str | None = None, cache_size: int = CACHE_SIZE) -> None:
        super().__init__(id=id)
        self.columns = columns
        self.cursor_row = 0
        self._rows: list[tuple[str, ...]] = []
        self._table_width = sum(width + 2 * PADDING for _label, width in columns)
        #: position -> (what it was drawn from, its line); a position's entry is replaced, never added to
        self._lines: LRUCache[int, tuple[tuple, Strip]] = LRUCache(cache_size)
        self.virtual_size = Size(self._table_width, 1)

    @property
    def rows(self) -> list[tuple[str, ...]]:
        """The rows shown, in order."""
        return list(self._rows)

    @property
    def cached_lines(self) -> int:
        """Rendered lines held: at most one per row drawn, whatever the number of refreshes."""
        return len(self._lines)

    def show(self, rows: list[tuple[str, ...]]) -> None:
        """Show these rows (cell texts, one per column); only changed lines are drawn again."""
        old, self._rows = self._rows, [tuple(row) for row in rows]
        if len(old) != len(self._rows):
            self.virtual_size = Size(self._table_width, len(self._rows) + 1)
            self.cursor_row = min(self.cursor_row, max(len(self._rows) - 1, 0))
        for rank in range(max(len(old), len(self._rows))):
            if rank >= len(old) or rank >= len(self._rows) or old[rank] != self._rows[rank]:
                self.refresh_line(rank + 1)
        for rank in range(len(self._rows), len(old)):
            self._lines.discard(rank)

    # -- drawing --------------------------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        if y == 0:
            return self._line(HEADER, scroll_x, width)
        if (rank := scroll_y + y - 1) < len(self._rows):
            return self._line(rank, scroll_x, width)
        return Strip.blank(width, self.rich_style)

    def _line(self, position: int, scroll_x: int, width: int) -> Strip:
        """The visible part of the line at ``position`` (HEADER or a rank); from the cache when nothing changed.

        Only the visible part is kept: a Strip carries caches of its own, so every line kept is costly.
        """
        cells = tuple(label for label, _width in self.columns) if position == HEADER else self._rows[position]
        style = self._style(position)
        key = (cells, style, scroll_x, width)
        cached = self._lines.get(position)
        if cached is not None and cached[0] == key:
            return cached[1]
        pad = " " * PADDING
        text = "".join(f"{pad}{fit(cell, w)}{pad}" for cell, (_label, w) in zip(cells, self.columns))
        line = Strip([Segment(text.ljust(scroll_x + width), style)]).crop(scroll_x, scroll_x + width)
        self._lines[position] = (key, line)
        return line

    def _style(self, position: int) -> Style:
        style = self.rich_style
        if position == HEADER:
            return style + self.get_component_rich_style("stats-table--header")
        if position % 2 == 0:
            style += self.get_component_rich_style("stats-table--even-row")
        if position == self.cursor_row:
            style += self.get_component_rich_style("stats-table--cursor")
        return style

    # -- the cursor -----------------------------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        """Put the cursor on ``row`` (clamped) and scroll it into view."""
        row = max(0, min(row, len(self._rows) - 1))
        if row == self.cursor_row:
            return
        self.refresh_line(self.cursor_row + 1)
        self.cursor_row = row
        self.refresh_line(row + 1)
        top = self.scroll_offset.y
        visible = max(self.scrollable_content_region.height - 1, 1)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False)

    def action_cursor(self, delta: int) -> None:
        self.move_cursor(self.cursor_row + delta)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor_row + direction * max(self.scrollable_content_region.height - 1, 1))

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row if row >= 0 else len(self._rows) - 1)

    def on_click(self, event: events.Click) -> None:
        if event.y >= 1:
            self.move_cursor(self.scroll_offset.y + event.y - 1)
