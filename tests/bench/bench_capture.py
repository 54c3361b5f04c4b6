"""Benchmark: `vpc-mirror watch --pcap FILE --headless --json` against `tcpdump -q -n -r FILE`, as whole processes.

Run: python tests/bench/bench_capture.py [--packets N]

Two 1,000,000-packet captures of the same traffic: plain VXLAN as an ENI
target receives it, and the same packets inside GENEVE as a Gateway Load
Balancer delivers them. Goals: our whole process (start-up, decode of every
header, aggregation, JSON) at least as fast as `tcpdump -q -n -r` (which decodes
the outer headers only), and peak memory under 100 MB. `tcpdump -n -r` (which
decodes VXLAN and the inner packet, as we do) is printed for reference. Rates
are wall-clock packets per second, the best of ROUNDS runs of each command,
taken in turn (ours, then each tcpdump, again and again) so that a busy spell
of the machine falls on all of them alike; CPU-time rates are printed beside
them. Always exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from vpc_mirror.steps.capture.synthetic import SyntheticTraffic, random_flows  # noqa: E402

SOURCES = [f"10.0.{i}.{10 + i}" for i in range(20)]
VNIS = [101, 102, 103, 104, 105]
TARGET = "10.0.100.5"
GWLB = "10.0.50.5"
MEMORY_GOAL_MB = 100
SPEED_GOAL = 1.0  # x tcpdump -q -n
ROUNDS = 3


def run_child(argv: list[str], stdout: int | None) -> tuple[float, float, int, bytes]:
    """(wall seconds, CPU seconds, peak RSS in KiB, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    out = proc.stdout.read() if proc.stdout else b""
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def measure(path: Path, packets: int) -> tuple[dict[str, tuple[float, float]], float]:
    """Packets per second (wall, CPU) of each command on `path`, the best of ROUNDS, and our peak memory in MB."""
    commands = {"vpc-mirror watch": [sys.executable, "-m", "vpc_mirror", "watch", "--pcap", str(path), "--headless",
                                     "--json"]}
    tcpdump = shutil.which("tcpdump")
    if tcpdump is None:
        print("tcpdump not found: only our figures")
    else:
        commands |= {name: [tcpdump, *flags, "-r", str(path)]
                     for name, flags in (("tcpdump -q -n", ["-q", "-n"]), ("tcpdump -n", ["-n"]))}
    best: dict[str, tuple[float, float]] = {}
    peak_kb = 0
    for _round in range(ROUNDS):
        for name, argv in commands.items():
            ours = name == "vpc-mirror watch"
            wall, cpu, rss_kb, out = run_child(argv, subprocess.PIPE if ours else subprocess.DEVNULL)
            if ours:
                doc = json.loads(out)
                if doc["packets"] != packets or doc["vxlan_packets"] != packets:
                    print(f"WARNING: decoded {doc['packets']} packets, {doc['vxlan_packets']} mirrored; "
                          f"expected {packets}")
                peak_kb = max(peak_kb, rss_kb)
            wall_rate, cpu_rate = best.get(name, (0.0, 0.0))
            best[name] = (max(wall_rate, packets / wall), max(cpu_rate, packets / cpu))
    return best, peak_kb / 1024


def report(title: str, rates: dict[str, tuple[float, float]], peak_mb: float) -> None:
    print(f"{title}\n{'':18}{'packets/s (wall)':>18}{'packets/s (CPU)':>18}")
    for name, (wall_rate, cpu_rate) in rates.items():
        print(f"{name:18}{wall_rate:>18,.0f}{cpu_rate:>18,.0f}")
    ours = rates["vpc-mirror watch"]
    for name in ("tcpdump -q -n", "tcpdump -n"):
        if name in rates:
            goal = f" (goal >= {SPEED_GOAL}x: {'met' if ours[0] / rates[name][0] >= SPEED_GOAL else 'NOT met'})" \
                if name == "tcpdump -q -n" else ""
            print(f"  ours / {name}: {ours[0] / rates[name][0]:.2f}x wall, {ours[1] / rates[name][1]:.2f}x CPU{goal}")
    verdict = "met" if peak_mb < MEMORY_GOAL_MB else "NOT met"
    print(f"  peak memory (max RSS of the watch process): {peak_mb:.0f} MB (goal < {MEMORY_GOAL_MB} MB: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    args = parser.parse_args()

    flows = random_flows(SOURCES, VNIS, flows=2000, packets=args.packets, seed=7, protos=(6, 17))
    with tempfile.TemporaryDirectory() as tmp:
        for title, gwlb in (("VXLAN (an ENI target)", None), ("VXLAN inside GENEVE (a Gateway Load Balancer)", GWLB)):
            path = Path(tmp) / "bench.pcap"
            started = time.perf_counter()
            SyntheticTraffic(flows, target=TARGET, duration=60.0, seed=7, gwlb=gwlb).write(path)
            size_mb = path.stat().st_size / 1e6
            print(f"capture: {args.packets:,} packets, {size_mb:.0f} MB, 20 sources, 5 VNIs, 2000 TCP/UDP flows "
                  f"(generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip
            report(title, *measure(path, args.packets))
            path.unlink()


if __name__ == "__main__":
    main()
