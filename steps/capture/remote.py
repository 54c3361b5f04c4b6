"""Capture on the sensor: tcpdump's pcap stream over SSH, decoded here as it arrives.

tcpdump runs under the heartbeat guard (``steps.heartbeat``): stopping the
view, or the connection closing, ends it at once; a silently dead path (the
laptop sleeps, Wi-Fi drops) ends it when our heartbeats stop, within
``Heartbeat.bound`` seconds (20 s by default), even if this side was killed.
Our side calls the connection lost after ``Liveness.silence`` seconds without
an answer (30 s by default) and ends with the status "disconnected".
tcpdump's stderr becomes a status the UI can show.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from vpc_mirror.models.zeek import INTERFACE_NAME
from vpc_mirror.steps.heartbeat import Heartbeat

from .session import CaptureSession

DEFAULT_SNAPLEN = 262144


class BadCaptureInput(ValueError):
    """An interface, port or snap length that would not make a safe tcpdump command."""


@dataclass(frozen=True)
class CaptureStatus:
    #: starting | listening | permission-denied | no-such-device | tcpdump-missing | sudo-password | stopped | failed
    #: | disconnected (the connection to the sensor is gone; connecting again and capturing again is safe)
    state: str
    message: str


def tcpdump_command(interface: str, port: int = 4789, snaplen: int = DEFAULT_SNAPLEN, sudo: bool = True,
                    heartbeat: Heartbeat = Heartbeat()) -> str:
    """The remote command line: ``tcpdump -i IF -U -s SNAPLEN -w - 'udp dst port PORT'``, quoted, under the
    heartbeat guard (so it ends when our stdin closes or our heartbeats stop)."""
    if not INTERFACE_NAME.match(interface):
        raise BadCaptureInput(f"interface {interface!r} is not a valid interface name; use one like eth1 or ens6")
    if not 1 <= int(port) <= 65535:
        raise BadCaptureInput(f"port {port} is outside 1-65535; AWS mirrors to UDP 4789")
    if not 1 <= int(snaplen) <= DEFAULT_SNAPLEN:
        raise BadCaptureInput(f"snap length {snaplen} is outside 1-{DEFAULT_SNAPLEN}")
    command = heartbeat.guarded(["tcpdump", "-i", interface, "-U", "-s", str(int(snaplen)), "-w", "-",
                                 f"udp dst port {int(port)}"])
    if sudo:
        command = ["sudo", "-n", *command]
    return shlex.join(command)


_STATUS_PATTERNS = [
    (re.compile(r"listening on ([^\s,]+)"), "listening", "capturing on {0}"),
    (re.compile(r"(?:Operation not permitted|You don't have permission|Permission denied)"), "permission-denied",
     "tcpdump may not capture here; run it as root (the capture uses sudo -n)"),
    (re.compile(r"(?:No such device|SIOCGIFHWADDR|doesn't exist)"), "no-such-device",
     "the sensor has no such interface; pick the one whose MAC matches the capture ENI"),
    (re.compile(r"tcpdump: (?:command )?not found|tcpdump: No such file"), "tcpdump-missing",
     "tcpdump is not installed on the sensor; install it (the zeek step does)"),
    (re.compile(r"sudo: (?:a )?password is required|sudo: a terminal is required"), "sudo-password",
     "sudo on the sensor needs a password; allow password-less sudo for tcpdump or enter it when asked"),
]


def status_of(line: str) -> CaptureStatus | None:
    """One line of tcpdump's (or sudo's) stderr -> a status, or None if it says nothing new."""
    for pattern, state, message in _STATUS_PATTERNS:
        match = pattern.search(line)
        if match:
            return CaptureStatus(state, message.format(*match.groups()))
    return None


class RemoteCapture:
    """Runs the capture over a sensor connection (``steps.ssh.Sensor``) and feeds a CaptureSession until stopped."""

    def __init__(self, sensor, session: CaptureSession, interface: str, *, port: int = 4789,
                 snaplen: int = DEFAULT_SNAPLEN, on_status: Callable[[CaptureStatus], None] = lambda status: None):
        self.sensor = sensor
        self.session = session
        self.interface = interface
        self.heartbeat = sensor.target.liveness.heartbeat
        self.command = tcpdump_command(interface, port, snaplen, not sensor.is_root, self.heartbeat)
        self.on_status = on_status
        self.status = CaptureStatus("starting", f"starting tcpdump on {interface}")
        self.stderr_tail: list[str] = []
        self._process = None

    def _set(self, status: CaptureStatus) -> None:
        self.status = status
        self.on_status(status)

    async def run(self, stop: asyncio.Event) -> CaptureStatus:
        """Capture until ``stop`` is set or the remote side ends; returns the last status."""
        self._process = await self.sensor.conn.create_process(self.command, encoding=None)
        reader = asyncio.create_task(self._read_stdout())
        stopper = asyncio.create_task(stop.wait())
        tasks = [reader, stopper, asyncio.create_task(self._read_stderr()),
                 asyncio.create_task(self.heartbeat.beat(self._process.stdin))]
        try:
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.status.state in ("starting", "listening"):
            code = self._process.exit_status
            if stop.is_set() or code == 0:
                self._set(CaptureStatus("stopped", "capture stopped"))
            elif code is None:
                why = self.sensor.lost or "the connection to the sensor dropped"
                self._set(CaptureStatus("disconnected", f"{why} during the capture; start it again"))
            else:
                tail = " | ".join(self.stderr_tail[-3:]) or "no message"
                self._set(CaptureStatus("failed", f"tcpdump ended with status {code}: {tail}"))
        return self.status

    async def stop(self) -> None:
        """Close our stdin: the wrapper kills tcpdump; then wait for the process to end."""
        if self._process is None:
            return
        try:
            self._process.stdin.write_eof()
        except (OSError, BrokenPipeError, Exception):  # the channel may already be gone
            pass
        try:
            await asyncio.wait_for(self._process.wait_closed(), timeout=5)
        except (asyncio.TimeoutError, OSError):
            self._process.close()

    async def _read_stdout(self) -> None:
        while True:
            chunk = await self._process.stdout.read(65536)
            if not chunk:
                return
            self.session.feed(chunk)

    async def _read_stderr(self) -> None:
        while True:
            line = await self._process.stderr.readline()
            if not line:
                return
            text = line.decode("utf-8", "replace").strip()
            if text:
                self.stderr_tail = (self.stderr_tail + [text])[-20:]
                status = status_of(text)
                if status is not None:
                    self._set(status)
