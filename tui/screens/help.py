"""Help: what the wizard does and every key that works on the screen it was opened from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from vpc_mirror.tui.screens.dialogs import ModalDialog

ABOUT = ("Each page answers one step; Next is enabled once the page is valid, and each field shows what is "
         "wrong with it. Nothing changes in AWS before you confirm the review. The state is saved after every "
         "change: quit at any time and resume from the start screen. After the apply, the sensor's pages set Zeek "
         "up, show the mirrored traffic, score Zeek's logs as RITA does (the test beacon must be found) and ship "
         "them to AI-Hunter / RITA. Ctrl+P opens the command palette: jump "
         "to a step, export the answers, open the log, switch the theme.")


class HelpScreen(ModalDialog[None]):
    BINDINGS = [Binding("escape,f1,question_mark", "dismiss", "Close", id="help-close")]
    DEFAULT_CSS = """
    HelpScreen > Vertical { width: 76; height: 90%; }
    HelpScreen Static { height: auto; padding-bottom: 1; }
    HelpScreen DataTable { height: 1fr; }
    """

    def __init__(self, bindings: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = bindings

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("[b]vpc-mirror help[/b]\n" + ABOUT)
            table = DataTable(cursor_type="row", zebra_stripes=False)
            table.add_columns("key", "does")
            for key, description in self.keys:
                table.add_row(key, description)
            yield table

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
