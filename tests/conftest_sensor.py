"""pytest plugin: the ``sensor_host`` fixture (a real sshd in a network namespace, see tests/sensor_host.py).

Registered from tests/conftest.py with ``pytest_plugins = ["conftest_sensor"]``;
tests using it need ``@pytest.mark.root``.
"""

from __future__ import annotations

import os

import pytest

from sensor_host import SensorHost


@pytest.fixture
def sensor_host():
    """A fresh sensor per test; torn down (processes, namespace, veths, files) even when the test fails."""
    if os.geteuid() != 0:
        pytest.skip("the sensor host needs root (network namespaces, sshd)")
    with SensorHost() as host:
        yield host
