"""Reading the sensor's logs (steps.hunt.remote.read_remote) when the connection goes mid-read (stand-in sensor)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from vpc_mirror.steps.heartbeat import Heartbeat
from vpc_mirror.steps.hunt.pairs import Networks
from vpc_mirror.steps.hunt.remote import read_remote
from vpc_mirror.steps.hunt.zeeklogs import LogFile, LogReader
from vpc_mirror.steps.ssh import SshError


class _Stream:
    def __init__(self, data: bytes):
        self.data = data

    async def read(self, size: int = -1) -> bytes:
        chunk, self.data = (self.data, b"") if size < 0 else (self.data[:size], self.data[size:])
        return chunk


class _Process:
    """``cat`` whose channel closed after some bytes, with ``exit_status`` as asyncssh reports it."""

    def __init__(self, exit_status: int | None, stderr: bytes = b""):
        self.exit_status = exit_status
        self.stdout, self.stderr = _Stream(b"#separator \\x09\n"), _Stream(stderr)
        self.stdin = SimpleNamespace(write=lambda data: None, is_closing=lambda: False)

    async def wait_closed(self) -> None:
        await asyncio.sleep(0)


def _sensor(process: _Process, lost: str | None):
    async def create_process(command, encoding=None):
        return process

    return SimpleNamespace(conn=SimpleNamespace(create_process=create_process), lost=lost,
                           target=SimpleNamespace(label="sensor 10.0.0.9", liveness=SimpleNamespace(
                               heartbeat=Heartbeat())))


FILE = LogFile("/opt/zeek/logs/current/conn.log", 1_700_000_000.0)


async def test_a_channel_closed_without_exit_status_is_a_dropped_connection_not_an_unreadable_file():
    reader = LogReader(Networks.with_defaults(), 86400)
    sensor = _sensor(_Process(None), "the connection to the sensor dropped (sensor 10.0.0.9: closed)")
    with pytest.raises(SshError, match=f"dropped .* while reading {FILE.path}"):
        await read_remote(sensor, [FILE], reader)


async def test_without_a_reason_from_the_watcher_it_still_names_the_file():
    with pytest.raises(SshError, match=f"the connection to sensor 10.0.0.9 dropped while reading {FILE.path}"):
        await read_remote(_sensor(_Process(None), None), [FILE], LogReader(Networks.with_defaults(), 86400))


async def test_a_file_cat_cannot_read_is_reported_by_name():
    logs = await read_remote(_sensor(_Process(1, b"cat: conn.log: Permission denied"), None), [FILE],
                             LogReader(Networks.with_defaults(), 86400))
    assert logs.report.bad_files == [FILE.path] and "Permission denied" in logs.report.problems[0].message
