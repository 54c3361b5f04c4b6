"""The wizard's model (subiquity's sense): what its screens and pages share, handed to each of them.

The backend (where engine work runs), the draft answers being edited, the
saved state of the setup once applied, and the session's log. No Textual here:
pages read and change this object, and the wizard screen redraws from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from vpc_mirror.tui.backend import Backend
from vpc_mirror.tui.drafts import Draft, drop_draft, save_draft
from vpc_mirror.tui.saved import saved_setups
from vpc_mirror.tui.wizard_steps import FORM_PAGES, PAGES

if TYPE_CHECKING:  # pydantic models: imported where they are made, after the first screen
    from vpc_mirror.models.plan import Plan
    from vpc_mirror.models.state import State


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class WizardModel:
    backend: Backend
    clock: Callable[[], datetime] = _now
    draft: Draft = field(default_factory=lambda: Draft(setup=""))
    #: the setup this session works on (resumed, or saved as a draft here): its own name is not "taken"
    own_name: str | None = None
    #: the saved state of the setup, once something was applied (None for a draft)
    state: State | None = None
    #: everything the engine logged in this session (the log screen shows it)
    log_lines: list[str] = field(default_factory=list)

    def start(self, draft: Draft, *, own_name: str | None = None, state: State | None = None) -> None:
        """Work on another setup from now on."""
        self.draft, self.own_name, self.state = draft, own_name, state

    def taken_names(self) -> set[str]:
        return {s.name for s in saved_setups(self.backend.state_dir)} - {self.own_name}

    def answered(self, name: str) -> None:
        """Page ``name`` was answered: the draft is saved, so a closed wizard resumes after it."""
        if name not in self.draft.answered:
            self.draft.answered.append(name)
        if self.state is None and self.own_name not in (None, self.draft.setup):
            drop_draft(self.backend.state_dir, self.own_name)  # renamed before it was applied: one draft, not two
        save_draft(self.backend.state_dir, self.draft)
        self.own_name = self.draft.setup

    def applied(self) -> None:
        """Apply saved the full answers with the state: the draft is no longer needed."""
        drop_draft(self.backend.state_dir, self.draft.setup)

    def plan(self) -> Plan:
        from vpc_mirror.models.plan import Plan  # pydantic: not before the first screen (start-up time)

        return Plan.model_validate(self.draft.answers)

    def marks(self, current: str) -> dict[str, str]:
        """The sidebar's mark per page: the current one, and done / failed / pending from the state and draft."""
        statuses = {name: step.status for name, step in self.state.steps.items()} if self.state else {}
        aws_done = bool(statuses) and all(statuses.get(p.name) in ("done", "skipped") for p in FORM_PAGES)
        marks = {}
        for page in PAGES:
            status = statuses.get(page.name)
            if page.name == current:
                marks[page.name] = "current"
            elif status == "failed":
                marks[page.name] = "failed"
            elif status in ("done", "skipped") or page.name in self.draft.answered or \
                    (page.name in ("review", "apply") and aws_done):
                marks[page.name] = "done"
            else:
                marks[page.name] = "pending"
        return marks
