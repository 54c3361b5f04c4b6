"""GENEVE (a Gateway Load Balancer target) decodes as tshark decodes it, on captures of real Linux tunnels.

A namespace of our own sends through Linux `vxlan` devices, straight on the
wire and riding on GENEVE tunnels, to a second namespace where tcpdump
captures. The kernel these tests run on has no `geneve` device type (`ip link
add ... type geneve`: "Unknown device type"), so each GENEVE tunnel is a Linux
`tap` device whose frames a small relay wraps in a GENEVE header and sends
from a UDP socket, as the geneve driver would: one the way Linux does it (an
Ethernet frame inside, no options), one the way a Gateway Load Balancer
delivers a mirror session (the IP packet inside, AWS's three options). The
kernel builds every other header. Plain GENEVE is a ping through the first tap.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from vpc_mirror.steps.capture import (
    CaptureSession,
    FlowSpec,
    SyntheticTraffic,
    random_flows,
    summarize_pcap,
)

from tests.capture.test_against_tshark import flows_of

INNER_VNI, GENEVE_VNI, LB_INNER_VNI, VXLAN_VNI, OTHER_VNI = 4242, 77, 4343, 100, 101
SENSOR = "198.18.0.2"
SEND = """
import socket, sys
for host in sys.argv[1:]:
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"Infected", (host, 999))
    s = socket.socket()
    s.settimeout(0.2)
    try:
        s.connect((host, 443))
    except OSError:
        pass
"""
# argv: TAP VNI MODE SENSOR. MODE linux: GENEVE around the Ethernet frame; gwlb: around the IPv4 packet, with the
# options a Gateway Load Balancer adds (class 0x0108: endpoint id, attachment id, flow cookie).
RELAY = r"""
import fcntl, os, socket, struct, sys
tap, vni, mode, sensor = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH", tap.encode(), 0x0002 | 0x1000))  # TUNSETIFF: IFF_TAP | IFF_NO_PI
out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
out.connect((sensor, 6081))
options = (struct.pack("!HBB", 0x0108, 1, 2) + bytes(range(8)) + struct.pack("!HBB", 0x0108, 2, 2) + bytes(8)
           + struct.pack("!HBB", 0x0108, 3, 1) + b"\xc0\xff\xee\x01")
print("ready", flush=True)
while True:
    frame = os.read(fd, 65536)
    if mode == "linux":
        out.send(struct.pack("!BBHI", 0, 0, 0x6558, vni << 8) + frame)
    elif frame[12:14] == b"\x08\x00":
        out.send(struct.pack("!BBHI", len(options) // 4, 0, 0x0800, vni << 8) + options + frame[14:])
"""


def _sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True, timeout=20).stdout


@contextlib.contextmanager
def _namespaces():
    """A sender and a sensor namespace joined by a veth pair, with IPv6 off (no neighbour discovery noise)."""
    token = f"{os.getpid() % 100000}"
    send, sense = f"vpcm-gs-{token}", f"vpcm-gr-{token}"
    try:
        for ns in (send, sense):
            _sh("ip", "netns", "add", ns)
            for key in ("all", "default"):
                _sh("ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=1")
        _sh("ip", "link", "add", "gs0", "netns", send, "type", "veth", "peer", "name", "gr0", "netns", sense)
        yield ["ip", "netns", "exec", send], ["ip", "netns", "exec", sense]
    finally:
        for ns in (send, sense):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=15, check=False)


@contextlib.contextmanager
def _tunnels(inside: list[str]):
    """Plain VXLAN from two sources; two GENEVE relays, each carrying a vxlan device; static neighbours."""
    def ip(*argv: str) -> None:
        _sh(*inside, "ip", *argv)

    ip("link", "set", "lo", "up")
    ip("addr", "add", "198.18.0.1/24", "dev", "gs0")
    ip("addr", "add", "198.18.0.3/24", "dev", "gs0")
    ip("link", "set", "gs0", "up")
    ip("neigh", "add", SENSOR, "lladdr", "02:00:00:00:00:02", "dev", "gs0")
    relays = []
    try:
        for tap, vni, mode in (("gnv0", GENEVE_VNI, "linux"), ("gnv1", 0, "gwlb")):
            relay = subprocess.Popen([*inside, "python3", "-c", RELAY, tap, str(vni), mode, SENSOR],
                                     stdout=subprocess.PIPE, text=True)
            relays.append(relay)
            assert relay.stdout.readline().strip() == "ready"
        links = [
            ("gnv0", [], "172.16.0.1/24", [("172.16.0.2", "02:00:00:00:16:02"), ("172.16.0.9", "02:00:00:00:16:09")]),
            ("gnv1", [], "172.17.0.1/24", [("172.17.0.2", "02:00:00:00:17:02")]),
            ("vx0", ["type", "vxlan", "id", str(INNER_VNI), "local", "172.16.0.1", "remote", "172.16.0.2",
                     "dstport", "4789", "dev", "gnv0"], "192.168.77.1/24", [("192.168.77.2", "02:00:00:00:77:02")]),
            ("vx1", ["type", "vxlan", "id", str(VXLAN_VNI), "local", "198.18.0.1", "remote", SENSOR,
                     "dstport", "4789", "dev", "gs0"], "192.168.78.1/24", [("192.168.78.2", "02:00:00:00:78:02")]),
            ("vx2", ["type", "vxlan", "id", str(OTHER_VNI), "local", "198.18.0.3", "remote", SENSOR,
                     "dstport", "4789", "dev", "gs0"], "192.168.79.1/24", [("192.168.79.2", "02:00:00:00:79:02")]),
            ("vx3", ["type", "vxlan", "id", str(LB_INNER_VNI), "local", "172.17.0.1", "remote", "172.17.0.2",
                     "dstport", "4789", "dev", "gnv1"], "192.168.80.1/24", [("192.168.80.2", "02:00:00:00:80:02")]),
        ]
        for name, kind, address, neighbours in links:
            if kind:
                ip("link", "add", name, *kind)
            ip("addr", "add", address, "dev", name)
            ip("link", "set", name, "up")
            for peer, mac in neighbours:
                ip("neigh", "add", peer, "lladdr", mac, "dev", name)
        yield
    finally:
        for relay in relays:
            relay.kill()
            relay.wait(10)


def _capture_linux_tunnels(path: Path) -> None:
    """tcpdump in the sensor namespace, full length, while the sender pings and connects through every tunnel."""
    with _namespaces() as (send, sense), _tunnels(send):
        _sh(*sense, "ip", "link", "set", "gr0", "up")
        tcpdump = subprocess.Popen([*sense, "tcpdump", "-i", "gr0", "-Q", "in", "-U", "-s", "0", "-w", str(path)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            listening = threading.Event()
            threading.Thread(target=lambda: tcpdump.stderr.readline() and listening.set(), daemon=True).start()
            assert listening.wait(15), "tcpdump did not start listening"
            peers = ["192.168.77.2", "172.16.0.9", "192.168.78.2", "192.168.79.2", "192.168.80.2"]
            for peer in peers:
                subprocess.run([*send, "ping", "-c", "2", "-i", "0.2", "-W", "0.2", peer], capture_output=True,
                               timeout=10, check=False)  # nobody answers: ping exits 1
            _sh(*send, "python3", "-c", SEND, *peers)
            _settled(path)  # the relays' last packets may still be on their way
        finally:
            tcpdump.terminate()
            tcpdump.wait(15)


def _settled(path: Path, quiet: float = 1.5, limit: float = 20.0) -> None:
    """Wait until the capture file has stopped growing for `quiet` seconds (the machine may be busy)."""
    deadline = time.monotonic() + limit
    size, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = path.stat().st_size
        if now != size:
            size, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.1)


@pytest.fixture(scope="module")
def linux_capture(tmp_path_factory) -> Path:
    """A capture of real Linux tunnels (root: namespaces, tap devices and tcpdump)."""
    if os.geteuid() != 0 or shutil.which("tcpdump") is None:
        pytest.skip("needs root and tcpdump to capture Linux tunnels in namespaces")
    path = tmp_path_factory.mktemp("geneve") / "linux-tunnels.pcap"
    _capture_linux_tunnels(path)
    return path


def gwlb_traffic() -> SyntheticTraffic:
    """A Gateway Load Balancer's delivery of two sessions' traffic, IPv4 and IPv6 inside."""
    flows = random_flows(["10.0.1.10", "10.0.2.10"], [7, 8], flows=8, packets=120, seed=5)
    flows.append(FlowSpec("10.0.1.10", 7, 6, "fd00::1", "fd00::2", 40000, 443, packets=4, payload=10))
    return SyntheticTraffic(flows, target="10.0.9.9", gwlb="10.0.50.5", duration=20)


@pytest.fixture(scope="module")
def gwlb_capture(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("gwlb") / "gwlb.pcap"
    gwlb_traffic().write(path)
    return path


@pytest.mark.root
def test_linux_geneve_and_vxlan_over_geneve_decode_as_tshark_decodes_them(linux_capture: Path, tshark) -> None:
    expected = tshark(linux_capture)
    ours = summarize_pcap(linux_capture)
    assert ours["packets"] == expected["packets"] == ours["vxlan_packets"]
    assert ours["geneve_packets"] == expected["geneve_packets"] > 0
    assert ours["vnis"] == expected["vnis"]
    assert set(ours["vnis"]) == {INNER_VNI, GENEVE_VNI, LB_INNER_VNI, VXLAN_VNI, OTHER_VNI}
    # VXLAN inside GENEVE is the mirrored ENI's (the vxlan device's address), not the GENEVE sender's.
    assert ours["sources"] == expected["sources"]
    assert set(ours["sources"]) == {"172.16.0.1", "172.17.0.1", "198.18.0.1", "198.18.0.3"}
    assert flows_of(ours) == expected["flows"]
    assert (ours["malformed"], ours["truncated"], ours["non_vxlan"]) == (0, 0, 0)
    for vni in (INNER_VNI, LB_INNER_VNI):
        inner = [f for f in ours["flows"] if f["vni"] == vni]
        assert {(f["proto"], f["dport"]) for f in inner} >= {(1, None), (17, 999), (6, 443)}


@pytest.mark.root
def test_raw_lines_name_the_tunnel(linux_capture: Path) -> None:
    session = CaptureSession(raw_capacity=1000)
    session.feed(linux_capture.read_bytes())
    lines = session.raw_lines()
    assert any(f"172.16.0.1 > 172.16.0.2: VXLAN over GENEVE vni {INNER_VNI}, 192.168.77.1 > 192.168.77.2: ICMP echo "
               "request" in line for line in lines)
    assert any(f"198.18.0.1 > 198.18.0.2: GENEVE vni {GENEVE_VNI}, 172.16.0.1 > 172.16.0.9: ICMP echo request"
               in line for line in lines)
    assert any(f"172.17.0.1 > 172.17.0.2: VXLAN over GENEVE vni {LB_INNER_VNI}, 192.168.80.1 > 192.168.80.2: "
               "ICMP echo request" in line for line in lines)
    assert any(f"198.18.0.3 > 198.18.0.2: VXLAN vni {OTHER_VNI}, " in line for line in lines)


def test_gateway_load_balancer_geneve_decodes_as_tshark_decodes_it(gwlb_capture: Path, tshark) -> None:
    expected = tshark(gwlb_capture)
    ours = summarize_pcap(gwlb_capture)
    assert ours["vxlan_packets"] == ours["geneve_packets"] == expected["geneve_packets"] == 124
    assert ours["vnis"] == expected["vnis"] == {7: ours["vnis"][7], 8: ours["vnis"][8]}
    assert ours["sources"] == expected["sources"]
    assert "10.0.50.5" not in ours["sources"]  # the load balancer only carries the mirrored packets
    assert flows_of(ours) == expected["flows"]


def test_gateway_load_balancer_geneve_gives_exactly_the_mirrored_flows(gwlb_capture: Path) -> None:
    traffic = gwlb_traffic()
    ours = summarize_pcap(gwlb_capture)
    assert {(f["vni"], f["proto"], f["src"], f["dst"], f["sport"], f["dport"]): (f["packets"], f["bytes"])
            for f in ours["flows"]} == traffic.expected_flows()
