"""Capture on the sensor: tcpdump's pcap stream over SSH, decoded here as it arrives.

tcpdump runs under the heartbeat guard (``steps.heartbeat``): stopping the
view, or the connection closing, ends it at once; a silently dead path (the
laptop sleeps, Wi-Fi drops) ends it when our heartbeats stop, within
``Heartbeat.bound`` seconds (20 s by default), even if this side was killed.
Our side calls the connection lost after ``Liveness.silence`` seconds without
an answer (30 s by default) and ends with the status "disconnected".
tcpdump's stderr becomes a status the UI can show.

tcpdump runs inside ``COUNTED``, which also reports loss on stderr: the
capture interface's counters and tcpdump's own statistics (``loss``). A
stop closes our stdin; the guard sends SIGTERM; tcpdump prints its last
statistics and exits; COUNTED reads the interface once more; and we read
stdout and stderr to their end before the channel is closed, so that the
last packets and the last figures arrive.
"""

from __future__ import annotations

import asyncio
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from vpc_mirror.models.zeek import INTERFACE_NAME
from vpc_mirror.steps.heartbeat import Heartbeat

from .bpf import capture_filter
from .decode import HEADERS_LEN
from .decoding import DecoderGone
from .loss import COUNTERS, COUNTERS_TAG, Readings

#: every header the view decodes, and no payload: at line rate the payload is what would not keep up
DEFAULT_SNAPLEN = HEADERS_LEN
MAX_SNAPLEN = 262144
#: tcpdump's kernel buffer (-B, KiB): 32 MiB holds about a second of 10 Gbit/s of default-snap-length records,
#: against libpcap's 2 MiB default
BUFFER_KIB = 32768
#: seconds a stop waits for tcpdump's last packets and statistics before it closes the channel
STOP_TIMEOUT = 10.0
#: the most of the stream counted at once (what has arrived, up to this)
READ_CHUNK = 1 << 20

#: argv: INTERFACE COMMAND [ARG...]. Runs the command (tcpdump) with its stdout untouched and its stderr passed
#: through line by line; once it is listening, prints the interface's counters (COUNTERS_TAG start, then tick every
#: second, each tick followed by SIGUSR1 so that tcpdump prints its statistics) and, after it has exited, once more
#: (end). Every line is written whole, so the counters never split one of tcpdump's. SIGTERM (the guard stopping
#: the group) is ignored here and handled by tcpdump, which prints its statistics and ends; we then read the end.
COUNTED = f"""\
f=/sys/class/net/$1/statistics
shift
counters() {{
  set -- "$1"
  for n in {" ".join(COUNTERS)}; do
    v=-
    read -r v < "$f/$n" || v=-
    set -- "$@" "${{v:--}}"
  done 2>/dev/null
  printf '{COUNTERS_TAG} %s\\n' "$*" >&2
}}
trap '' TERM INT HUP
exec 3>&1
{{
  "$@" 2>&1 >&3 3>&- &
  printf 'vpc-mirror-pid %s\\n' "$!"
  wait "$!"
  printf 'vpc-mirror-exit %s\\n' "$?"
}} | {{
  p= t= e=1
  while IFS= read -r l; do
    case $l in
    "vpc-mirror-pid "*) p=${{l#* }} ;;
    "vpc-mirror-exit "*) e=${{l#* }} ;;
    *)
      printf '%s\\n' "$l" >&2
      case $l in *"listening on "*)
        [ -n "$t" ] || {{
          counters start
          (while sleep 1 </dev/null >/dev/null 2>&1; do counters tick; kill -s USR1 "$p" || exit; done) >/dev/null &
          t=$!
        }}
      esac
    esac
  done
  [ -z "$t" ] || {{ kill -s KILL "$t"; counters end; }}
  exit "$e"
}}
"""


class CountedGuard:
    """What ``tcpdump_command`` wraps tcpdump in: the heartbeat guard around ``COUNTED`` for ``interface``."""

    def __init__(self, heartbeat: Heartbeat, interface: str) -> None:
        self.heartbeat = heartbeat
        self.interface = interface

    def guarded(self, argv: list[str]) -> list[str]:
        return self.heartbeat.guarded(["sh", "-c", COUNTED, "vpc-mirror-capture", self.interface, *argv])


class BadCaptureInput(ValueError):
    """An interface, port or snap length that would not make a safe tcpdump command."""


@dataclass(frozen=True)
class CaptureStatus:
    #: starting | listening | permission-denied | no-such-device | tcpdump-missing | sudo-password | stopped | failed
    #: | disconnected (the connection to the sensor is gone; connecting again and capturing again is safe)
    state: str
    message: str


def tcpdump_command(interface: str, port: int = 4789, snaplen: int = DEFAULT_SNAPLEN, sudo: bool = True,
                    heartbeat: Heartbeat = Heartbeat(), *, vni: int | None = None, source: str | None = None) -> str:
    """The remote command line: ``tcpdump -i IF -U -B KIB -s SNAPLEN -w - FILTER``, quoted, under the heartbeat guard
    (so it ends when our stdin closes or our heartbeats stop). FILTER selects mirrored packets (``bpf``), of one
    VNI and/or one outer source when given, so that nothing else crosses the SSH connection."""
    if not INTERFACE_NAME.match(interface):
        raise BadCaptureInput(f"interface {interface!r} is not a valid interface name; use one like eth1 or ens6")
    if not 1 <= int(port) <= 65535:
        raise BadCaptureInput(f"port {port} is outside 1-65535; AWS mirrors to UDP 4789")
    if not 1 <= int(snaplen) <= MAX_SNAPLEN:
        raise BadCaptureInput(f"snap length {snaplen} is outside 1-{MAX_SNAPLEN}")
    try:
        expression = capture_filter(int(port), vni, source)
    except ValueError as exc:
        raise BadCaptureInput(f"{exc}; give a VNI like 4242 and a source like 10.0.1.23") from None
    command = heartbeat.guarded(["tcpdump", "-i", interface, "-U", "-B", str(BUFFER_KIB), "-s", str(int(snaplen)),
                                 "-w", "-", expression])
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
     "sudo on the sensor needs a password, and the capture cannot ask for one; allow password-less sudo for "
     "tcpdump (a sudoers line for this user), or capture as root"),
]


def status_of(line: str) -> CaptureStatus | None:
    """One line of tcpdump's (or sudo's) stderr -> a status, or None if it says nothing new."""
    for pattern, state, message in _STATUS_PATTERNS:
        match = pattern.search(line)
        if match:
            return CaptureStatus(state, message.format(*match.groups()))
    return None


class RemoteCapture:
    """Runs the capture over a sensor connection (``steps.ssh.Sensor``) and hands the pcap stream to ``feed`` until
    stopped; ``readings`` collects, as they arrive, what the capture reports about loss."""

    def __init__(self, sensor, feed: Callable[[bytes], None], interface: str, *, port: int = 4789,
                 snaplen: int = DEFAULT_SNAPLEN, vni: int | None = None, source: str | None = None,
                 on_status: Callable[[CaptureStatus], None] = lambda status: None):
        self.sensor = sensor
        self.feed = feed
        self.interface = interface
        self.heartbeat = sensor.target.liveness.heartbeat
        self.command = tcpdump_command(interface, port, snaplen, not sensor.is_root,
                                       CountedGuard(self.heartbeat, interface), vni=vni, source=source)
        self.on_status = on_status
        self.status = CaptureStatus("starting", f"starting tcpdump on {interface}")
        self.stderr_tail: list[str] = []
        self.readings = Readings()
        self._process = None

    def _set(self, status: CaptureStatus) -> None:
        self.status = status
        self.on_status(status)

    async def run(self, stop: asyncio.Event) -> CaptureStatus:
        """Capture until ``stop`` is set or the remote side ends; returns the last status."""
        self._process = await self.sensor.conn.create_process(self.command, encoding=None)
        reader = asyncio.create_task(self._read_stdout())
        errors = asyncio.create_task(self._read_stderr())
        stopper = asyncio.create_task(stop.wait())
        tasks = [reader, errors, stopper, asyncio.create_task(self.heartbeat.beat(self._process.stdin))]
        try:
            await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
            await self._stop(reader, errors)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._process.close()
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

    async def _stop(self, reader: asyncio.Task, errors: asyncio.Task) -> None:
        """Close our stdin (the guard stops tcpdump, which prints its statistics), then read both streams to their
        end, so the last packets and figures arrive, and wait for the channel to close."""
        try:
            self._process.stdin.write_eof()
        except Exception:  # the channel may already be gone
            pass
        try:
            await asyncio.wait_for(asyncio.gather(reader, errors, return_exceptions=True), STOP_TIMEOUT)
            await asyncio.wait_for(self._process.wait_closed(), STOP_TIMEOUT)
        except (asyncio.TimeoutError, OSError):
            pass  # what did not arrive is reported unknown

    async def _read_stdout(self) -> None:
        """Read the pcap stream and hand it on from a worker thread: the event loop (in the TUI, the one answering
        keys) only moves bytes. If nothing can count it any more, the capture on the sensor ends at once."""
        while True:
            chunk = await self._process.stdout.read(READ_CHUNK)
            if not chunk:
                return
            try:
                await asyncio.to_thread(self.feed, chunk)
            except DecoderGone as exc:
                self._set(CaptureStatus("failed", str(exc)))
                self._process.close()
                return

    async def _read_stderr(self) -> None:
        """Each line of stderr: loss readings, or a status. (asyncssh's readline returns a partial line, even an
        empty one, while a full stdout buffer holds the channel, so lines are split here.)"""
        pending = b""
        while True:
            chunk = await self._process.stderr.read(4096)
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop() if chunk else b""
            for line in lines:
                self._stderr_line(line.decode("utf-8", "replace").strip())
            if not chunk:
                return

    def _stderr_line(self, text: str) -> None:
        if not text:
            return
        if self.readings.add(text):
            return
        self.stderr_tail = (self.stderr_tail + [text])[-20:]
        status = status_of(text)
        if status is not None:
            self._set(status)
