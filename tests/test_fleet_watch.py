"""`vpc-mirror watch NAME` on a fleet: a column per sensor, and connections split across sensors said.

Two namespace sensors (tests/conftest_fleet.py) each get VXLAN from a real
Linux vxlan device. Behind a load balancer both see the same outer addresses
(the mirrored ENI's, to the load balancer's); here one TCP connection's two
directions go one to each sensor, as AWS's per-direction hashing can send them,
and a second connection reaches the first sensor both ways.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading

import pytest

from tests.fleet_setup import SETUP, fleet_setup
from vpc_mirror.steps.capture.aggregate import FlowStats, Snapshot, Stats
from vpc_mirror.steps.capture.directions import one_direction_per_sensor
from vpc_mirror.steps.capture.merge import merge_snapshots
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.cli import main

VNI = 4242
#: The mirrored ENI and the target as both sensors see them: the same for every sensor behind a load balancer.
OUTER_SRC, OUTER_DST = "198.18.0.1", "198.18.0.2"
A, B = "192.168.77.1", "192.168.77.2"
SYN, SYN_ACK = 0x02, 0x12
SPLIT_TO_FIRST = [(A, 40000, B, 443, SYN)]  # the split connection's first direction...
SPLIT_TO_SECOND = [(B, 443, A, 40000, SYN_ACK)]  # ...and its reply, on the other sensor
WHOLE = [(A, 40001, B, 80, SYN), (B, 80, A, 40001, SYN_ACK)]  # both directions on the first sensor

#: Sends TCP segments (argv[1], JSON) as Ethernet frames on vx0, which wraps them in VXLAN to the sensor.
SEND = """
import json, socket, struct, sys
def checksum(data):
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF
out = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
out.bind(("vx0", 0))
for src, sport, dst, dport, flags in json.loads(sys.argv[1]):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)
    out.send(b"\\x02\\x00\\x00\\x00\\x77\\x02" + b"\\x02\\x00\\x00\\x00\\x77\\x01" + b"\\x08\\x00" + ip + tcp)
"""


@contextlib.contextmanager
def vxlan_sender(host):
    """A vxlan device sending from OUTER_SRC to the sensor, IPv6 off: only the segments we send."""
    with host.vxlan_sender(VNI, OUTER_SRC, OUTER_DST, "fsrc") as inside:
        subprocess.run([*inside, "sysctl", "-qw", "net.ipv6.conf.vx0.disable_ipv6=1"], check=True, timeout=15)
        subprocess.run([*inside, "ip", "link", "set", "vx0", "up"], check=True, timeout=15)
        yield inside


@contextlib.contextmanager
def sending(plan: list[tuple[list[str], list]]):
    """Each (namespace, segments) sends its segments every 0.3 s, from 1.5 s on (tcpdump is listening by then)."""
    stop = threading.Event()

    def loop(inside, segments):
        stop.wait(1.5)
        while not stop.is_set():
            subprocess.run([*inside, "python3", "-c", SEND, json.dumps(segments)], capture_output=True, timeout=5)
            stop.wait(0.3)

    threads = [threading.Thread(target=loop, args=item) for item in plan]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def watch(capsys, sandbox, state_dir, known, *extra: str) -> tuple[int, str, str]:
    code = main(["watch", SETUP, "--headless", "--seconds", "4", "--known-hosts", str(known),
                 "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def split_rows(doc: dict) -> dict:
    return {(c["proto"], c["a"], c["a_port"], c["b"], c["b_port"]): c for c in doc["one_direction_per_sensor"]}


@pytest.mark.root
def test_a_connection_split_across_two_sensors_is_said_with_why(two_sensor_hosts, sandbox, state_dir, capsys):
    first, second = two_sensor_hosts
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, mirrored_from=OUTER_SRC)
    with vxlan_sender(first) as to_first, vxlan_sender(second) as to_second, \
            sending([(to_first, SPLIT_TO_FIRST + WHOLE), (to_second, SPLIT_TO_SECOND)]):
        code, out, err = watch(capsys, sandbox, state_dir, known, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["sensors"]) == {"sensor", "sensor-2"} and doc["missing_sensors"] == {}
    columns = doc["sensors"]
    assert columns["sensor"]["vxlan_packets"] > 0 and columns["sensor-2"]["vxlan_packets"] > 0
    assert doc["vxlan_packets"] == columns["sensor"]["vxlan_packets"] + columns["sensor-2"]["vxlan_packets"]
    assert {(f["src"], f["sport"]) for f in columns["sensor-2"]["flows"] if f["proto"] == 6} == {(B, 443)}
    reply = next(f for f in doc["flows"] if (f["src"], f["sport"]) == (B, 443))
    assert reply["by_sensor"] == {"sensor-2": reply["packets"]}

    split = split_rows(doc)
    assert set(split) == {(6, A, 40000, B, 443)}, "the connection both of whose directions reached one sensor is fine"
    row = split[(6, A, 40000, B, 443)]
    assert row["a_to_b"] == ["sensor"] and row["b_to_a"] == ["sensor-2"]
    (warning,) = [w for w in doc["warnings"] if "one direction each" in w]
    assert "Zeek on each logs half-connections" in warning and "hashes the mirrored packet" in warning
    assert f"warning: {warning}" in err
    assert StateStore(state_dir).load(SETUP).step("verify").status == "done"


@pytest.mark.root
def test_text_has_a_column_per_sensor_and_the_total(two_sensor_hosts, sandbox, state_dir, capsys):
    first, second = two_sensor_hosts
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, mirrored_from=OUTER_SRC)
    with vxlan_sender(first) as to_first, vxlan_sender(second) as to_second, \
            sending([(to_first, WHOLE), (to_second, WHOLE)]):
        code, out, err = watch(capsys, sandbox, state_dir, known)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["sensor", "sensor-2", "total"]
    vxlan = next(line.split() for line in lines if line.startswith("VXLAN "))
    assert int(vxlan[1]) > 0 and int(vxlan[2]) > 0 and int(vxlan[3]) == int(vxlan[1]) + int(vxlan[2])
    assert any(line.startswith(f"VNI {VNI} ") for line in lines)
    assert "one direction each" not in out + err, "each sensor saw the connection both ways"


@pytest.mark.root
def test_an_unreachable_sensor_is_named_and_the_counts_said_short(two_sensor_hosts, sandbox, state_dir, capsys):
    first, second = two_sensor_hosts
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, mirrored_from=OUTER_SRC)
    second.process.kill()  # its sshd: the sensor refuses connections
    second.process.wait(timeout=5)
    with vxlan_sender(first) as to_first, sending([(to_first, WHOLE)]):
        code, out, _ = watch(capsys, sandbox, state_dir, known)
    assert code == 1, "a view missing a sensor cannot vouch for the fleet"
    assert out.splitlines()[0].split() == ["sensor", "total"]
    vxlan = next(line.split() for line in out.splitlines() if line.startswith("VXLAN "))
    assert int(vxlan[1]) > 0 and vxlan[1] == vxlan[2]
    assert "sensor-2: not read" in out
    warning = next(line for line in out.splitlines() if line.startswith("warning: sensor-2: "))
    assert f"i-0f1ee7000000001 at {second.address}: " in warning and "counts may be short" in warning


def flow(source: str, src: str, sport: int | None, dst: str, dport: int | None, packets: int = 1,
         proto: int | None = 6) -> FlowStats:
    return FlowStats(source, VNI, proto, src, dst, sport, dport, Stats(packets, 40 * packets, 0, 0, 0.0, 0.0))


def snapshot(*flows: FlowStats) -> Snapshot:
    packets = sum(f.stats.packets for f in flows)
    return Snapshot(0.0, packets, packets, 0, 0, 0, 0, 0, 0.0,
                    {OUTER_SRC: Stats(packets, 0, 0, 0, 0.0, 0.0)}, {VNI: Stats(packets, 0, 0, 0, 0.0, 0.0)}, flows)


def test_only_connections_no_sensor_saw_both_ways_are_flagged():
    per_sensor = {
        "sensor": snapshot(flow(OUTER_SRC, A, 1, B, 443, 3), flow(OUTER_SRC, A, 2, B, 80), flow(OUTER_SRC, B, 80, A, 2),
                           flow(OUTER_SRC, A, None, B, None, proto=1)),
        "sensor-2": snapshot(flow(OUTER_SRC, B, 443, A, 1, 2), flow(OUTER_SRC, B, 80, A, 2),
                             flow(OUTER_SRC, B, 999, A, 5, proto=17), flow(OUTER_SRC, A, None, B, None, proto=None)),
        "sensor-3": snapshot(flow(OUTER_SRC, B, None, A, None, proto=1)),
    }
    split = {(c.proto, c.a, c.b): c for c in one_direction_per_sensor(per_sensor)}
    # TCP 443 split over sensor and sensor-2; ICMP echo and reply over sensor and sensor-3. Not flagged: port 80
    # (sensor saw it both ways), the one-way UDP datagrams, ARP (no protocol).
    assert set(split) == {(6, (A, 1), (B, 443)), (1, (A, None), (B, None))}
    tcp = split[(6, (A, 1), (B, 443))]
    assert (tcp.a_to_b, tcp.b_to_a, tcp.packets) == (("sensor",), ("sensor-2",), {"sensor": 3, "sensor-2": 2})
    assert tcp.text() == f"proto 6 {A}:1 > {B}:443 on sensor; {B}:443 > {A}:1 on sensor-2"
    # seen one way on the whole fleet: one-way traffic (or a one-way filter), not a split
    assert one_direction_per_sensor({"sensor-2": per_sensor["sensor-2"]}) == []


def test_merged_snapshot_adds_every_sensor_up():
    one = snapshot(flow(OUTER_SRC, A, 1, B, 443, 3))
    two = snapshot(flow(OUTER_SRC, A, 1, B, 443, 2), flow(OUTER_SRC, B, 443, A, 1, 4))
    merged = merge_snapshots([one, two])
    assert merged.vxlan_packets == 9 and merged.vnis[VNI].packets == 9 and merged.sources[OUTER_SRC].packets == 9
    assert [(f.src, f.stats.packets) for f in merged.flows] == [(A, 5), (B, 4)]


@pytest.mark.root
def test_the_live_screen_has_a_column_per_sensor_and_says_what_is_split(two_sensor_hosts, sandbox, state_dir, capsys,
                                                                          monkeypatch):
    import asyncio
    import time

    from vpc_mirror.tui.screens.fleet_watch import FleetWatchApp
    from vpc_mirror.tui.widgets.stats_table import StatsTable

    first, second = two_sensor_hosts
    known = fleet_setup(sandbox, state_dir, two_sensor_hosts, mirrored_from=OUTER_SRC)
    seen = {}

    async def look(pilot):
        screen = pilot.app.screen
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            rows = {row[0]: row[1:] for row in screen.query_one("#fleet-table", StatsTable).rows}
            warnings = str(screen.query_one("#fleet-warnings").render())
            if "VXLAN" in rows and all(n.isdigit() and int(n) > 0 for n in rows["VXLAN"]) and "one direction each" in warnings:
                break
        seen.update(rows=rows, warnings=warnings, status=str(screen.query_one("#fleet-status").render()))
        await pilot.press("q")

    real_run = FleetWatchApp.run
    monkeypatch.setattr(FleetWatchApp, "run", lambda app: real_run(app, headless=True, size=(120, 30),
                                                                    auto_pilot=look))
    with vxlan_sender(first) as to_first, vxlan_sender(second) as to_second, \
            sending([(to_first, SPLIT_TO_FIRST + WHOLE), (to_second, SPLIT_TO_SECOND)]):
        code = main(["watch", SETUP, "--known-hosts", str(known), "--endpoint-url", sandbox.endpoint_url,
                     "--state-dir", str(state_dir)])
    assert code == 0, capsys.readouterr().err
    sensor, sensor_2, total = seen["rows"]["VXLAN"]
    assert int(sensor) > 0 and int(sensor_2) > 0 and int(total) == int(sensor) + int(sensor_2)
    assert f"proto 6 {A}:40000 > {B}:443 on sensor; {B}:443 > {A}:40000 on sensor-2" in seen["warnings"]
    assert seen["status"] == "capturing on 2 of 2 sensors"


@pytest.mark.parametrize("flag", [["--mac", "02:00:00:00:00:01"], ["--accept-host-key", "SHA256:" + "A" * 43]])
def test_options_naming_one_sensor_are_refused_for_a_fleet(sandbox, state_dir, capsys, flag):
    from tests.awsfacts import demo_plan, run

    plan = demo_plan()
    run(sandbox, state_dir, plan)
    StateStore(state_dir).save_answers(plan.model_copy(update={"sensor": plan.sensor.model_copy(update={"count": 2})}))
    code = main(["watch", SETUP, "--headless", *flag, "--endpoint-url", sandbox.endpoint_url,
                 "--state-dir", str(state_dir)])
    err = capsys.readouterr().err
    assert code == 2 and f"{flag[0]}: setup demo has 2 sensors" in err
