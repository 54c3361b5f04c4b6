"""Helpers for driving the wizard in tests: an app on the sandbox, and key presses that are counted and waited on."""

from __future__ import annotations

from datetime import datetime, timezone

from vpc_mirror.tui.app import WizardApp
from vpc_mirror.tui.backend import Backend
from vpc_mirror.tui.drafts import Draft
from vpc_mirror.tui.wizard_steps import FORM_PAGES

#: The clock of every test app: "updated" columns and the like do not change from run to run.
FIXED_NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def demo_draft(*, answered: bool = True, change=None) -> Draft:
    """The demo's answers as a wizard draft (every page answered, unless told), ``change(answers)`` first."""
    from tests.awsfacts import demo_plan

    answers = demo_plan().model_dump(mode="json", exclude_none=True)
    if change is not None:
        change(answers)
    return Draft(setup="demo", answers=answers, answered=[p.name for p in FORM_PAGES] if answered else [])


def make_app(sandbox, state_dir, *, demo: bool = True, concurrency: int = 8) -> WizardApp:
    backend = Backend(state_dir, endpoint_url=sandbox.endpoint_url, region=sandbox.region, demo=demo,
                      concurrency=concurrency)
    return WizardApp(backend, clock=lambda: FIXED_NOW)


class Keys:
    """Presses keys through a pilot, counting them; waits until background work has answered."""

    def __init__(self, pilot) -> None:
        self.pilot = pilot
        self.count = 0

    async def settle(self) -> None:
        """Until the app is idle with no worker running: work a page starts after a refresh counts too."""
        app = self.pilot.app
        await self.pilot.pause()
        while True:
            await app.workers.wait_for_complete()
            await self.pilot.pause()
            if all(worker.is_finished for worker in app.workers):
                return

    async def __call__(self, *keys: str) -> None:
        for key in keys:
            self.count += 1
            await self.pilot.press(key)
            await self.settle()

    async def type(self, text: str) -> None:
        await self(*text)
