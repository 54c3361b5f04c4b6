"""The step list beside every wizard page: done, current, failed or pending at a glance."""

from __future__ import annotations

from typing import Literal

from rich.text import Text
from textual.widgets import Static

from vpc_mirror.tui.wizard_steps import PAGES

Mark = Literal["done", "current", "failed", "pending"]
_GLYPH = {"done": ("✓", "green"), "current": ("▶", "bold"), "failed": ("✗", "red"), "pending": ("·", "dim")}


class StepSidebar(Static):
    DEFAULT_CSS = """
    StepSidebar { width: 17; height: 100%; padding: 0 1; border-right: tall $primary-background; }
    """

    def show(self, marks: dict[str, Mark]) -> None:
        """``marks``: page name -> mark, for every page."""
        text = Text()
        for page in PAGES:
            mark = marks.get(page.name, "pending")
            glyph, style = _GLYPH[mark]
            line_style = "bold reverse" if mark == "current" else ("dim" if mark == "pending" else "")
            text.append(f"{glyph} ", style=style)
            text.append(f"{page.label}\n", style=line_style)
        self.update(text)
