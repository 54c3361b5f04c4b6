"""Answers in progress, saved after each wizard page so a closed wizard can be resumed.

``<state-dir>/<setup>.draft.json`` (mode 0600, atomic, via steps.state_dir):
the answers so far and which pages are answered. Apply saves the full answers
file itself; the draft is dropped then.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from vpc_mirror.steps.state_dir import private_dir, write_private


@dataclass
class Draft:
    setup: str
    answers: dict = field(default_factory=dict)
    answered: list[str] = field(default_factory=list)
    updated_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def _path(root: Path, setup: str) -> Path:
    return Path(root) / f"{setup}.draft.json"


def save_draft(root: Path, draft: Draft) -> None:
    draft.updated_at = datetime.now(timezone.utc)
    doc = {"setup": draft.setup, "answers": draft.answers, "answered": draft.answered,
           "updated_at": draft.updated_at.isoformat()}
    private_dir(Path(root))
    write_private(_path(root, draft.setup), json.dumps(doc, indent=2))


def _read(path: Path) -> Draft | None:
    """The draft in ``path``; None when it cannot be read (it is left on disk, and listed as unreadable)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        return Draft(doc["setup"], doc["answers"], doc["answered"], datetime.fromisoformat(doc["updated_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_draft(root: Path, setup: str) -> Draft | None:
    """The saved draft of ``setup``; None when there is none or it cannot be read (the wizard starts afresh)."""
    path = _path(root, setup)
    return _read(path) if path.exists() else None


def drafts(root: Path) -> tuple[list[Draft], list[Path]]:
    """The drafts that can be read, and the draft files that cannot (never dropped silently)."""
    root = Path(root)
    found, unreadable = [], []
    for path in sorted(root.glob("*.draft.json")) if root.exists() else []:
        draft = _read(path)
        if draft is None:
            unreadable.append(path)
        else:
            found.append(draft)
    return found, unreadable


def drop_draft(root: Path, setup: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        _path(root, setup).unlink()
