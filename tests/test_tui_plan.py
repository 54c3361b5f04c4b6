"""The app's plan screen on the demo account (the wizard's screens come with their own issue)."""

from __future__ import annotations

from textual.widgets import DataTable, Static

from models.answers import parse_answers
from sandbox import demo_answers_text
from tui.app import PlanApp


async def test_plan_screen_lists_the_demo_actions_at_80x24(sandbox):
    app = PlanApp(parse_answers(demo_answers_text()), endpoint_url=sandbox.endpoint_url, profile=None,
                  region=sandbox.region)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.query_one("#plan", DataTable)
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert not table.loading
        assert ("session", "create") in {(r[0], r[1]) for r in rows}
        assert sum(1 for r in rows if r[0] == "session") == 4  # three sources and the test beacon
        banner = app.query_one("#banner", Static)
        assert f"{len(rows)} actions would be taken" in str(banner.render())
        await pilot.press("q")
