"""`vpc-mirror ship` end to end with real parts: two sshd namespaces (sensor, hunter), real rsync and rrsync.

Rotated logs are placed in the sensor's Zeek archive; the command prepares
both hosts; the installed cron line is run as its user; what arrives on the
hunter is checked against zeek_log_transport's layout. Only syslog is a
stand-in (the sensor's /usr/local/bin/logger writes to a file), as the test
machine has none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from pathlib import Path

import pytest
from crond import cron_job
from shiphosts import SHIP_USER, ShipHosts, put
from vpc_mirror.steps import ship
from vpc_mirror.steps import ship_scripts as scripts
from vpc_mirror.steps.ssh import HostKeyPolicy, SshTarget, connect
from vpc_mirror.tui.cli import main

pytestmark = pytest.mark.root
DEST = "/opt/zeek/remotelogs"
TIMEOUT = 60
ARCHIVE = "/opt/zeek/logs"
SYSLOG = "/var/lib/vpc-mirror-test-syslog"


def run_ship(hosts: ShipHosts, state_dir: Path, capsys, *extra: str) -> tuple[int, str]:
    """`vpc-mirror ship --host SENSOR --to HUNTER …` as a user types it; (exit code, what it printed)."""
    sensor, hunter = hosts.sensor, hosts.hunter
    code = main([
        "ship", "--host", sensor.address, "--user", sensor.sudo_user, "--identity", str(sensor.client_key),
        "--accept-host-key", sensor.host_key_fingerprints[0], "--to", hunter.address, "--yes",
        "--state-dir", str(state_dir), *extra])
    captured = capsys.readouterr()
    return int(code), captured.out + captured.err


def with_hunter_admin(hosts: ShipHosts, fingerprint: str | None = None) -> list[str]:
    hunter = hosts.hunter
    return ["--hunter-user", hunter.sudo_user, "--hunter-identity", str(hunter.client_key),
            "--accept-hunter-key", fingerprint or hunter.host_key_fingerprints[0]]


def rotated(hosts: ShipHosts, day: dt.date, name: str, age_days: float = 0) -> str:
    """A rotated log in the sensor's archive, ``age_days`` old; its name relative to the archive."""
    relative = f"{day.isoformat()}/{name}"
    put(hosts.sensor, f"{ARCHIVE}/{relative}", b"\x1f\x8b" + name.encode(),
        mtime=dt.datetime.now().timestamp() - age_days * 86400)
    return relative


def tree(root: Path) -> dict[str, int]:
    """Every file under root (relative name -> inode): a re-sent file gets a new inode (--delay-updates)."""
    return {str(p.relative_to(root)): p.stat().st_ino for p in sorted(root.rglob("*")) if p.is_file()}


def sensor_syslog_standin(hosts: ShipHosts) -> None:
    put(hosts.sensor, "/usr/local/bin/logger", f"#!/bin/sh\ncat >> {SYSLOG}\n".encode(), 0o755)
    put(hosts.sensor, SYSLOG, b"", 0o666)


def stat(hosts: ShipHosts, path: str) -> str:
    """Owner and mode of a path on the hunter, as ``stat -c '%U %a'`` says."""
    return hosts.hunter.exec("stat", "-c", "%U %a", path).stdout.strip()


def hunter_recorded(hosts: ShipHosts, state_dir: Path) -> bool:
    known_hosts = state_dir / "known_hosts"
    return known_hosts.exists() and hosts.hunter.address in known_hosts.read_text()


def expected_sensor_id(hosts: ShipHosts) -> str:
    """zeek_log_transport's formula; the sensor namespace has no default route, so its SSH address counts."""
    keep = lambda text: "".join(c for c in text if c.isalnum() or c in "_^+=")
    return f"{keep(socket.gethostname().split('.')[0])}__{keep(hosts.sensor.address)}"[:52]


async def test_ship_end_to_end_layout_cron_line_idempotence_and_a_key_that_only_rsyncs(ship_hosts, state_dir, capsys):
    hosts = ship_hosts
    today = dt.date.today()
    sent_now = [rotated(hosts, today, "conn.00:00:00-01:00:00.log.gz"),
                rotated(hosts, today, "dns.00:00:00-01:00:00.log.gz"),
                rotated(hosts, today - dt.timedelta(days=1), "ssl.13:00:00-14:00:00.log.gz", age_days=1)]
    too_old = rotated(hosts, today - dt.timedelta(days=5), "conn.10:00:00-11:00:00.log.gz", age_days=5)
    not_a_type = rotated(hosts, today, "weird.00:00:00-01:00:00.log.gz")
    put(hosts.sensor, f"{ARCHIVE}/current/conn.log", b"# live log, not rotated yet\n")
    sensor_syslog_standin(hosts)

    code, out = await asyncio.to_thread(run_ship, hosts, state_dir, capsys, *with_hunter_admin(hosts))
    assert code == 0, out
    sid = expected_sensor_id(hosts)
    landed = hosts.hunter.upper(f"{DEST}/{sid}")
    names = set(sent_now)
    assert set(tree(landed)) == names, out
    for name in names:
        assert f"  {name}" in out  # the listing of what arrived
        assert (landed / name).stat().st_mode & 0o004  # --chmod=Fo+r: RITA's reader can open it
    assert too_old not in tree(landed) and not_a_type not in tree(landed)
    assert "+5 * * * * vpc-mirror-ship /usr/local/bin/vpc-mirror-ship" in out  # the cron.d diff was shown first
    # the key only works from the sensor's address, and rrsync accepted it from there (the files above arrived)
    (authorized,) = hosts.hunter.upper(f"/home/{SHIP_USER}/.ssh/authorized_keys").read_text().splitlines()
    assert authorized.startswith('restrict,from="') and '-wo -no-del /opt/zeek/remotelogs"' in authorized
    assert stat(hosts, f"/home/{SHIP_USER}/.ssh") == "root 755"

    # the cron entry as installed, run as its user with cron's bare environment, ships a new hour's log
    cron_text = hosts.sensor.upper(scripts.CRON_FILE).read_text()
    assert cron_text.splitlines()[3].startswith("5 * * * * ")
    env, user, command = cron_job(cron_text)
    assert user == scripts.SENSOR_USER != "root"
    newer = rotated(hosts, today, "http.01:00:00-02:00:00.log.gz")

    def cron_run() -> None:
        cron_env = {"SHELL": "/bin/sh", "PATH": "/usr/bin:/bin", "HOME": scripts.SENSOR_HOME, "LOGNAME": user, **env}
        hosts.sensor.exec("runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in cron_env.items()),
                          cron_env["SHELL"], "-c", command, timeout=TIMEOUT)

    before = tree(landed)
    cron_run()
    after = tree(landed)
    assert set(after) == set(before) | {newer}
    assert all(after[name] == inode for name, inode in before.items())  # nothing re-sent
    assert f"vpc-mirror-ship: sent to {SHIP_USER}@{hosts.hunter.address}" in hosts.sensor.upper(SYSLOG).read_text()
    cron_run()
    assert tree(landed) == after  # a second run copies nothing

    # a second `ship` shows no diff and changes nothing on either host
    watched = [hosts.sensor.upper(scripts.CRON_FILE), hosts.sensor.upper(scripts.TRANSPORT),
               hosts.hunter.upper(f"/home/{SHIP_USER}/.ssh/authorized_keys")]
    stamps = [(p.stat().st_ino, p.stat().st_mtime_ns) for p in watched]
    code, out = await asyncio.to_thread(run_ship, hosts, state_dir, capsys, "--hunter-user", hosts.hunter.sudo_user, "--hunter-identity",
                         str(hosts.hunter.client_key))
    assert code == 0, out
    assert "Nothing to change: shipping is already set up." in out
    assert "+++" not in out and "run on the" not in out
    assert [(p.stat().st_ino, p.stat().st_mtime_ns) for p in watched] == stamps
    assert tree(landed) == after

    # the shipping key, from the sensor, cannot run a command or read anything, nor write outside DEST
    ssh = ["runuser", "-u", user, "--", "ssh", "-i", scripts.KEY, "-o", "BatchMode=yes",
           "-o", f"UserKnownHostsFile={scripts.KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
           f"{SHIP_USER}@{hosts.hunter.address}"]
    shell = hosts.sensor.exec(*ssh, "echo PWNED; id", check=False, timeout=TIMEOUT)
    assert "rrsync error" in shell.stderr and "PWNED" not in shell.stdout and "uid=" not in shell.stdout, shell
    tty = hosts.sensor.exec(*ssh[:-1], "-tt", ssh[-1], check=False, timeout=TIMEOUT)
    assert tty.returncode != 0 and "PTY allocation request failed" in tty.stderr, tty
    rsync_e = f"ssh -i {scripts.KEY} -o BatchMode=yes -o UserKnownHostsFile={scripts.KNOWN_HOSTS}"
    read = hosts.sensor.exec("runuser", "-u", user, "--", "rsync", "-e", rsync_e,
                             f"{SHIP_USER}@{hosts.hunter.address}:{sid}/", "/tmp/", check=False, timeout=TIMEOUT)
    assert read.returncode != 0 and "reading from write-only server is not allowed" in read.stderr, read
    escape = hosts.sensor.exec("runuser", "-u", user, "--", "rsync", "-e", rsync_e, scripts.TRANSPORT,
                               f"{SHIP_USER}@{hosts.hunter.address}:../../../etc/", check=False, timeout=TIMEOUT)
    assert escape.returncode != 0 and "rrsync error" in escape.stderr and not hosts.hunter.upper("/etc/vpc-mirror-ship").exists(), escape

    # teardown's part on the sensor: the cron entry, the transport, the user and its key are gone
    sensor = await asyncio.wait_for(connect(
        SshTarget(host=hosts.sensor.address, user=hosts.sensor.sudo_user, identity=hosts.sensor.client_key,
                  known_hosts=state_dir / "known_hosts", ssh_config=[]), HostKeyPolicy()), TIMEOUT)
    try:
        removed = await ship.remove(sensor)
    finally:
        sensor.close()
    assert removed[:2] == [scripts.CRON_FILE, scripts.TRANSPORT]
    assert not hosts.sensor.upper(scripts.CRON_FILE).exists()
    assert hosts.sensor.exec("id", "-u", scripts.SENSOR_USER, check=False).returncode != 0
    assert not hosts.sensor.upper(scripts.KEY).exists()


def test_wrong_hunter_host_key_is_refused_with_nothing_changed(ship_hosts, state_dir, capsys):
    hosts = ship_hosts
    wrong = hosts.sensor.host_key_fingerprints[0]  # a real key, just not the hunter's
    code, out = run_ship(hosts, state_dir, capsys, *with_hunter_admin(hosts, wrong))
    assert code == 2, out
    assert f"not {wrong} given with --accept-hunter-key" in out and "Nothing was changed" in out
    assert not hosts.sensor.upper(scripts.CRON_FILE).exists()
    assert hosts.sensor.exec("id", "-u", scripts.SENSOR_USER, check=False).returncode != 0
    assert hosts.hunter.exec("id", "-u", SHIP_USER, check=False).returncode != 0
    assert hosts.hunter.address not in (state_dir / "known_hosts").read_text()


def test_dry_run_without_hunter_login_shows_every_file_and_what_the_admin_runs(ship_hosts, state_dir, capsys):
    hosts = ship_hosts
    code, out = run_ship(hosts, state_dir, capsys, "--accept-hunter-key", hosts.hunter.host_key_fingerprints[0],
                         "--dry-run", "--rita")
    assert code == 0, out
    for path in (scripts.TRANSPORT, scripts.CRON_FILE, scripts.KNOWN_HOSTS):
        assert f"+++ b{path}" in out
    assert "rsync -avR --files-from=- --delay-updates --chmod=Do+rx,Fo+r" in out
    assert f"useradd --create-home --shell /bin/sh --password '*' {SHIP_USER}" in out
    assert 'restrict,from="' in out and '",command="/usr/bin/rrsync -wo -no-del /opt/zeek/remotelogs"' in out
    assert '"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8"' in out
    assert "rita import --rolling -d" in out
    assert "Dry run: nothing was changed." in out
    assert not hosts.sensor.upper(scripts.CRON_FILE).exists()
    assert not hunter_recorded(hosts, state_dir)  # the hunter's key is recorded only when applying
    assert hosts.sensor.exec("id", "-u", scripts.SENSOR_USER, check=False).returncode != 0


def test_without_a_hunter_login_the_printed_admin_commands_are_all_the_hunter_needs(ship_hosts, state_dir, capsys):
    hosts = ship_hosts
    log = rotated(hosts, dt.date.today(), "conn.02:00:00-03:00:00.log.gz")
    code, out = run_ship(hosts, state_dir, capsys, "--accept-hunter-key", hosts.hunter.host_key_fingerprints[0])
    assert code == 0, out
    assert "running the transport" not in out  # it could only fail before the admin has run the commands
    admin = out.split("as root on", 1)[1].split("\n", 1)[1].split("Then run this command again")[0]
    hosts.hunter.exec("sh", "-c", admin)

    code, out = run_ship(hosts, state_dir, capsys)
    assert code == 0, out
    assert f"Sent to {hosts.hunter.address}:{DEST}/{expected_sensor_id(hosts)}/: 1" in out and f"  {log}" in out
    assert hosts.hunter.upper(f"{DEST}/{expected_sensor_id(hosts)}/{log}").exists()


def test_an_existing_ship_user_gets_a_root_owned_ssh_and_dest_may_not_overlap_its_home(ship_hosts, state_dir, capsys):
    hosts = ship_hosts
    home = "/var/lib/dataimport"
    hosts.hunter.exec("useradd", "--create-home", "--home-dir", home, "--shell", "/bin/sh", "--password", "*", SHIP_USER)
    mine = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOfTheUsersOwn0000000000000000000 me@laptop"
    put(hosts.hunter, f"{home}/.ssh/authorized_keys", f"{mine}\n".encode(), 0o600)
    hosts.hunter.exec("chown", "-R", f"{SHIP_USER}:", f"{home}/.ssh")
    hosts.hunter.exec("chmod", "0700", f"{home}/.ssh")

    code, out = run_ship(hosts, state_dir, capsys, *with_hunter_admin(hosts), "--dest-dir", f"{home}/logs")
    assert code == 2 and f"overlaps {SHIP_USER}'s home {home}" in out and "Nothing was changed" in out, out
    assert not hosts.sensor.upper(scripts.CRON_FILE).exists() and not hunter_recorded(hosts, state_dir)

    code, out = run_ship(hosts, state_dir, capsys, *with_hunter_admin(hosts), "--dry-run")
    assert code == 0, out
    assert f"run on the hunter: chown root: {home}/.ssh && chmod 0755 {home}/.ssh" in out
    assert f"chown root: {home}/.ssh/authorized_keys && chmod 0644 {home}/.ssh/authorized_keys" in out
    assert stat(hosts, f"{home}/.ssh") == f"{SHIP_USER} 700" and not hunter_recorded(hosts, state_dir)

    log = rotated(hosts, dt.date.today(), "conn.03:00:00-04:00:00.log.gz")
    code, out = run_ship(hosts, state_dir, capsys, *with_hunter_admin(hosts))
    assert code == 0, out
    assert stat(hosts, f"{home}/.ssh") == "root 755" and stat(hosts, f"{home}/.ssh/authorized_keys") == "root 644"
    lines = hosts.hunter.upper(f"{home}/.ssh/authorized_keys").read_text().splitlines()
    assert lines[0] == mine and lines[1].startswith('restrict,from="')
    assert hosts.hunter.upper(f"{DEST}/{expected_sensor_id(hosts)}/{log}").exists()
    assert hunter_recorded(hosts, state_dir)
