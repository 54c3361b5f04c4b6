"""pytest plugin: ``two_sensor_hosts``, two namespace sensors (tests/sensor_host.py) that one login reaches.

A fleet's sensors share a login user and key (one image, one key pair), so
both hosts' users carry one shared name and both authorize the first host's
client key. Registered from tests/conftest.py; tests using it need
``@pytest.mark.root``.
"""

from __future__ import annotations

import os
import secrets

import pytest

from sensor_host import SensorHost


class FleetSensorHost(SensorHost):
    """A SensorHost whose test users are named by ``users`` (shared across the fleet) instead of its own token."""

    def __init__(self, users: str, **options) -> None:
        super().__init__(**options)
        self.sudo_user, self.password_user, self.ticket_user = (f"vmz{users}{kind}" for kind in "apt")


@pytest.fixture
def two_sensor_hosts():
    """Two fresh sensors, the second also authorizing the first's client key; both torn down even on failure."""
    if os.geteuid() != 0:
        pytest.skip("the sensor hosts need root (network namespaces, sshd)")
    users = secrets.token_hex(3)
    with FleetSensorHost(users) as first, FleetSensorHost(users) as second:
        authorized = second.dir / "authorized_keys" / second.sudo_user
        authorized.write_text(authorized.read_text() + first.client_key.with_suffix(".pub").read_text())
        yield first, second
