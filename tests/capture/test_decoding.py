"""The sensor's capture decoded in a process of its own: the same counts as in this process, and no orphan."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from vpc_mirror.steps.capture import CaptureSession, summary
from vpc_mirror.steps.capture.decoding import SLICE, DecoderGone, SessionProcess
from vpc_mirror.steps.capture.live import LiveCapture, RemoteSource

from tests.testdata import VXLAN as DATA
from tests.testdata import VXLAN_CAPTURES



@pytest.fixture
def apart():
    """A decoding process, ended after the test."""
    process = SessionProcess(4789, 4096, 0)
    yield process
    process.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("path", VXLAN_CAPTURES, ids=lambda p: p.name)
def test_the_child_counts_what_this_process_would(path):
    data = path.read_bytes() * 3  # also more than a slice, cut anywhere
    here = CaptureSession()
    here.feed(data)
    apart = SessionProcess(4789, 4096, 200)
    try:
        for at in range(0, len(data), 7919):  # chunks that split records
            apart.feed(data[at:at + 7919])
        apart.finish()
        assert summary(apart.snapshot()) == summary(here.snapshot())
        assert apart.raw_lines() == here.raw_lines()
        assert (apart.error, apart.unfinished()) == (here.error, here.unfinished())
    finally:
        apart.close()


def test_a_truncated_stream_is_reported_by_the_child(apart):
    data = (DATA / "zeek" / "vxlan.pcap").read_bytes()
    apart.feed(data[:-5])
    apart.finish()
    cut = apart.unfinished()
    assert cut is not None and not cut.fatal and "truncated" in cut.message


def test_finish_waits_for_the_whole_backlog(apart):
    """Megabytes queued for the child: finish returns only once every packet is counted."""
    data = (DATA / "zeek" / "vxlan.pcap").read_bytes()
    header, body = data[:24], data[24:]
    big = body * max(1, (16 * SLICE) // len(body))
    here = CaptureSession()
    here.feed(header + big * 3)
    apart.feed(header)
    for _ in range(3):
        apart.feed(big)
    apart.finish()
    assert apart.snapshot().packets == here.snapshot().packets > 3 * 16 * SLICE // 2000


def test_closing_ends_the_child():
    apart = SessionProcess(4789, 4096, 0)
    pid = apart._process.pid
    apart.snapshot()
    apart.close()
    assert not alive(pid)


def test_a_child_that_dies_of_an_error_says_which(apart):
    """Its last line of stderr is in the reason, however many threads notice the death at once."""
    apart.snapshot()
    os.kill(apart._process.pid, signal.SIGINT)  # dies with a traceback ending in KeyboardInterrupt
    apart._process.wait(5)
    seen = []
    readers = [threading.Thread(target=lambda: seen.append(apart.snapshot())) for _ in range(4)]
    for reader in readers:
        reader.start()
    with pytest.raises(DecoderGone):
        apart.feed(b"\0" * 100_000)
    for reader in readers:
        reader.join()
    assert apart.gone.endswith("KeyboardInterrupt; the counts stopped there"), apart.gone


def test_the_working_directory_is_not_on_the_childs_import_path(tmp_path, monkeypatch):
    """A folder named like our package where vpc-mirror is started is never what the child imports."""
    (tmp_path / "vpc_mirror").mkdir()
    (tmp_path / "vpc_mirror" / "__init__.py").write_text("raise SystemExit('imported the wrong vpc_mirror')\n")
    monkeypatch.chdir(tmp_path)
    started_here = SessionProcess(4789, 4096, 0)
    try:
        started_here.feed((DATA / "zeek" / "vxlan.pcap").read_bytes())
        started_here.finish()
        assert started_here.gone is None and started_here.snapshot().packets > 0
    finally:
        started_here.close()


def test_a_dead_child_is_a_clear_error_not_a_hang(apart):
    data = (DATA / "zeek" / "vxlan.pcap").read_bytes()
    apart.feed(data)
    counted = apart.snapshot().packets
    assert counted
    os.kill(apart._process.pid, signal.SIGKILL)
    apart._process.wait(5)
    assert apart.error.startswith("the decoding process ended (exit code -9)"), "said at the first look"
    assert apart.snapshot().packets == counted, "the last counts stay on screen"
    with pytest.raises(DecoderGone, match=r"decoding process ended \(exit code -9\)"):
        apart.feed(data)
    apart.finish()  # nothing to wait for


def test_the_child_ends_when_we_are_killed(tmp_path):
    """No orphan decoder: SIGKILL the process that started it and the child sees its pipes close and ends."""
    script = textwrap.dedent("""
        import sys, time
        from vpc_mirror.steps.capture.decoding import SessionProcess
        apart = SessionProcess(4789, 4096, 0)
        apart.snapshot()
        print(apart._process.pid, flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while alive(child) and time.monotonic() < deadline:
        try:
            os.waitpid(child, os.WNOHANG)  # not ours to reap; only a zombie would linger, and it is re-parented
        except ChildProcessError:
            pass
        time.sleep(0.05)
    assert not alive(child), "the decoding process outlived the one that started it"


class _FailingSensor:
    """A RemoteSource stand-in whose decoder dies under it: the view shows why, it does not hang."""

    decode_apart = True

    async def run(self, live: LiveCapture, stop) -> None:
        os.kill(live._session._process.pid, signal.SIGKILL)
        live._session._process.wait(5)
        live.feed(b"\xd4\xc3\xb2\xa1" + b"\0" * 20)


async def test_a_live_capture_whose_decoder_dies_says_so():
    live = LiveCapture()
    status = await live.run(_FailingSensor(), asyncio.Event())
    assert status.state == "failed"
    assert "decoding process ended (exit code -9)" in status.message
    assert live.error.startswith("the decoding process ended")
    assert live.snapshot().packets == 0 and live.raw_lines() == []


def test_remote_source_is_decoded_apart():
    assert RemoteSource.decode_apart


async def test_a_sensor_capture_whose_decoder_dies_fails_at_once_saying_why(sensor_host):
    """The capture on the sensor ends as soon as nothing can count what it sends; the status says why."""
    host = sensor_host
    host.exec("ip", "link", "set", host.capture_if, "up")
    sensor = await host.trusted()
    try:
        live = LiveCapture(raw_capacity=0)
        task = asyncio.create_task(live.run(RemoteSource(sensor, host.capture_if), asyncio.Event()))
        while not (live.readings and live.readings.start):
            assert live.status.state in ("starting", "listening"), live.status
            await asyncio.sleep(0.05)
        os.kill(live._session._process.pid, signal.SIGKILL)
        await asyncio.to_thread(subprocess.run, ["tcpreplay", "--topspeed", "-i", host.capture_peer, "--loop", "50",
                                                 str(DATA / "zeek" / "vxlan.pcap")], check=True, capture_output=True)
        status = await asyncio.wait_for(task, 10)  # not stopped by us: ended by the failure
        assert status.state == "failed"
        assert status.message.startswith("the decoding process ended (exit code -9)")
        deadline = time.monotonic() + 10
        while any("tcpdump" in command for command in host.processes().values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert not any("tcpdump" in command for command in host.processes().values())
    finally:
        sensor.close()
