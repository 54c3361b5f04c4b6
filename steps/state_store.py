"""Where setups live on disk: state and answers per setup, written so a crash loses nothing.

Every write is atomic (temp file, fsync, os.replace) with mode 0600; a lock
file keeps two runs from working on the same setup at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vpc_mirror.models.answers import dump_answers, parse_answers
from vpc_mirror.models.plan import Plan
from vpc_mirror.models.state import State, now


class SetupBusy(RuntimeError):
    """Another vpc-mirror process is working on this setup."""


def default_state_dir() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir("vpc-mirror"))


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StateStore:
    """``<root>/<setup>.state.json`` and ``<root>/<setup>.answers.yaml``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def state_path(self, setup: str) -> Path:
        return self.root / f"{setup}.state.json"

    def answers_path(self, setup: str) -> Path:
        return self.root / f"{setup}.answers.yaml"

    def load(self, setup: str) -> State | None:
        path = self.state_path(setup)
        if not path.exists():
            return None
        return State.model_validate_json(path.read_text(encoding="utf-8"))

    def save(self, state: State) -> None:
        state.updated_at = now()
        write_private(self.state_path(state.setup), state.model_dump_json(indent=2))

    def load_answers(self, setup: str) -> Plan | None:
        path = self.answers_path(setup)
        if not path.exists():
            return None
        return parse_answers(path.read_text(encoding="utf-8"))

    def save_answers(self, plan: Plan) -> None:
        write_private(self.answers_path(plan.setup), dump_answers(plan))

    def setups(self) -> list[State]:
        """Every saved setup, most recently changed first."""
        if not self.root.exists():
            return []
        states = [State.model_validate_json(p.read_text(encoding="utf-8")) for p in self.root.glob("*.state.json")]
        return sorted(states, key=lambda s: s.updated_at, reverse=True)

    @contextlib.contextmanager
    def lock(self, setup: str) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / f"{setup}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SetupBusy(
                    f"setup {setup!r} is in use by another vpc-mirror process; wait for it or stop it"
                ) from None
            yield
        finally:
            os.close(fd)
