"""What the wizard promises besides the flow: its steps match the engine's, it starts light,
the start screen's Troubleshoot, Help and the command palette entries, and quitting while work runs."""

from __future__ import annotations

import subprocess
import sys

from textual.app import SystemCommand

from tests.awsfacts import run
from tests.tui.wizard_pilot import Keys, demo_draft, make_app
from vpc_mirror.tui.screens.dialogs import ConfirmDialog
from vpc_mirror.tui.screens.help import HelpScreen
from vpc_mirror.tui.screens.start import StartScreen
from vpc_mirror.tui.screens.troubleshoot import TroubleshootScreen
from vpc_mirror.tui.screens.wizard import WizardScreen
from vpc_mirror.tui.wizard_steps import STEP_NAMES


def test_the_wizard_has_the_engines_steps_in_order():
    from vpc_mirror.steps.setup import STEP_NAMES as ENGINE_STEPS

    assert STEP_NAMES == ENGINE_STEPS


def test_the_first_screen_needs_neither_boto3_nor_asyncssh():
    code = ("import sys, vpc_mirror.tui.app, vpc_mirror.tui.screens.start, vpc_mirror.tui.screens.wizard; "
            "print(sorted(m for m in ('boto3', 'botocore', 'asyncssh', 'moto') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_start_screen_help_palette_and_troubleshoot(sandbox, state_dir, monkeypatch, tmp_path):
    await __import__("asyncio").to_thread(run, sandbox, state_dir)
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        assert isinstance(app.screen, StartScreen)
        row = app.screen.setups[0]
        assert (row.name, row.progress, row.failed) == ("demo", "10 of 14 steps", "")
        await keys("f1")
        assert isinstance(app.screen, HelpScreen) and ("n", "New setup") in app.screen.keys
        await keys("escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Open log", "Switch theme", "Help", "Quit"} <= set(titles)
        await keys("n")
        assert isinstance(app.screen, WizardScreen)
        commands = list(app.get_system_commands(app.screen))
        assert "Go to step: AWS account" in [c.title for c in commands]
        monkeypatch.chdir(tmp_path)
        app.model.draft.answers["setup"] = "exported"
        export = next(c for c in commands if c.title == "Export answers")
        assert isinstance(export, SystemCommand)
        export.callback()
        assert not (tmp_path / "exported.answers.yaml").exists(), "incomplete answers are not exported"
        from vpc_mirror.models.answers import parse_answers
        from tests.awsfacts import demo_plan

        app.model.draft = demo_draft(answered=False)
        app.model.draft.answered = ["account", "vpc"]
        export.callback()
        written = tmp_path / "demo.answers.yaml"
        assert parse_answers(written.read_text()) == demo_plan() and written.stat().st_mode & 0o777 == 0o600

        for typed, opens in (("open log", "LogScreen"), ("go to step: vpc", None), ("switch theme", "CommandPalette")):
            await pilot.press("ctrl+p", *typed)                # through the real command palette
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.3)
            if opens is None:
                assert app.screen.current == "vpc"
            else:
                assert type(app.screen).__name__ == opens, typed
                await pilot.press("escape")
                await pilot.pause(0.2)
        app.back_to_start()
        await keys.settle()
        await pilot.press("t")
        for _ in range(50):
            await pilot.pause(0.1)
            if isinstance(app.screen, TroubleshootScreen):
                break
        assert isinstance(app.screen, TroubleshootScreen)
        await pilot.press("escape")
        await pilot.pause(0.2)


async def test_quitting_while_apply_runs_asks_first_and_keeps_state(sandbox, state_dir):
    app = make_app(sandbox, state_dir)
    sandbox.set_latency(0.1)  # an apply that takes a while
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            keys = Keys(pilot)
            await keys.settle()
            from tests.tui.test_flow import open_review

            await open_review(app, keys)
            await pilot.press("ctrl+n", "enter")
            for _ in range(100):  # until the first change is made
                await pilot.pause(0.1)
                if (state_dir / "demo.state.json").exists():
                    break
            assert app.engine_workers(), "apply is running"
            await pilot.press("ctrl+c")
            await pilot.pause()
            assert isinstance(app.screen, ConfirmDialog)
            await pilot.press("enter")                           # Leave
            await pilot.pause(0.5)
    finally:
        sandbox.set_latency(0.0)
    from vpc_mirror.steps.state_store import StateStore

    state = StateStore(state_dir).load("demo")
    assert state is not None and state.failed_step() is not None  # stopped where it was, saved for resume
    assert state.steps["session"].status != "done"


async def test_quitting_while_zeek_is_set_up_on_the_sensor_asks_first(sandbox, state_dir):
    """The Zeek pane marks itself while it applies (tests/tui/test_zeek_pane.py checks it does)."""
    from textual.widgets import Static

    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await Keys(pilot).settle()
        await app.screen.mount(Static(classes="-changing-sensor"))
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        assert "Zeek is being set up on the sensor" in app.screen.body
        await pilot.press("escape")  # Stay
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, WizardScreen)


async def test_troubleshoot_a_host_checks_the_form_then_says_why_the_capture_failed(sandbox, state_dir):
    """From the command palette's entry; SSH goes to a closed port on loopback, so it is refused at once."""
    import socket

    from vpc_mirror.tui.screens.watch_host import WatchHostDialog

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await Keys(pilot).settle()
        entry = next(c for c in app.get_system_commands(app.screen) if c.title == "Troubleshoot a host")
        entry.callback()
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, WatchHostDialog) and dialog.query_one("#watch-go").disabled

        await pilot.press(*"127.0.0.1", "tab", *"99999", "tab")
        await pilot.pause()
        assert "65535" in dialog.query_one("#watch-field-port").error
        assert dialog.query_one("#watch-go").disabled
        dialog.query_one("#watch-port").value = str(closed_port)
        dialog.query_one("#watch-capture").value = "02:00:00:00:00"  # five pairs: not a MAC, not an interface
        await pilot.pause()
        assert dialog.query_one("#watch-field-capture").error and dialog.query_one("#watch-go").disabled
        dialog.query_one("#watch-capture").value = "ens6"
        await pilot.pause()
        assert not dialog.query_one("#watch-go").disabled

        await pilot.click("#watch-go")
        await pilot.pause()
        assert isinstance(app.screen, TroubleshootScreen) and app.screen.sub_title == "sensor 127.0.0.1"
        live = app.screen.live
        for _ in range(100):
            if live.status.state == "failed":
                break
            await pilot.pause(0.1)
        assert live.status.state == "failed" and str(closed_port) in live.status.message, live.status.message
