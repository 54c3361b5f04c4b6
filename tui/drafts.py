"""Answers in progress, saved after each wizard page so a closed wizard can be resumed.

``<state-dir>/<setup>.draft.json`` (mode 0600, atomic, via steps.state_store):
the answers so far and which pages are answered. Apply saves the full answers
file itself; the draft is dropped then.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path



@dataclass
class Draft:
    setup: str
    answers: dict = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _path(root: Path, setup: str) -> Path:
    return Path(root) / f"{setup}.draft.json"


def save_draft(root: Path, draft: Draft) -> None:
    from vpc_mirror.steps.state_store import write_private  # pydantic: not before the first screen (start-up time)

    draft.updated_at = datetime.now(timezone.utc)
    doc = {"setup": draft.setup, "answers": draft.answers, "answered": draft.answered,
           "updated_at": draft.updated_at.isoformat()}
    write_private(_path(root, draft.setup), json.dumps(doc, indent=2))


def _read(path: Path) -> Draft:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Draft(doc["setup"], doc["answers"], doc["answered"], datetime.fromisoformat(doc["updated_at"]))


def load_draft(root: Path, setup: str) -> Draft | None:
    path = _path(root, setup)
    return _read(path) if path.exists() else None


def drafts(root: Path) -> list[Draft]:
    root = Path(root)
    return [_read(p) for p in sorted(root.glob("*.draft.json"))] if root.exists() else []


def drop_draft(root: Path, setup: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(root, setup).unlink()
