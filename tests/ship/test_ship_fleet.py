"""`vpc-mirror ship NAME` and teardown's removal on a fleet: every sensor ships, each into its own folder.

Two namespace sensors of one saved setup (tests/fleet_setup.py), each joined
to one hunter namespace, real rsync and rrsync: each sensor gets its own key
(one restricted authorized_keys line each on the hunter) and its logs land
under its own zeek_log_transport id; the step is done only when both ship.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

import pytest
from conftest_fleet import FleetSensorHost
from sensor_host import SensorHost
from shiphosts import KEPT, SHIP_USER, install_zeek_standin, join, put
from vpc_mirror.steps import ship_scripts as scripts
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.cli import main

from tests.fleet_setup import SETUP, fleet_setup

pytestmark = pytest.mark.root
DEST = "/opt/zeek/remotelogs"


@pytest.fixture
def fleet_and_hunter():
    """Two fleet sensors with Zeek's archive, each joined to a hunter that lets the ship user log in."""
    if os.geteuid() != 0:
        pytest.skip("the hosts need root (network namespaces, sshd)")
    users = secrets.token_hex(3)
    with FleetSensorHost(users, overlaid=KEPT) as first, FleetSensorHost(users, overlaid=KEPT) as second, \
            SensorHost(overlaid=KEPT, login_users=(SHIP_USER,)) as hunter:
        authorized = second.dir / "authorized_keys" / second.sudo_user
        authorized.write_text(authorized.read_text() + first.client_key.with_suffix(".pub").read_text())
        for sensor in (first, second):
            join(sensor, hunter)
            install_zeek_standin(sensor)
        yield (first, second), hunter


def test_every_sensor_ships_into_its_own_folder_and_teardown_removes_it_from_each(fleet_and_hunter, sandbox,
                                                                                  state_dir, capsys):
    sensors, hunter = fleet_and_hunter
    known = fleet_setup(sandbox, state_dir, sensors)
    today = dt.date.today().isoformat()
    for n, sensor in enumerate(sensors):
        put(sensor, f"/opt/zeek/logs/{today}/conn.0{n}:00:00-0{n + 1}:00:00.log.gz", b"\x1f\x8b" + bytes([n]))
    common = ["--known-hosts", str(known), "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir)]
    code = main(["ship", SETUP, "--to", hunter.address, "--yes", "--hunter-user", hunter.sudo_user,
                 "--hunter-identity", str(hunter.client_key), "--accept-hunter-key", hunter.host_key_fingerprints[0],
                 *common])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    landed = {p.relative_to(hunter.upper(DEST)).parts[0]: p.name for p in hunter.upper(DEST).rglob("*.log.gz")}
    keep = lambda text: "".join(c for c in text if c.isalnum() or c in "_^+=")  # zeek_log_transport's sensor id
    host = keep(socket.gethostname().split(".")[0])
    assert landed == {f"{host}__{keep(s.address)}"[:52]: f"conn.0{n}:00:00-0{n + 1}:00:00.log.gz"
                      for n, s in enumerate(sensors)}, "each sensor's logs under its own id (host name, address)"
    lines = hunter.upper(f"/home/{SHIP_USER}/.ssh/authorized_keys").read_text().splitlines()
    sources = {line.split('from="')[1].split('"')[0] for line in lines if line.startswith('restrict,from="')}
    assert len(lines) == len(sources) == 2, "one restricted key per sensor, each only from its own address"
    assert "sensor: done" in out.out and "sensor-2: done" in out.out
    step = StateStore(state_dir).load(SETUP).step("ship")
    assert step.status == "done" and set(step.facts["sensors"]) == {"sensor", "sensor-2"}

    code = main(["teardown", SETUP, "--yes", "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir)])
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    for sensor in sensors:
        assert not sensor.upper(scripts.CRON_FILE).exists() and not sensor.upper(scripts.TRANSPORT).exists()
    assert "sensor-2: " in out.out


def test_a_sensor_not_reached_fails_the_step_and_the_other_still_ships(fleet_and_hunter, sandbox, state_dir, capsys):
    sensors, hunter = fleet_and_hunter
    known = fleet_setup(sandbox, state_dir, sensors)
    sensors[1].process.kill()  # its sshd
    sensors[1].process.wait(timeout=5)
    code = main(["ship", SETUP, "--to", hunter.address, "--yes", "--hunter-user", hunter.sudo_user,
                 "--hunter-identity", str(hunter.client_key), "--accept-hunter-key", hunter.host_key_fingerprints[0],
                 "--known-hosts", str(known), "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir)])
    out = capsys.readouterr()
    assert code == 1
    assert "sensor: done" in out.out and "sensor-2: failed: not reached" in out.out
    assert "log shipping is not set up on sensor-2" in out.err
    assert sensors[0].upper(scripts.CRON_FILE).exists()
    step = StateStore(state_dir).load(SETUP).step("ship")
    assert step.status == "failed" and "sensor-2: not reached" in step.error
