"""The wizard on the sandbox fixture (helpers: tests/tui/wizard_pilot.py)."""

from __future__ import annotations

import pytest

from tests.tui.wizard_pilot import make_app


@pytest.fixture
def wizard(sandbox, state_dir):
    return make_app(sandbox, state_dir)
