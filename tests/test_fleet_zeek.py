"""`vpc-mirror zeek NAME` on a fleet: every sensor configured at once, each reported, one failing stops no other.

Two namespace sensors (tests/conftest_fleet.py) with the zeekctl stand-in
(tests/zeekctl_standin) in /opt/zeek, where the step finds it by itself.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.fleet_setup import SETUP, fleet_setup
from tests.testdata import ZEEKCTL
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.steps.zeek_scripts import DECAPSULATION, MIRRORED_ONLY, local_zeek
from vpc_mirror.tui.cli import main

STANDIN = Path(__file__).parent / "zeekctl_standin"
PREFIX = "/opt/zeek"


#: zeekctl whose deploy takes a while and notes when it ran, so a test can tell whether two deploys overlapped.
TIMED_ZEEKCTL = f"""#!/bin/sh
[ "$1" = deploy ] && date +%s.%N >> {PREFIX}/deploy-times && sleep 1.5
{PREFIX}/bin/zeekctl.standin "$@"
status=$?
[ "$1" = deploy ] && date +%s.%N >> {PREFIX}/deploy-times
exit $status
"""


def install_standin(host, tmp_path) -> None:
    """The stand-in zeekctl/zeek, the shipped node.cfg, zeekctl.cfg and local.zeek, in the sensor's /opt/zeek."""
    stage = tmp_path / host.token
    for sub in ("bin", "etc", "share/zeek/site"):
        (stage / sub).mkdir(parents=True)
    shutil.copy(STANDIN / "zeekctl", stage / "bin" / "zeekctl.standin")
    (stage / "bin" / "zeekctl").write_text(TIMED_ZEEKCTL)
    (stage / "bin" / "zeekctl").chmod(0o755)
    shutil.copy(STANDIN / "zeek", stage / "bin")
    shutil.copy(ZEEKCTL / "node.cfg.default", stage / "etc" / "node.cfg")
    cfg = (ZEEKCTL / "zeekctl.cfg.in").read_text()
    for name, sub in (("LOGS", "logs"), ("SPOOL", "spool"), ("ETC", "etc")):
        cfg = cfg.replace(f"${{{name}}}", f"{PREFIX}/{sub}")
    (stage / "etc" / "zeekctl.cfg").write_text(cfg)
    shutil.copy(STANDIN / "local.zeek", stage / "share" / "zeek" / "site" / "local.zeek")
    host.exec("mkdir", "-p", PREFIX)
    host.exec("cp", "-a", f"{stage}/.", PREFIX)


def zeek(capsys, sandbox, state_dir, known, *extra: str) -> tuple[int, str, str]:
    code = main(["zeek", SETUP, "--yes", "--known-hosts", str(known), "--endpoint-url", sandbox.endpoint_url,
                 "--state-dir", str(state_dir), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.root
def test_every_sensor_is_configured_and_reported(two_sensor_hosts, sandbox, state_dir, tmp_path, capsys):
    for host in two_sensor_hosts:
        install_standin(host, tmp_path)
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts)
    code, out, err = zeek(capsys, sandbox, state_dir, known)
    assert code == 0, out + err
    assert "== sensor ==" in out and "== sensor-2 ==" in out
    for key, host in zip(("sensor", "sensor-2"), two_sensor_hosts):
        assert f"{key}: Zeek: 1 node(s): 1 running" in out
        assert f"{key}: … zeekctl deploy" in out
        node_cfg = host.exec("cat", f"{PREFIX}/etc/node.cfg").stdout
        assert "interface=ens6" in node_cfg, f"{key} was not configured"
        local = host.exec("cat", f"{PREFIX}/share/zeek/site/local.zeek").stdout
        assert "redef PacketAnalyzer::Geneve::geneve_ports += { 6081/udp };" in local
    (start_1, end_1), (start_2, end_2) = (
        map(float, host.exec("cat", f"{PREFIX}/deploy-times").stdout.split()) for host in two_sensor_hosts)
    assert start_1 < end_2 and start_2 < end_1, "the two sensors were deployed one after the other, not at once"
    step = StateStore(state_dir).load(SETUP).step("zeek")
    assert step.status == "done"
    assert {key: facts["interface"] for key, facts in step.facts["sensors"].items()} == \
        {"sensor": "ens6", "sensor-2": "ens6"}

    code, out, _ = zeek(capsys, sandbox, state_dir, known)  # a second run changes nothing anywhere
    assert code == 0
    assert "sensor: Nothing to change: Zeek 8.0.4 already runs on ens6." in out
    assert "sensor-2: Nothing to change: Zeek 8.0.4 already runs on ens6." in out


@pytest.mark.root
def test_one_sensor_failing_does_not_stop_the_other_and_the_exit_code_says_so(two_sensor_hosts, sandbox, state_dir,
                                                                              tmp_path, capsys):
    first, second = two_sensor_hosts
    for host in two_sensor_hosts:
        install_standin(host, tmp_path)
    second.exec("sh", "-c", f"echo '@load no/such-script' >> {PREFIX}/share/zeek/site/local.zeek")
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts)
    code, out, err = zeek(capsys, sandbox, state_dir, known, "--dry-run")
    assert code == 0, out + err  # the survey finds nothing wrong: `zeekctl check` runs when applying
    assert "+interface=ens6" in out and out.rstrip().endswith("Dry run: nothing was changed.")
    assert all("interface=eth0" in host.exec("cat", f"{PREFIX}/etc/node.cfg").stdout for host in two_sensor_hosts)
    code, out, err = zeek(capsys, sandbox, state_dir, known)
    assert code == 1, out + err
    assert "sensor: Zeek: 1 node(s): 1 running" in out
    assert "sensor-2: FAILED: `zeekctl check` failed" in out
    assert "Zeek is not running on every sensor:\n  sensor-2: `zeekctl check` failed" in err
    assert "interface=ens6" in first.exec("cat", f"{PREFIX}/etc/node.cfg").stdout
    step = StateStore(state_dir).load(SETUP).step("zeek")
    assert step.status == "failed" and step.error.startswith("sensor-2: `zeekctl check` failed")
    assert "error" not in step.facts["sensors"]["sensor"]


@pytest.mark.root
def test_an_unreachable_sensor_is_reported_and_the_other_configured(two_sensor_hosts, sandbox, state_dir, tmp_path,
                                                                    capsys):
    first, second = two_sensor_hosts
    install_standin(first, tmp_path)
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts)
    second.process.kill()
    second.process.wait(timeout=5)
    code, out, err = zeek(capsys, sandbox, state_dir, known)
    assert code == 1, out + err
    assert "sensor: Zeek: 1 node(s): 1 running" in out
    assert f"sensor-2: FAILED: not reached: i-0f1ee7000000001 at {second.address}: " in out


@pytest.mark.root
def test_behind_a_load_balancer_zeek_listens_on_the_sensors_own_interface_and_keeps_it(
        two_sensor_hosts, sandbox, state_dir, tmp_path, capsys):
    """An NLB or GWLB sends the mirrored traffic to each sensor's own address: that interface keeps its addresses
    (SSH runs over it), and Zeek reads only the mirrored packets there."""
    for host in two_sensor_hosts:
        install_standin(host, tmp_path)
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, target_type="gwlb")
    code, out, err = zeek(capsys, sandbox, state_dir, known)
    assert code == 0, out + err
    assert "eth0 is also the sensor's own interface" in out
    for host in two_sensor_hosts:
        assert "interface=eth0" in host.exec("cat", f"{PREFIX}/etc/node.cfg").stdout
        (link,) = json.loads(host.exec("ip", "-j", "addr", "show", "eth0").stdout)
        assert host.address in [a["local"] for a in link["addr_info"]]
        local = host.exec("cat", f"{PREFIX}/share/zeek/site/local.zeek").stdout
        assert '"udp dst port 4789 or udp dst port 6081"' in local and "geneve_ports += { 6081/udp }" in local
    code, out, _ = zeek(capsys, sandbox, state_dir, known)  # reached again over the same interface
    assert code == 0 and "sensor-2: Nothing to change: Zeek 8.0.4 already runs on eth0." in out


def test_local_zeek_decapsulates_vxlan_and_geneve_once_and_reads_only_mirrored_packets_behind_a_load_balancer():
    plain = local_zeek("@load misc/stats\n")
    assert plain.startswith(DECAPSULATION) and plain.count("geneve_ports += { 6081/udp }") == 2  # both Zeek namings
    assert local_zeek(plain) == plain
    older = plain.replace("redef Tunnel::max_depth = 4;", "redef Tunnel::max_depth = 3;")
    assert local_zeek(older) == plain, "a block an older vpc-mirror wrote is brought up to date, not repeated"
    behind_lb = local_zeek(plain, mirrored_only=True)
    assert MIRRORED_ONLY in behind_lb and local_zeek(behind_lb, mirrored_only=True) == behind_lb
    assert local_zeek(behind_lb) == plain, "an eni target again: Zeek reads everything on its capture interface"
