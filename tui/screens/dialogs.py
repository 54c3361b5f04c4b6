"""The dialogs' frame (``ModalDialog``) and the small ones: a question, a message (errors from workers land
here), the apply-failure choice."""

from __future__ import annotations

from typing import TypeVar

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

T = TypeVar("T")


class ModalDialog(ModalScreen[T]):
    """Every dialog's frame: a box in the middle of the screen, as a ``Vertical`` child of the dialog.

    Inside it a ``.dialog-title`` is bold, and ``.dialog-buttons`` (a Horizontal) sits right-aligned
    below the rest; ``-error`` frames the box in the error colour. Dialogs set only what differs
    (``width``, a ``max-height``).
    """

    DEFAULT_CSS = """
    ModalDialog { align: center middle; }
    ModalDialog > Vertical { width: 72; max-width: 100%; height: auto; max-height: 90%;
                             border: thick $primary; background: $surface; padding: 0 1; }
    ModalDialog .dialog-title { text-style: bold; padding-bottom: 1; }
    ModalDialog .dialog-buttons { height: auto; align-horizontal: right; padding-top: 1; }
    ModalDialog .dialog-buttons Button { margin-left: 1; }
    ModalDialog.-error > Vertical { border: thick $error; }
    """


class _Dialog(ModalDialog):
    """A title, a scrolling body and a row of ``BUTTONS``; dismisses with ``answer`` of the button pressed."""

    DEFAULT_CSS = "_Dialog VerticalScroll { height: auto; max-height: 14; }"
    BINDINGS = [Binding("escape", "dismiss_default", "Close", id="dialog-close")]
    #: (button id, label, variant); the first is focused, the last is what Escape answers
    BUTTONS: list[tuple[str, str, str]] = [("ok", "OK", "primary")]

    def __init__(self, title: str, body: str) -> None:
        super().__init__()
        self.title_text, self.body = title, body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="dialog-title")
            with VerticalScroll():
                yield Static(self.body, markup=False, classes="dialog-body")
            with Horizontal(classes="dialog-buttons"):
                for button_id, label, variant in self.BUTTONS:
                    yield Button(label, id=button_id, variant=variant, compact=True)

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(self.answer(event.button.id))

    def answer(self, button_id: str):
        return button_id

    def action_dismiss_default(self) -> None:
        self.dismiss(self.answer(self.BUTTONS[-1][0]))


class MessageDialog(_Dialog):
    """Something the user should read: an error turned into a dialog, what changed on resume."""

    def __init__(self, title: str, body: str, *, error: bool = False) -> None:
        super().__init__(title, body)
        self.set_class(error, "-error")


class ConfirmDialog(_Dialog):
    """A yes/no question; dismisses with True for yes. Escape says no."""

    def __init__(self, title: str, body: str, *, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(title, body)
        self.BUTTONS = [("yes", yes, "primary"), ("no", no, "default")]

    def answer(self, button_id: str) -> bool:
        return button_id == "yes"


class FailureDialog(_Dialog):
    """Apply failed: retry, stop here (state kept, resume later), or tear down what was created (if anything)."""

    BUTTONS = [("retry", "Retry", "primary"), ("teardown", "Tear down what was created", "error"),
               ("stop", "Stop here", "default")]

    def __init__(self, body: str, *, created: bool = True) -> None:
        """``created``: something exists to tear down (not so when DryRun refused before the first change)."""
        super().__init__("Apply failed", body + "\n\nStop here keeps the state: resume the setup later from the "
                                               "start screen (or `vpc-mirror resume`).")
        if not created:
            self.BUTTONS = [b for b in self.BUTTONS if b[0] != "teardown"]
        self.add_class("-error")
