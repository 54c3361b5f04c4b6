"""pytest fixture for the ship tests: the sensor and hunter hosts (tests/ship/shiphosts.py)."""

from __future__ import annotations

import os

import pytest
from sensor_host import SensorHost
from shiphosts import KEPT, SHIP_USER, ShipHosts, install_zeek_standin, join


@pytest.fixture
def ship_hosts():
    """A sensor with Zeek's archive and a hunter that lets the ship user log in; both torn down after the test."""
    if os.geteuid() != 0:
        pytest.skip("the ship hosts need root (network namespaces, sshd)")
    with SensorHost(overlaid=KEPT) as sensor, SensorHost(overlaid=KEPT, login_users=(SHIP_USER,)) as hunter:
        join(sensor, hunter)
        install_zeek_standin(sensor)
        yield ShipHosts(sensor, hunter)
