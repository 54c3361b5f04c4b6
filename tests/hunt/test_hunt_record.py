"""`vpc-mirror hunt NAME` records the hunt step in the setup's state: the test beacon's pair and its score,
or why the hunt proves nothing yet; `status` shows it."""

from __future__ import annotations

import pytest
from vpc_mirror.steps.state_store import StateStore

from tests.awsfacts import demo_plan, run
from tests.hunt.test_hunt_cli import hunt, sensor_with_logs

pytestmark = pytest.mark.root


@pytest.fixture
def setup_on_sensor(sensor_host, sandbox, state_dir):
    """The demo setup applied, its sensor the test sshd: (store, the flags that reach it)."""
    from vpc_mirror.models.zeek import ZeekPlan

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key),
                    zeek_prefix=str(sensor_host.dir / "zeek"))
    run(sandbox, state_dir, demo_plan(zeek=zeek))
    flags = ["--endpoint-url", sandbox.endpoint_url, "--accept-host-key", sensor_host.host_key_fingerprints[0]]
    return StateStore(state_dir), flags


def test_the_test_beacons_pair_is_recorded_and_status_shows_the_step(sensor_host, setup_on_sensor, state_dir,
                                                                       capsys):
    store, flags = setup_on_sensor
    beacon_ip = store.load("demo").resource("test-beacon").attrs["private_ip"]
    sensor_with_logs(sensor_host, hours=3, source=beacon_ip)
    code, _, err = hunt(capsys, "demo", *flags, state_dir=state_dir)
    assert code == 0, err
    step = store.load("demo").step("hunt")
    assert step.status == "done" and step.facts["beacon_pair"]["src"] == beacon_ip
    assert step.facts["beacon_pair"]["dst"] == "c2.example.net" and step.facts["beacon_pair"]["severity"] == "high"
    code, out, _ = hunt_status(capsys, state_dir)
    assert "hunt" in out and "done" in out.split("hunt", 1)[1].splitlines()[0]


def test_a_hunt_without_the_beacon_is_recorded_failed_with_why(sensor_host, setup_on_sensor, state_dir, capsys):
    store, flags = setup_on_sensor
    sensor_with_logs(sensor_host, hours=3)  # another host beacons; the test beacon is not in the logs
    code, _, err = hunt(capsys, "demo", *flags, state_dir=state_dir)
    assert code == 0, err
    step = store.load("demo").step("hunt")
    assert step.status == "failed" and "the test beacon" in step.error and "is not among the scored pairs" in step.error


def hunt_status(capsys, state_dir):
    from vpc_mirror.tui.cli import main

    code = main(["status", "demo", "--state-dir", str(state_dir)])
    out = capsys.readouterr()
    return code, out.out, out.err
