"""Benchmark: our decode + aggregate against tcpdump on a 1,000,000-packet VXLAN capture.

Run: python tests/bench/bench_capture.py [--packets N]

Goals: at least 0.4x the packet rate of `tcpdump -q -n` (the runbook's quick
look, which does not decode VXLAN), at least 5x `tcpdump -n` (which decodes
VXLAN and the inner packet, as we do), and peak memory under 150 MB. Rates
are wall-clock packets per second; CPU-time rates are printed beside them
because a busy machine moves wall-clock figures a lot. Always exits 0.
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
MEMORY_GOAL_MB = 150

# Runs in a child process so its peak RSS is ours alone.
_OURS = """
import json, sys, time
from vpc_mirror.steps.capture.session import CaptureSession
session = CaptureSession()
wall, cpu = time.perf_counter(), time.process_time()
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        session.feed(chunk)
snap = session.snapshot()
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "packets": snap.packets, "vxlan": snap.vxlan_packets, "flows": len(snap.flows)}))
"""


def run_child(argv: list[str], stdout: int | None) -> tuple[float, float, int, bytes]:
    """(wall seconds, CPU seconds, peak RSS in KiB, stdout) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(REPO)})
    out = proc.stdout.read() if proc.stdout else b""
    _pid, _status, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packets", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.pcap"
        started = time.perf_counter()
        flows = random_flows(SOURCES, VNIS, flows=2000, packets=args.packets, seed=7, protos=(6, 17))
        SyntheticTraffic(flows, target=TARGET, duration=60.0, seed=7).write(path)
        size_mb = path.stat().st_size / 1e6
        print(f"capture: {args.packets:,} packets, {size_mb:.0f} MB, 20 sources, 5 VNIs, 2000 TCP/UDP flows "
              f"(generated in {time.perf_counter() - started:.1f} s)")  # fmt: skip

        _wall, _cpu, rss_kb, out = run_child([sys.executable, "-c", _OURS, str(path)], subprocess.PIPE)
        ours = json.loads(out)
        if ours["packets"] != args.packets or ours["vxlan"] != args.packets:
            print(f"WARNING: decoded {ours['packets']} packets, {ours['vxlan']} VXLAN; expected {args.packets}")
        rates = {"ours": (args.packets / ours["wall"], args.packets / ours["cpu"])}

        tcpdump = shutil.which("tcpdump")
        if tcpdump is None:
            print("tcpdump not found: only our figures")
        else:
            for name, flags in (("tcpdump -q -n", ["-q", "-n"]), ("tcpdump -n", ["-n"])):
                wall, cpu, _rss, _out = run_child([tcpdump, *flags, "-r", str(path)], subprocess.DEVNULL)
                rates[name] = (args.packets / wall, args.packets / cpu)

    print(f"{'':16}{'packets/s (wall)':>18}{'packets/s (CPU)':>18}")
    for name, (wall_rate, cpu_rate) in rates.items():
        print(f"{name:16}{wall_rate:>18,.0f}{cpu_rate:>18,.0f}")
    peak_mb = rss_kb / 1024
    print(f"our peak memory (max RSS of the decoding process): {peak_mb:.0f} MB")

    print("goals:")
    for name, goal in (("tcpdump -q -n", 0.4), ("tcpdump -n", 5.0)):
        if name in rates:
            wall_ratio = rates["ours"][0] / rates[name][0]
            cpu_ratio = rates["ours"][1] / rates[name][1]
            verdict = "met" if wall_ratio >= goal else "NOT met"
            print(f"  >= {goal}x {name}: {wall_ratio:.2f}x wall ({cpu_ratio:.2f}x CPU) -> {verdict}")
    print(f"  peak memory < {MEMORY_GOAL_MB} MB: {peak_mb:.0f} MB -> {'met' if peak_mb < MEMORY_GOAL_MB else 'NOT met'}")


if __name__ == "__main__":
    main()
