"""Benchmark: a live capture over SSH at line rate, and whether every lost packet is reported (issue 15).

Run as root (network namespaces; tcpreplay installed): python3 tests/bench/bench_live_ssh.py [--packets N]
[--rates 25000,50000,...]

The test sensor (tests/sensor_host.py: sshd in a network namespace with a
capture veth) runs the real capture: tcpdump under the heartbeat guard and
remote.COUNTED, its pcap streamed over SSH into a LiveCapture. For each rate,
N synthetic VXLAN packets (20 sources, 5 VNIs, 200 inner flows) are replayed
onto the capture interface with tcpreplay (preloaded; "full" = --topspeed),
the capture drains, stops, and its loss account is printed: the rate
tcpreplay reports, packets counted here, and interface_rx / kernel_dropped /
interface_dropped / unaccounted, with whether the account adds up to what was
sent. Then the highest rate at which nothing was lost. Last, the Verify pane
(headless app, 120x36) runs on the same kind of capture while N packets
arrive at 200,000/s, a key press (``p``) every half second; printed: the
worst and median delay from key press to its effect on screen, beside the
same pane on an idle capture in the same run. Goals: at 200,000/s >= 99%
counted and unaccounted = 0; worst key press < 100 ms. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "tests" / "bench")]

from bench_live import PRESS_EVERY, BenchApp, MeasuredPane  # noqa: E402
from sensor_host import SensorHost  # noqa: E402
from textual import events  # noqa: E402
from vpc_mirror.steps.capture.live import LiveCapture, RemoteSource  # noqa: E402
from vpc_mirror.steps.capture.loss import UNKNOWN  # noqa: E402
from vpc_mirror.steps.capture.synthetic import SyntheticTraffic, random_flows  # noqa: E402

SOURCES = [f"10.0.{i}.{10 + i}" for i in range(20)]
VNIS = [101, 102, 103, 104, 105]
GOAL_RATE = 200_000
GOAL_COUNTED = 0.99
GOAL_MS = 100


def replay(host: SensorHost, pcap: Path, rate: int | None) -> float:
    """Send the file once onto the capture interface; the rate tcpreplay achieved, packets/s."""
    speed = ["--topspeed"] if rate is None else [f"--pps={rate}"]
    out = subprocess.run(["tcpreplay", "-K", *speed, "-i", host.capture_peer, str(pcap)], check=True,
                         capture_output=True, text=True, timeout=300).stdout
    return float(re.search(r"Rated: .*?([\d.]+) pps", out).group(1))


async def listening(live: LiveCapture) -> None:
    """Until tcpdump listens and the interface has been read: from then on, every packet is accounted for."""
    while not (live.readings and live.readings.start):
        if live.status.state not in ("starting", "listening"):
            raise RuntimeError(f"the capture did not start: {live.status.message}")
        await asyncio.sleep(0.05)


async def drained(live: LiveCapture) -> None:
    """Until the count has not moved for a second (the capture has caught up, or gave up on what it dropped)."""
    last = -1
    while (count := live.snapshot().packets) != last:
        last = count
        await asyncio.sleep(1.0)


async def headless(host: SensorHost, pcap: Path, rate: int | None) -> dict:
    sensor = await host.trusted()
    try:
        live = LiveCapture(raw_capacity=0)
        stop = asyncio.Event()
        task = asyncio.create_task(live.run(RemoteSource(sensor, host.capture_if), stop))
        await listening(live)
        achieved = await asyncio.to_thread(replay, host, pcap, rate)
        await drained(live)
        stop.set()
        await task
        return {"rate": achieved, "loss": live.loss()}
    finally:
        sensor.close()


async def pane(host: SensorHost, pcap: Path | None, seconds: float) -> dict:
    """Key presses on the Verify pane over a real capture; with ``pcap``, while it is replayed at GOAL_RATE."""
    sensor = await host.trusted()
    live = LiveCapture()
    app = BenchApp(live, RemoteSource(sensor, host.capture_if))
    delays: list[float] = []
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            measured = app.query_one(MeasuredPane)
            await listening(live)
            sender = asyncio.create_task(asyncio.to_thread(replay, host, pcap, GOAL_RATE)) if pcap else None
            began = time.perf_counter()
            while time.perf_counter() - began < seconds or (sender and not sender.done()):
                before = len(measured.answered)
                pressed = time.perf_counter()
                app.post_message(events.Key("p", "p"))
                while len(measured.answered) == before:
                    await asyncio.sleep(0.001)
                delays.append(measured.answered[-1] - pressed)
                await asyncio.sleep(max(0.0, PRESS_EVERY - (time.perf_counter() - pressed)))
            rate = await sender if sender else 0.0
            await drained(live)
            measured.stop()
            while measured.ended is None:
                await pilot.pause(0.05)
    finally:
        sensor.close()
    return {"rate": rate, "loss": live.loss(), "median_ms": statistics.median(delays) * 1000,
            "worst_ms": max(delays) * 1000, "presses": len(delays)}


def account_line(loss, sent: int) -> str:
    fields = loss.as_json()
    known = [fields[k] for k in ("captured", "kernel_dropped", "interface_dropped", "unaccounted")]
    adds_up = (f"{'yes' if sum(known) == sent else 'NO'} ({sum(known):,} of {sent:,} sent)"
               if UNKNOWN not in known else "cannot tell")
    return (f"interface_rx {fields['interface_rx']:,}, filtered_out {fields['filtered_out']}, kernel_dropped "
            f"{fields['kernel_dropped']:,}, interface_dropped {fields['interface_dropped']:,}, unaccounted "
            f"{fields['unaccounted']}; adds up: {adds_up}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=200_000)
    parser.add_argument("--rates", default="25000,50000,100000,150000,200000,full",
                        help="packets/s to replay at, comma-separated; full = tcpreplay --topspeed")
    args = parser.parse_args()
    rates = [None if r == "full" else int(r) for r in args.rates.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        pcap = Path(tmp) / "vxlan.pcap"
        SyntheticTraffic(random_flows(SOURCES, VNIS, flows=200, packets=args.packets, seed=1),
                         target="10.0.100.5").write(pcap)
        with SensorHost() as host:
            host.exec("ip", "link", "set", host.capture_if, "up")
            print(f"{args.packets:,} VXLAN packets per run onto the test sensor's {host.capture_if}, captured over "
                  "SSH by tcpdump and counted here")
            lossless = []
            for rate in rates:
                run = asyncio.run(headless(host, pcap, rate))
                loss = run["loss"]
                wanted = "full speed" if rate is None else f"{rate:,}/s"
                print(f"replay {wanted:>10}: achieved {run['rate']:,.0f}/s; counted {loss.captured:,} "
                      f"({loss.captured / args.packets:.2%}); {account_line(loss, args.packets)}")
                if loss.captured == args.packets:
                    lossless.append(run["rate"])
            print(f"highest rate at which nothing was lost: "
                  f"{max(lossless):,.0f} packets/s" if lossless else "every rate lost packets")
            idle = asyncio.run(pane(host, None, seconds=5))
            loaded = asyncio.run(pane(host, pcap, seconds=5))
    loss = loaded["loss"]
    print(f"Verify pane while {args.packets:,} packets arrive at {loaded['rate']:,.0f}/s: counted {loss.captured:,} "
          f"({loss.captured / args.packets:.2%}); {account_line(loss, args.packets)}")
    for name, run in (("idle capture (reference)", idle), ("under load", loaded)):
        print(f"key press -> effect on screen, {name}: median {run['median_ms']:.1f} ms, worst "
              f"{run['worst_ms']:.1f} ms over {run['presses']} presses")
    print(f"worst key press under load / idle: {loaded['worst_ms'] / idle['worst_ms']:.1f}x; "
          f"goals: >= {GOAL_COUNTED:.0%} counted and unaccounted 0 at {GOAL_RATE:,}/s, worst key press "
          f"< {GOAL_MS} ms")


if __name__ == "__main__":
    main()
