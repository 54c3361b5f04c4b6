"""Cut and corrupted packets never raise, and every one of them is accounted for."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vpc_mirror.steps.capture import CaptureSession, SyntheticTraffic, random_flows, summarize_pcap
from vpc_mirror.steps.capture.pcap import PcapStream, global_header, record

from tests.testdata import VXLAN as DATA
from tests.testdata import VXLAN_CAPTURES


def frames_of(path: Path) -> list[tuple[float, bytes]]:
    stream = PcapStream()
    buf, records = stream.feed(path.read_bytes())
    return [(ts, buf[off : off + caplen]) for off, caplen, _wire, _sec, ts in records]


# ... and the VXLAN packet inside a Gateway Load Balancer's GENEVE, TCP and UDP inside.
_GWLB = SyntheticTraffic(random_flows(["10.0.1.10"], [7], flows=4, packets=8, seed=2, protos=(6, 17)),
                         target="10.0.9.9", gwlb="10.0.50.5")
FRAMES = [frame for path in VXLAN_CAPTURES for frame in frames_of(path)] + list(_GWLB.packets())


def capture(records: list[bytes]) -> bytes:
    return global_header() + b"".join(records)


@st.composite
def damaged(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A real frame, cut short by a snaplen or with some bytes overwritten; (record, is_cut)."""
    ts, frame = draw(st.sampled_from(FRAMES))
    if draw(st.booleans()):
        cut = draw(st.integers(0, len(frame) - 1))
        return record(ts, frame[:cut], origlen=len(frame)), True
    data = bytearray(frame)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, min(len(data), 120) - 1))] = draw(st.integers(0, 255))
    return record(ts, bytes(data)), False


@settings(max_examples=300, deadline=None)
@given(st.lists(damaged(), min_size=1, max_size=20))
def test_damage_never_raises_and_is_counted(packets: list[tuple[bytes, bool]]) -> None:
    session = CaptureSession()
    session.feed(capture([rec for rec, _cut in packets]))
    snap = session.snapshot()
    assert session.error is None
    assert snap.packets == len(packets)
    # Only a cut record can be truncated; one cut after its last header reads as whole.
    assert snap.truncated <= sum(cut for _rec, cut in packets)
    # Whatever was not read as VXLAN or as clearly not VXLAN is reported as damage.
    assert snap.packets - snap.vxlan_packets - snap.non_vxlan <= snap.malformed + snap.truncated
    assert len(session.raw_lines()) == len(packets)


def test_cut_inside_the_outer_headers_counts_as_truncated_only() -> None:
    frames = frames_of(DATA / "tcpdump" / "vxlan.pcap")
    session = CaptureSession()
    session.feed(capture([record(ts, f[:40], origlen=len(f)) for ts, f in frames]))
    snap = session.snapshot()
    assert (snap.packets, snap.truncated, snap.malformed, snap.vxlan_packets) == (10, 10, 0, 0)
    assert all(" malformed frame, length " in line for line in session.raw_lines())


def test_cut_inside_the_inner_headers_still_shows_source_and_vni() -> None:
    frames = frames_of(DATA / "tcpdump" / "vxlan.pcap")
    session = CaptureSession()
    session.feed(capture([record(ts, f[:60], origlen=len(f)) for ts, f in frames]))
    snap = session.snapshot()
    assert (snap.vxlan_packets, snap.truncated, snap.malformed) == (10, 10, 0)
    assert set(snap.vnis) == {100}
    assert set(snap.sources) == {"192.168.203.1", "192.168.202.1"}
    assert all(line.endswith("[|inner]") for line in session.raw_lines())


def test_inconsistent_inner_header_is_malformed_but_still_vxlan() -> None:
    ts, frame = frames_of(DATA / "tcpdump" / "vxlan.pcap")[0]
    bad = bytearray(frame)
    bad[64] = 0x41  # inner IPv4 header length 4 bytes: impossible
    session = CaptureSession()
    session.feed(capture([record(ts, bytes(bad))]))
    snap = session.snapshot()
    assert (snap.packets, snap.vxlan_packets, snap.malformed, snap.truncated) == (1, 1, 1, 0)
    assert snap.vnis[100].packets == 1


def test_non_vxlan_traffic_is_counted_apart() -> None:
    ts, frame = frames_of(DATA / "tcpdump" / "vxlan.pcap")[0]
    dns = frame[:36] + struct.pack("!H", 53) + frame[38:]  # same packet to UDP port 53
    session = CaptureSession()
    session.feed(capture([record(ts, dns), record(ts, frame)]))
    snap = session.snapshot()
    assert (snap.packets, snap.vxlan_packets, snap.non_vxlan, snap.malformed) == (2, 1, 1, 0)
    assert "not VXLAN to udp port 53" in session.raw_lines()[0]


def test_bad_magic_is_an_error_not_a_crash(tmp_path: Path) -> None:
    session = CaptureSession()
    session.feed(b"\x0a\x0d\x0d\x0a" + bytes(60))  # pcapng
    assert session.error is not None and "pcapng" in session.error
    session.feed(b"more bytes")
    assert session.snapshot().packets == 0
    path = tmp_path / "x.pcapng"
    path.write_bytes(b"\x0a\x0d\x0d\x0a" + bytes(60))
    with pytest.raises(ValueError, match="not a pcap"):
        summarize_pcap(path)
