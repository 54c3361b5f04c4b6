"""`vpc-mirror hunt NAME` on a fleet: every sensor's logs scored together, a sensor not read said and counted.

Behind a load balancer each sensor logs only the connections hashed to it, so
a beacon's connections are spread over the sensors: scored one sensor at a
time it looks half as regular as it is. Two namespace sensors each hold half
of one beacon's connections in zeekctl's layout.
"""

from __future__ import annotations

import json
import os
import random
import shutil

import pytest
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.cli import main

from tests.fleet_setup import SETUP, fleet_setup
from tests.hunt.test_hunt_cli import SERVER, SOURCE, STANDIN, T0
from tests.hunt.zeekfmt import Traffic, tsv, write

HOURS = 3
BEACON_EVERY = 60


def half_of_a_beacon(host, parity: int):
    """The zeekctl stand-in and HOURS of logs on ``host`` holding every other beacon connection (``parity``)."""
    prefix = host.dir / "zeek"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy(STANDIN / "zeekctl", prefix / "bin")
    folder = prefix / "logs"
    for h in range(HOURS):
        start = T0 + h * 3600
        traffic = Traffic(random.Random(h * 2 + parity))
        times = [t for n, t in enumerate(range(start, start + 3600, BEACON_EVERY)) if n % 2 == parity]
        traffic.add(SOURCE, SERVER, times, server_name="c2.example.net")
        path = folder / "2023-11-14" / f"conn.{h:02d}:00:00-{h + 1:02d}:00:00.log.gz"
        write(path, tsv("conn", traffic.conns))
        os.utime(path, (start + 3600, start + 3600))
    (folder / "current").mkdir()
    return prefix


def hunt(capsys, sandbox, state_dir, known) -> tuple[int, dict, str]:
    code = main(["hunt", SETUP, "--json", "--min-score", "0", "--known-hosts", str(known), "--endpoint-url",
                 sandbox.endpoint_url, "--state-dir", str(state_dir)])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def fleet_with_logs(two_sensor_hosts, sandbox, state_dir):
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, target_type="nlb")
    store = StateStore(state_dir)
    state = store.load(SETUP)
    state.step("zeek").facts["sensors"] = {key: {"prefix": str(half_of_a_beacon(host, parity))}
                                           for parity, (key, host) in enumerate(zip(("sensor", "sensor-2"),
                                                                                    two_sensor_hosts))}
    store.save(state)
    return known


def beacon(doc: dict) -> dict:
    return next(p for p in doc["pairs"] if (p["src"], p["dst"]) == (SOURCE, SERVER))


@pytest.mark.root
def test_every_sensors_logs_are_scored_together(two_sensor_hosts, sandbox, state_dir, capsys):
    known = fleet_with_logs(two_sensor_hosts, sandbox, state_dir)
    code, doc, err = hunt(capsys, sandbox, state_dir, known)
    assert code == 0, err
    assert beacon(doc)["connections"] == HOURS * 3600 // BEACON_EVERY, "both halves of the beacon are counted"
    assert {f.split(":", 1)[0] for f in doc["read"]["files"]} == {"sensor", "sensor-2"}
    assert "on sensor-2 (" in err
    status = StateStore(state_dir).load(SETUP).step("hunt")
    assert "sensor, sensor-2 (2 of 2 sensors)" in status.facts["logs"]


@pytest.mark.root
def test_a_sensor_not_reached_is_named_and_the_hunt_fails(two_sensor_hosts, sandbox, state_dir, capsys):
    known = fleet_with_logs(two_sensor_hosts, sandbox, state_dir)
    second = two_sensor_hosts[1]
    second.process.kill()  # its sshd: the sensor refuses connections
    second.process.wait(timeout=5)
    code, doc, err = hunt(capsys, sandbox, state_dir, known)
    assert code == 1, "scores missing a sensor's logs cannot vouch for the hunt"
    assert beacon(doc)["connections"] == HOURS * 3600 // BEACON_EVERY // 2, "only the first sensor's half"
    assert doc["read"]["unreadable_files"] == ["sensor-2"]
    assert "sensor not reached" in doc["read"]["problems"][0]["message"]
    assert "the logs of sensor-2 could not be read" in err
