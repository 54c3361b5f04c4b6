"""The zeek step against a real sshd in a network namespace (tests/sensor_host.py), for real.

Zeek itself is the test stand-in in tests/zeekctl_standin/, installed into a
prefix whose path holds a space; everything else (os-release, file edits and
diffs, backups, ip link and ethtool, sudo, host keys) is the real thing.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.steps import zeek_scripts as scripts
from vpc_mirror.steps.ssh import HostKeyPolicy, HostKeyRefused, SshError, SshTarget, connect
from vpc_mirror.steps.zeek import ZeekRefused, carry_out, survey

pytestmark = pytest.mark.root
STANDIN = Path(__file__).parent / "zeekctl_standin"
from tests.testdata import ZEEKCTL as ZEEKCTL
TIMEOUT = 30


def install_standin(host) -> str:
    """The zeekctl/zeek stand-ins, the shipped node.cfg and zeekctl.cfg in a prefix with a space in its path."""
    prefix = host.dir / "zeek prefix"
    for sub in ("bin", "etc", "share/zeek/site"):
        (prefix / sub).mkdir(parents=True)
    shutil.copy(STANDIN / "zeekctl", prefix / "bin")
    shutil.copy(STANDIN / "zeek", prefix / "bin")
    shutil.copy(ZEEKCTL / "node.cfg.default", prefix / "etc" / "node.cfg")
    cfg = (ZEEKCTL / "zeekctl.cfg.in").read_text()  # as Zeek's build fills it in
    for name, sub in (("LOGS", "logs"), ("SPOOL", "spool"), ("ETC", "etc")):
        cfg = cfg.replace(f"${{{name}}}", str(prefix / sub))
    (prefix / "etc" / "zeekctl.cfg").write_text(cfg)
    shutil.copy(STANDIN / "local.zeek", prefix / "share" / "zeek" / "site" / "local.zeek")
    return str(prefix)


async def test_first_run_configures_everything_and_second_run_changes_nothing(sensor_host):
    prefix = install_standin(sensor_host)
    answers = ZeekPlan(zeek_prefix=prefix, mac=sensor_host.capture_mac)
    sensor = await sensor_host.trusted()
    try:
        work = await survey(sensor, answers)
        assert (work.os.id, work.systemd, work.interface, work.zeek_version) == ("debian", False, "ens6", "8.0.4")
        assert work.interface_fixes[:2] == ["ens6 is down", "MTU 1500 -> 9001"]
        assert any("turn off" in fix for fix in work.interface_fixes)
        node_diff = next(f.diff for f in work.files if f.path.endswith("node.cfg"))
        assert "-interface=eth0\n" in node_diff and "+interface=ens6\n" in node_diff
        logged: list[str] = []
        status = await asyncio.wait_for(carry_out(sensor, work, answers, log=logged.append), TIMEOUT)
        assert status.running and [(n.name, n.type) for n in status.nodes] == [("zeek", "standalone")]
        assert any("+@load policy/protocols/conn/mac-logging" in line for line in logged)

        (link,) = json.loads(sensor_host.exec("ip", "-j", "addr", "show", "ens6").stdout)
        assert link["mtu"] == 9001 and "UP" in link["flags"]
        assert [a for a in link.get("addr_info", []) if a.get("scope") != "link"] == []
        offloads = sensor_host.exec("ethtool", "-k", "ens6").stdout
        assert "generic-receive-offload: off" in offloads and "tcp-segmentation-offload: off" in offloads
        assert (Path(prefix) / "etc" / "node.cfg.vpc-mirror.bak").read_text() == \
            (ZEEKCTL / "node.cfg.default").read_text()
        assert "zeekctl' cron" in sensor_host.upper(scripts.CRON_FILE).read_text()
        assert "zeek prefix/bin'" in sensor_host.upper(scripts.PROFILE_FILE).read_text()

        again = await survey(sensor, answers)
        assert not again.changes_anything, (again.files, again.interface_fixes, again.running)
    finally:
        sensor.close()


async def test_host_key_matching_console_output_is_recorded_then_trusted(sensor_host, sandbox):
    from vpc_mirror.steps.zeek_target import instance_fingerprints

    instance_id = next(iter(sandbox.seed_info.instances.values()))
    text = "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n" + "".join(
        f"ec2: 256 {fp} root@sensor (ED25519)\n" for fp in sensor_host.host_key_fingerprints
    ) + "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n"
    sandbox.set_console_output(instance_id, text)

    class Ctx:  # the one thing instance_fingerprints uses: an EC2 client
        class aws:
            ec2 = sandbox.client("ec2")

    fingerprints = instance_fingerprints(Ctx, instance_id)
    assert fingerprints == sensor_host.host_key_fingerprints
    lines: list[str] = []
    sensor = await asyncio.wait_for(connect(sensor_host.ssh_target(), HostKeyPolicy(console_fingerprints=fingerprints),
                                            log=lines.append), TIMEOUT)
    sensor.close()
    assert any("matches the fingerprints in the instance's console output" in line for line in lines)
    assert sensor_host.address in (sensor_host.dir / "known_hosts").read_text()
    # later contacts need nothing but the recorded key
    sensor = await asyncio.wait_for(connect(sensor_host.ssh_target(), HostKeyPolicy()), TIMEOUT)
    sensor.close()


async def test_host_key_not_in_console_output_is_refused_and_not_recorded(sensor_host):
    policy = HostKeyPolicy(console_fingerprints=[f"SHA256:{'x' * 43}"])
    with pytest.raises(HostKeyRefused, match="NOT among the fingerprints"):
        await asyncio.wait_for(connect(sensor_host.ssh_target(), policy), TIMEOUT)
    assert not (sensor_host.dir / "known_hosts").exists()


async def test_unknown_host_key_without_any_check_is_refused_with_the_flag_to_use(sensor_host):
    with pytest.raises(HostKeyRefused, match=f"--accept-host-key SHA256:"):
        await asyncio.wait_for(connect(sensor_host.ssh_target(), HostKeyPolicy()), TIMEOUT)


async def test_changed_host_key_is_refused_never_replaced(sensor_host, tmp_path):
    known = sensor_host.dir / "known_hosts"
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=10)
    known.write_text(f"{sensor_host.address} {(tmp_path / 'other.pub').read_text()}")
    before = known.read_text()
    with pytest.raises(HostKeyRefused, match="CHANGED"):
        await sensor_host.trusted()
    assert known.read_text() == before


async def test_sudo_password_is_asked_once_and_used(sensor_host):
    prefix = install_standin(sensor_host)
    asked: list[str] = []

    async def ask(prompt: str) -> str:
        asked.append(prompt)
        return sensor_host.sudo_password

    sensor = await sensor_host.trusted(sensor_host.password_user, ask_password=ask)
    try:
        answers = ZeekPlan(zeek_prefix=prefix, interface="ens6")
        status = await asyncio.wait_for(carry_out(sensor, await survey(sensor, answers), answers), TIMEOUT)
        assert status.running
        assert len(asked) == 1 and sensor_host.password_user in asked[0]
        assert sensor_host.sudo_password not in repr(sensor)
    finally:
        sensor.close()


async def test_wrong_sudo_password_and_no_way_to_ask_are_clear_failures(sensor_host):
    async def wrong(prompt: str) -> str:
        return "not the password"

    with pytest.raises(SshError, match="did not accept the password"):
        await sensor_host.trusted(sensor_host.password_user, ask_password=wrong)
    with pytest.raises(SshError, match="needs a password and none can be asked"):
        await sensor_host.trusted(sensor_host.password_user)


async def test_auth_failure_and_unreachable_host_say_what_to_check(sensor_host, tmp_path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True, timeout=10)
    wrong_key = SshTarget(host=sensor_host.address, user=sensor_host.sudo_user, identity=tmp_path / "k",
                          known_hosts=sensor_host.dir / "known_hosts", ssh_config=[])
    with pytest.raises(SshError, match="refused the login"):
        await asyncio.wait_for(connect(wrong_key, HostKeyPolicy(accept=sensor_host.host_key_fingerprints[0])),
                               TIMEOUT)
    closed_port = SshTarget(host=sensor_host.address, port=2, known_hosts=tmp_path / "kh", ssh_config=[])
    with pytest.raises(SshError, match="cannot reach"):
        await asyncio.wait_for(connect(closed_port, HostKeyPolicy()), TIMEOUT)


async def test_missing_mac_and_ssh_interface_are_refused_before_any_change(sensor_host):
    prefix = install_standin(sensor_host)
    sensor = await sensor_host.trusted()
    try:
        with pytest.raises(ZeekRefused, match="no interface on the sensor has MAC 0a:00:00:00:00:01"):
            await survey(sensor, ZeekPlan(zeek_prefix=prefix, mac="0a:00:00:00:00:01"))
        with pytest.raises(ZeekRefused, match="the address this SSH session uses"):
            await survey(sensor, ZeekPlan(zeek_prefix=prefix, interface="eth0"))
        assert not (Path(prefix) / "etc" / "node.cfg.vpc-mirror.bak").exists()
    finally:
        sensor.close()


async def test_zeekctl_check_failure_is_shown_and_zeek_not_started(sensor_host):
    prefix = install_standin(sensor_host)
    local = Path(prefix) / "share" / "zeek" / "site" / "local.zeek"
    local.write_text(local.read_text() + "@load no/such-script\n")
    sensor = await sensor_host.trusted()
    try:
        answers = ZeekPlan(zeek_prefix=prefix, interface="ens6")
        with pytest.raises(SshError, match="(?s)zeekctl check.*can't find no/such-script"):
            await carry_out(sensor, await survey(sensor, answers), answers)
    finally:
        sensor.close()


async def test_crashed_node_is_reported_and_a_rerun_redeploys(sensor_host):
    prefix = install_standin(sensor_host)
    answers = ZeekPlan(zeek_prefix=prefix, interface="ens6")
    sensor = await sensor_host.trusted()
    try:
        await carry_out(sensor, await survey(sensor, answers), answers)
        (Path(prefix) / "spool" / "standin-state.json").write_text('{"zeek": {"status": "crashed"}}')
        work = await survey(sensor, answers)
        assert not work.running and work.changes_anything and not work.files
        status = await carry_out(sensor, work, answers)
        assert status.running
    finally:
        sensor.close()


async def test_old_zeek_is_refused_with_the_reason(sensor_host):
    prefix = install_standin(sensor_host)
    (Path(prefix) / "bin" / "zeek.version").write_text("2.6.4\n")
    sensor = await sensor_host.trusted()
    try:
        with pytest.raises(ZeekRefused, match="older than 3.0.*VXLAN"):
            await survey(sensor, ZeekPlan(zeek_prefix=prefix, interface="ens6"))
    finally:
        sensor.close()


async def test_injection_in_a_quoted_argument_stays_an_argument(sensor_host):
    sensor = await sensor_host.trusted()
    try:
        marker = sensor_host.dir / "injected"
        weird = f"/tmp/x; touch {marker}"
        assert await sensor.read_file(weird) is None
        assert not marker.exists()
        spaced = sensor_host.dir / "a dir" / "file with spaces.txt"
        await sensor.write_file(str(spaced), "hello\n")
        assert spaced.read_text() == "hello\n" and await sensor.read_file(str(spaced)) == "hello\n"
    finally:
        sensor.close()


def test_headless_command_applies_then_says_nothing_changed(sensor_host, tmp_path, capsys):
    from vpc_mirror.tui.cli import main

    prefix = install_standin(sensor_host)
    argv = ["--host", sensor_host.address, "--user", sensor_host.sudo_user, "--identity", str(sensor_host.client_key),
            "--known-hosts", str(tmp_path / "kh"), "--accept-host-key", sensor_host.host_key_fingerprints[0],
            "--mac", sensor_host.capture_mac, "--zeek-prefix", prefix, "--yes"]
    zeek = ["--state-dir", str(tmp_path / "state"), "zeek"]
    logs = f"Zeek's logs: {prefix}/logs/current (rotated hourly into {prefix}/logs/YYYY-MM-DD/)\n"
    assert main([*zeek, *argv, "--dry-run"]) == 0
    dry = capsys.readouterr().out
    assert "+interface=ens6" in dry and f"{logs}Dry run: nothing was changed." in dry
    assert not (Path(prefix) / "etc" / "node.cfg.vpc-mirror.bak").exists()
    assert main([*zeek, *argv]) == 0
    first = capsys.readouterr().out
    assert "zeek         standalone localhost     running" in first and "Zeek: 1 node(s): 1 running" in first
    assert logs in first
    assert main([*zeek, *argv]) == 0
    again = capsys.readouterr().out
    assert "Nothing to change: Zeek 8.0.4 already runs on ens6." in again and again.endswith(logs)


async def test_rotation_turned_off_is_turned_back_on_and_the_summary_says_where_the_logs_are(sensor_host):
    """zeekctl's hourly rotation into dated folders is what RITA and `vpc-mirror ship` read: a zeekctl.cfg that
    turned it off (LogRotationInterval = 0) gets it back, shown as a diff, and the logs' place is LogDir's."""
    prefix = install_standin(sensor_host)
    cfg = Path(prefix) / "etc" / "zeekctl.cfg"
    shipped = cfg.read_text()
    assert "\nLogRotationInterval = 3600\n" in shipped
    log_dir = sensor_host.dir / "zeek logs"
    cfg.write_text(shipped.replace("LogRotationInterval = 3600", "LogRotationInterval = 0")
                   .replace(f"LogDir = {prefix}/logs", f"LogDir = {log_dir}"))
    answers = ZeekPlan(zeek_prefix=prefix, interface="ens6")
    sensor = await sensor_host.trusted()
    try:
        work = await survey(sensor, answers)
        (change,) = [f for f in work.files if f.path == str(cfg)]
        assert "-LogRotationInterval = 0\n+LogRotationInterval = 3600\n" in change.diff
        logged: list[str] = []
        assert (await asyncio.wait_for(carry_out(sensor, work, answers, log=logged.append), TIMEOUT)).running
        assert logged[-1] == f"Zeek's logs: {log_dir}/current (rotated hourly into {log_dir}/YYYY-MM-DD/)"
        shown = sensor_host.exec(f"{prefix}/bin/zeekctl", "config").stdout
        assert "logrotationinterval = 3600\n" in shown and f"logdir = {log_dir}\n" in shown
        assert cfg.read_text() == shipped.replace(f"LogDir = {prefix}/logs", f"LogDir = {log_dir}")
        assert not (await survey(sensor, answers)).changes_anything
    finally:
        sensor.close()


async def test_a_rotation_interval_of_the_users_is_kept_and_said(sensor_host):
    prefix = install_standin(sensor_host)
    cfg = Path(prefix) / "etc" / "zeekctl.cfg"
    cfg.write_text(cfg.read_text().replace("LogRotationInterval = 3600", "LogRotationInterval = 900"))
    sensor = await sensor_host.trusted()
    try:
        work = await survey(sensor, ZeekPlan(zeek_prefix=prefix, interface="ens6"))
        assert not any(f.path == str(cfg) for f in work.files)
        assert work.logs == f"Zeek's logs: {prefix}/logs/current (rotated every 900 s into {prefix}/logs/YYYY-MM-DD/)"
    finally:
        sensor.close()


async def test_dropped_connection_half_way_is_reported_and_a_rerun_finishes(sensor_host):
    prefix = install_standin(sensor_host)
    answers = ZeekPlan(zeek_prefix=prefix, mac=sensor_host.capture_mac)
    sensor = await sensor_host.trusted()
    written: list[str] = []

    def cut_after_the_first_file(line: str) -> None:
        written.append(line)
        if len(written) == 2:  # the first file is written; the link dies before the second
            sensor_host.exec("pkill", "-KILL", "-u", sensor_host.sudo_user, check=False)

    try:
        work = await survey(sensor, answers)
        with pytest.raises(SshError, match="dropped.*run the step again"):
            await asyncio.wait_for(carry_out(sensor, work, answers, log=cut_after_the_first_file), TIMEOUT)
    finally:
        sensor.close()
    sensor = await sensor_host.trusted()
    try:
        again = await survey(sensor, answers)
        assert len(again.files) < len(work.files), "what was written before the drop is kept"
        status = await asyncio.wait_for(carry_out(sensor, again, answers), TIMEOUT)
        assert status.running
        assert not (await survey(sensor, answers)).changes_anything
    finally:
        sensor.close()
