"""The one-unpack fast path counts exactly what the general decoder counts: same flows, bytes and verdicts.

Most mirrored packets take the fast path (``CaptureSession._count``); the
general ``Decoder`` is the reference. Each capture is read twice, once as it
is and once with the fast path switched off, over TCP, UDP and ICMP flows,
plain, inside a Gateway Load Balancer's GENEVE and the two interleaved (the
loop reads the layout of the last packet first), whole and cut at every snap
length around the inner headers' ends.
"""

from __future__ import annotations

import pytest

from vpc_mirror.steps.capture import CaptureSession, SyntheticTraffic, random_flows, summary
from vpc_mirror.steps.capture import session as session_module
from vpc_mirror.steps.capture.decode import GWLB_SHIFT
from vpc_mirror.steps.capture.pcap import global_header, record

SOURCES = ["10.0.1.10", "10.0.2.20", "10.0.3.30"]
VNIS = [101, 102]
#: around the end of the inner UDP/ICMP header (92) and TCP's flags (98)
SNAPLENS = [None, 84, 88, 90, 91, 92, 93, 97, 98, 99, 128]


def frames(gwlb: bool, snaplen: int | None, seed: int = 7) -> list[bytes]:
    traffic = SyntheticTraffic(random_flows(SOURCES, VNIS, flows=45, packets=1500, seed=seed), target="10.0.100.5",
                               gwlb="10.0.200.9" if gwlb else None)
    cut = None if snaplen is None else snaplen + (GWLB_SHIFT if gwlb else 0)
    return [record(ts, frame[:cut], len(frame)) for ts, frame in traffic.packets()]


def capture(shape: str, snaplen: int | None) -> bytes:
    """One capture: plain VXLAN, VXLAN inside a Gateway Load Balancer's GENEVE, or the two interleaved."""
    if shape == "mixed":  # a packet of each in turn, then runs of one: every change of layout
        plain, inside = frames(False, snaplen), frames(True, snaplen, seed=8)
        records = [r for pair in zip(plain[:500], inside[:500]) for r in pair] + plain[500:] + inside[500:]
    else:
        records = frames(shape == "gwlb-geneve", snaplen)
    return global_header() + b"".join(records)


def counted(data: bytes, size: int | None = None) -> dict:
    """The summary of ``data`` fed whole or in chunks of ``size``, flows in a fixed order (flows with equal counts
    may be listed in either order)."""
    session = CaptureSession()
    size = size or len(data)
    for at in range(0, len(data), size):
        session.feed(data[at:at + size])
    doc = summary(session.snapshot())
    doc["flows"] = sorted(doc["flows"], key=repr)
    return doc


@pytest.mark.parametrize("shape", ["vxlan", "gwlb-geneve", "mixed"])
@pytest.mark.parametrize("snaplen", SNAPLENS, ids=lambda n: f"snaplen-{n or 'whole'}")
def test_the_fast_path_counts_what_the_general_decoder_counts(shape, snaplen, monkeypatch):
    data = capture(shape, snaplen)
    fast = counted(data)
    monkeypatch.setattr(session_module, "_FAST_MIN_CAPLEN", 1 << 62)  # every packet through Decoder
    general = counted(data)
    assert fast == general
    assert fast["packets"] == (3000 if shape == "mixed" else 1500)
    assert fast["geneve_packets"] == {"vxlan": 0, "gwlb-geneve": 1500, "mixed": 1500}[shape]


def test_icmp_flows_are_counted_without_ports():
    """An ICMP flow is keyed by its addresses alone, as the general decoder keys it."""
    doc = counted(capture("vxlan", None))
    icmp = [f for f in doc["flows"] if f["proto"] in (1, "icmp", "ICMP")]
    assert icmp, "the synthetic traffic has ICMP flows"
    assert all(f.get("sport") in (None, "") and f.get("dport") in (None, "") for f in icmp)


@pytest.mark.parametrize("size", [1, 97, 1000, 65536])
def test_chunks_cut_anywhere_count_the_same(size):
    """A record cut by the chunk boundary is read whole from the next chunk, in whichever layout was being tried."""
    data = capture("mixed", 128)
    assert counted(data, size) == counted(data)
