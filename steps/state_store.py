"""Where setups live on disk: state and answers per setup, written so a crash loses nothing.

Every write is atomic (temp file, fsync, os.replace) with mode 0600 in a
directory kept at 0700; a lock file keeps two runs from working on the same
setup at once. A file that cannot be used as it is (corrupt, from a newer
vpc-mirror, unwritable) raises a StateProblem that names the file and the fix,
and is never overwritten.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from pydantic import TypeAdapter, ValidationError

from vpc_mirror.models.answers import AnswersError, dump_answers, parse_answers
from vpc_mirror.models.ids import SetupName
from vpc_mirror.models.plan import Plan
from vpc_mirror.models.state import SCHEMA_VERSION, State, now
from vpc_mirror.steps.problems import UserProblem
from vpc_mirror.steps.state_dir import private_dir, write_private


class StateProblem(UserProblem):
    """A setup's files, or the state directory, cannot be used as they are; the message says what to do."""


class SetupBusy(StateProblem):
    """Another vpc-mirror process is working on this setup."""

    code = 1


class BadSetupName(StateProblem):
    """A setup name that is not one (it would name a file elsewhere, e.g. ``../other/x``)."""


class Unreadable(StateProblem):
    """A state or answers file that is empty, corrupt, or from a newer vpc-mirror; left untouched."""

    def __init__(self, path: Path, message: str):
        super().__init__(f"{path} {message}")
        self.path = path


class NotWritable(StateProblem):
    """The state directory (or a file in it) cannot be written."""


_SETUP_NAME = TypeAdapter(SetupName)
_FIX = ("it is left as it is: restore it from a backup, or move it away and apply the setup's answers "
        "again (apply finds the resources it made by their tags)")


def _read(path: Path) -> str | None:
    """A saved file's text; None when there is none; Unreadable when it is not UTF-8 text."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise Unreadable(path, f"cannot be read ({exc.strerror}); check its permissions") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(path, f"is not UTF-8 text (byte {exc.start}); {_FIX}") from None


def parse_state(path: Path, text: str) -> State:
    """A state file's text as a State; Unreadable, naming the file, when it is empty, corrupt or too new."""
    if not text.strip():
        raise Unreadable(path, f"is empty; {_FIX}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unreadable(path, f"is not valid JSON (line {exc.lineno}: {exc.msg}); {_FIX}") from None
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > SCHEMA_VERSION:
        raise Unreadable(path, f"was written by a newer vpc-mirror (state schema {version}; this one reads "
                         f"up to {SCHEMA_VERSION}); upgrade vpc-mirror to use it, it is left unchanged")
    try:
        return State.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "(file)"
        raise Unreadable(path, f"is not a vpc-mirror state ({where}: {first['msg']}); {_FIX}") from None


class Saved(NamedTuple):
    """What the state directory holds: the setups that load, and a problem for each file that does not."""

    states: list[State]
    unreadable: list[Unreadable]


class StateStore:
    """``<root>/<setup>.state.json`` and ``<root>/<setup>.answers.yaml``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, setup: str, suffix: str) -> Path:
        try:
            name = _SETUP_NAME.validate_python(setup)
        except ValidationError as exc:
            raise BadSetupName(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        return self.root / f"{name}{suffix}"

    def state_path(self, setup: str) -> Path:
        return self._path(setup, ".state.json")

    def answers_path(self, setup: str) -> Path:
        return self._path(setup, ".answers.yaml")

    def load(self, setup: str) -> State | None:
        path = self.state_path(setup)
        text = _read(path)
        return None if text is None else parse_state(path, text)

    def save(self, state: State) -> None:
        state.updated_at = now()
        self._write(self.state_path(state.setup), state.model_dump_json(indent=2))

    def load_answers(self, setup: str) -> Plan | None:
        path = self.answers_path(setup)
        text = _read(path)
        if text is None:
            return None
        try:
            return parse_answers(text)
        except AnswersError as exc:
            raise Unreadable(path, f"(the saved answers of {setup}) no longer parses: {'; '.join(exc.problems)}; "
                             f"fix that field in the file, or apply a corrected answers file with "
                             f"--name {setup}") from None

    def save_answers(self, plan: Plan) -> None:
        self._write(self.answers_path(plan.setup), dump_answers(plan))

    def _write(self, path: Path, text: str) -> None:
        try:
            private_dir(self.root)
            write_private(path, text)
        except OSError as exc:
            raise self._not_writable(exc) from None

    def _not_writable(self, exc: OSError) -> NotWritable:
        return NotWritable(f"cannot write in the state directory {self.root} ({exc.strerror}); give one you "
                           "can write with --state-dir DIR (or VPC_MIRROR_STATE_DIR), or fix its permissions")

    def setups(self) -> Saved:
        """Every saved setup, most recently changed first, and every state file that cannot be read."""
        if not self.root.exists():
            return Saved([], [])
        states, unreadable = [], []
        for path in sorted(self.root.glob("*.state.json")):
            try:
                states.append(parse_state(path, _read(path) or ""))
            except Unreadable as exc:
                unreadable.append(exc)
        return Saved(sorted(states, key=lambda s: s.updated_at, reverse=True), unreadable)

    @contextlib.contextmanager
    def lock(self, setup: str) -> Iterator[None]:
        path = self._path(setup, ".lock")
        try:
            private_dir(self.root)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise self._not_writable(exc) from None
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
