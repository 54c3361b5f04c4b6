"""Every wizard screen at 80x24 and at 120x36, against the accepted SVGs (update with --snapshot-update).

One app run per screen takes both pictures (it is resized in between), which
halves the time the snapshots take.
"""

from __future__ import annotations

import asyncio

import pytest
from pytest_textual_snapshot import SVGImageExtension

from tests.tui.scenes import SCENES, prepare, screenshot

SIZES = [(80, 24), (120, 36)]


@pytest.fixture
def svg_snapshot(snapshot):
    return snapshot.use_extension(SVGImageExtension)


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
async def test_screen(scene, sandbox, state_dir, svg_snapshot):
    app = await asyncio.to_thread(prepare, sandbox, state_dir, scene)
    pictures = await screenshot(app, scene, SIZES)
    for (width, height), svg in zip(SIZES, pictures):
        assert svg == svg_snapshot(name=f"{scene.name}-{width}x{height}")
