"""GENEVE (a Gateway Load Balancer target) decodes as tshark decodes it, on captures of real Linux tunnels.

The captures in tests/data/geneve/ were made by tests/geneve_vm.py: Debian's
kernel booted in qemu, two namespaces in the VM pinging each other through
real Linux `geneve` devices (and `vxlan` devices riding on them), the host's
tcpdump on a tap that shares the VM's wire. They cover both shapes GENEVE
reaches a sensor in: the way Linux sends it (an Ethernet frame inside, no
options; over IPv4 and IPv6) and the way a Gateway Load Balancer does (the IP
packet inside, behind AWS's 32 bytes of class-0x0108 options), plain and
carrying VXLAN as a mirror session behind a load balancer delivers it.

As root the module boots that VM once more and checks its fresh captures the
same way: the committed files are what a real Linux device sends today.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vpc_mirror.steps.capture import CaptureSession, FlowSpec, SyntheticTraffic, random_flows, summarize_pcap, summary
from vpc_mirror.steps.capture import session as session_module
from vpc_mirror.steps.capture.decode import Decoder
from vpc_mirror.tui.cli import main

from tests.capture.test_against_tshark import flows_of
from tests.geneve_vm import CAPTURES, GeneveVmError, make_captures
from tests.testdata import DATA

GENEVE = DATA / "geneve"
GENEVE_CAPTURES = [GENEVE / f"{name}.pcap" for name in CAPTURES]
GWLB_VXLAN = GENEVE / "vxlan-in-gwlb-geneve.pcap"
VM_A, VM_B = "192.168.77.2", "192.168.77.3"  # the VM's two NICs: GENEVE's own outer addresses

#: Per capture: its VNI, its outer sources, and a raw line that names the tunnel.
SHAPES = {
    "geneve-plain": (5001, {VM_A, VM_B}, f"{VM_A} > {VM_B}: GENEVE vni 5001, 10.51.0.1 > 10.51.0.2: ICMP echo request"),
    # VXLAN inside GENEVE is the mirrored ENI's (the vxlan device's address), not the GENEVE sender's.
    "vxlan-in-geneve": (4242, {"10.51.0.1", "10.51.0.2"},
                        "10.51.0.1 > 10.51.0.2: VXLAN over GENEVE vni 4242, 10.42.0.1 > 10.42.0.2: ICMP echo request"),
    "geneve-ipv6-outer": (5006, {"fd00:77::2", "fd00:77::3"},
                          "fd00:77::2 > fd00:77::3: GENEVE vni 5006, 10.56.0.1 > 10.56.0.2: ICMP echo request"),
    "geneve-l3-ipv4": (5002, {VM_A, VM_B}, f"{VM_A} > {VM_B}: GENEVE vni 5002, 10.52.0.1 > 10.52.0.2: ICMP echo request"),
    "geneve-l3-options": (5003, {VM_A, VM_B},
                          f"{VM_A} > {VM_B}: GENEVE vni 5003, 10.53.0.1 > 10.53.0.2: ICMP echo request"),
    "vxlan-in-gwlb-geneve": (4343, {"10.54.0.1", "10.54.0.2"},
                             "10.54.0.1 > 10.54.0.2: VXLAN over GENEVE vni 4343, 10.43.0.1 > 10.43.0.2: ICMP echo"),
}  # fmt: skip

#: What the VM sent through VXLAN behind the load balancer-shaped GENEVE, by (VNI, source, destination, protocol,
#: the server's port): 3 pings of 1028 bytes, a DNS query refused with an ICMP port unreachable of 88 bytes, and a
#: TCP SYN answered by RST. The client's ports are the kernel's pick.
GWLB_CONVERSATION = {
    (4343, "10.43.0.1", "10.43.0.2", 1, None): (3, 3 * 1028),
    (4343, "10.43.0.2", "10.43.0.1", 1, None): (4, 3 * 1028 + 88),
    (4343, "10.43.0.1", "10.43.0.2", 17, 53): (1, 60),
    (4343, "10.43.0.1", "10.43.0.2", 6, 443): (1, 60),
    (4343, "10.43.0.2", "10.43.0.1", 6, 443): (1, 40),
}


def check_decodes_as_tshark(path: Path, name: str, tshark) -> None:
    """Counts, VNIs, outer sources, flows and the GENEVE tally as tshark has them; raw lines name the tunnel."""
    vni, sources, line = SHAPES[name]
    expected = tshark(path)
    ours = summarize_pcap(path)
    assert ours["packets"] == ours["vxlan_packets"] == expected["vxlan_packets"] == expected["packets"] >= 6
    assert ours["geneve_packets"] == expected["geneve_packets"] == ours["packets"]
    assert ours["vnis"] == expected["vnis"] and set(ours["vnis"]) == {vni}
    assert ours["sources"] == expected["sources"] and set(ours["sources"]) == sources
    assert flows_of(ours) == expected["flows"]
    assert (ours["malformed"], ours["truncated"], ours["non_vxlan"]) == (0, 0, 0)
    session = CaptureSession(raw_capacity=1000)
    session.feed(path.read_bytes())
    assert any(line in raw for raw in session.raw_lines()), session.raw_lines()


def conversation(summary: dict) -> dict[tuple, tuple[int, int]]:
    """The flows keyed as GWLB_CONVERSATION: by the server's port (the destination's from A, the source's from B)."""
    return {(f["vni"], f["src"], f["dst"], f["proto"], f["dport"] if f["src"] == "10.43.0.1" else f["sport"]):
            (f["packets"], f["bytes"]) for f in summary["flows"]}  # fmt: skip


# -- the committed captures --------------------------------------------------------------------------------------


def test_every_shape_has_its_capture() -> None:
    assert sorted(GENEVE.glob("*.pcap")) == sorted(GENEVE_CAPTURES) and set(SHAPES) == set(CAPTURES)


@pytest.mark.parametrize("name", CAPTURES)
def test_real_linux_geneve_decodes_as_tshark_decodes_it(name: str, tshark) -> None:
    check_decodes_as_tshark(GENEVE / f"{name}.pcap", name, tshark)


def test_vxlan_behind_a_load_balancer_gives_exactly_the_mirrored_flows() -> None:
    ours = summarize_pcap(GWLB_VXLAN)
    assert conversation(ours) == GWLB_CONVERSATION
    assert ours["sources"] == {"10.54.0.1": 5, "10.54.0.2": 5}  # the vxlan devices, not the GENEVE senders


def test_vxlan_behind_a_load_balancer_takes_the_fast_path_and_counts_as_the_general_decoder_does(monkeypatch) -> None:
    data = GWLB_VXLAN.read_bytes()
    session = CaptureSession()
    general, slow = session._slow, []

    def counting(buf: bytes, off: int, caplen: int, wire: int, sec: int, ts: float) -> None:
        slow.append(Decoder().decode(buf, off, caplen, wire, ts))
        general(buf, off, caplen, wire, sec, ts)

    session._slow = counting
    session.feed(data)
    fast = summary(session.snapshot())
    assert fast["geneve_packets"] == fast["vxlan_packets"] == fast["packets"] == 10
    assert len(slow) < 10 and not [p for p in slow if p.proto in (6, 17)]  # UDP and TCP never left the fast path
    monkeypatch.setattr(session_module, "_FAST_MIN_CAPLEN", 1 << 62)  # every packet through Decoder
    reference = CaptureSession()
    reference.feed(data)
    assert fast == summary(reference.snapshot())


def test_watch_summarizes_vxlan_behind_a_load_balancer(capsys, state_dir: Path) -> None:
    code = main(["watch", "--pcap", str(GWLB_VXLAN), "--headless", "--json", "--state-dir", str(state_dir)])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc = json.loads(out.out)
    assert doc == json.loads(json.dumps(summarize_pcap(GWLB_VXLAN))) and doc["geneve_packets"] == 10
    assert doc["vnis"] == {"4343": 10} and set(doc["sources"]) == {"10.54.0.1", "10.54.0.2"}


# -- the same, on captures made now from a real Linux geneve device (root: qemu, a namespace, tcpdump) ------------


@pytest.fixture(scope="module")
def fresh_captures(tmp_path_factory) -> dict[str, Path]:
    """One boot of tests/geneve_vm.py's VM for the module; a missing qemu fails, it does not skip."""
    if os.geteuid() != 0:
        pytest.skip("needs root to boot the GENEVE VM (a network namespace, a tap device, tcpdump)")
    try:
        return make_captures(tmp_path_factory.mktemp("geneve-vm"))
    except GeneveVmError as e:
        pytest.fail(f"could not make fresh GENEVE captures: {e}")


@pytest.mark.root
@pytest.mark.parametrize("name", CAPTURES)
def test_fresh_linux_geneve_decodes_as_tshark_decodes_it(name: str, fresh_captures: dict[str, Path], tshark) -> None:
    check_decodes_as_tshark(fresh_captures[name], name, tshark)


@pytest.mark.root
def test_fresh_vxlan_behind_a_load_balancer_gives_exactly_the_mirrored_flows(fresh_captures: dict[str, Path]) -> None:
    assert conversation(summarize_pcap(fresh_captures["vxlan-in-gwlb-geneve"])) == GWLB_CONVERSATION


# -- fixtures other modules share ---------------------------------------------------------------------------------


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
