"""The capture on the sensor keeps what the view needs and nothing else.

* The default snap length cuts no header the view decodes: every capture gives
  the same summary cut to it as at full length.
* The `--vni` and `--source` filters, run by tcpdump (here on a file, the same
  BPF the sensor runs), keep exactly the packets tshark says are of that VNI
  or from that source, for VXLAN over IPv4 and IPv6, VXLAN inside GENEVE (both
  Linux's and a Gateway Load Balancer's shape) and plain GENEVE.

The GENEVE captures are tests/data/geneve/'s, real Linux tunnels made by
tests/geneve_vm.py, and a Gateway Load Balancer's synthetic delivery.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from vpc_mirror.steps.capture import CaptureSession, summarize_pcap
from vpc_mirror.steps.capture.bpf import capture_filter
from vpc_mirror.steps.capture.pcap import PcapStream, global_header, record
from vpc_mirror.steps.capture.remote import DEFAULT_SNAPLEN

from tests.capture.conftest import tshark_packets
from tests.capture.test_geneve import GENEVE_CAPTURES, gwlb_capture  # noqa: F401 (a fixture)
from tests.testdata import VXLAN as DATA
from tests.testdata import VXLAN_CAPTURES



def frames_of(path: Path) -> list[tuple[float, bytes, int]]:
    """(timestamp, captured bytes, length on the wire) of every record."""
    stream = PcapStream()
    buf, records = stream.feed(path.read_bytes())
    assert stream.error is None
    return [(ts, buf[off : off + caplen], wire) for off, caplen, wire, _sec, ts in records]


def write(path: Path, frames: list[tuple[float, bytes, int]], snaplen: int | None = None) -> Path:
    """The frames as a capture taken with `snaplen` (None: whole)."""
    path.write_bytes(global_header() + b"".join(record(ts, f[:snaplen], wire) for ts, f, wire in frames))
    return path


def same_at_default_snaplen(path: Path, tmp_path: Path) -> tuple[dict, dict, int]:
    """(summary at full length, summary cut to the default snap length, records the cut shortened)."""
    frames = frames_of(path)
    cut = write(tmp_path / f"cut-{path.name}", frames, DEFAULT_SNAPLEN)
    return summarize_pcap(path), summarize_pcap(cut), sum(len(f) > DEFAULT_SNAPLEN for _ts, f, _wire in frames)


def test_the_default_snap_length_cuts_no_header_of_the_shared_captures(tmp_path: Path) -> None:
    shortened = 0
    for path in VXLAN_CAPTURES:
        whole, cut, n = same_at_default_snaplen(path, tmp_path)
        assert cut == whole, path.name
        shortened += n
    assert shortened > 0  # the GSO captures' frames are longer than the snap length: the cut was real


@pytest.mark.parametrize("path", GENEVE_CAPTURES, ids=lambda p: p.name)
def test_the_default_snap_length_cuts_no_header_of_linux_geneve(path: Path, tmp_path: Path) -> None:
    whole, cut, n = same_at_default_snaplen(path, tmp_path)
    assert cut == whole and whole["geneve_packets"] == whole["packets"] > 0
    assert n > 0  # the pings are longer than the snap length: the cut was real


def test_the_default_snap_length_cuts_no_header_of_a_load_balancers_geneve(gwlb_capture: Path,  # noqa: F811
                                                                         tmp_path: Path) -> None:
    whole, cut, n = same_at_default_snaplen(gwlb_capture, tmp_path)
    assert cut == whole and whole["geneve_packets"] == whole["packets"] and n > 0


def test_a_shorter_snap_length_does_cut_headers(tmp_path: Path) -> None:
    """The comparison above can fail: cut into the inner headers, the packets show up as truncated."""
    path = DATA / "tcpdump" / "vxlan.pcap"
    cut = summarize_pcap(write(tmp_path / "short.pcap", frames_of(path), 60))
    assert cut["truncated"] == cut["packets"] > 0 and cut["flows"] == []


def _ipv6(nh: int, payload: bytes, src: int, dst: int) -> bytes:
    """IPv6 with a 64-byte hop-by-hop options header (PadN) before `payload`."""
    hop = bytes([nh, 7, 1, 60]) + bytes(60)
    return (struct.pack("!IHBB", 6 << 28, len(hop) + len(payload), 0, 64) + bytes(15) + bytes([src])
            + bytes(15) + bytes([dst]) + hop + payload)


def _ethernet(ethertype: int, payload: bytes) -> bytes:
    """Ethernet with two VLAN tags (QinQ)."""
    return bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + struct.pack("!HHHHH", 0x88A8, 10, 0x8100, 20, ethertype) + payload


def test_the_default_snap_length_covers_every_header_at_its_longest() -> None:
    """The worst case the budget allows: tags, IPv6 extension headers, GENEVE's longest options, TCP options."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 443, 1, 1, 0xF0, 0x18, 65535, 0, 0) + bytes(40) + b"payload" * 100
    inner = _ethernet(0x86DD, _ipv6(6, tcp, 1, 2))
    vxlan = struct.pack("!HHHH", 50000, 4789, 16 + len(inner), 0) + struct.pack("!B3xI", 0x08, 4242 << 8) + inner
    mirrored = _ethernet(0x86DD, _ipv6(17, vxlan, 3, 4))
    geneve = struct.pack("!BBHI", 63, 0, 0x6558, 0) + bytes(63 * 4) + mirrored
    frame = _ethernet(0x86DD, _ipv6(17, struct.pack("!HHHH", 50000, 6081, 8 + len(geneve), 0) + geneve, 5, 6))
    assert len(frame) - len(b"payload" * 100) == DEFAULT_SNAPLEN
    session = CaptureSession()
    session.feed(global_header() + record(1.0, frame[:DEFAULT_SNAPLEN], len(frame)))
    snap = session.snapshot()
    assert (snap.vxlan_packets, snap.geneve_packets, snap.truncated, snap.malformed) == (1, 1, 0, 0)
    assert [(f.source, f.vni, f.proto, f.dport) for f in snap.flows] == [("::3", 4242, 6, 443)]
    assert snap.flows[0].stats.bytes == 40 + 64 + len(tcp)


# -- filters ------------------------------------------------------------------------------------------------------


@pytest.fixture
def mixed(gwlb_capture: Path, tmp_path: Path) -> Path:  # noqa: F811
    """Every kind of mirrored packet in one capture, and a few that are not mirrored at all."""
    frames = [f for path in [*VXLAN_CAPTURES, *GENEVE_CAPTURES, gwlb_capture] for f in frames_of(path)]
    ts, frame, wire = frames_of(DATA / "tcpdump" / "vxlan.pcap")[0]
    dns = frame[:36] + struct.pack("!H", 53) + frame[38:]  # the same packet to UDP port 53
    return write(tmp_path / "mixed.pcap", frames + [(ts, dns, wire)])


def selected(path: Path, expression: str, tmp_path: Path) -> list[bytes]:
    """The frames tcpdump's BPF keeps."""
    out = tmp_path / "selected.pcap"
    subprocess.run(["tcpdump", "-r", str(path), "-w", str(out), expression], check=True, capture_output=True)
    return [f for _ts, f, _wire in frames_of(out)]


@pytest.fixture
def tcpdump_and_tshark() -> None:
    if shutil.which("tcpdump") is None or shutil.which("tshark") is None:
        pytest.skip("needs tcpdump and tshark to check the capture filters")


@pytest.mark.root
@pytest.mark.usefixtures("tcpdump_and_tshark")
def test_each_vni_filter_keeps_exactly_that_vnis_packets(mixed: Path, tmp_path: Path) -> None:
    frames = [f for _ts, f, _wire in frames_of(mixed)]
    seen = tshark_packets(mixed)
    assert selected(mixed, capture_filter(4789), tmp_path) == [f for f, p in zip(frames, seen) if p is not None]
    vnis = {p["vni"] for p in seen if p is not None}
    assert len(vnis) >= 8
    for vni in [*sorted(vnis), 999]:
        expected = [f for f, p in zip(frames, seen) if p is not None and p["vni"] == vni]
        assert selected(mixed, capture_filter(4789, vni=vni), tmp_path) == expected, vni


@pytest.mark.root
@pytest.mark.usefixtures("tcpdump_and_tshark")
def test_each_source_filter_keeps_exactly_that_sources_packets(mixed: Path, tmp_path: Path) -> None:
    frames = [f for _ts, f, _wire in frames_of(mixed)]
    seen = tshark_packets(mixed)
    sources = {p["source"] for p in seen if p is not None}
    assert {"fd00:77::2", "10.51.0.1", "10.54.0.1", "10.0.1.10"} <= sources  # GENEVE over IPv6, Linux's, a GWLB's
    for source in [*sorted(sources), "192.0.2.99"]:
        expected = [f for f, p in zip(frames, seen) if p is not None and p["source"] == source]
        assert selected(mixed, capture_filter(4789, source=source), tmp_path) == expected, source
    for p in {(p["vni"], p["source"]) for p in seen if p is not None}:
        expected = [f for f, q in zip(frames, seen) if q is not None and (q["vni"], q["source"]) == p]
        assert selected(mixed, capture_filter(4789, vni=p[0], source=p[1]), tmp_path) == expected, p
