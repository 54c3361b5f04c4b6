"""Regenerate screenshots/<screen>.svg: every wizard screen on the embedded demo account, at 80x24.

    python screenshots/make.py [--size 100x30] [--only review,apply]

The screens are the snapshot tests' scenes (tests/tui/scenes.py), so the
pictures and the tests show the same thing; ids are the same on every run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


async def make(size: tuple[int, int], only: set[str]) -> list[Path]:
    from vpc_mirror.sandbox.server import Sandbox
    from tests.tui.scenes import SCENES, prepare, screenshot

    written = []
    with Sandbox(seed="demo") as sandbox, tempfile.TemporaryDirectory() as scratch:
        os.environ.update(sandbox.env())
        for number, scene in enumerate(s for s in SCENES if not only or s.name in only):
            state_dir = Path(scratch) / f"{number}-{scene.name}"
            app = await asyncio.to_thread(prepare, sandbox, state_dir, scene)
            (svg,) = await screenshot(app, scene, [size])
            path = HERE / f"{scene.name}.svg"
            path.write_text(svg, encoding="utf-8")
            written.append(path)
            print(f"wrote {path.relative_to(HERE.parent)}", flush=True)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="80x24", help="terminal WIDTHxHEIGHT (default 80x24)")
    parser.add_argument("--only", default="", help="comma-separated scene names (default: all)")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.lower().split("x"))
    asyncio.run(make((width, height), {n for n in args.only.split(",") if n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
