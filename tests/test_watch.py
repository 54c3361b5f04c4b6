"""`vpc-mirror watch`: the headless summary from a pcap file, from real VXLAN over SSH, and the demo's traffic."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import threading
import time

import pytest

from sensor_host import _free_block
from vpc_mirror.models.plan import SessionPlan
from vpc_mirror.steps.capture.live import LiveCapture, PcapFileSource, beacon_flows
from vpc_mirror.steps.capture.remote import BadCaptureInput, status_of, tcpdump_command
from vpc_mirror.steps.capture.summary import summarize_pcap
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.steps.watch import demo_traffic, endpoints, verdict
from tests.awsfacts import demo_plan, run
from vpc_mirror.tui.cli import main

from tests.testdata import VXLAN as CAPTURES
PCAP = CAPTURES / "tcpdump" / "vxlan.pcap"


def watch(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["watch", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_pcap_summary_is_the_documented_json(capsys, state_dir):
    code, out, err = watch(capsys, "--pcap", str(PCAP), "--headless", "--json", "--state-dir", str(state_dir))
    assert code == 0, err
    doc = json.loads(out)
    expected = json.loads(json.dumps(summarize_pcap(PCAP)))  # JSON turns the VNI keys into strings
    assert doc == expected and doc["vxlan_packets"] > 0
    assert set(doc) == {"packets", "vxlan_packets", "geneve_packets", "non_vxlan", "malformed", "truncated", "vnis",
                        "sources", "flows", "evicted_flows"}
    assert set(doc["flows"][0]) == {"vni", "src", "dst", "proto", "sport", "dport", "packets", "bytes"}


def test_flows_evicted_from_a_full_table_are_counted_not_dropped_silently():
    full = summarize_pcap(PCAP)
    small = summarize_pcap(PCAP, flow_capacity=2)
    assert full["evicted_flows"] == 0
    assert small["evicted_flows"] > 0 and len(small["flows"]) < len(full["flows"])
    assert small["vxlan_packets"] == full["vxlan_packets"] and small["vnis"] == full["vnis"]


def test_pcap_summary_as_text_names_vnis_and_sources(capsys, state_dir):
    code, out, _ = watch(capsys, "--pcap", str(PCAP), "--headless", "--state-dir", str(state_dir))
    expected = summarize_pcap(PCAP)
    assert code == 0
    assert f"{expected['vxlan_packets']} VXLAN" in out
    assert all(f"VNI {vni}: {n} packets" in out for vni, n in expected["vnis"].items())
    assert all(f"from {source}: {n} packets" in out for source, n in expected["sources"].items())


@pytest.mark.parametrize("argv, named", [
    ([], "NAME"),
    (["--pcap", "/nonexistent.pcap"], "--pcap"),
    (["--pcap", str(PCAP), "--seconds", "0"], "--seconds"),
    (["demo", "--pcap", str(PCAP)], "--pcap FILE, or a setup NAME"),
    (["--host", "10.0.0.1", "--interface", "eth1;rm -rf /"], "interface"),
    (["--pcap", str(PCAP), "--vxlan-port", "70000"], "--vxlan-port"),
])
def test_bad_input_exits_2_naming_the_option(capsys, state_dir, argv, named):
    code, out, err = watch(capsys, *argv, "--headless", "--state-dir", str(state_dir))
    assert code == 2 and named in err and out == ""


def test_without_headless_it_opens_the_live_screen(capsys, state_dir, monkeypatch):
    from vpc_mirror.tui.screens.troubleshoot import TroubleshootApp, TroubleshootScreen
    from vpc_mirror.tui.widgets.stats_table import StatsTable

    seen = {}

    async def look(pilot):
        screen = pilot.app.screen
        while screen.live.status.state != "stopped":
            await pilot.pause(0.05)
        await pilot.pause(0.3)  # one refresh after the file's end
        seen["screen"] = type(screen)
        seen["vnis"] = sorted(row[0] for row in screen.query_one("#verify-vnis", StatsTable).rows)
        seen["sub_title"] = screen.sub_title
        await pilot.press("q")

    real_run = TroubleshootApp.run
    monkeypatch.setattr(TroubleshootApp, "run", lambda app: real_run(app, headless=True, size=(80, 24),
                                                                     auto_pilot=look))
    code, out, err = watch(capsys, "--pcap", str(PCAP), "--state-dir", str(state_dir))
    assert code == 0, err
    assert seen["screen"] is TroubleshootScreen and seen["sub_title"] == "pcap vxlan.pcap"
    assert seen["vnis"] == sorted(str(vni) for vni in summarize_pcap(PCAP)["vnis"])


def test_a_file_that_is_not_pcap_fails_with_the_reason(capsys, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("not a capture\n" * 10)
    code, _, err = watch(capsys, "--pcap", str(junk), "--headless", "--state-dir", str(tmp_path))
    assert code == 2 and "notes.txt: not a pcap stream" in err


@pytest.mark.parametrize("cut, code, said", [
    (0, 2, "is empty: not a pcap file"),
    (10, 2, "ends inside the pcap file header (10 of 24 bytes): not a pcap file"),
    (24, 1, "read all of"),  # a header and no record: a valid capture of nothing, so no mirrored packet (exit 1)
    (24 + 8, 1, "ends inside a record header (8 of 16 bytes): the file is truncated; read 0 records"),
    (-5, 0, "ends inside its last record"),
])
def test_empty_headerless_and_truncated_captures_say_what_is_wrong(capsys, tmp_path, cut, code, said):
    data = PCAP.read_bytes()
    path = tmp_path / "cut.pcap"
    path.write_bytes(data[:cut] if cut >= 0 else data[:cut])
    got, out, err = watch(capsys, "--pcap", str(path), "--headless", "--state-dir", str(tmp_path))
    assert got == code, err
    assert said in err
    if cut < 0:  # every whole record is still counted, and the lost one is said
        whole = summarize_pcap(PCAP)["packets"] - 1
        assert f"the file is truncated and that record is not counted; read {whole} records" in err
        assert "warning:" in err and f"{whole} packets" in out


@pytest.mark.parametrize("interface", ["eth1;rm -rf /", "$(reboot)", "a b", "x" * 16, "-i"])
def test_capture_command_refuses_interface_names_the_shell_would_read(interface):
    with pytest.raises(BadCaptureInput, match="not a valid interface name"):
        tcpdump_command(interface)


def test_capture_command_is_quoted_and_stops_tcpdump_when_we_go():
    command = tcpdump_command("ens6", port=4789, snaplen=9001)
    assert command.startswith("sudo -n sh -c ")
    assert "tcpdump -i ens6 -U -B 32768 -s 9001 -w - 'udp dst port 4789 or udp dst port 6081'" in \
        command.replace("'\"'\"'", "'")
    assert "read -r _" in command and "kill" in command


@pytest.mark.parametrize("line, state", [
    ("tcpdump: listening on ens6, link-type EN10MB (Ethernet), snapshot length 262144 bytes", "listening"),
    ("tcpdump: ens7: No such device exists", "no-such-device"),
    ("tcpdump: ens6: You don't have permission to capture on that device", "permission-denied"),
    ("sh: 1: tcpdump: not found", "tcpdump-missing"),
    ("sudo: a password is required", "sudo-password"),
])
def test_tcpdump_stderr_becomes_a_status(line, state):
    assert status_of(line).state == state


def test_listening_names_the_interface_without_tcpdumps_comma():
    line = "tcpdump: listening on ens6, link-type EN10MB (Ethernet), snapshot length 262144 bytes"
    assert status_of(line).message == "capturing on ens6"


def demo_capture(ctx, seconds: float = 2.0):
    """The snapshot of ``seconds`` of the setup's demo traffic."""
    live = LiveCapture()
    traffic = demo_traffic(ctx, pps=400, beacon_period=2.0)

    async def capture():
        stop = asyncio.Event()
        task = asyncio.create_task(live.run(traffic.source(), stop))
        await asyncio.sleep(seconds)
        stop.set()
        return await task

    assert asyncio.run(capture()).state == "stopped"
    return live.snapshot()


def test_demo_traffic_matches_the_applied_demo_setup(sandbox, state_dir):
    run(sandbox, state_dir)
    ctx = open_context(demo_plan(), StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        ends = endpoints(ctx)
        instances = {i["Tags"][0]["Value"]: i["PrivateIpAddress"]
                     for r in sandbox.client("ec2").describe_instances()["Reservations"] for i in r["Instances"]
                     if i.get("Tags")}
        beacon = ctx.state.resource("test-beacon").attrs["private_ip"]
        assert ends.sources == {**{name: instances[name] for name in ("web-1", "api-1", "batch-1")},
                                "test-beacon": beacon}
        # the demo answers give session.vni, which AWS uses for every session
        assert ends.vnis == [4242] and ends.target and ends.mac

        snap = demo_capture(ctx)
        assert set(snap.vnis) == {4242} and set(snap.sources) == set(ends.sources.values())
        assert {f.src for f in beacon_flows(snap)} == {beacon}, "the beacon's UDP 999 datagram, from the beacon"
        assert verdict(ctx, snap) == (True, None)
        for res in ctx.state.step("session").resources.values():
            res.attrs["vni"] = 7  # as if another session's packets arrived
        assert not verdict(ctx, snap)[0] and "not this setup's 7" in verdict(ctx, snap)[1]
    finally:
        ctx.close()


def test_demo_traffic_carries_the_vni_aws_picked_for_each_session(sandbox, state_dir):
    plan = demo_plan(session=SessionPlan())  # no session.vni: AWS picks a unique one per session
    run(sandbox, state_dir, plan=plan)
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        ends = endpoints(ctx)
        picked = {r.key: r.attrs["vni"] for r in ctx.state.step("session").resources.values()}
        assert len(set(picked.values())) == len(picked) == len(ends.sources) == 4
        assert sorted(ends.source_vnis.values()) == sorted(picked.values())
        assert ends.source_vnis["test-beacon"] == picked["session/test-beacon"]

        snap = demo_capture(ctx)
        assert set(snap.vnis) == set(picked.values())
        for name, address in ends.sources.items():  # each source's own flows carry its own session's VNI
            assert {f.vni for f in snap.flows if address in (f.src, f.dst)} == {ends.source_vnis[name]}, name
        assert verdict(ctx, snap) == (True, None)
    finally:
        ctx.close()


def test_pcap_source_stops_when_asked(tmp_path):
    live = LiveCapture()

    async def stopped_at_once():
        stop = asyncio.Event()
        stop.set()
        return await live.run(PcapFileSource(PCAP), stop)

    assert asyncio.run(stopped_at_once()).state == "stopped"
    assert live.snapshot().packets == 0


# -- real VXLAN over a real sshd --------------------------------------------------------------------------------

VNI = 4242
INNER_SRC, INNER_DST = "192.168.77.1", "192.168.77.2"


@contextlib.contextmanager
def vxlan_source(host):
    """A vxlan device sending to the sensor from a namespace of our own, with the inner addresses the beacon uses."""
    block = _free_block()
    local, remote = str(block[1]), str(block[2])
    with host.vxlan_sender(VNI, local, remote, "src") as inside:
        subprocess.run([*inside, "ip", "addr", "add", f"{INNER_SRC}/24", "dev", "vx0"], check=True, timeout=15)
        subprocess.run([*inside, "ip", "link", "set", "vx0", "up"], check=True, timeout=15)
        subprocess.run([*inside, "ip", "neigh", "add", INNER_DST, "lladdr", "02:00:00:00:77:02", "dev", "vx0"],
                       check=True, timeout=15)
        yield inside, local


SEND = f"""
import socket
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"Infected", ("{INNER_DST}", 999))
s = socket.socket()
s.settimeout(0.3)
try:
    s.connect(("{INNER_DST}", 443))
except OSError:
    pass
"""


def send_beacon_rounds(inside: list[str], stop: threading.Event) -> None:
    """The tame beacon, for real: a ping, UDP "Infected" to 999, a TCP connection to 443, until stopped."""
    while not stop.is_set():
        subprocess.run([*inside, "ping", "-c", "1", "-W", "0.2", INNER_DST], capture_output=True, timeout=5)
        subprocess.run([*inside, "python3", "-c", SEND], capture_output=True, timeout=5)
        stop.wait(0.3)


def ssh_flags(host) -> list[str]:
    """Reach the test sensor as its sudo user, trusting its host key by fingerprint."""
    return ["--host", host.address, "--user", host.sudo_user, "--identity", str(host.client_key),
            "--known-hosts", str(host.dir / "known_hosts"), "--accept-host-key", host.host_key_fingerprints[0]]


@pytest.mark.root
def test_remote_capture_over_ssh_sees_real_vxlan_and_leaves_no_tcpdump(sensor_host, capsys, state_dir):
    with vxlan_source(sensor_host) as (inside, outer_source):
        stop = threading.Event()
        sender = threading.Thread(target=lambda: (time.sleep(1.5), send_beacon_rounds(inside, stop)))
        sender.start()
        try:
            code, out, err = watch(
                capsys, *ssh_flags(sensor_host), "--mac", sensor_host.capture_mac,
                "--headless", "--seconds", "4", "--json", "--state-dir", str(state_dir))
        finally:
            stop.set()
            sender.join()
    assert code == 0, err
    assert "capturing on ens6" in err
    doc = json.loads(out)
    assert doc["vnis"] == {str(VNI): doc["vxlan_packets"]} and doc["sources"] == {outer_source: doc["vxlan_packets"]}
    flows = {(f["proto"], f["src"], f["dst"], f["dport"]) for f in doc["flows"] if f["vni"] == VNI}
    assert (1, INNER_SRC, INNER_DST, None) in flows  # ping
    assert (17, INNER_SRC, INNER_DST, 999) in flows  # "Infected"
    assert (6, INNER_SRC, INNER_DST, 443) in flows  # the TCP connection's SYN
    left = sensor_host.exec("pgrep", "-a", "tcpdump", check=False)
    assert left.returncode == 1, f"tcpdump still runs on the sensor: {left.stdout}"


@pytest.mark.root
def test_remote_capture_on_a_wrong_interface_is_refused_before_capturing(sensor_host, capsys, state_dir):
    code, _, err = watch(
        capsys, *ssh_flags(sensor_host), "--interface", "ens9",
        "--headless", "--seconds", "1", "--state-dir", str(state_dir))
    assert code == 2 and "no interface ens9" in err and "ens6" in err


@pytest.mark.root
def test_silent_capture_of_a_setup_prints_the_checklist_and_marks_verify_failed(sensor_host, sandbox, state_dir,
                                                                                   capsys):
    from vpc_mirror.models.zeek import ZeekPlan

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key))
    run(sandbox, state_dir, demo_plan(zeek=zeek))
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    code, out, err = watch(
        capsys, "demo", "--interface", sensor_host.capture_if, "--known-hosts", str(sensor_host.dir / "known_hosts"),
        "--accept-host-key", sensor_host.host_key_fingerprints[0], "--headless", "--seconds", "1.5",
        "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir))
    assert code == 1, err
    assert "0 VXLAN" in out and "No mirrored VXLAN packet arrived. Checklist:" in out
    assert "✓ a session for every source" in out or "✓" in out
    assert "? capture runs on the target ENI's interface: the target ENI's interface was not found" in out
    state = StateStore(state_dir).load("demo")
    assert state.step("verify").status == "failed"
    assert state.step("verify").error == "no mirrored VXLAN packet arrived"


@pytest.mark.root
def test_a_connection_dropped_during_the_capture_is_a_failure_not_silence(sensor_host, capsys, state_dir):
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    cut = threading.Timer(2.0, lambda: sensor_host.exec("pkill", "-KILL", "-u", sensor_host.sudo_user, check=False))
    cut.start()
    try:
        code, _, err = watch(
            capsys, *ssh_flags(sensor_host), "--interface", sensor_host.capture_if,
            "--headless", "--seconds", "6", "--state-dir", str(state_dir))
    finally:
        cut.cancel()
    assert code == 1 and "connection to the sensor dropped" in err
    for _ in range(50):  # the sensor notices the dead connection on its own
        left = sensor_host.exec("pgrep", "-a", "tcpdump", check=False)
        if left.returncode == 1:
            break
        time.sleep(0.1)
    assert left.returncode == 1, f"tcpdump still runs on the sensor: {left.stdout}"


@pytest.mark.root
def test_a_setup_whose_vni_does_not_arrive_exits_1_saying_which_vni_did(sensor_host, sandbox, state_dir, capsys):
    """Packets arriving is not enough for a setup: they must carry its sessions' VNI (README: exit codes)."""
    from vpc_mirror.models.zeek import ZeekPlan

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key))
    run(sandbox, state_dir, demo_plan(zeek=zeek, session=SessionPlan(vni=VNI + 1)))
    with vxlan_source(sensor_host) as (inside, _):
        stop = threading.Event()
        sender = threading.Thread(target=lambda: (time.sleep(1.5), send_beacon_rounds(inside, stop)))
        sender.start()
        try:
            code, out, err = watch(
                capsys, "demo", "--interface", sensor_host.capture_if,
                "--known-hosts", str(sensor_host.dir / "known_hosts"),
                "--accept-host-key", sensor_host.host_key_fingerprints[0], "--headless", "--seconds", "4",
                "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir))
        finally:
            stop.set()
            sender.join()
    assert code == 1, err
    assert f"VXLAN packets arrive with VNI {VNI}, not this setup's {VNI + 1}. Checklist:" in out
    assert StateStore(state_dir).load("demo").step("verify").status == "failed"
