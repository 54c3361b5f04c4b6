"""The raw view's lines carry the facts tcpdump prints for the same packets."""

from __future__ import annotations

import re

import pytest

from vpc_mirror.steps.capture import CaptureSession

from tests.testdata import VXLAN as DATA

_TIME = r"(\d\d:\d\d:\d\d\.\d{6})"
# tcpdump -tttt: "2013-05-18 20:21:44.837063 ... 192.168.203.1.45149 > 192.168.202.1.4789: ... VXLAN, flags [I] (0x08), vni 100"
_TCPDUMP_OUTER = re.compile(_TIME + r".*?(\S+)\.\d+ > (\S+)\.4789: (?:\[.*?\] )?VXLAN, flags \[I\] \(0x08\), vni (\d+)", re.S)
_TCPDUMP_INNER = [
    ("icmp", re.compile(r"(\S+) > (\S+): ICMP echo (request|reply), id (\d+), seq (\d+), length (\d+)")),
    ("who-has", re.compile(r"Request who-has (\S+) tell (\S+),")),
    ("is-at", re.compile(r"Reply (\S+) is-at (\S+),")),
    ("tcp", re.compile(r"(\S+)\.(\d+) > (\S+)\.(\d+): Flags .*, length (\d+)$")),
]
_OURS_OUTER = re.compile(_TIME + r" (\S+) > (\S+): VXLAN vni (\d+), (.*)$")
_OURS_INNER = [
    ("icmp", re.compile(r"^(\S+) > (\S+): ICMP echo (request|reply), id (\d+), seq (\d+), length (\d+)$")),
    ("who-has", re.compile(r"^ARP, Request who-has (\S+) tell (\S+)$")),
    ("is-at", re.compile(r"^ARP, Reply (\S+) is-at (\S+)$")),
    ("tcp", re.compile(r"^(\S+)\.(\d+) > (\S+)\.(\d+): tcp (\d+)$")),
]


def tcpdump_facts(text: str) -> list[tuple]:
    """One fact tuple per packet of a tcpdump .out file (records start with '    N  ')."""
    records = re.split(r"^\s+\d+\s{2}", text, flags=re.M)[1:]
    facts = []
    for record in records:
        outer = _TCPDUMP_OUTER.search(record)
        assert outer, record
        inner = next((kind, m.groups()) for kind, rx in _TCPDUMP_INNER if (m := rx.search(record.splitlines()[-1])))
        facts.append((*outer.groups(), *inner))
    return facts


def our_facts(lines: list[str]) -> list[tuple]:
    facts = []
    for line in lines:
        outer = _OURS_OUTER.match(line)
        assert outer, line
        *head, rest = outer.groups()
        inner = next(((kind, m.groups()) for kind, rx in _OURS_INNER if (m := rx.match(rest))), None)
        assert inner, line
        facts.append((*head, *inner))
    return facts


@pytest.mark.parametrize(
    "name",
    ["vxlan", "gso-ipv4-vxlan-ipv4", "gso-ipv4-vxlan-ipv6", "gso-ipv6-vxlan-ipv4", "gso-ipv6-vxlan-ipv6"],
)
def test_raw_lines_match_tcpdump(name: str) -> None:
    session = CaptureSession()
    session.feed((DATA / "tcpdump" / f"{name}.pcap").read_bytes())
    expected = tcpdump_facts((DATA / "tcpdump" / f"{name}.out").read_text())
    assert our_facts(session.raw_lines()) == expected


def test_vxlan_out_facts_are_what_we_think() -> None:
    """Guard the parser above: it must really have read ICMP and ARP from vxlan.out."""
    facts = tcpdump_facts((DATA / "tcpdump" / "vxlan.out").read_text())
    assert len(facts) == 10
    assert facts[0] == ("20:21:44.837063", "192.168.203.1", "192.168.202.1", "100",
                        "icmp", ("192.168.203.3", "192.168.203.5", "request", "1292", "1", "64"))  # fmt: skip
    assert facts[1][4:] == ("who-has", ("192.168.203.3", "192.168.203.5"))
    assert facts[2][4:] == ("is-at", ("192.168.203.3", "00:16:3e:37:f6:04"))


def test_ring_is_bounded_and_keeps_the_newest() -> None:
    session = CaptureSession(raw_capacity=3)
    session.feed((DATA / "tcpdump" / "vxlan.pcap").read_bytes())
    lines = session.raw_lines()
    assert len(lines) == 3
    assert [line.split()[0] for line in lines] == ["20:21:46.884062", "20:21:47.841976", "20:21:47.885359"]
    assert session.raw_lines(1) == lines[-1:]
    assert session.raw_lines(0) == []
    few = CaptureSession(raw_capacity=100)
    few.feed((DATA / "tcpdump" / "vxlan.pcap").read_bytes())
    held = few.raw_lines()
    assert few.raw_lines(len(held) + 50) == held  # asking for more than it holds gives all it holds, in order
    chunked = CaptureSession(raw_capacity=3)
    data = (DATA / "tcpdump" / "vxlan.pcap").read_bytes()
    for at in range(0, len(data), 100):
        chunked.feed(data[at:at + 100])
    assert chunked.raw_lines() == lines


def test_udp_and_http_lines() -> None:
    session = CaptureSession()
    session.feed((DATA / "zeek" / "vxlan-encapsulated-http.pcap").read_bytes())
    lines = session.raw_lines()
    assert lines[0].endswith(
        "10.1.200.131 > 10.1.1.172: VXLAN vni 1, 172.16.11.201.40354 > 54.86.237.188.80: tcp 0"
    )
    assert lines[3].endswith("172.16.11.201.40354 > 54.86.237.188.80: tcp 87")  # the GET
    assert lines[7].endswith("54.86.237.188.80 > 172.16.11.201.40354: tcp 8984")  # 9100-byte frame
