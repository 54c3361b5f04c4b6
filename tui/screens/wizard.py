"""The wizard: the step sidebar, one page per step (then review, apply, Zeek, verify), Back and Next.

Next is disabled while the page is invalid; pressing it saves the draft (so a
closed wizard resumes at the same page). Review -> Apply asks first: it is
the point where AWS starts to change.
"""

from __future__ import annotations

import importlib

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, ContentSwitcher, Footer, Header, Static

from vpc_mirror.tui.screens.dialogs import ConfirmDialog
from vpc_mirror.tui.screens.messages import PageChanged
from vpc_mirror.tui.widgets.sidebar import StepSidebar
from vpc_mirror.tui.wizard_steps import PAGES, page

#: page -> (module, class, arguments): imported when first shown, so the first screen imports little
_PAGES = {
    "account": ("steps.account", "AccountForm", ()), "vpc": ("steps.vpc", "VpcForm", ()),
    "sensor": ("steps.sensor", "SensorForm", ()), "test_beacon": ("steps.sensor", "TestBeaconForm", ()),
    "sources": ("steps.sources", "SourcesForm", ()), "source_eni": ("steps.network", "SourceEniForm", ()),
    "sensor_eni": ("steps.network", "SensorEniForm", ()), "target": ("steps.network", "TargetForm", ()),
    "filter": ("steps.filter", "FilterForm", ()), "session": ("steps.session", "SessionForm", ()),
    "review": ("review", "ReviewPane", ()), "apply": ("apply", "ApplyPane", ()),
    "zeek": ("sensor_slots", "SensorSlot", ("zeek",)), "verify": ("sensor_slots", "SensorSlot", ("verify",)),
}


def _make_page(name: str) -> Widget:
    module, cls, args = _PAGES[name]
    return getattr(importlib.import_module(f"vpc_mirror.tui.screens.{module}"), cls)(*args)


def _is_form(widget: Widget) -> bool:
    from vpc_mirror.tui.screens.steps.base import StepForm

    return isinstance(widget, StepForm)


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

    def __init__(self, start_at: str) -> None:
        super().__init__()
        self.current = start_at

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal():
            yield StepSidebar(id="sidebar")
            with Vertical(id="wizard-main"):
                yield Static("", id="page-title")
                with ContentSwitcher():
                    yield _make_page(self.current)  # composed with the screen: one layout pass, not two
                with Horizontal(id="nav"):
                    yield Button("◀ Back", id="back", compact=True)
                    yield Static("", id="nav-hint")
                    yield Button("Next ▶", id="next", variant="primary", compact=True)
        yield Footer()

    async def on_mount(self) -> None:
        await self.go(self.current)

    def pane(self, name: str) -> Widget:
        return self.query_one(f"#page-{name}")

    async def go(self, name: str) -> None:
        """Show a page; pages are mounted when first shown (and kept), so the screen opens fast."""
        self.current = name
        switcher = self.query_one(ContentSwitcher)
        if not switcher.query_children(f"#page-{name}"):
            await switcher.mount(_make_page(name))
        switcher.current = f"page-{name}"
        pane = self.pane(name)
        index = PAGES.index(page(name))
        self.query_one("#page-title", Static).update(f"{index + 1}/{len(PAGES)} {page(name).title}")
        self.call_after_refresh(self._activate, pane)

    def _activate(self, pane: Widget) -> None:
        """After the page is drawn: fill it, check it (this imports the models), focus it."""
        if pane is not self.pane(self.current):
            return
        if hasattr(pane, "activate"):
            pane.activate()
        self.refresh_nav()
        if hasattr(pane, "focus_first"):
            pane.focus_first()

    def refresh_nav(self) -> None:
        name = self.current
        pane = self.pane(name)
        ok, label, hint = True, "Next ▶", "Ctrl+N next · Esc back"
        if _is_form(pane):
            ok = pane.valid()
            hint = "Ctrl+N next · Esc back" if ok else "fix the marked fields"
        elif name == "review":
            ok, label, hint = pane.ready, "Apply…", "nothing has changed yet"
        elif name == "apply":
            ok = pane.done
            hint = "applying…" if pane.running else ("applied" if pane.done else "")
        elif name == "zeek":
            ok = pane.confirmed
            hint = "Ctrl+N next · Esc back" if ok else "confirm the Zeek step first"
        elif name == "verify":
            label = "Finish"
        self.query_one("#next", Button).label = label
        self.query_one("#next", Button).disabled = not ok
        self.query_one("#back", Button).disabled = name == "apply" and pane.running
        self.query_one("#nav-hint", Static).update(hint)
        self.query_one(StepSidebar).show(self.app.marks(name))

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
        name = self.current
        if name == "review":
            self.confirm_apply()
            return
        if name == "verify":
            self.app.back_to_start()
            return
        if _is_form(self.pane(name)):
            self.app.answered(name)
        await self.go(PAGES[PAGES.index(page(name)) + 1].name)

    async def action_back(self) -> None:
        name = self.current
        if name == "apply" and self.pane("apply").running:
            return
        index = PAGES.index(page(name))
        if index == 0:
            self.app.back_to_start()
        else:
            await self.go(PAGES[index - 1].name)

    def confirm_apply(self) -> None:
        review = self.pane("review")
        creates = sum(1 for a in review.actions if a.verb == "create")
        cost = self.query_one("#review-cost", Static).content

        async def answer(yes: bool) -> None:
            if yes:
                self.app.planned_actions = review.actions
                await self.go("apply")
                self.pane("apply").start(review.actions)

        self.app.push_screen(ConfirmDialog(
            "Apply now?",
            f"This makes the first change in AWS: up to {creates} resources are created for setup "
            f"{self.app.draft.setup}, each tagged vpc-mirror:setup={self.app.draft.setup}.\n\n{cost}",
            yes="Apply", no="Not yet"), answer)
