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


def ready(session: str, text: str, seconds: float = 30.0, still: float = 0.6) -> str:
    """``text`` shows and the screen has stopped changing for ``still`` seconds: the page is drawn, filled and
    focused (a key sent before that may reach the page being left, or a control not yet focused). Only the
    text counts: a focused field's blinking cursor changes the colours all the time."""
    deadline = time.monotonic() + seconds
    screen = wait_for(session, text, seconds)
    since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.15)
        now = screen_of(session)
        if now != screen or text not in now:
            screen, since = now, time.monotonic()
        elif time.monotonic() - since >= still:
            return screen
    raise AssertionError(f"the screen with {text!r} never settled; the screen:\n{screen}")


def next_enabled(session: str, seconds: float = 30.0) -> None:
    """A form page checks its answers in the background; Ctrl+N only rings the bell until they pass."""
    deadline = time.monotonic() + seconds
    while "fix the marked fields" in screen_of(session):
        assert time.monotonic() < deadline, f"the page never became valid; the screen:\n{screen_of(session)}"
        time.sleep(0.15)


def keys(session: str, *pressed: str) -> None:
    tmux("send-keys", "-t", session, *pressed)


def screen_of(session: str) -> str:
    return tmux("capture-pane", "-p", "-t", session)


def test_demo_in_a_real_terminal(tmp_path):
    """The whole demo, New setup to Hunt, as a user types it; the mirrored traffic shows on the terminal and
    the hunt finds the test beacon in it."""
    from tests.tui.test_flow import KEY_BUDGET

    session = f"vpc-mirror-{uuid.uuid4().hex[:8]}"
    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "24",
         f"env HOME={tmp_path} TERM=xterm-256color vpc-mirror --demo")
    sent = 0
    try:
        screen = wait_for(session, "1/16 AWS account")
        assert "▶ account" in screen and "demo" in screen
        ready(session, "account 123456789012")                 # the sandbox answered, in the background
        # (keys, what shows once they did their work): each key waits until the screen is ready for it
        for pressed, then_shown in [
            (["C-n"], "2/16 VPC"), (["Escape"], "1/16 AWS account"),  # Back, and on again
            (["C-n"], "demo-vpc"), (["-l", "demo-vpc"], "10.0.0.0/16"), (["Enter"], "subnet-"),
            (["-l", "pub"], "demo-public-a"), (["Enter"], "✓  demo-public-a"),
            (["C-n"], "+ launch a new sensor"), (["Enter"], "Root volume GiB"), (["C-n"], "4/16 Test beacon"),
            (["Space"], "4/16 Test beacon"), (["C-n"], "✓ Nitro"),
            (["Down", "Space", "Down", "Space", "Down", "Down", "Down", "Space"], "5/16 Sources"),
            (["C-n"], "6/16"), (["C-n"], "7/16"), (["C-n"], "8/16"), (["C-n"], "9/16"), (["C-n"], "10/16"),
            (["C-n"], "/month (730 h)"), (["C-n"], "Apply now?"), (["Enter"], "Applied"),
            (["C-n"], "Runs, in order"), (["a"], "Acknowledged"),
        ]:
            for key in pressed[1] if pressed[0] == "-l" else pressed:  # one at a time, as typed
                if key == "C-n":
                    next_enabled(session)
                keys(session, "-l", key) if pressed[0] == "-l" else keys(session, key)
                sent += 1
                time.sleep(0.05)  # one key, then the next: tmux would paste a burst as one read
            ready(session, then_shown, 60)
        keys(session, "C-n")                                   # Verify: the live view never settles
        sent += 1
        wait_for(session, "Test beacon seen", 60)
        screen = wait_for(session, "VXLAN vni")                # mirrored packets, decoded, in the raw view
        assert "✓ zeek" in screen, "the demo's Zeek preview counts as done (skipped) in the sidebar"
        assert sent - 2 <= KEY_BUDGET, f"{sent} keys from New setup to Verify, Back and on again included"
        keys(session, "C-n")                                   # Hunt: the demo's traffic scored
        screen = wait_for(session, "the hunt will find it", 60)
        assert "15/16 Hunt beacons" in screen and "(High)" in screen
        tmux("send-keys", "-t", session, "C-q")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(session):
            time.sleep(0.2)
        assert not alive(session), "Ctrl+Q with no AWS or sensor work running leaves at once"
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_an_apply_killed_in_a_real_terminal_resumes_without_duplicates(sandbox, tmp_path):
    """kill -9 of the wizard half-way through an apply, then a new wizard resumes it; each resource exists once."""
    import json
    import os
    import signal

    from tests.awsfacts import tagged
    from tests.tui.wizard_pilot import demo_draft
    from vpc_mirror.tui.drafts import save_draft

    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    save_draft(state_dir, demo_draft())  # every page answered: resume opens the review
    env = " ".join(f"{k}={v}" for k, v in {**sandbox.env(), "HOME": str(tmp_path), "TERM": "xterm-256color"}.items())
    command = f"env {env} vpc-mirror --state-dir {state_dir}"
    session = f"vpc-mirror-{uuid.uuid4().hex[:8]}"
    sandbox.set_latency(0.1)  # an apply that takes long enough to be killed half-way
    try:
        tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
        wait_for(session, "10 of 10 pages answered")
        keys(session, "r")
        wait_for(session, "/month (730 h)")
        keys(session, "C-n")
        wait_for(session, "Apply now?")
        keys(session, "Enter")
        state_file = state_dir / "demo.state.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until a few resources exist, and more are to come
            made = []
            if state_file.exists():
                steps = json.loads(state_file.read_text())["steps"].values()
                made = [r for s in steps for r in s["resources"].values() if r["status"] == "created"]
            if len(made) >= 4:
                break
            time.sleep(0.1)
        pid = int(tmux("list-panes", "-t", session, "-F", "#{pane_pid}").split()[0])
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and alive(session):
            time.sleep(0.1)
        sandbox.set_latency(0.0)
        assert 4 <= len(made) < 12, f"killed half-way: {len(made)} resources made"

        tmux("new-session", "-d", "-s", session, "-x", "100", "-y", "30", command)
        wait_for(session, "of 14 steps")                       # the start screen: the killed setup
        keys(session, "r")
        wait_for(session, "Resuming demo at")
        keys(session, "Enter")
        for _ in range(12):                                    # Next through the answered pages to the review
            if "/month (730 h)" in screen_of(session):
                break
            keys(session, "C-n")
            time.sleep(1.0)
        wait_for(session, "/month (730 h)")
        keys(session, "C-n")
        wait_for(session, "Apply now?")
        keys(session, "Enter")
        wait_for(session, "Applied", 60)
        keys(session, "C-q")
    finally:
        sandbox.set_latency(0.0)
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    made = tagged(sandbox, "demo")
    assert made and all(count == 1 for count in made.values()), made
    assert sum(1 for k in made if k[0] == "session") == 4
