"""Nothing we start on the sensor outlives its connection (issue 17).

The guard (steps/heartbeat.py) is run here by the real /bin/sh; then the real
thing against the namespace sensor: a `vpc-mirror watch --host ... --headless`
process whose path to the sensor goes silent (the veth's host side goes down:
no FIN, no RST), killed with SIGKILL or left to notice; and `zeekctl deploy`
(a slow stand-in) under `steps.zeek.carry_out` on a path that goes silent.
Short intervals keep it quick; the product's defaults are checked against the
30 s the README promises.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.steps.heartbeat import GUARD, Heartbeat
from vpc_mirror.steps.ssh import ConnectionDropped, Liveness
from vpc_mirror.steps.zeek import carry_out, survey

from tests.test_zeek_sensor import install_standin

QUICK = Heartbeat(interval=0.3, misses=3)
FAST = Liveness(keepalive_interval=1.0, keepalive_count_max=2, heartbeat=Heartbeat(interval=0.5, misses=3))
SLACK = 1.5  # process start-up and scheduling on a busy test machine


def test_the_defaults_end_everything_within_30_s_of_a_dead_path():
    assert Liveness().silence == 30 and Liveness().heartbeat == Heartbeat(interval=5, misses=3)
    assert Heartbeat().bound <= 30


# -- the guard, run by this machine's /bin/sh -------------------------------------------------------------------

def guarded(*argv: str, heartbeat: Heartbeat = QUICK) -> subprocess.Popen:
    return subprocess.Popen(heartbeat.guarded(list(argv)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def beat(process: subprocess.Popen, seconds: float, heartbeat: Heartbeat = QUICK) -> float:
    """Heartbeats as our side sends them, for ``seconds``; when the last one went."""
    end = time.monotonic() + seconds
    while True:
        process.stdin.write(b"\n")
        process.stdin.flush()
        last = time.monotonic()
        if last + heartbeat.interval >= end:
            return last
        time.sleep(heartbeat.interval)


def running(marker: str) -> list[str]:
    return subprocess.run(["pgrep", "-af", f"^{marker}$"], capture_output=True, text=True).stdout.splitlines()


def test_guard_passes_output_and_exit_status_through():
    process = guarded("sh", "-c", "echo out; echo err >&2; exit 7")
    out, err = process.stdout.read(), process.stderr.read()  # stdin stays open: only the command ends it
    assert (process.wait(timeout=5), out, err) == (7, b"out\n", b"err\n")


def test_guard_ends_the_whole_command_when_heartbeats_stop():
    marker = f"sleep {3000 + secrets.randbelow(900)}"
    process = guarded("sh", "-c", f"{marker} & {marker}; echo never")
    silent = beat(process, 2.0)
    assert process.poll() is None, "heartbeats keep it running"
    assert len(running(marker)) == 2
    process.wait(timeout=QUICK.bound + SLACK)  # stdin still open: only the silence ends it
    waited = time.monotonic() - silent
    assert (QUICK.misses - 1) * QUICK.interval <= waited <= QUICK.bound + SLACK
    assert process.returncode == 128 + signal.SIGTERM
    assert (process.stdout.read(), process.stderr.read()) == (b"", b""), "the guard adds nothing to the output"
    assert running(marker) == [], "the background child went with its group"


def test_guard_ends_the_command_at_once_when_its_stdin_closes():
    marker = f"sleep {3000 + secrets.randbelow(900)}"
    process = guarded(*marker.split(), heartbeat=Heartbeat(interval=5, misses=3))
    time.sleep(0.3)
    process.stdin.close()
    assert process.wait(timeout=1.0) == 128 + signal.SIGTERM
    assert running(marker) == []


def test_guard_kills_a_command_that_ignores_sigterm_a_tick_later():
    marker = f"sleep {3000 + secrets.randbelow(900)}"
    process = guarded("sh", "-c", f"trap '' TERM; {marker}")
    process.wait(timeout=QUICK.bound + SLACK)
    assert process.returncode == 128 + signal.SIGKILL and running(marker) == []


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (tests/run.sh installs it)")
def test_guard_is_posix_sh():
    checked = subprocess.run(["shellcheck", "-s", "sh", "-S", "warning", "-"], input=GUARD, capture_output=True,
                             text=True)
    assert checked.returncode == 0, checked.stdout


# -- the namespace sensor, its path gone silent ------------------------------------------------------------------

def left_on(host) -> list[str]:
    """What runs on the sensor besides sshd and the session processes it keeps for a connection."""
    return [cmd for cmd in host.processes().values() if not cmd.startswith(("sshd", "/usr/sbin/sshd"))]


def seconds_until_nothing_left(host, since: float, limit: float) -> float:
    while left := left_on(host):
        assert time.monotonic() - since < limit, f"still on the sensor after {limit:g} s: {left}"
        time.sleep(0.05)
    return time.monotonic() - since


def wait_for(condition, limit: float, what: str) -> None:
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, f"no {what} within {limit:g} s"
        time.sleep(0.05)


#: `vpc-mirror` with FAST liveness on every connection it makes; everything else is the real command.
LAUNCHER = f"""
import dataclasses, sys
from vpc_mirror.steps import ssh
from vpc_mirror.steps.heartbeat import Heartbeat
from vpc_mirror.steps.ssh import Liveness

connect = ssh.connect
async def quick(target, *args, **kwargs):
    return await connect(dataclasses.replace(target, liveness={FAST!r}), *args, **kwargs)
ssh.connect = quick
from vpc_mirror.tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


class Watch:
    """A real `vpc-mirror watch --host ... --headless` process capturing on the sensor; its stderr is collected."""

    def __init__(self, host, state_dir, *, seconds: float, fast: bool) -> None:
        start = [sys.executable, "-c", LAUNCHER] if fast else [sys.executable, "-m", "vpc_mirror"]
        host.exec("ip", "link", "set", host.capture_if, "up")
        self.process = subprocess.Popen(
            [*start, "watch", "--host", host.address, "--user", host.sudo_user, "--identity", str(host.client_key),
             "--known-hosts", str(host.dir / "known_hosts"), "--accept-host-key", host.host_key_fingerprints[0],
             "--interface", host.capture_if, "--headless", "--seconds", str(seconds), "--state-dir", str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._collect, daemon=True)
        self.reader.start()
        try:
            wait_for(lambda: any("capturing on" in line for line in self.lines), 30, f"capture: {self.lines}")
            running = " | ".join(left_on(host))
            assert "tcpdump -i ens6" in running and "sudo -n sh -c" in running and "vpc-mirror-guard" in running
        except BaseException:
            self.kill()
            raise

    def _collect(self) -> None:
        for line in self.process.stderr:
            self.lines.append(line)

    def stderr(self) -> str:
        self.reader.join(5)
        return "".join(self.lines)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(5)


@pytest.mark.root
def test_killed_client_on_a_silent_path_leaves_nothing_on_the_sensor(sensor_host, state_dir):
    watch = Watch(sensor_host, state_dir, seconds=600, fast=True)
    sensor_host.drop_path()
    dropped = time.monotonic()
    watch.kill()
    took = seconds_until_nothing_left(sensor_host, dropped, FAST.heartbeat.bound + SLACK)
    print(f"tcpdump, sudo and the guard gone {took:.2f} s after the path went silent")


@pytest.mark.root
def test_client_on_a_silent_path_says_so_and_the_sensor_ends_the_capture(sensor_host, state_dir):
    watch = Watch(sensor_host, state_dir, seconds=600, fast=True)
    sensor_host.drop_path()
    dropped = time.monotonic()
    took = seconds_until_nothing_left(sensor_host, dropped, FAST.heartbeat.bound + SLACK)
    code = watch.process.wait(timeout=FAST.silence + SLACK - (time.monotonic() - dropped))
    noticed = time.monotonic() - dropped
    assert code == 1
    who = f"{sensor_host.sudo_user}@{sensor_host.address}"
    assert f"lost the connection to {who}: no answer for 3 s during the capture; start it again" in watch.stderr()
    print(f"sensor clean after {took:.2f} s; the client said so after {noticed:.2f} s")


@pytest.mark.root
@pytest.mark.parametrize("end", ["stopped", "killed"])
def test_a_live_path_leaves_nothing_behind_with_the_real_defaults(sensor_host, state_dir, end):
    watch = Watch(sensor_host, state_dir, seconds=2 if end == "stopped" else 600, fast=False)
    if end == "killed":
        watch.kill()
    else:
        assert watch.process.wait(timeout=15) in (0, 1)  # 1: no VXLAN arrived, which is not this test's business
    ended = time.monotonic()
    # well inside the 20 s heartbeat bound: the closed channel, not the missing heartbeats, ended it
    took = seconds_until_nothing_left(sensor_host, ended, 3.0)
    print(f"{end}: sensor clean after {took:.2f} s")


@pytest.mark.root
async def test_a_zeekctl_deploy_on_a_silent_path_ends_on_both_sides(sensor_host):
    prefix = install_standin(sensor_host)
    bindir = sensor_host.dir / "zeek prefix" / "bin"
    (bindir / "zeekctl").rename(bindir / "zeekctl.standin")
    marker = f"sleep {3000 + secrets.randbelow(900)}"
    (bindir / "zeekctl").write_text(f'#!/bin/sh\n[ "$1" != deploy ] || {{ {marker} & {marker}; }}\n'
                                 'exec "$0.standin" "$@"\n')
    (bindir / "zeekctl").chmod(0o755)
    answers = ZeekPlan(zeek_prefix=prefix, mac=sensor_host.capture_mac)
    sensor = await sensor_host.trusted(liveness=FAST)
    try:
        work = await survey(sensor, answers)
        deploy = asyncio.create_task(carry_out(sensor, work, answers))
        while not any(marker in cmd for cmd in left_on(sensor_host)):
            assert not deploy.done(), deploy
            await asyncio.sleep(0.05)
        sensor_host.drop_path()
        dropped = time.monotonic()
        cleaned = asyncio.create_task(asyncio.to_thread(seconds_until_nothing_left, sensor_host, dropped,
                                                        FAST.heartbeat.bound + SLACK))
        with pytest.raises(ConnectionDropped) as failed:
            await asyncio.wait_for(deploy, FAST.silence + SLACK)
        noticed = time.monotonic() - dropped
    finally:
        sensor.close()
    who = f"{sensor_host.sudo_user}@{sensor_host.address}"
    assert str(failed.value).startswith(f"lost the connection to {who}: no answer for 3 s, while "
                                        f"`sudo -n -- '{bindir}/zeekctl' deploy` ran; run the step again")
    took = await cleaned
    print(f"deploy gone from the sensor after {took:.2f} s; our side noticed after {noticed:.2f} s")


@pytest.mark.root
@pytest.mark.parametrize("user", ["password_user", "ticket_user"])
async def test_heartbeats_start_once_sudo_has_started_the_command(sensor_host, user):
    """With a sudo password, stdin first answers sudo's prompt (password_user: every time; ticket_user: only the
    first time) and only then carries heartbeats: a command outliving the liveness bound several times over
    runs to its end, and neither the password nor a heartbeat reaches the command's own stdin."""
    quick = Liveness(keepalive_interval=1.0, keepalive_count_max=2, heartbeat=QUICK)

    async def ask(prompt: str) -> str:
        return sensor_host.sudo_password

    sensor = await sensor_host.trusted(getattr(sensor_host, user), ask_password=ask, liveness=quick)
    try:
        for _ in range(2):
            began = time.monotonic()
            result = await asyncio.wait_for(sensor.run(["sh", "-c", "sleep 3; id -u; cat"], root=True), 30)
            assert time.monotonic() - began > 2 * QUICK.bound
            assert (result.exit_status, result.stdout, result.stderr) == (0, "0\n", "")
    finally:
        sensor.close()
    seconds_until_nothing_left(sensor_host, time.monotonic(), 5)
