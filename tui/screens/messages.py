"""Messages the wizard's pages send to the wizard screen."""

from textual.message import Message


class PageChanged(Message):
    """Something on a page changed: the wizard re-checks Next and the sidebar."""
