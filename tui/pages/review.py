"""The review page: every action the steps plan (create / reuse / exists / check / skip), and the cost of mirroring.

Planning reads AWS (inspect) and changes nothing. Next asks for confirmation
before Apply makes the first change, then posts ``ReviewPage.Confirmed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Static

from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.base import PageChanged, WizardPage
from vpc_mirror.tui.screens.dialogs import ConfirmDialog
from vpc_mirror.tui.wizard_steps import STEP_NAMES

if TYPE_CHECKING:
    from vpc_mirror.models.actions import Action


class Planned(Message):
    """The review's plan: actions (with their shown verb), problems per step, the cost line."""

    def __init__(self, actions: list[tuple[str, Action]], skipped: list[tuple[str, str]],
                 problems: list[tuple[str, str]], cost: str, account: str) -> None:
        super().__init__()
        self.actions, self.skipped, self.problems = actions, skipped, problems
        self.cost, self.account = cost, account


class ReviewPage(WizardPage, Vertical):
    DEFAULT_CSS = """
    ReviewPage { height: 1fr; padding: 0 1; }
    ReviewPage #review-head { height: auto; }
    ReviewPage DataTable { height: 1fr; }
    ReviewPage #review-cost { height: auto; color: $warning; }
    ReviewPage #review-problems { height: auto; color: $error; }
    """
    PAGE = "review"
    NEXT_LABEL = "Apply…"

    class Confirmed(Message):
        """The user confirmed the review: apply these actions."""

        def __init__(self, actions: list[Action]) -> None:
            super().__init__()
            self.actions = actions

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.actions: list[Action] = []
        self.problems: list[tuple[str, str]] = []
        self.cost = ""
        self.ready = False

    def compose(self) -> ComposeResult:
        yield Static("", id="review-head")
        table = DataTable(id="review-actions", cursor_type="row", zebra_stripes=False)
        table.add_column("verb", key="verb")
        table.add_column("step", key="step")
        table.add_column("action", key="action")
        yield table
        yield Static("", id="review-problems")
        yield Static("", id="review-cost")

    def activate(self) -> None:
        self.ready = False
        self.query_one(DataTable).loading = True
        self.query_one("#review-head", Static).update("Planning: reading what exists in AWS (nothing is changed)…")
        self.query_one("#review-problems", Static).update("")
        self.query_one("#review-cost", Static).update("")
        self.plan(self.model.plan())

    def can_advance(self) -> bool:
        return self.ready

    def hint(self, can_advance: bool) -> str:
        return "nothing has changed yet"

    def focus_first(self) -> None:
        self.query_one(DataTable).focus()

    def confirm_next(self) -> bool:
        """Ask before the first change in AWS; Confirmed moves the wizard on to Apply."""
        actions, setup = self.actions, self.model.draft.setup
        creates = sum(1 for a in actions if a.verb == "create")

        def answer(yes: bool) -> None:
            if yes:
                self.post_message(self.Confirmed(actions))

        self.app.push_screen(ConfirmDialog(
            "Apply now?",
            f"This makes the first change in AWS: up to {creates} resources are created for setup "
            f"{setup}, each tagged vpc-mirror:setup={setup}.\n\n{self.cost}",
            yes="Apply", no="Not yet"), answer)
        return False

    @work(thread=True, exclusive=True, group="review", exit_on_error=False)
    async def plan(self, plan) -> None:
        # boto3: only in a worker (start-up time)
        from vpc_mirror.steps.cost import planned_cost
        from vpc_mirror.steps.engine import is_live
        from vpc_mirror.steps.setup import inspect_setup, skipped_steps

        try:
            ctx = self.model.backend.context(plan, saved=False)
            try:
                actions, problems = await inspect_setup(ctx)
                shown = [("exists" if a.verb == "create" and is_live(ctx.state.resource(a.key)) else a.verb, a)
                         for a in actions]
                skipped = skipped_steps(ctx, actions, problems)
                account = ctx.facts("account")
                head = f"account {account.get('account_id', '?')} in {ctx.aws.region}"
            finally:
                ctx.close()
        except Exception as exc:  # the page says why; Back lets the user fix the answers
            shown, skipped, problems, head = [], [], [("account", str(exc))], "planning failed"
        self.post_message(Planned(shown, skipped, problems, planned_cost([a for _, a in shown]).line(), head))

    def on_planned(self, event: Planned) -> None:
        self.actions = [a for _, a in event.actions]
        self.problems = event.problems
        table = self.query_one(DataTable)
        table.loading = False
        table.clear()
        rows = [(verb, action.step, action.summary) for verb, action in event.actions]
        rows += [("skip", step, why) for step, why in event.skipped]
        for verb, step, what in sorted(rows, key=lambda row: STEP_NAMES.index(row[1])):  # stable: in plan order
            table.add_row(verb, step.replace("_", "-"), what)
        if event.actions:  # the sensor steps come after apply, on their own pages
            table.add_row("next", "zeek", "set Zeek up on the sensor over SSH (its own page shows each change first)")
            table.add_row("next", "verify", "watch mirrored traffic arrive at the sensor")
            table.add_row("next", "hunt", "score Zeek's logs as RITA v5 does: the test beacon must be found")
            table.add_row("next", "ship", "ship Zeek's logs to AI-Hunter / RITA hourly (optional)")
        creates = sum(1 for verb, _ in event.actions if verb == "create")
        setup = self.model.draft.setup
        self.query_one("#review-head", Static).update(
            f"Setup [b]{setup}[/b], {event.account}: {creates} resources to create, "
            f"{len(event.actions) - creates} to reuse or check, {len(event.skipped)} step(s) skipped. "
            "Nothing has been changed yet.")
        self.query_one("#review-problems", Static).update(
            "\n".join(f"✗ {reason}" for _, reason in event.problems))
        self.cost = event.cost
        self.query_one("#review-cost", Static).update(event.cost)
        self.ready = not event.problems
        self.post_message(PageChanged())
