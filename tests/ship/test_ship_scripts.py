"""The text `vpc-mirror ship` writes: the transport (shellcheck), cron.d, authorized_keys, RITA's snippet and cron."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from crond import cron_job
from vpc_mirror.steps import ship_scripts as scripts
from vpc_mirror.steps.ship import (
    ShipPlan,
    ShipRefused,
    checked_public_key,
    overlaps_home,
)

TRANSPORT = scripts.Transport(log_dir="/opt/zeek dir/logs", hunter="hunter.example.org", port=2222,
                              ship_user="dataimport", sensor_id="ip1720315__1720315")
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx2JpbWwS1rI+CkIJ0p8j5oN9pY3pX6a0l9l8qFJ6dz vpc-mirror-ship@x"


def _shellcheck(text: str, tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (CI installs it)")
    script = tmp_path / "script.sh"
    script.write_text(text)
    result = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 0, result.stdout


def test_transport_passes_shellcheck_and_quotes_a_log_dir_with_a_space(tmp_path):
    text = scripts.transport_script(TRANSPORT)
    _shellcheck(text, tmp_path)
    assert "log_dir='/opt/zeek dir/logs'" in text
    assert "-p 2222" in text and "StrictHostKeyChecking=yes" in text and "StrictHostKeyChecking=no" not in text


def test_transport_keeps_zeek_log_transports_shape():
    text = scripts.transport_script(TRANSPORT)
    assert "find . -type f -mtime -3 -name '*.gz'" in text
    assert "'(conn|dns|http|ssl|x509|known_certs|capture_loss|notice|stats)'" in text
    assert "flock -xn /var/lib/vpc-mirror-ship/transport.lock timeout --kill-after=60 7080 ionice -c3 nice -n19" in text
    assert "rsync -avR --files-from=- --delay-updates --chmod=Do+rx,Fo+r" in text
    assert '"$target:$sensor_id/"' in text


def test_hunter_account_script_passes_shellcheck(tmp_path):
    _shellcheck("#!/bin/sh\n" + scripts.hunter_account_script("dataimport", "/srv/zeek logs"), tmp_path)


def test_cron_file_runs_hourly_at_five_past_as_the_ship_user_not_root():
    env, user, command = cron_job(scripts.cron_file("hunter.example.org"))
    assert (user, command.split()[0]) == (scripts.SENSOR_USER, scripts.TRANSPORT)
    assert scripts.cron_file("h").splitlines()[3].startswith("5 * * * * ")
    assert env["PATH"].startswith("/usr/local/bin:")


def test_authorized_key_allows_only_write_only_rsync_into_dest():
    line = scripts.authorized_key(KEY, "/usr/bin/rrsync", "/srv/zeek logs")
    assert line == ("restrict,command=\"/usr/bin/rrsync -wo -no-del '/srv/zeek logs'\" ssh-ed25519 "
                    "AAAAC3NzaC1lZDI1NTE5AAAAIKx2JpbWwS1rI+CkIJ0p8j5oN9pY3pX6a0l9l8qFJ6dz vpc-mirror-ship\n")


def test_authorized_key_is_only_good_from_the_sensors_address():
    line = scripts.authorized_key(KEY, "/usr/bin/rrsync", "/opt/zeek/remotelogs", "10.0.3.7")
    assert line.startswith('restrict,from="10.0.3.7",command="/usr/bin/rrsync -wo -no-del /opt/zeek/remotelogs" ')
    assert scripts.authorized_keys(None, line) == line


def test_the_key_read_back_from_the_sensor_must_be_one_ed25519_key():
    assert checked_public_key(KEY + "\n") == " ".join(KEY.split()[:2])
    rsa = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDMBJqMgf1K2ou6IcmvORoWbsVIu3ekUJv2xd1w4P9b4dypAMSmhjTWFwUmRm1d"
           "cJoJRsx9c3EmL3lsgg5+Ej2Gu4BKcmOGvcs5ZN2NcRBpJ4Pa/QsYTY0nRJqlW5IPQUgFt8WHqoRG3v6m0oB37Dmc4uzfEuVmwaoH"
           "bEuuLZnNjw==")
    for bad in (rsa, f'command="sh" {KEY}', f"{KEY}\n{KEY}", "ssh-ed25519 not-base64", "garbage\n"):
        with pytest.raises(ShipRefused, match="not one ed25519 public key"):
            checked_public_key(bad)


@pytest.mark.parametrize("dest", ["/home/dataimport", "/home/dataimport/", "/home/dataimport/logs"])
def test_a_destination_in_the_ship_users_usual_home_is_refused(dest):
    with pytest.raises(ValueError, match="overlaps dataimport's home"):
        ShipPlan(hunter="hunter.example.org", dest_dir=dest)


def test_overlapping_homes():
    assert overlaps_home("/srv/logs", "/srv/logs/") and overlaps_home("/srv", "/srv/logs/dataimport")
    assert overlaps_home("/srv/logs/x", "/srv/logs")
    assert not overlaps_home("/srv/logs2", "/srv/logs") and not overlaps_home("/opt/zeek/remotelogs", "/home/d")


def test_authorized_keys_replaces_an_older_line_for_the_same_key_and_keeps_the_others():
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOther admin@laptop"
    stale = scripts.authorized_key(KEY, "/usr/bin/rrsync", "/old/dest")
    fresh = scripts.authorized_key(KEY, "/usr/bin/rrsync", "/opt/zeek/remotelogs")
    assert scripts.authorized_keys(f"{stale}{other}", fresh) == f"{other}\n{fresh}"
    assert scripts.authorized_keys(f"{other}\n{fresh}", fresh) == f"{other}\n{fresh}"
    assert scripts.authorized_keys(None, fresh) == fresh


def test_rita_config_adds_the_vpcs_ipv4_and_ipv6_blocks_to_ritas_defaults():
    text = scripts.rita_config(["10.0.0.0/16", "2600:1f18:abc:de00::/56"])
    assert ('internal_subnets: ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8", "10.0.0.0/16", '
            '"2600:1f18:abc:de00::/56"]') in text


def test_rita_cron_imports_the_sensors_folder_into_a_valid_database_name():
    _, user, command = cron_job(scripts.rita_cron("Sensor-1__10005", "/opt/zeek/remotelogs"))
    assert user == "root"
    assert "rita import --rolling -d sensor_1__10005 -l /opt/zeek/remotelogs/Sensor-1__10005" in command
    assert scripts.rita_database("10005__x") == "sensor_10005__x"
    assert "." not in scripts.rita_cron_path("a.b__1").removeprefix("/etc/cron.d/")


@pytest.mark.parametrize("dest", ["/", "/etc", "relative/dir", "/opt/../etc", "/srv/$(reboot)"])
def test_destination_directories_that_would_be_unsafe_are_refused(dest):
    with pytest.raises(ValueError):
        ShipPlan(hunter="hunter.example.org", dest_dir=dest)


def test_a_hunter_that_is_not_a_host_name_is_refused():
    with pytest.raises(ValueError, match="not a host name"):
        ShipPlan(hunter="-oProxyCommand=x")
