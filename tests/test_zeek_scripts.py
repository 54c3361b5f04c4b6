"""The text put on the sensor: install scripts per OS (golden + shellcheck), units, cron, local.zeek."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vpc_mirror.steps import zeek_scripts as scripts
from vpc_mirror.steps.ssh import console_fingerprints

from tests.testdata import ZEEKCTL

GOLDEN = Path(__file__).parent / "golden" / "zeek"
#: Set VPC_MIRROR_UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
UPDATE = os.environ.get("VPC_MIRROR_UPDATE_GOLDEN") == "1"

SUPPORTED = [
    ("debian", "11", "Debian GNU/Linux 11 (bullseye)"), ("debian", "12", "Debian GNU/Linux 12 (bookworm)"),
    ("debian", "13", "Debian GNU/Linux 13 (trixie)"), ("ubuntu", "20.04", "Ubuntu 20.04.6 LTS"),
    ("ubuntu", "22.04", "Ubuntu 22.04.5 LTS"), ("ubuntu", "24.04", "Ubuntu 24.04.2 LTS"),
    ("fedora", "42", "Fedora Linux 42 (Server Edition)"), ("rhel", "9.5", "Red Hat Enterprise Linux 9.5 (Plow)"),
    ("rocky", "9.5", "Rocky Linux 9.5 (Blue Onyx)"), ("almalinux", "9.5", "AlmaLinux 9.5 (Teal Serval)"),
]


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with VPC_MIRROR_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


def _shellcheck(text: str, tmp_path: Path) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (CI installs it)")
    script = tmp_path / "script.sh"
    script.write_text(text)
    result = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("os_id,version,pretty", SUPPORTED)
def test_install_script_per_os_matches_golden_and_passes_shellcheck(os_id, version, pretty, tmp_path):
    os_release = scripts.OsRelease(os_id, version, pretty=pretty)
    text = scripts.install_script(os_release, "zeek-8.0")
    _golden(f"install-{os_id}-{version}.sh", text)
    _shellcheck(text, tmp_path)


def test_apt_install_is_non_interactive_signed_and_without_recommends():
    text = scripts.install_script(scripts.OsRelease("ubuntu", "24.04"), "zeek-8.0")
    assert "DEBIAN_FRONTEND=noninteractive" in text
    assert "[signed-by=/usr/share/keyrings/security-zeek.gpg]" in text
    assert "security:/zeek/xUbuntu_24.04" in text
    assert "--no-install-recommends zeek-8.0 tcpdump ethtool" in text


def test_capture_script_matches_golden_and_passes_shellcheck(tmp_path):
    text = scripts.capture_script("ens6")
    _golden("capture-up.sh", text)
    _shellcheck(text, tmp_path)


def test_profile_snippet_quotes_a_prefix_with_spaces(tmp_path):
    text = scripts.profile_path("/srv/zeek install")
    _shellcheck(text, tmp_path)
    shown = subprocess.run(["sh", "-c", f"PATH=/usr/bin; . {tmp_path / 'script.sh'}; . {tmp_path / 'script.sh'}; "
                            'printf %s "$PATH"'], capture_output=True, text=True, timeout=10)
    assert shown.stdout == "/usr/bin:/srv/zeek install/bin"  # added once, even when sourced twice


@pytest.mark.parametrize("os_id,version,hint", [
    ("amzn", "2023", "Amazon Linux 2023"), ("opensuse-leap", "15.6", "openSUSE Leap 15.6"),
    ("ubuntu", "18.04", "Ubuntu 18.04"),
])
def test_unsupported_os_is_refused_with_what_works_instead(os_id, version, hint):
    with pytest.raises(scripts.UnsupportedOs) as err:
        scripts.install_script(scripts.OsRelease(os_id, version, pretty=hint), "zeek-8.0")
    assert hint in str(err.value) and "Ubuntu 20.04/22.04/24.04" in str(err.value)
    assert "--zeek-prefix" in str(err.value)


def test_os_release_parsing():
    text = 'PRETTY_NAME="Ubuntu 24.04.2 LTS"\nNAME="Ubuntu"\nVERSION_ID="24.04"\nID=ubuntu\nID_LIKE=debian\n'
    parsed = scripts.OsRelease.parse(text)
    assert (parsed.id, parsed.version_id, parsed.like, parsed.pretty) == ("ubuntu", "24.04", ("debian",),
                                                                           "Ubuntu 24.04.2 LTS")


@pytest.mark.parametrize("prefix", ["/opt/zeek", "/srv/zeek install", "/srv/zeek %n $HOME"])  # % is no specifier here
def test_units_pass_systemd_analyze_verify(prefix, tmp_path):
    """Every Exec line is kept (none dropped for its quoting) and names the zeekctl that exists there."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    bin_dir = Path(f"{tmp_path}{prefix}/bin")
    bin_dir.mkdir(parents=True)
    shutil.copy(Path(__file__).parent / "zeekctl_standin" / "zeekctl", bin_dir / "zeekctl")
    capture_script = tmp_path / "capture-up"
    capture_script.write_text(scripts.capture_script("ens6"))
    capture_script.chmod(0o755)
    capture = tmp_path / "vpc-mirror-capture.service"
    capture.write_text(scripts.capture_unit("ens6").replace(scripts.CAPTURE_SCRIPT, str(capture_script)))
    zeek = tmp_path / "zeek.service"
    zeek.write_text(scripts.zeek_unit(f"{tmp_path}{prefix}"))
    result = subprocess.run(["systemd-analyze", "verify", str(capture), str(zeek)], capture_output=True,
                            text=True, timeout=60)
    problems = [line for line in result.stderr.splitlines()
                if str(tmp_path) in line or "zeek.service" in line or "vpc-mirror-capture" in line]
    assert not problems, result.stderr


@pytest.mark.parametrize("prefix", ["/srv/zee'k", '/srv/"zeek"', "/srv/zeek\\x", "/srv/zeek\x01"])
def test_a_path_systemd_refuses_is_refused_not_written_into_a_unit_that_would_do_nothing(prefix):
    with pytest.raises(ValueError, match="which systemd refuses in the path of a program it runs"):
        scripts.zeek_unit(prefix)


def test_zeek_unit_runs_the_runbook_sequence():
    unit = scripts.zeek_unit("/opt/zeek")
    order = [line.split("=", 1)[1] for line in unit.splitlines() if line.startswith(("ExecStart", "ExecStop"))]
    assert order == ["/opt/zeek/bin/zeekctl check", "/opt/zeek/bin/zeekctl install",
                     "/opt/zeek/bin/zeekctl cron enable", "/opt/zeek/bin/zeekctl start",
                     "/opt/zeek/bin/zeekctl stop", "/opt/zeek/bin/zeekctl cron disable"]


def test_rotation_is_set_back_to_zeekctls_hourly_default():
    shipped = (ZEEKCTL / "zeekctl.cfg.in").read_text()
    off = shipped.replace("LogRotationInterval = 3600", "LogRotationInterval = 0")
    assert off != shipped and scripts.rotate_hourly(off) == shipped
    assert scripts.rotate_hourly("MailTo = root@localhost") == (
        "MailTo = root@localhost\n# Set by vpc-mirror: hourly rotation into dated folders (RITA reads them).\n"
        "LogRotationInterval = 3600\n")


def test_cron_without_systemd_also_brings_everything_back_at_boot():
    assert "@reboot" not in scripts.cron_file("/opt/zeek", systemd=True)
    assert "@reboot root /usr/local/sbin/vpc-mirror-capture-up && /opt/zeek/bin/zeekctl deploy" in \
        scripts.cron_file("/opt/zeek", systemd=False)


def test_node_cfg_standalone_and_cluster():
    assert "type=standalone\nhost=localhost\ninterface=ens6\n" in scripts.node_cfg("ens6", 1)
    cluster = scripts.node_cfg("ens6", 4)
    assert "interface=af_packet::ens6" in cluster and "lb_procs=4" in cluster and "[manager]" in cluster


@pytest.mark.parametrize("current,expected_tail", [
    ("@load misc/stats\n", "@load policy/protocols/conn/mac-logging\n"),
    ("@load misc/stats\n# @load policy/protocols/conn/mac-logging\n", "@load policy/protocols/conn/mac-logging\n"),
])
def test_local_zeek_enables_mac_logging_once(current, expected_tail):
    once = scripts.local_zeek(current)
    assert once.endswith(expected_tail)
    assert scripts.local_zeek(once) == once
    assert once.count("@load policy/protocols/conn/mac-logging") == 1


def test_console_fingerprints_from_cloud_init_block():
    console = ("[   12.3] cloud-init[812]: ci-info: something\n"
               "ec2: #############################################################\n"
               "ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
               f"ec2: 256 SHA256:{'A' * 43} root@ip-10-0-1-5 (ECDSA)\n"
               f"ec2: 256 SHA256:{'b' * 43} root@ip-10-0-1-5 (ED25519)\n"
               "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n"
               f"256 SHA256:{'c' * 43} not inside the block (RSA)\n")
    assert console_fingerprints(console) == [f"SHA256:{'A' * 43}", f"SHA256:{'b' * 43}"]
