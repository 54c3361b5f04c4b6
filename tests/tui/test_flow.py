"""The whole demo setup with the keyboard only, resume (closed half-way, killed apply), apply failures."""

from __future__ import annotations

import asyncio

from textual.widgets import Button

from vpc_mirror.steps.state_store import StateStore
from tests.awsfacts import Crash, Recorder, run, tagged
from tests.tui.test_zeek_pane import until
from tests.tui.wizard_pilot import Keys, demo_draft, make_app
from vpc_mirror.tui.screens.dialogs import FailureDialog, MessageDialog
from vpc_mirror.tui.screens.start import StartScreen
from vpc_mirror.tui.screens.teardown import TeardownScreen
from vpc_mirror.tui.screens.wizard import WizardScreen
from vpc_mirror.tui.wizard_steps import STEP_NAMES

#: Key presses for the demo setup from New setup to the Verify step (lower it when the wizard gets quicker).
KEY_BUDGET = 38


async def answer_to_review(keys: Keys) -> None:
    """From the account page: the demo's answers (VPC, subnet, launched sensor, beacon, three sources)."""
    await keys("ctrl+n")                                      # account: name "demo", default credentials
    await keys.type("demo-vpc")
    await keys("enter")                                       # VPC picked; focus moves to the subnets
    await keys.type("pub")
    await keys("enter", "ctrl+n")                             # subnet demo-public-a
    await keys("enter", "ctrl+n")                             # sensor: + launch (the only key pair is chosen)
    await keys("space", "ctrl+n")                             # test beacon on
    await keys("down", "space", "down", "space", "down", "down", "down", "space")  # api-1, batch-1, web-1
    await keys("ctrl+n")                                      # sources chosen
    await keys("ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")  # source-eni .. session: defaults


def page(app) -> str:
    return app.screen.current


async def test_full_demo_setup_with_the_keyboard_only(wizard, sandbox):
    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        assert isinstance(wizard.screen, WizardScreen), "no saved setups: straight to a new setup"
        await answer_to_review(keys)
        assert page(wizard) == "review"
        review = wizard.screen.pane("review")
        assert review.ready and not review.problems
        assert "USD 43.80/month" in str(wizard.screen.query_one("#review-cost").content)
        await keys("ctrl+n", "enter")                          # Apply… and confirm
        assert page(wizard) == "apply" and wizard.screen.pane("apply").done
        await keys("ctrl+n")                                   # the Zeek step: the demo's preview
        assert page(wizard) == "zeek"
        assert wizard.focused.id == "zeek-acknowledge", "what the user does next has the focus"
        await keys("a")                                        # "Understood: not applied in the demo"
        await pilot.press("ctrl+n")                            # Verify: its capture runs until the app ends
        keys.count += 1
        await pilot.pause(0.5)
        assert page(wizard) == "verify"
        store = StateStore(wizard.model.backend.state_dir)
        for _ in range(100):  # the first mirrored packets mark the verify step done
            if store.load("demo").step("verify").status == "done":
                break
            await pilot.pause(0.1)
        marks = wizard.model.marks("verify")
        assert marks["zeek"] == "done" and all(m == "done" for n, m in marks.items()
                                               if n not in ("verify", "hunt", "ship")), marks
        print(f"\nkey presses from New setup to Verify: {keys.count} (budget {KEY_BUDGET})")
        assert keys.count <= KEY_BUDGET
        # the Verify capture runs on, so from here the keys wait for what they change, not for idle
        await pilot.press("ctrl+n")                            # Hunt: the demo's traffic scored
        await until(pilot, lambda: store.load("demo").step("hunt").status == "done")
        assert page(wizard) == "hunt"
        assert "the hunt will find it" in str(wizard.screen.query_one("#hunt-banner").render())
        await pilot.press("ctrl+n")                            # Ship: the demo's plan
        await until(pilot, lambda: not wizard.screen.query_one("#ship-acknowledge").disabled)
        await pilot.press("a")
        await until(pilot, lambda: store.load("demo").step("ship").status == "skipped")
        await until(pilot, lambda: wizard.model.marks("ship")["hunt"] == "done")
        await pilot.press("ctrl+n")                            # Finish: back to the start screen
        await until(pilot, lambda: isinstance(wizard.screen, StartScreen))
    state = StateStore(wizard.model.backend.state_dir).load("demo")
    # every AWS step applied; the demo shows Zeek's and shipping's changes without applying them; Verify saw
    # the traffic and the hunt found the beacon in it
    assert {n: s.status for n, s in state.steps.items() if s.status != "done"} == {"zeek": "skipped",
                                                                                 "ship": "skipped"}
    sessions = [k for k in tagged(sandbox, "demo") if k[0] == "session"]
    assert len(sessions) == 4  # three sources and the beacon, once each


async def test_resume_after_the_wizard_was_closed_half_way(sandbox, state_dir):
    first = make_app(sandbox, state_dir)
    async with first.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await keys("ctrl+n")
        await keys.type("demo-vpc")
        await keys("enter")
        await keys.type("pub")
        await keys("enter", "ctrl+n")
        assert page(first) == "sensor"
        await keys("ctrl+q")                                   # nothing runs: leaves at once
    again = make_app(sandbox, state_dir)
    async with again.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        assert isinstance(again.screen, StartScreen)
        row = again.screen.setups[0]
        assert (row.name, row.progress, row.applied) == ("demo", "2 of 10 pages answered", False)
        await keys("r")
        assert page(again) == "sensor"
        assert again.model.draft.answers["vpc"]["vpc_id"] == sandbox.seed_info.vpc_id
        assert again.model.draft.answers["vpc"]["subnet_id"] == sandbox.seed_info.subnet_ids[0]


async def test_resume_after_a_killed_apply_continues_without_duplicates(sandbox, state_dir):
    try:  # the process "dies" before the seventh change, in the sensor-eni step
        await asyncio.to_thread(run, sandbox, state_dir, recorder=Recorder(crash_before=7))
    except Crash:
        pass
    saved = StateStore(state_dir).load("demo")
    unfinished = next(n for n, s in saved.steps.items() if s.status not in ("done", "skipped"))
    assert unfinished == "sensor_eni"
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await keys("r")
        assert isinstance(app.screen, MessageDialog)            # what changed since
        await keys("enter")
        assert page(app) == unfinished
        for _ in range(12):
            if page(app) == "review":
                break
            await keys("ctrl+n")
        review = app.screen.pane("review")
        assert page(app) == "review" and review.ready, (page(app), app.screen.query_one("#nav-hint").content)
        await keys("ctrl+n", "enter")
        assert app.screen.pane("apply").done
    made = tagged(sandbox, "demo")
    assert made and all(count == 1 for count in made.values()), made
    assert sum(1 for k in made if k[0] == "session") == 4


async def open_review(app, keys: Keys, draft=None) -> None:
    """The demo answers (or ``draft``) straight to the review page (the keyboard path is tested above)."""
    app.model.draft = draft or demo_draft(answered=False)
    await app.push_screen(WizardScreen(app.model, "review"))
    await keys.settle()
    assert app.screen.pane("review").ready


async def failed_apply(sandbox, state_dir):
    """An apply that fails half-way: the filter look-up is denied after instances and ENIs exist."""
    app = make_app(sandbox, state_dir)
    sandbox.set_denied(["ec2:DescribeTrafficMirrorFilters"])
    return app


async def test_failure_dialog_retry_finishes_the_apply(sandbox, state_dir):
    app = await failed_apply(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await open_review(app, keys)
        await keys("ctrl+n", "enter")
        assert isinstance(app.screen, FailureDialog)
        assert "ec2:DescribeTrafficMirrorFilters" in app.screen.body
        sandbox.set_denied(())
        await keys("enter")                                    # Retry (focused)
        assert app.screen.pane("apply").done
    made = tagged(sandbox, "demo")
    assert all(count == 1 for count in made.values()) and sum(1 for k in made if k[0] == "session") == 4


async def test_failure_dialog_stop_here_keeps_the_state(sandbox, state_dir):
    app = await failed_apply(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await open_review(app, keys)
        await keys("ctrl+n", "enter")
        assert isinstance(app.screen, FailureDialog)
        sandbox.set_denied(())
        app.screen.query_one("#stop", Button).press()
        await keys.settle()
        assert isinstance(app.screen, StartScreen)
        row = app.screen.setups[0]
        assert (row.name, row.failed) == ("demo", "filter")
    assert tagged(sandbox, "demo"), "what was created stays, for resume"


async def test_failure_dialog_tear_down_deletes_what_was_created(sandbox, state_dir):
    app = await failed_apply(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await open_review(app, keys)
        await keys("ctrl+n", "enter")
        assert isinstance(app.screen, FailureDialog)
        sandbox.set_denied(())
        assert tagged(sandbox, "demo")
        app.screen.query_one("#teardown", Button).press()
        await keys.settle()
        assert isinstance(app.screen, TeardownScreen) and app.screen.ok
        await keys("escape")
        assert isinstance(app.screen, StartScreen)
    assert not tagged(sandbox, "demo")


async def test_review_shows_skipped_steps_and_apply_marks_them_skipped(sandbox, state_dir):
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await open_review(app, keys, demo_draft(answered=False,
                                                change=lambda answers: answers["test_beacon"].update(enabled=False)))
        table = app.screen.query_one("#review-actions")
        rows = [tuple(map(str, table.get_row_at(i))) for i in range(table.row_count)]
        assert ("skip", "test-beacon", "no test beacon: test_beacon.enabled is false") in rows
        order = [name.replace("_", "-") for name in STEP_NAMES]
        steps = [step for _, step, _ in rows]
        assert steps == sorted(steps, key=order.index), "in step order"
        assert [row[:2] for row in rows[-4:]] == [("next", "zeek"), ("next", "verify"), ("next", "hunt"),
                                                  ("next", "ship")]
        await keys("ctrl+n", "enter")
        assert app.screen.pane("apply").done
    assert StateStore(state_dir).load("demo").steps["test_beacon"].status == "skipped"


async def test_a_permission_refused_by_dryrun_changes_nothing_and_offers_no_tear_down(sandbox, state_dir):
    app = make_app(sandbox, state_dir)
    sandbox.set_denied(["ec2:CreateTrafficMirrorSession"])
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await open_review(app, keys)
        await keys("ctrl+n", "enter")
        assert isinstance(app.screen, FailureDialog)
        assert app.screen.body.startswith("Nothing was changed") and "CreateTrafficMirrorSession" in app.screen.body
        assert [b.id for b in app.screen.query(Button)] == ["retry", "stop"]
    assert not tagged(sandbox, "demo")


async def test_going_back_to_the_name_keeps_it_and_a_rename_leaves_one_draft(sandbox, state_dir):
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await keys("ctrl+n", "escape")                         # the draft "demo" is saved; back to its name
        assert page(app) == "account"
        assert not app.screen.query_one("#field-account-setup").error, "its own draft does not take its name"
        name = app.screen.query_one("#account-setup")
        name.value = "hunt-1"
        await keys.settle()
        await keys("ctrl+n")
        assert page(app) == "vpc"
    assert sorted(p.name for p in state_dir.glob("*.draft.json")) == ["hunt-1.draft.json"]
