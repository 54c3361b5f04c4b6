"""The sudo password goes to sudo's prompt and nowhere else; files land whole, at their mode (issue 13).

Against the namespace sensor (tests/sensor_host.py): ``ticket_user``'s sudo
ticket is global, so after the connection's first authenticated sudo no
later sudo asks; ``password_user``'s sudo asks every time. Either way the
password must never reach a command's stdin, so never a file or an output.
"""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.steps import zeek_scripts as scripts
from vpc_mirror.steps.ssh import BadKeyFile, ConnectionDropped, HostKeyPolicy, SshTarget, connect
from vpc_mirror.steps.zeek import carry_out, survey

from tests.test_zeek_sensor import TIMEOUT, install_standin

pytestmark = pytest.mark.root

#: A `systemctl` for the namespace, which has no systemd of its own: it only says what it was asked.
SYSTEMCTL_STANDIN = '#!/bin/sh\necho "systemctl stand-in: $*" >> /run/systemctl-standin.log\n'


def ask_once(host, asked: list[str]):
    """The sudo password dialog: records each question, answers with the right password."""
    async def ask(prompt: str) -> str:
        asked.append(prompt)
        return host.sudo_password
    return ask


def pretend_systemd(host) -> None:
    """/run/systemd/system exists (so the step writes and enables the units) and systemctl is a stand-in."""
    host.exec("mkdir", "-p", "/run/systemd/system")
    host.exec("sh", "-c", f"printf '%s' '{SYSTEMCTL_STANDIN}' > /usr/local/sbin/systemctl && "
                          "chmod 755 /usr/local/sbin/systemctl")


@pytest.mark.parametrize("user", ["ticket_user", "password_user"])
async def test_the_password_is_in_no_file_and_no_output_and_files_get_their_modes(sensor_host, user):
    prefix = install_standin(sensor_host)
    pretend_systemd(sensor_host)
    asked: list[str] = []
    sensor = await sensor_host.trusted(getattr(sensor_host, user), ask_password=ask_once(sensor_host, asked))
    logged: list[str] = []
    try:
        answers = ZeekPlan(zeek_prefix=prefix, mac=sensor_host.capture_mac)
        work = await asyncio.wait_for(survey(sensor, answers), TIMEOUT)
        status = await asyncio.wait_for(carry_out(sensor, work, answers, log=logged.append), TIMEOUT)
        assert status.running
    finally:
        sensor.close()
    assert len(asked) == 1
    written = {change.path: change for change in work.files}
    # every file the zeek step writes, and the mode it needs: configs and units that zeekctl, cron, systemd and
    # login shells read are 0644; the capture script is run at boot, 0755. None of them holds a secret.
    expected_modes = {f"{prefix}/etc/node.cfg": 0o644, f"{prefix}/share/zeek/site/local.zeek": 0o644,
                      scripts.CAPTURE_SCRIPT: 0o755, scripts.CRON_FILE: 0o644, scripts.PROFILE_FILE: 0o644,
                      scripts.CAPTURE_UNIT: 0o644, scripts.ZEEK_UNIT: 0o644}
    assert set(written) == set(expected_modes)
    for path, mode in expected_modes.items():
        on_sensor = Path(path) if path.startswith(prefix) else sensor_host.upper(path)
        assert on_sensor.read_text() == written[path].new, f"{path} is not exactly what was planned"
        assert stat.S_IMODE(on_sensor.stat().st_mode) == mode, f"{path}: {oct(on_sensor.stat().st_mode)}"
        assert not Path(f"{on_sensor}.vpc-mirror.tmp").exists()
    everything = "\n".join([*logged, status.output])
    assert sensor_host.sudo_password not in everything
    systemctl = sensor_host.exec("cat", "/run/systemctl-standin.log").stdout
    assert "enable vpc-mirror-capture.service zeek.service" in systemctl


async def test_a_command_reads_its_input_and_never_the_password_when_sudo_does_not_ask(sensor_host):
    asked: list[str] = []
    sensor = await sensor_host.trusted(sensor_host.ticket_user, ask_password=ask_once(sensor_host, asked))
    try:
        # the check at connect time made the (global) ticket: these sudos do not ask, and must not be answered
        for text in ("line-0\n", ""):
            result = await asyncio.wait_for(sensor.run(["cat"], root=True, input=text), TIMEOUT)
            assert (result.stdout, result.stderr) == (text, "")
        who = await asyncio.wait_for(sensor.run(["id", "-u"], root=True), TIMEOUT)
        assert who.stdout.strip() == "0" and who.stderr == ""
    finally:
        sensor.close()
    assert len(asked) == 1


async def test_a_password_refused_later_is_not_sent_twice(sensor_host):
    """The password stops working after connecting (changed on the sensor): sudo asks again, it is not answered
    twice, the command never runs and sudo's own words say why."""
    sensor = await sensor_host.trusted(sensor_host.password_user, ask_password=ask_once(sensor_host, []))
    try:
        sensor._password = "not the password"  # as if it were changed on the sensor since
        result = await asyncio.wait_for(sensor.run(["cat"], root=True, input="data\n", check=False), TIMEOUT)
        assert result.exit_status != 0 and result.stdout == ""
        assert "incorrect password" in result.stderr
    finally:
        sensor.close()


async def test_a_write_cut_half_way_leaves_the_old_file_in_place(sensor_host, monkeypatch):
    target = sensor_host.dir / "cut" / "node.cfg"
    target.parent.mkdir()
    target.write_text("[zeek]\ninterface=eth0\n")
    sensor = await sensor_host.trusted()
    try:
        real_run = sensor.run

        async def cut_half_way(argv, *, input=None, **kwargs):
            """The channel delivers the first half of the text, then closes, as a dying connection does."""
            return await real_run(argv, input=input[: len(input) // 2], **kwargs)

        new = "".join(f"line-{n}\n" for n in range(20000))
        size = len(new.encode())
        monkeypatch.setattr(sensor, "run", cut_half_way)
        with pytest.raises(ConnectionDropped, match=f"writing {target} .* was cut short .{size // 2} of {size} bytes"):
            await asyncio.wait_for(sensor.write_file(str(target), new), TIMEOUT)
        assert target.read_text() == "[zeek]\ninterface=eth0\n"
        assert sorted(p.name for p in target.parent.iterdir()) == ["node.cfg", "node.cfg.vpc-mirror.bak"]
        monkeypatch.setattr(sensor, "run", real_run)
        await asyncio.wait_for(sensor.write_file(str(target), new, 0o600), TIMEOUT)
        assert target.read_text() == new and stat.S_IMODE(target.stat().st_mode) == 0o600
    finally:
        sensor.close()


async def test_missing_or_unusable_key_file_is_named_not_blamed_on_the_network(sensor_host, tmp_path):
    missing = tmp_path / "no-such-key"
    not_a_key = tmp_path / "id_ed25519.pub"
    not_a_key.write_text("ssh-ed25519 AAAA... me@laptop\n")
    policy = HostKeyPolicy(accept=sensor_host.host_key_fingerprints[0])
    for identity, says in ((missing, f"the SSH key file {missing} does not exist"),
                           (not_a_key, f"cannot use the SSH key file {not_a_key} (Invalid private key)")):
        target = SshTarget(host=sensor_host.address, user=sensor_host.sudo_user, identity=identity,
                           known_hosts=tmp_path / "kh", ssh_config=[])
        with pytest.raises(BadKeyFile) as err:
            await asyncio.wait_for(connect(target, policy), TIMEOUT)
        assert str(err.value).startswith(says) and "security group" not in str(err.value)


def test_headless_zeek_with_a_missing_key_file_names_it_and_exits_2(sensor_host, tmp_path, capsys):
    from vpc_mirror.tui.cli import main

    missing = tmp_path / "no-such-key"
    code = main(["--state-dir", str(tmp_path / "state"), "zeek", "--host", sensor_host.address,
                 "--user", sensor_host.sudo_user, "--identity", str(missing), "--known-hosts", str(tmp_path / "kh"),
                 "--accept-host-key", sensor_host.host_key_fingerprints[0], "--interface", "ens6", "--yes"])
    err = capsys.readouterr().err
    assert code == 2 and f"the SSH key file {missing} does not exist" in err and "cannot reach" not in err

