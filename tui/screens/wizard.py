"""The wizard: the step sidebar, one page per step (then review, apply, Zeek, verify), Back and Next.

The screen drives its pages only through tui.pages.base.WizardPage: Next is
enabled when the page can advance, and pressing it lets the page do its part
first (a form saves the draft, so a closed wizard resumes at the same page;
the review asks before AWS starts to change).
"""

from __future__ import annotations

import importlib

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Footer, Header, Static

from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.base import LeaveWizard, PageChanged, WizardPage
from vpc_mirror.tui.pages.review import ReviewPage
from vpc_mirror.tui.widgets.sidebar import StepSidebar
from vpc_mirror.tui.wizard_steps import PAGES, page

#: page -> "module:class" in tui.pages; imported when first shown (start-up time: most import pydantic models)
_PAGES = {
    "account": "account:AccountForm", "vpc": "vpc:VpcForm", "sensor": "sensor:SensorForm",
    "test_beacon": "sensor:TestBeaconForm", "sources": "sources:SourcesForm", "source_eni": "network:SourceEniForm",
    "sensor_eni": "network:SensorEniForm", "target": "network:TargetForm", "filter": "filter:FilterForm",
    "session": "session:SessionForm", "review": "review:ReviewPage", "apply": "apply:ApplyPage",
    "zeek": "sensor_panes:ZeekPage", "verify": "sensor_panes:VerifyPage",
    "hunt": "sensor_panes:HuntPage", "ship": "sensor_panes:ShipPage",
}


def _make_page(name: str, model: WizardModel) -> WizardPage:
    module, cls = _PAGES[name].split(":")
    return getattr(importlib.import_module(f"vpc_mirror.tui.pages.{module}"), cls)(model)


class WizardScreen(Screen):
    BINDINGS = [
        Binding("ctrl+n", "next", "Next", id="next", priority=True),
        Binding("escape", "back", "Back", id="back"),
    ]
    DEFAULT_CSS = """
    WizardScreen #wizard-main { width: 1fr; }
    WizardScreen #page-title { height: 1; padding: 0 1; text-style: bold; background: $primary-background; }
    WizardScreen ContentSwitcher { height: 1fr; }
    WizardScreen #nav { height: 1; padding: 0 1; }
    WizardScreen #nav Static { width: 1fr; color: $text-muted; text-align: center; }
    """

    def __init__(self, model: WizardModel, start_at: str) -> None:
        super().__init__()
        self.model = model
        self.current = start_at

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield StepSidebar(id="sidebar")
            with Vertical(id="wizard-main"):
                yield Static("", id="page-title")
                with ContentSwitcher():
                    yield _make_page(self.current, self.model)  # composed with the screen: one layout pass, not two
                with Horizontal(id="nav"):
                    yield Button("◀ Back", id="back", compact=True)
                    yield Static("", id="nav-hint")
                    yield Button("Next ▶", id="next", variant="primary", compact=True)
        yield Footer()

    async def on_mount(self) -> None:
        await self.go(self.current)

    def pane(self, name: str) -> WizardPage:
        return self.query_one(f"#page-{name}", WizardPage)

    async def go(self, name: str) -> None:
        """Show a page; pages are mounted when first shown (and kept), so the screen opens fast."""
        self.current = name
        switcher = self.query_one(ContentSwitcher)
        if not switcher.query_children(f"#page-{name}"):
            await switcher.mount(_make_page(name, self.model))
        switcher.current = f"page-{name}"
        pane = self.pane(name)
        index = PAGES.index(page(name))
        self.query_one("#page-title", Static).update(f"{index + 1}/{len(PAGES)} {page(name).title}")
        self.call_after_refresh(self._activate, pane)

    def _activate(self, pane: WizardPage) -> None:
        """After the page is drawn: fill it, check it (this imports the models), focus it."""
        if pane is not self.pane(self.current):
            return
        pane.activate()
        self.refresh_nav()
        if self.is_active:  # a dialog opened meanwhile keeps the focus (closed, the screen auto-focuses)
            pane.focus_first()

    def refresh_nav(self) -> None:
        pane = self.pane(self.current)
        ok = pane.can_advance()
        next_button = self.query_one("#next", Button)
        next_button.label = pane.NEXT_LABEL
        next_button.disabled = not ok
        self.query_one("#back", Button).disabled = not pane.can_go_back()
        self.query_one("#nav-hint", Static).update(pane.hint(ok))
        self.query_one(StepSidebar).show(self.model.marks(self.current))

    @on(PageChanged)
    def _page_changed(self, event: PageChanged) -> None:
        event.stop()
        self.refresh_nav()

    @on(Button.Pressed, "#next")
    async def _next_button(self) -> None:
        await self.action_next()

    @on(Button.Pressed, "#back")
    async def _back_button(self) -> None:
        await self.action_back()

    async def action_next(self) -> None:
        if self.query_one("#next", Button).disabled:
            self.app.bell()
            return
        if not self.pane(self.current).confirm_next():
            return
        index = PAGES.index(page(self.current)) + 1
        if index == len(PAGES):
            self.post_message(LeaveWizard())
        else:
            await self.go(PAGES[index].name)

    async def action_back(self) -> None:
        if not self.pane(self.current).can_go_back():
            return
        index = PAGES.index(page(self.current))
        if index == 0:
            self.post_message(LeaveWizard())
        else:
            await self.go(PAGES[index - 1].name)

    @on(ReviewPage.Confirmed)
    async def _apply(self, event: ReviewPage.Confirmed) -> None:
        from vpc_mirror.tui.pages.apply import ApplyPage  # not before the first screen (start-up time)

        await self.go("apply")
        apply = self.pane("apply")
        assert isinstance(apply, ApplyPage)
        apply.start(event.actions)
