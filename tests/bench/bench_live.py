"""Benchmark: the Verify pane under 50,000 mirrored VXLAN packets per second.

Run: python tests/bench/bench_live.py [--pps N] [--seconds S] [--idle-seconds S]

A feeder thread writes synthetic VXLAN (20 sources, 5 VNIs, 200 inner flows,
stamped with the wall clock) into the pane's LiveCapture at the given rate
while the pane runs in a headless app and a key press (``p``, pause/resume of
the raw view) is sent every half second. Printed: packets generated and
packets the engine accounted for (nothing may be dropped), table refreshes
per second, the rendered lines the tables keep at the end (their caches are
bounded: a refresh replaces lines, never adds them), and the delay from each
key press to the next screen refresh after its effect (median and worst) -
beside the same figures for the same app with no traffic, measured in the
same run. Goal: key presses answered within 100 ms. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402

from vpc_mirror.steps.capture.live import LiveCapture  # noqa: E402
from vpc_mirror.steps.capture.pcap import global_header  # noqa: E402
from vpc_mirror.steps.capture.remote import CaptureStatus  # noqa: E402
from vpc_mirror.steps.capture.synthetic import SyntheticTraffic, random_flows  # noqa: E402
from vpc_mirror.tui.panes.verify import VerifyPane  # noqa: E402
from vpc_mirror.tui.widgets.stats_table import StatsTable  # noqa: E402

SOURCES = [f"10.0.{i}.{10 + i}" for i in range(20)]
VNIS = [101, 102, 103, 104, 105]
TARGET = "10.0.100.5"
TICK = 0.01
PRESS_EVERY = 0.5
GOAL_MS = 100
_RECORD = struct.Struct("<IIII")


class PacedFeeder:
    """A LiveCapture source: the same synthetic frames, re-stamped with the wall clock, at `pps`; decoded apart,
    as the sensor's capture is."""

    decode_apart = True

    def __init__(self, pps: float) -> None:
        traffic = SyntheticTraffic(random_flows(SOURCES, VNIS, flows=200, packets=50_000, seed=1), target=TARGET)
        self.frames = [frame for _ts, frame in traffic.packets()]
        self.pps = pps
        self.generated = 0
        self.seconds = 0.0  # how long it fed

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.set_status(CaptureStatus("listening", f"synthetic VXLAN at {self.pps:,.0f} packets/s"))
        await asyncio.to_thread(self._pump, live, stop)

    def _pump(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.feed(global_header())
        frames, n, pack = self.frames, len(self.frames), _RECORD.pack
        start = time.time()
        while not stop.is_set():
            now = time.time()
            due = int((now - start) * self.pps) - self.generated
            if due > 0:
                sec, usec = int(now), int((now % 1) * 1e6)
                parts = []
                for k in range(self.generated, self.generated + due):
                    frame = frames[k % n]
                    parts.append(pack(sec, usec, len(frame), len(frame)))
                    parts.append(frame)
                live.feed(b"".join(parts))
                self.generated += due
            time.sleep(TICK)
        self.seconds = time.time() - start


class Idle:
    """A source that never feeds: the reference run."""

    decode_apart = True

    generated = 0
    seconds = 0.0

    async def run(self, live: LiveCapture, stop: asyncio.Event) -> None:
        live.set_status(CaptureStatus("listening", "no traffic (reference)"))
        await stop.wait()


class MeasuredPane(VerifyPane):
    """Counts refreshes; notes when a pause toggle's effect has reached the screen."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refreshes = 0
        self.answered: list[float] = []

    def show_view(self, view) -> None:
        self.refreshes += 1
        super().show_view(view)

    def action_toggle_pause(self) -> None:
        super().action_toggle_pause()
        self.call_after_refresh(lambda: self.answered.append(time.perf_counter()))


class BenchApp(App):
    def __init__(self, live: LiveCapture, source) -> None:
        super().__init__()
        self.live, self.source = live, source

    def compose(self) -> ComposeResult:
        # silence far away: the checklist is not what is measured
        yield MeasuredPane(self.live, self.source, silence_seconds=3600)

    def on_mount(self) -> None:
        self.query_one("#verify-flows").focus()


async def measure(source, seconds: float) -> dict:
    live = LiveCapture()
    app = BenchApp(live, source)
    delays: list[float] = []
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.query_one(MeasuredPane)
        await pilot.pause(0.5)
        pane.refreshes = 0
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            before = len(pane.answered)
            pressed = time.perf_counter()
            app.post_message(events.Key("p", "p"))  # as the terminal driver delivers a key
            while len(pane.answered) == before:
                await asyncio.sleep(0.001)
            delays.append(pane.answered[-1] - pressed)
            await asyncio.sleep(max(0.0, PRESS_EVERY - (time.perf_counter() - pressed)))
        elapsed = time.perf_counter() - began
        refreshes = pane.refreshes
        cached = {table.id: table.cached_lines for table in pane.query(StatsTable)}
        pane.stop()
        while pane.ended is None:  # the source has returned: its feeder thread is done
            await pilot.pause(0.05)
    return {"generated": source.generated, "fed_seconds": source.seconds, "processed": live.snapshot().packets,
            "vxlan": live.snapshot().vxlan_packets, "refresh_rate": refreshes / elapsed,
            "median_ms": statistics.median(delays) * 1000, "p95_ms": statistics.quantiles(delays, n=20, method="inclusive")[-1] * 1000,
            "worst_ms": max(delays) * 1000, "presses": len(delays), "cached": cached, "refreshes": refreshes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pps", type=float, default=50_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--idle-seconds", type=float, default=5)
    args = parser.parse_args()

    idle = asyncio.run(measure(Idle(), args.idle_seconds))
    loaded = asyncio.run(measure(PacedFeeder(args.pps), args.seconds))
    dropped = loaded["generated"] - loaded["processed"]
    print(f"traffic: {loaded['generated']:,} packets generated in {loaded['fed_seconds']:.1f} s "
          f"({loaded['generated'] / loaded['fed_seconds']:,.0f}/s); the engine accounted for {loaded['processed']:,} "
          f"({loaded['vxlan']:,} VXLAN); dropped: {dropped:,}")
    print(f"refreshes per second: {loaded['refresh_rate']:.2f} under load, {idle['refresh_rate']:.2f} idle")
    print(f"tables' rendered lines kept after {loaded['refreshes']} refreshes: "
          + ", ".join(f"{name} {lines}" for name, lines in loaded["cached"].items()))
    for name, run in (("idle (reference)", idle), ("under load", loaded)):
        print(f"key press -> effect on screen, {name}: median {run['median_ms']:.1f} ms, "
              f"95th percentile {run['p95_ms']:.1f} ms, worst {run['worst_ms']:.1f} ms over {run['presses']} presses")
    print(f"ratio under load / idle: median {loaded['median_ms'] / idle['median_ms']:.2f}x, "
          f"worst {loaded['worst_ms'] / idle['worst_ms']:.2f}x")
    verdict = "met" if loaded["worst_ms"] <= GOAL_MS and dropped == 0 else "NOT met"
    print(f"goal (nothing dropped, every key press answered within {GOAL_MS} ms): {verdict}")


if __name__ == "__main__":
    main()
