"""Where setups are saved: the default state directory, made and kept owner-only, and private files.

Apart from steps.state_store so that the command line and the wizard's drafts
need no pydantic before the first screen (start-up time).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from platformdirs import user_state_dir


def default_state_dir() -> Path:
    return Path(user_state_dir("vpc-mirror"))


def private_dir(path: Path) -> None:
    """Make ``path`` (and any missing parent) owner-only, whatever the umask; tighten it if it is looser."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(folder, 0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o077 and path.stat().st_uid == os.geteuid():
        os.chmod(path, 0o700)


def write_private(path: Path, text: str) -> None:
    """Atomically replace ``path`` with ``text``, readable by the owner only.

    The folder must exist and is left as it is: an export written into the
    current folder must not change who may read that folder.
    """
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
