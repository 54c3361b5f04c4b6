"""How long `vpc-mirror --demo` takes to show its first screen, beside `python -c "import textual"`.

Runs each several times in fresh processes and prints the medians, the
difference (goal: within 0.25 s) and whether boto3 or asyncssh were imported
before the first screen was up (goal: neither). An empty Textual app's first
screen is timed too, as the floor no Textual program gets under. The first screen is "up" at
Textual's Ready event: the DOM is ready and the first frame is displayed.

    python tests/bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time

GOAL_SECONDS = 0.25

#: The wizard as `vpc-mirror --demo` starts it (headless), stopping at its first Ready event.
WIZARD = r"""
import json, os, sys, time, tempfile
from pathlib import Path
import vpc_mirror.tui.cli
from vpc_mirror.tui.app import WizardApp
from vpc_mirror.tui.backend import Backend

class FirstScreen(WizardApp):
    def on_ready(self):
        print(json.dumps({"ready": time.time(), "screen": type(self.screen).__name__,
                          "imported": sorted(m for m in ("boto3", "botocore", "asyncssh", "moto") if m in sys.modules)}),
              flush=True)
        os._exit(0)

FirstScreen(Backend(Path(tempfile.mkdtemp()), demo=True)).run(headless=True, size=(80, 24))
"""

EMPTY_APP = r"""
import json, os, time
from textual.app import App

class Empty(App):
    def on_ready(self):
        print(json.dumps({"ready": time.time()}), flush=True)
        os._exit(0)

Empty().run(headless=True, size=(80, 24))
"""

BASELINE = r"""
import json, time
import textual
print(json.dumps({"ready": time.time()}), flush=True)
"""


def once(code: str) -> tuple[float, dict]:
    started = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tempfile.gettempdir()).stdout
    doc = json.loads(out.strip().splitlines()[-1])
    return doc["ready"] - started, doc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    once(WIZARD)  # warm the file cache and bytecode
    baseline, empty, wizard, imported, screens = [], [], [], set(), set()
    for _ in range(args.runs):
        baseline.append(once(BASELINE)[0])
        empty.append(once(EMPTY_APP)[0])
        seconds, doc = once(WIZARD)
        wizard.append(seconds)
        imported.update(doc["imported"])
        screens.add(doc["screen"])
    base, first = statistics.median(baseline), statistics.median(wizard)
    print(f"python -c 'import textual':         median {base:.3f} s over {args.runs} runs")
    print(f"an empty Textual app, first screen: median {statistics.median(empty):.3f} s over {args.runs} runs")
    print(f"vpc-mirror --demo, first screen:    median {first:.3f} s over {args.runs} runs ({', '.join(sorted(screens))})")
    print(f"difference:                         {first - base:+.3f} s (goal: within {GOAL_SECONDS} s)")
    print(f"imported before the first screen:   {', '.join(sorted(imported)) or 'neither boto3 nor asyncssh'}")
    ok = first - base <= GOAL_SECONDS and not imported
    print("goal met" if ok else "goal NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
