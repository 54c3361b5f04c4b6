"""The Textual app. For now one screen: the plan of a setup, computed in a worker.

The full wizard (step screens, apply progress, Zeek, live view) sits on this
app; until then it shows what `apply` would do, so `--demo` already says
something true about the embedded account.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Static



class PlanApp(App):
    """Shows the actions an answers file would take, loaded off the UI thread."""

    TITLE = "vpc-mirror"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, plan, *, endpoint_url: str | None, profile: str | None, region: str | None):
        super().__init__()
        self.answers = plan
        self.endpoint_url, self.profile, self.region = endpoint_url, profile, region

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"Setup [b]{self.answers.setup}[/b]: planning against AWS…", id="banner")
        table = DataTable(id="plan", cursor_type="row")
        table.add_columns("step", "verb", "action")
        table.loading = True
        yield table
        yield Footer()

    def on_mount(self) -> None:
        self.load_plan()

    @work(thread=True, exclusive=True)
    def load_plan(self) -> None:
        import asyncio

        from steps.engine import Refused
        from steps.setup import open_context, plan_setup

        ctx = open_context(self.answers, None, endpoint_url=self.endpoint_url, profile=self.profile,
                           region=self.region)
        try:
            actions = asyncio.run(plan_setup(ctx))
            text = f"Setup [b]{self.answers.setup}[/b]: {len(actions)} actions would be taken"
        except Refused as exc:
            actions, text = [], "Cannot apply:\n" + "\n".join(exc.reasons)
        except Exception as exc:  # shown, not raised: the UI must stay up
            actions, text = [], f"Planning failed: {exc}"
        finally:
            ctx.close()
        self.call_from_thread(self._show, actions, text)

    def _show(self, actions, text: str) -> None:
        self.query_one("#banner", Static).update(text)
        table = self.query_one("#plan", DataTable)
        for action in actions:
            table.add_row(action.step, action.verb, action.summary)
        table.loading = False


def run_wizard(*, demo: bool, state_dir: Path, endpoint_url: str | None, profile: str | None,
               region: str | None) -> int:
    from models.answers import parse_answers

    if not demo:
        print("The interactive wizard is not built yet; use `vpc-mirror apply ANSWERS` or `vpc-mirror --demo`.")
        return 2
    from sandbox import demo_answers_text
    from sandbox.server import Sandbox

    with Sandbox(seed="demo") as sandbox:
        import os

        os.environ.update(sandbox.env())
        plan = parse_answers(demo_answers_text())
        PlanApp(plan, endpoint_url=sandbox.endpoint_url, profile=None, region=sandbox.region).run()
    return 0
