"""The contract between the wizard screen and its pages, and the messages pages send it.

``WizardScreen`` knows a page only through ``WizardPage``'s hooks: it calls
``activate`` when the page is shown, asks ``can_advance``, ``can_go_back``,
``hint`` and reads ``NEXT_LABEL`` whenever a page posts ``PageChanged``, calls
``focus_first`` after activating it, and ``confirm_next`` when Next is pressed.
A page reads and changes the wizard's model (``tui.model.WizardModel``), never
the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.message import Message
from textual.widget import Widget

from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.wizard_steps import Page, page

HINT = "Ctrl+N next · Esc back"


class PageChanged(Message):
    """Something on a page changed: the wizard re-checks Next, Back, the hint and the sidebar."""


class LeaveWizard(Message):
    """The wizard is done with this setup: back to the start screen (``teardown``: tear it down first)."""

    def __init__(self, teardown: str | None = None) -> None:
        super().__init__()
        self.teardown = teardown


# Textual takes a widget's default CSS and CSS type names from its first widget base only, so the
# contract is a mixin: ``class ReviewPage(WizardPage, Vertical)`` keeps Vertical's CSS.
_Mixin = Widget if TYPE_CHECKING else object


class WizardPage(_Mixin):
    """One page of the wizard, mixed into a Textual container; subclasses set ``PAGE`` (a name in PAGES)."""

    PAGE: ClassVar[str] = ""
    NEXT_LABEL: ClassVar[str] = "Next ▶"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(id=f"page-{self.PAGE}")
        self.model = model
        self.page: Page = page(self.PAGE)

    def activate(self) -> None:
        """The page is shown (again, maybe after other pages changed the answers): fill it, start its loads."""

    def can_advance(self) -> bool:
        """Whether Next is enabled."""
        return True

    def can_go_back(self) -> bool:
        """Whether Back is enabled (not while the page's work must not be left)."""
        return True

    def hint(self, can_advance: bool) -> str:
        """The line between Back and Next (``can_advance``: what ``can_advance`` just said)."""
        return HINT

    def focus_first(self) -> None:
        """Focus the first control the user would use."""
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    def confirm_next(self) -> bool:
        """Next was pressed and is enabled: do the page's part; True moves the wizard on to the next page."""
        return True
