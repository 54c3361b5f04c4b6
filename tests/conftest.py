"""Shared fixtures: the sandbox (a real EC2 API over HTTP) and a state directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
# Never let a developer's real AWS config leak into a test.
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def sandbox_server():
    from vpc_mirror.sandbox.server import Sandbox

    with Sandbox(seed="demo") as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server):
    """The session's sandbox, wiped and reseeded with the demo account for each test."""
    sandbox_server.set_fail_rate(0.0)
    sandbox_server.set_denied(())
    sandbox_server.reset("demo")
    return sandbox_server


@pytest.fixture
def state_dir(tmp_path) -> Path:
    return tmp_path / "state"


def pytest_runtest_setup(item):
    """Tests marked ``root`` skip without root, except in CI, where a skip would hide a failure."""
    if item.get_closest_marker("root") and os.geteuid() != 0:
        reason = "needs root for network namespaces, sshd and tcpdump; run as root (CI does)"
        if os.environ.get("VPC_MIRROR_REQUIRE_ROOT_TESTS") == "1":
            pytest.fail(f"{reason} — VPC_MIRROR_REQUIRE_ROOT_TESTS=1 forbids skipping it")
        pytest.skip(reason)

#: Fixtures that make network namespaces, veths, sshd and tcpdumps. Their tests share the machine's process table
#: (a test looks for its tcpdump by name), so under pytest-xdist they all run on one worker, one at a time
#: (tests/run.sh: -n 2 --dist loadgroup), while the other worker takes the rest.
NAMESPACE_FIXTURES = frozenset({"sensor_host", "two_sensor_hosts", "ship_hosts", "fleet_and_hunter"})


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own, which reads the group into the test's id
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("root") or NAMESPACE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("namespaces"))


pytest_plugins = ["conftest_sensor"]  # the sensor_host fixture: a real sshd in a network namespace
pytest_plugins += ["conftest_fleet"]  # two_sensor_hosts: two such sensors one login reaches, as a fleet's
