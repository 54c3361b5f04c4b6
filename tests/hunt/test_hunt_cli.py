"""`vpc-mirror hunt`: local logs, a sensor over SSH (a real sshd), a saved setup's VPC ranges; every bad input."""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
from pathlib import Path

import pytest
from vpc_mirror.tui import hunt_cli
from vpc_mirror.tui.cli import main

from tests.hunt.zeekfmt import Traffic, tsv, write

T0 = 1_699_999_200  # 2023-11-14T22:00:00Z: in the past, so the files' mtimes come after their rows
DAY = 86400
SOURCE, SERVER = "10.0.1.5", "93.184.216.34"
STANDIN = Path(__file__).resolve().parent.parent / "zeekctl_standin"


def hunt(capsys, *argv: str, state_dir: Path | None = None) -> tuple[int, str, str]:
    """`vpc-mirror hunt ARGV` as a user runs it: (exit code, standard output, standard error)."""
    code = main(["hunt", *argv, *(["--state-dir", str(state_dir)] if state_dir else [])])
    out = capsys.readouterr()
    return code, out.out, out.err


def zeek_logs(folder: Path, hours: int = 3, beacon_to: str = SERVER, source: str = SOURCE) -> Path:
    """zeekctl's layout: dated archives of hourly .gz logs and current/ (a symlink into the spool) for the
    live hour, each file's mtime the end of its hour; a beacon every 60 s with SNI, and random browsing."""
    spool = folder.parent / "spool" / "zeek"
    for h in range(hours):
        start = T0 + h * 3600
        traffic = Traffic(random.Random(h))  # uids differ from hour to hour
        traffic.add(source, beacon_to, range(start, start + 3600, 60), server_name="c2.example.net")
        traffic.add(source, "198.51.100.9", [start + 7 * k * k % 3600 for k in range(20)], size=900)
        live = h == hours - 1
        stamp = f"{h:02d}:00:00-{h + 1:02d}:00:00"
        for kind, rows in (("conn", traffic.conns), ("ssl", traffic.ssl)):
            path = spool / f"{kind}.log" if live else folder / "2023-11-14" / f"{kind}.{stamp}.log.gz"
            write(path, tsv(kind, rows, close=not live))
            os.utime(path, (start + 3600, start + 3600))
    (folder / "current").symlink_to(spool, target_is_directory=True)
    return folder


def test_local_logs_as_json(tmp_path, capsys):
    logs = zeek_logs(tmp_path / "logs")
    code, out, err = hunt(capsys, "--logs", str(logs), "--json", "--min-score", "0")
    assert code == 0, err
    doc = json.loads(out)
    beacon = doc["pairs"][0]
    assert (beacon["type"], beacon["src"], beacon["dst"]) == ("domain", SOURCE, "c2.example.net")
    assert beacon["severity"] in ("low", "medium", "high") and beacon["connections"] == 3 * 60
    assert set(beacon) == {"type", "src", "dst", "score", "severity", "timestamp_score", "datasize_score",
                           "histogram_score", "duration_score", "connections", "unique_seconds", "first_seen",
                           "last_seen"}
    assert doc["window"] == {"start": "2023-11-14T22:00:00Z", "end": "2023-11-15T00:59:00Z", "seconds": DAY}
    assert doc["read"]["records"] == 3 * (60 + 20 + 60) and doc["read"]["unreadable_lines"] == 0
    assert "10.0.0.0/8" in doc["internal_subnets"]
    assert err == ""


def test_local_logs_as_text_and_min_score(tmp_path, capsys):
    logs = zeek_logs(tmp_path / "logs")
    code, out, _ = hunt(capsys, "--logs", str(logs))
    assert code == 0
    assert "Window 2023-11-14T22:00:00Z to 2023-11-15T00:59:00Z" in out
    assert f"{SOURCE} -> c2.example.net (domain)" in out and "Read 6 file(s): 420 rows." in out
    code, out, _ = hunt(capsys, "--logs", str(logs), "--min-score", "1", "--json")
    assert code == 0 and all(p["score"] >= 1 for p in json.loads(out)["pairs"])


def test_unreadable_lines_are_reported_not_dropped(tmp_path, capsys):
    logs = zeek_logs(tmp_path / "logs")
    live = tmp_path / "spool" / "zeek" / "conn.log"
    with live.open("a") as handle:
        handle.write(f"{T0 + 7200.5:.6f}\tCbroken\t10.0.1.5")  # a half-written last line
    code, out, err = hunt(capsys, "--logs", str(logs), "--json")
    assert code == 0
    read = json.loads(out)["read"]
    assert read["unreadable_lines"] == 1
    assert read["problems"] == [{"file": str(logs / "current" / "conn.log"), "line": 89,
                                 "message": "has 3 of the 22 fields (an incomplete last line: the log is still "
                                            "being written?)"}]
    assert "incomplete: 1 line(s) and 0 file(s) could not be read" in err


def test_no_conn_row_is_a_failure(tmp_path, capsys):
    path = write(tmp_path / "conn.log", "#separator \\x09\n#path\tconn\n")
    code, _, err = hunt(capsys, "--logs", str(path))
    assert code == 1 and "no conn.log row could be read" in err


@pytest.mark.parametrize("argv, message", [
    ([], "give one of: a setup NAME, --host H, or --logs PATH..."),
    (["demo", "--logs", "x"], "(not NAME and --logs)"),
    (["--host", "h", "--logs", "x"], "(not --host and --logs)"),
    (["--logs", "x", "--window", "yesterday"], "--window 'yesterday' is not a duration"),
    (["--logs", "x", "--window", "0s"], "--window 0s is outside 1 s to 90 days"),
    (["--logs", "x", "--internal", "10.0.0.0/33"], "--internal '10.0.0.0/33' is not a CIDR block"),
    (["--logs", "x", "--min-score", "1.5"], "--min-score 1.5 is outside 0-1"),
    (["--logs", "/nonexistent/conn.log"], "--logs: /nonexistent/conn.log: no such file or folder"),
])
def test_bad_input_exits_2_with_a_message(capsys, argv, message):
    code, _, err = hunt(capsys, *argv)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("text, seconds", [("24h", DAY), ("90m", 5400), ("2d", 2 * DAY), ("3600s", 3600),
                                           ("600", 600), ("1.5h", 5400)])
def test_window_durations(text, seconds):
    assert hunt_cli.window_seconds(text) == seconds


def test_internal_adds_to_ritas_defaults(tmp_path, capsys):
    logs = zeek_logs(tmp_path / "logs", source="100.64.1.5")  # carrier-grade NAT space: not internal to RITA
    code, out, _ = hunt(capsys, "--logs", str(logs), "--json", "--min-score", "0")
    assert code == 0 and json.loads(out)["pairs"] == []
    code, out, _ = hunt(capsys, "--logs", str(logs), "--json", "--internal", "100.64.0.0/10")
    assert [p["src"] for p in json.loads(out)["pairs"]][:1] == ["100.64.1.5"]


def ssh_flags(host) -> list[str]:
    return ["--host", host.address, "--user", host.sudo_user, "--identity", str(host.client_key),
            "--known-hosts", str(host.dir / "known_hosts"), "--accept-host-key", host.host_key_fingerprints[0]]


def sensor_with_logs(host, hours: int = 30, **kwargs) -> Path:
    """The zeekctl stand-in under a prefix on the sensor, and a day and more of logs in PREFIX/logs."""
    prefix = host.dir / "zeek"
    (prefix / "bin").mkdir(parents=True)
    shutil.copy(STANDIN / "zeekctl", prefix / "bin")
    zeek_logs(prefix / "logs", hours=hours, **kwargs)
    return prefix


@pytest.mark.root
def test_reads_the_sensors_logs_over_ssh_only_those_in_the_window(sensor_host, capsys, state_dir):
    prefix = sensor_with_logs(sensor_host)
    locked = prefix / "logs" / "2023-11-14" / "ssl.28:00:00-29:00:00.log.gz"
    locked.chmod(0o600)  # root's alone: the login user cannot read it
    code, out, err = hunt(capsys, *ssh_flags(sensor_host), "--zeek-prefix", str(prefix), "--json",
                          "--window", "6h", state_dir=state_dir)
    assert code == 0, err
    doc = json.loads(out)
    read = doc["read"]
    # conn and ssl for hours 22-29 (the window starts at 23:59, rows count from 23:00)
    assert len(read["files"]) == 16 and len(read["skipped_files"]) == 2 * 30 - 16
    assert read["files"][0] == str(prefix / "logs" / "current" / "conn.log")
    assert read["unreadable_files"] == [str(locked)]
    assert "Permission denied" in read["problems"][0]["message"]
    beacon = doc["pairs"][0]
    assert (beacon["dst"], beacon["connections"]) == ("c2.example.net", 7 * 60 - 60)  # hour 28's SNI is lost
    assert "incomplete: 0 line(s) and 1 file(s)" in err


@pytest.mark.root
def test_a_setups_vpc_ranges_are_internal(sensor_host, sandbox, state_dir, capsys):
    """With NAME, the VPC's IPv6 /56 (from AWS) makes its IPv6 source internal: the IPv6 beacon counts."""
    from vpc_mirror.models.zeek import ZeekPlan

    from tests.awsfacts import demo_plan, run

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key))
    ctx = run(sandbox, state_dir, demo_plan(zeek=zeek))
    vpc = ctx.facts("vpc")["vpc_id"]
    (found,) = sandbox.client("ec2").describe_vpcs(VpcIds=[vpc])["Vpcs"]
    (block,) = [a["Ipv6CidrBlock"] for a in found["Ipv6CidrBlockAssociationSet"]]
    source6 = str(ipaddress.ip_network(block)[16])
    prefix = sensor_with_logs(sensor_host, hours=3, source=source6, beacon_to="2606:2800:220:1:248:1893:25c8:1946")
    flags = ["--known-hosts", str(sensor_host.dir / "known_hosts"), "--accept-host-key",
             sensor_host.host_key_fingerprints[0], "--zeek-prefix", str(prefix), "--json"]
    code, out, err = hunt(capsys, "--host", sensor_host.address, "--user", sensor_host.sudo_user, "--identity",
                          str(sensor_host.client_key), *flags, state_dir=state_dir)
    assert code == 0, err
    assert json.loads(out)["pairs"] == []  # without the setup, its IPv6 source is external
    code, out, err = hunt(capsys, "demo", "--endpoint-url", sandbox.endpoint_url, *flags, state_dir=state_dir)
    assert code == 0, err
    doc = json.loads(out)
    assert str(ipaddress.ip_network(block)) in doc["internal_subnets"] and "10.0.0.0/16" in doc["internal_subnets"]
    assert [(p["src"], p["dst"]) for p in doc["pairs"]][:1] == [(source6, "c2.example.net")]
