"""Every screen of the wizard, reached the same way each time: for snapshot tests and screenshots/make.py.

A scene prepares the account and state directory (synchronously), then
drives the app to its screen (``run_before``). Ids are the same on every run:
moto's random source is seeded before the demo account is made, and
everything that creates runs one call at a time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests.tui.wizard_pilot import FIXED_NOW, Keys, demo_draft, make_app
from vpc_mirror.tui.wizard_steps import FORM_PAGES


@dataclass(frozen=True)
class Scene:
    name: str
    applied: bool  # the demo setup is applied before the app starts
    drive: Callable[..., Awaitable[None]]
    deny: tuple[str, ...] = ()  # permissions the sandbox refuses (a failing apply)


def seeded(sandbox) -> None:
    from moto.moto_api._internal import mock_random

    mock_random.seed(20261128)
    sandbox.reset("demo")


def _pin_times(state_dir: Path) -> None:
    """Saved files say they were written an hour before the fixed clock."""
    then = (FIXED_NOW - timedelta(hours=1)).isoformat()
    for path in Path(state_dir).glob("*.state.json"):
        doc = json.loads(path.read_text())
        doc["created_at"] = doc["updated_at"] = then
        for step in doc["steps"].values():
            step["started_at"] = step["finished_at"] = then if step["started_at"] else None
        path.write_text(json.dumps(doc, indent=2))


def prepare(sandbox, state_dir: Path, scene: Scene):
    """The app for a scene, its account and state made ready (blocking: in a thread from async code)."""
    from tests.awsfacts import run

    seeded(sandbox)
    sandbox.set_denied(scene.deny)
    if scene.applied:
        run(sandbox, state_dir, concurrency=1)
        _pin_times(state_dir)
    return make_app(sandbox, state_dir, concurrency=1)


def at_page(name: str):
    async def drive(pilot) -> None:
        from vpc_mirror.tui.screens.wizard import WizardScreen

        keys = Keys(pilot)
        await keys.settle()
        pilot.app.model.draft = demo_draft()
        await pilot.app.push_screen(WizardScreen(pilot.app.model, name))
        await keys.settle()
    return drive


def then(first, *keys_pressed: str, before_keys: Callable | None = None):
    async def drive(pilot) -> None:
        await first(pilot)
        if before_keys is not None:
            before_keys(pilot.app)
        keys = Keys(pilot)
        await keys(*keys_pressed)
    return drive


class OneWindow:
    """One window of the demo's synthetic traffic, from the fixed clock, fed at once: the same picture each run.

    The demo's own source paces the traffic to the wall clock and never ends;
    this one ends once fed (the status says so), so the scene can settle.
    """

    decode_apart = False

    def __init__(self, demo_source) -> None:
        self.make_window = demo_source.make_window  # the paced SyntheticSource the demo would run

    async def run(self, live, stop) -> None:
        import asyncio

        from vpc_mirror.steps.capture.remote import CaptureStatus

        live.set_status(CaptureStatus("listening", "synthetic mirrored traffic (demo)"))
        window = self.make_window(FIXED_NOW.timestamp())
        await asyncio.to_thread(lambda: [live.feed(chunk) for chunk in window.pcap_chunks()])
        live.set_status(CaptureStatus("stopped", "one window of the demo's traffic, fed at once for this picture"))


async def verify_page(pilot) -> None:
    """The wizard's Verify page over a fixed window of the demo traffic; rates at the newest packet's time."""
    from dataclasses import replace
    from unittest import mock

    from vpc_mirror.tui.pages import sensor_panes

    real = sensor_panes.watched_setup

    def fixed(app, backend, setup: str) -> sensor_panes.Watched:
        watched = real(app, backend, setup)
        return replace(watched, source=OneWindow(watched.source), clock=None, silence_seconds=3600.0)

    with mock.patch.object(sensor_panes, "watched_setup", fixed):
        await at_page("verify")(pilot)


async def hunt_page(pilot) -> None:
    """The wizard's Hunt page on the demo's traffic, ending at the fixed clock: the same scores each run."""
    from unittest import mock

    from vpc_mirror.tui.panes import hunt

    with mock.patch.object(hunt, "now", FIXED_NOW.timestamp):
        await at_page("hunt")(pilot)


async def start(pilot) -> None:
    await Keys(pilot).settle()


def _focus_rules(app) -> None:
    app.screen.query_one("RuleTable").focus()


def _choose_nlb(app) -> None:
    app.screen.query_one("#target-type").value = "nlb"


SCENES = [
    Scene("start", True, start),
    *[Scene(f"page-{p.name}", False, at_page(p.name)) for p in FORM_PAGES],
    Scene("page-target-nlb", False, then(at_page("target"), before_keys=_choose_nlb)),
    Scene("review", False, at_page("review")),
    Scene("confirm-apply", False, then(at_page("review"), "ctrl+n")),
    Scene("apply", False, then(at_page("review"), "ctrl+n", "enter")),
    Scene("apply-failed", False, then(at_page("review"), "ctrl+n", "enter"),
          deny=("ec2:DescribeTrafficMirrorFilters",)),
    Scene("page-zeek", True, at_page("zeek")),
    Scene("page-verify", True, verify_page),
    Scene("page-hunt", True, hunt_page),
    Scene("page-ship", True, at_page("ship")),
    Scene("rule-dialog", False, then(at_page("filter"), "a", before_keys=_focus_rules)),
    Scene("help", False, then(at_page("target"), "f1")),
    Scene("status", True, then(start, "s")),
    Scene("resume", True, then(start, "r")),
    Scene("log", False, then(then(at_page("review"), "ctrl+n", "enter"), before_keys=lambda app: app.open_log())),
    Scene("watch-host", False, then(start, before_keys=lambda app: app.troubleshoot(None))),
    Scene("teardown", True, then(start, "x", "enter")),
]


async def screenshot(app, scene: Scene, sizes: list[tuple[int, int]]) -> list[str]:
    """SVGs of the scene's screen at each size, in one run of the app."""
    pictures = []
    async with app.run_test(size=sizes[0]) as pilot:
        await scene.drive(pilot)
        for size in sizes:
            await pilot.resize_terminal(*size)
            await Keys(pilot).settle()
            for field in app.screen.query("Input"):  # a screen may compose late: looked up before each picture
                field.cursor_blink = False  # a blinking cursor would make every picture a coin toss
            for table in app.screen.query("DataTable"):  # widths and scrollbars follow the new size now
                table.refresh(layout=True)
                table.scroll_home(animate=False)
            await Keys(pilot).settle()
            pictures.append(await _steady(app, pilot))
    return pictures


async def _steady(app, pilot, tries: int = 10) -> str:
    """The screen once two pictures in a row agree: tables size their columns and scrollbars on idle."""
    from pytest_textual_snapshot import normalize_svg

    last = None
    for _ in range(tries):
        await pilot.pause(0.15)
        svg = app.export_screenshot(title="vpc-mirror")
        if last is not None and normalize_svg(svg) == normalize_svg(last):
            return svg
        last = svg
    return last
