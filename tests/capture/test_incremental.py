"""The reader gives the same results however the stream is chopped up."""

from __future__ import annotations

import random
import struct

import pytest

from vpc_mirror.steps.capture import CaptureSession, FlowSpec, SyntheticTraffic, summary
from vpc_mirror.steps.capture.pcap import LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, PcapStream, global_header, record

from tests.testdata import VXLAN_CAPTURES


def fed(data: bytes, sizes: list[int] | None) -> tuple[dict, list[str]]:
    """Feed `data` in chunks of the given sizes (cycled), or whole if None."""
    session = CaptureSession()
    if sizes is None:
        session.feed(data)
    else:
        pos, i = 0, 0
        while pos < len(data):
            session.feed(data[pos : pos + sizes[i % len(sizes)]])
            pos += sizes[i % len(sizes)]
            i += 1
    assert session.error is None
    return summary(session.snapshot()), session.raw_lines()


def small_synthetic() -> bytes:
    flows = [
        FlowSpec("10.0.0.1", 7, 6, "192.168.1.1", "192.168.1.2", 40000, 443, packets=30, payload=100),
        FlowSpec("10.0.0.2", 8, 17, "192.168.1.3", "192.168.1.4", 5353, 53, packets=20, payload=40),
        FlowSpec("10.0.0.2", 8, 1, "192.168.1.3", "192.168.1.9", packets=5, payload=56),
    ]
    return b"".join(SyntheticTraffic(flows, target="10.0.9.9", duration=25).pcap_chunks(batch=7))


CAPTURES = {p.name: p.read_bytes() for p in VXLAN_CAPTURES} | {"synthetic": small_synthetic()}


@pytest.mark.parametrize("name", CAPTURES)
def test_chunk_sizes_do_not_change_the_result(name: str) -> None:
    data = CAPTURES[name]
    whole = fed(data, None)
    assert whole[0]["packets"] > 0
    assert fed(data, [1]) == whole
    assert fed(data, [7]) == whole
    rng = random.Random(name)
    assert fed(data, [rng.randint(1, 3000) for _ in range(50)]) == whole


def _swap_to(data: bytes, order: str, nano: bool) -> bytes:
    """Rewrite a little-endian microsecond pcap in another byte order / resolution."""
    stream = PcapStream()
    buf, records = stream.feed(data)
    header = stream.header
    assert header is not None
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = [struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, header.snaplen, header.linktype)]
    for off, caplen, wire, sec, ts in records:
        frac = round((ts - sec) * (1e9 if nano else 1e6))
        out.append(struct.pack(order + "IIII", sec, frac, caplen, wire) + buf[off : off + caplen])
    return b"".join(out)


@pytest.mark.parametrize(("order", "nano"), [(">", False), ("<", True), (">", True)])
def test_byte_order_and_nanosecond_captures_read_the_same(order: str, nano: bool) -> None:
    data = CAPTURES["vxlan.pcap"]
    assert fed(_swap_to(data, order, nano), [5]) == fed(data, None)


def _as_linux_cooked(data: bytes, linktype: int) -> bytes:
    """The same packets as `tcpdump -i any` would have written them."""
    stream = PcapStream()
    buf, records = stream.feed(data)
    out = [global_header(linktype=linktype)]
    for off, caplen, _wire, _sec, ts in records:
        frame = buf[off : off + caplen]
        ethertype, payload = frame[12:14], frame[14:]
        if linktype == LINKTYPE_LINUX_SLL:
            head = struct.pack("!HHH", 0, 1, 6) + frame[6:12] + b"\0\0" + ethertype
        else:
            head = ethertype + struct.pack("!HIHBB", 0, 2, 1, 0, 6) + frame[6:12] + b"\0\0"
        out.append(record(ts, head + payload))
    assert stream.error is None
    return b"".join(out)


@pytest.mark.parametrize("linktype", [LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2])
def test_linux_cooked_captures_decode_like_ethernet(linktype: int) -> None:
    data = CAPTURES["vxlan-encapsulated-http.pcap"]
    cooked, lines = fed(_as_linux_cooked(data, linktype), None)
    ethernet, ethernet_lines = fed(data, None)
    assert cooked == ethernet
    assert lines == ethernet_lines
