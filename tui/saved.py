"""The saved setups and drafts of a state directory, as the start screen lists them (no Textual here)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from vpc_mirror.tui.drafts import drafts
from vpc_mirror.tui.wizard_steps import FORM_PAGES, STEP_NAMES


@dataclass(frozen=True)
class SavedSetup:
    """One row: an applied (or partly applied) setup, or a draft never applied."""

    name: str
    where: str
    progress: str
    updated_at: datetime
    failed: str
    applied: bool


def saved_setups(root: Path) -> list[SavedSetup]:
    """Saved setups and drafts in the state directory (pydantic is imported only when there are some)."""
    rows = []
    states, unreadable = [], []
    if any(Path(root).glob("*.state.json")):
        from vpc_mirror.steps.state_store import StateStore  # pydantic: only when there are some (start-up time)

        states, unreadable = StateStore(root).setups()
    for problem in unreadable:  # listed, never dropped: the row says the file cannot be read
        rows.append(SavedSetup(problem.path.name.removesuffix(".state.json"), "?", "state file unreadable",
                               datetime.fromtimestamp(problem.path.stat().st_mtime, timezone.utc), "unreadable", True))
    for state in states:
        failed = state.failed_step()
        rows.append(SavedSetup(state.setup, f"{state.account_id or '?'} {state.region or '?'}",
                               f"{state.done_count()} of {len(STEP_NAMES)} steps", state.updated_at,
                               failed.replace("_", "-") if failed else "", True))
    known = {r.name for r in rows}
    readable, unreadable_drafts = drafts(root)
    for path in unreadable_drafts:
        rows.append(SavedSetup(path.name.removesuffix(".draft.json"), "draft ?", "draft file unreadable",
                               datetime.fromtimestamp(path.stat().st_mtime, timezone.utc), "unreadable", False))
    for draft in readable:
        if draft.setup not in known:
            region = draft.answers.get("account", {}).get("region", "?")
            answered = f"{len(draft.answered)} of {len(FORM_PAGES)} pages answered"
            rows.append(SavedSetup(draft.setup, f"draft {region}", answered, draft.updated_at, "", False))
    return sorted(rows, key=lambda r: r.updated_at, reverse=True)
