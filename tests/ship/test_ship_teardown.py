"""`vpc-mirror teardown NAME` asks before removing log shipping from the sensor: no leaves it, yes (or --yes)
removes the cron entry, the transport and the ship user with its key, and the ship step is pending again."""

from __future__ import annotations

import io

import pytest
from shiphosts import ShipHosts
from vpc_mirror.steps import ship_scripts as scripts
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.cli import main

from tests.awsfacts import demo_plan, run, tagged

pytestmark = pytest.mark.root
SHIPPED = (scripts.CRON_FILE, scripts.TRANSPORT, scripts.KEY)


class Terminal(io.StringIO):
    """Standard input as a person at a terminal answers it."""

    def isatty(self) -> bool:
        return True


def on_sensor(hosts: ShipHosts) -> dict[str, bool]:
    """Which of shipping's files, and its user, the sensor has."""
    there = {path: hosts.sensor.exec("test", "-e", path, check=False).returncode == 0 for path in SHIPPED}
    there["user"] = hosts.sensor.exec("id", "-u", scripts.SENSOR_USER, check=False).returncode == 0
    return there


@pytest.fixture
def shipped(ship_hosts, sandbox, state_dir, capsys):
    """Setup demo applied with the ship hosts' sensor as its sensor, and `vpc-mirror ship demo` run on it."""
    from vpc_mirror.models.zeek import ZeekPlan

    sensor, hunter = ship_hosts.sensor, ship_hosts.hunter
    zeek = ZeekPlan(host=sensor.address, user=sensor.sudo_user, identity=str(sensor.client_key))
    run(sandbox, state_dir, demo_plan(zeek=zeek))
    code = main(["ship", "demo", "--to", hunter.address, "--accept-hunter-key", hunter.host_key_fingerprints[0],
                 "--accept-host-key", sensor.host_key_fingerprints[0], "--yes", "--state-dir", str(state_dir),
                 "--endpoint-url", sandbox.endpoint_url])
    capsys.readouterr()
    assert code == 0
    assert StateStore(state_dir).load("demo").step("ship").status == "in-progress"  # the hunter's admin is next
    assert all(on_sensor(ship_hosts).values())
    return ship_hosts


def teardown(capsys, monkeypatch, sandbox, state_dir, *flags: str, answers: str = "") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", Terminal(answers))
    code = main(["teardown", "demo", *flags, "--state-dir", str(state_dir), "--endpoint-url", sandbox.endpoint_url])
    captured = capsys.readouterr()
    return int(code), captured.out + captured.err


def test_no_leaves_shipping_on_the_sensor_and_says_so(shipped, sandbox, state_dir, capsys, monkeypatch):
    code, out = teardown(capsys, monkeypatch, sandbox, state_dir, answers="n\nn\n")
    assert code == 0
    assert ("Remove log shipping from the sensor (/etc/cron.d/vpc-mirror-ship, /usr/local/bin/vpc-mirror-ship, "
            "user vpc-mirror-ship and its key)?") in out
    assert "Log shipping is left on the sensor" in out and "Nothing deleted." in out
    assert all(on_sensor(shipped).values())
    assert StateStore(state_dir).load("demo").step("ship").status == "in-progress"


def test_yes_removes_shipping_then_the_setup(shipped, sandbox, state_dir, capsys, monkeypatch):
    code, out = teardown(capsys, monkeypatch, sandbox, state_dir, "--yes")
    assert code == 0, out
    assert f"removed {scripts.CRON_FILE}" in out and "Log shipping is removed from the sensor." in out
    assert not any(on_sensor(shipped).values())
    state = StateStore(state_dir).load("demo")
    assert state.step("ship").status == "pending" and state.step("ship").facts == {}
    assert not tagged(sandbox, "demo")
    code, out = teardown(capsys, monkeypatch, sandbox, state_dir, "--yes")  # nothing asked a second time
    assert code == 0 and "Remove log shipping" not in out and "nothing left to delete" in out
