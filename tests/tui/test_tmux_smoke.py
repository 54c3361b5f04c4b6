"""`vpc-mirror --demo` in a real terminal (tmux): keys with send-keys, the screen with capture-pane."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None or shutil.which("vpc-mirror") is None,
                                reason="needs tmux and the vpc-mirror command (CI installs tmux: apt-get install tmux)")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def alive(session: str) -> bool:
    return subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0


def wait_for(session: str, text: str, seconds: float = 30.0) -> str:
    deadline = time.monotonic() + seconds
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never showed; the screen:\n{screen}")


def test_demo_in_a_real_terminal(tmp_path):
    session = f"vpc-mirror-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"env HOME={tmp_path} TERM=xterm-256color vpc-mirror --demo")
    try:
        screen = wait_for(session, "1/14 AWS account")
        assert "▶ account" in screen and "demo" in screen
        wait_for(session, "account 123456789012")              # the sandbox answered, in the background
        tmux("send-keys", "-t", session, "C-n")
        wait_for(session, "2/14 VPC")
        tmux("send-keys", "-t", session, "-l", "demo-vpc")
        wait_for(session, "vpc-")
        tmux("send-keys", "-t", session, "Escape")             # Back
        wait_for(session, "1/14 AWS account")
        tmux("send-keys", "-t", session, "C-q")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(session):
            time.sleep(0.2)
        assert not alive(session), "Ctrl+Q with nothing running leaves at once"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
