"""A live capture: one source feeding a CaptureSession in the background, read at the reader's pace.

The headless `vpc-mirror watch` and the TUI's Verify pane both hold a
`LiveCapture` and run one source against it: the sensor over SSH
(`RemoteSource`), a pcap file (`PcapFileSource`), or the demo's synthetic
traffic (`SyntheticSource`). Feeding and snapshots are safe from any thread
(``decoding``), so a source may feed from a worker thread while the UI takes
snapshots.

The sensor's capture is decoded in a process of its own (``decoding``), so
that line rate never starves the UI's thread; a file and the demo are decoded
here.

A capture on the sensor also accounts for loss (``loss()``: what reached the
interface, what the filter, the kernel and the interface dropped, what went
missing on the way here); files and the demo lose nothing and have none.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .aggregate import DEFAULT_FLOW_CAPACITY, Snapshot
from .decode import VXLAN_PORT
from .decoding import Decoding, SessionProcess, SharedSession
from .loss import Loss, Readings, account
from .pcap import Unfinished, global_header
from .rawview import DEFAULT_CAPACITY
from .remote import DEFAULT_SNAPLEN, CaptureStatus, RemoteCapture
from .session import CaptureSession
from .synthetic import Beacon, FlowSpec, SyntheticTraffic

READ_CHUNK = 1 << 20


class CaptureSource(Protocol):
    """What feeds a LiveCapture: ``run`` feeds it until the input ends or ``stop`` is set."""

    #: decode in a process of its own (``decoding``): a source that can arrive at line rate
    decode_apart: bool

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None: ...


class LiveCapture:
    """A CaptureSession shared between one feeding source and any number of readers."""

    def __init__(self, port: int = VXLAN_PORT, flow_capacity: int = DEFAULT_FLOW_CAPACITY,
                 raw_capacity: int = DEFAULT_CAPACITY,
                 on_status: Callable[[CaptureStatus], None] = lambda status: None) -> None:
        self.port = port
        self._capacities = flow_capacity, raw_capacity
        self._session: Decoding = SharedSession(CaptureSession(port, flow_capacity, raw_capacity=raw_capacity))
        self._on_status = on_status
        self.status = CaptureStatus("starting", "starting the capture")
        self.started = time.monotonic()
        self.fed_bytes = 0
        #: what the sensor reported about loss; None for a source that cannot lose packets (a file, the demo)
        self.readings: Readings | None = None
        self._over = False  # the source has ended and everything it fed is counted

    def feed(self, data: bytes) -> None:
        self._session.feed(data)
        self.fed_bytes += len(data)

    def elapsed(self) -> float:
        """Seconds since the capture was set up."""
        return time.monotonic() - self.started

    def set_status(self, status: CaptureStatus) -> None:
        self.status = status
        self._on_status(status)

    def loss(self, snap: Snapshot | None = None) -> Loss | None:
        """The loss account as of ``snap`` (default: now), final once the capture has ended and all it fed is
        counted; None without one."""
        if self.readings is None:
            return None
        captured = (snap or self.snapshot()).packets
        return account(self.readings, captured, self._over)

    @property
    def error(self) -> str | None:
        """Why the stream could not be read (not pcap, ...), or None."""
        return self._session.error

    def unfinished(self) -> Unfinished | None:
        """Once the input has ended: what it left incomplete (no pcap header, a record cut short), or None."""
        return self._session.unfinished()

    def snapshot(self, now: float | None = None) -> Snapshot:
        return self._session.snapshot(now)

    def raw_lines(self, n: int | None = None) -> list[str]:
        return self._session.raw_lines(n)

    async def run(self, source: CaptureSource, stop: asyncio.Event) -> CaptureStatus:
        """Run ``source`` until it ends or ``stop`` is set, then wait until all it fed is counted; returns the
        last status ("failed" if the decoding process died: the counts are short)."""
        try:
            if source.decode_apart:
                self._session = await asyncio.to_thread(SessionProcess, self.port, *self._capacities)
            await source.run(self, stop)
        except Exception as exc:  # a source's failure is a status to show, never a crash of the view
            self.set_status(CaptureStatus("failed", str(exc) or type(exc).__name__))
        await asyncio.to_thread(self._session.finish)
        self._over = True
        if self._session.gone:
            self.set_status(CaptureStatus("failed", self._session.gone))
        elif self.status.state in ("starting", "listening"):
            self.set_status(CaptureStatus("stopped", "capture stopped"))
        return self.status


class PcapFileSource:
    """A pcap file read once from start to end (``--pcap FILE``)."""

    decode_apart = False

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.set_status(CaptureStatus("listening", f"reading {self.path}"))
        await asyncio.to_thread(self._read, live, stop)
        records = live.snapshot().packets
        problem = None if stop.is_set() else live.unfinished()
        if live.error:
            live.set_status(CaptureStatus("failed", f"{self.path}: {live.error}"))
        elif problem and problem.fatal:  # no pcap header: not a capture at all
            live.set_status(CaptureStatus("failed", f"{self.path} {problem.message}"))
        elif problem:  # a truncated file: what it held is shown, and the cut is said
            live.set_status(CaptureStatus("truncated", f"{self.path} {problem.message}; read {records} records"))
        else:
            live.set_status(CaptureStatus("stopped", f"read all of {self.path}"))

    def _read(self, live: LiveCapture, stop: asyncio.Event) -> None:
        with open(self.path, "rb") as f:
            while not stop.is_set() and (chunk := f.read(READ_CHUNK)):
                live.feed(chunk)
                if live.error:
                    return


class RemoteSource:
    """tcpdump on the sensor over an already verified SSH connection (``steps.ssh.Sensor``)."""

    decode_apart = True  # line rate: see ``decoding``

    def __init__(self, sensor, interface: str, *, port: int = VXLAN_PORT, snaplen: int = DEFAULT_SNAPLEN,
                 vni: int | None = None, source: str | None = None) -> None:
        self.sensor = sensor
        self.interface = interface
        self.port = port
        self.snaplen = snaplen
        self.vni = vni  # filters run by tcpdump on the sensor (``bpf``)
        self.source = source

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None:
        capture = RemoteCapture(self.sensor, live.feed, self.interface, port=self.port, snaplen=self.snaplen,
                                vni=self.vni, source=self.source, on_status=live.set_status)
        live.readings = capture.readings
        live.set_status(capture.status)
        await capture.run(stop)


class SyntheticSource:
    """Synthetic mirrored traffic paced to the wall clock: the demo's live view and the live benchmark.

    Traffic is generated one `window` of seconds at a time (the beacon's round
    restarts each window) and fed in slices of `tick` seconds as real time
    passes, so the view sees a steady stream rather than bursts.
    """

    decode_apart = False

    def __init__(self, make_window: Callable[[float], SyntheticTraffic], *, window: float,
                 tick: float = 0.05, clock: Callable[[], float] = time.time) -> None:
        self.make_window = make_window
        self.window = window
        self.tick = tick
        self.clock = clock

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.set_status(CaptureStatus("listening", "synthetic mirrored traffic (demo)"))
        await asyncio.to_thread(self._pump, live, stop)

    def _pump(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.feed(global_header())
        start = self.clock()
        packets = self._packets(start)
        pending = next(packets, None)
        while pending is not None and not stop.is_set():
            now = self.clock()
            parts = []
            while pending is not None and pending[0] <= now:
                ts, frame = pending
                sec = int(ts)
                parts.append(_RECORD.pack(sec, int((ts - sec) * 1e6), len(frame), len(frame)))
                parts.append(frame)
                pending = next(packets, None)
            if parts:
                live.feed(b"".join(parts))
            if pending is not None:
                stop_wait = min(self.tick, max(pending[0] - self.clock(), 0.0))
                time.sleep(stop_wait)

    def _packets(self, start: float) -> Iterator[tuple[float, bytes]]:
        k = 0
        while True:
            yield from self.make_window(start + k * self.window).packets()
            k += 1


_RECORD = struct.Struct("<IIII")


@dataclass(frozen=True)
class MirroredSource:
    """One mirrored source as the sensor sees it: the outer address of its packets, its session's VNI."""

    address: str
    vni: int


class DemoTraffic:
    """The demo's mirrored traffic: ordinary flows from each source plus the tame beacon.

    ``sources`` maps a source's name to its private address (the outer source
    of its mirrored packets and the inner host of its own flows) and the VNI of
    its session: one each, as AWS picks them, or the same for all when the
    answers give session.vni. The beacon runs on `beacon_host` (default: the
    first source) every `beacon_period` seconds, its first round a few seconds
    in so the view shows it early. Peers use documentation addresses (RFC
    5737); nothing is ever sent anywhere.
    """

    def __init__(self, sources: dict[str, MirroredSource], target: str, *, pps: float = 200.0,
                 beacon_period: float = 34.0, beacon_server: str = "192.0.2.80", beacon_host: str | None = None,
                 seed: int = 0) -> None:
        if not sources:
            raise ValueError("the demo traffic needs at least one source address")
        self.target = target
        self.vnis = {s.address: s.vni for s in sources.values()}  # outer address -> its session's VNI
        self.beacon_host = beacon_host or next(iter(sources.values())).address
        #: a dedicated beacon instance does nothing but beacon
        self.busy = [a for a in self.vnis if a != beacon_host]
        self.pps, self.period, self.server, self.seed = pps, beacon_period, beacon_server, seed

    def flows(self) -> list[FlowSpec]:
        """Per window: each source serves HTTPS to a client and asks the VPC resolver."""
        per_flow = max(int(self.pps * self.period) // (3 * max(len(self.busy), 1)), 1)
        specs = []
        for n, address in enumerate(self.busy):
            client = f"203.0.113.{10 + n}"
            vni = self.vnis[address]
            specs += [
                FlowSpec(address, vni, 6, client, address, 50000 + n, 443, per_flow, 200),
                FlowSpec(address, vni, 6, address, client, 443, 50000 + n, per_flow, 1200),
                FlowSpec(address, vni, 17, address, "10.0.0.2", 40000 + n, 53, per_flow, 40),
            ]
        return specs

    def window(self, start: float) -> SyntheticTraffic:
        host = self.beacon_host
        beacon = Beacon(host, self.vnis[host], host, self.server, period=self.period,
                        offset=min(3.0, self.period / 2))
        return SyntheticTraffic(self.flows(), target=self.target, start=start, duration=self.period,
                                seed=self.seed, beacon=beacon)

    def source(self, **options) -> SyntheticSource:
        """A paced source of this traffic; ``options`` are SyntheticSource's (tick, clock)."""
        return SyntheticSource(self.window, window=self.period, **options)


BEACON_PORT = 999


def beacon_flows(snap: Snapshot) -> list:
    """Inner flows that look like the runbook's tame beacon: UDP datagrams to port 999."""
    return [f for f in snap.flows if f.proto == 17 and f.dport == BEACON_PORT]
