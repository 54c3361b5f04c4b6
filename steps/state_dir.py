"""Where setups are saved: the default state directory, made and kept owner-only.

Apart from steps.state_store so that the command line can name the default
without loading pydantic (start-up time of the wizard).
"""

from __future__ import annotations

import contextlib
import os
import stat
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
