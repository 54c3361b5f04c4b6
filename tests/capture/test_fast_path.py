"""The one-unpack fast path counts exactly what the general decoder counts: same flows, bytes and verdicts.

Most mirrored packets take the fast path (``CaptureSession._count``); the
general ``Decoder`` is the reference. Each capture is read twice, once as it
is and once with the fast path switched off, over TCP, UDP and ICMP flows,
plain and inside a Gateway Load Balancer's GENEVE, whole and cut at every
snap length around the inner headers' ends.
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


def capture(gwlb: bool, snaplen: int | None) -> bytes:
    traffic = SyntheticTraffic(random_flows(SOURCES, VNIS, flows=45, packets=1500, seed=7), target="10.0.100.5",
                               gwlb="10.0.200.9" if gwlb else None)
    cut = None if snaplen is None else snaplen + (GWLB_SHIFT if gwlb else 0)
    return global_header() + b"".join(record(ts, frame[:cut], len(frame)) for ts, frame in traffic.packets())


def counted(data: bytes) -> dict:
    """The summary, flows in a fixed order (flows with equal counts may be listed in either order)."""
    session = CaptureSession()
    session.feed(data)
    doc = summary(session.snapshot())
    doc["flows"] = sorted(doc["flows"], key=repr)
    return doc


@pytest.mark.parametrize("gwlb", [False, True], ids=["vxlan", "gwlb-geneve"])
@pytest.mark.parametrize("snaplen", SNAPLENS, ids=lambda n: f"snaplen-{n or 'whole'}")
def test_the_fast_path_counts_what_the_general_decoder_counts(gwlb, snaplen, monkeypatch):
    data = capture(gwlb, snaplen)
    fast = counted(data)
    monkeypatch.setattr(session_module, "_FAST_MIN_CAPLEN", 1 << 62)  # every packet through Decoder
    general = counted(data)
    assert fast == general
    assert fast["packets"] == 1500


def test_icmp_flows_are_counted_without_ports():
    """An ICMP flow is keyed by its addresses alone, as the general decoder keys it."""
    doc = counted(capture(False, None))
    icmp = [f for f in doc["flows"] if f["proto"] in (1, "icmp", "ICMP")]
    assert icmp, "the synthetic traffic has ICMP flows"
    assert all(f.get("sport") in (None, "") and f.get("dport") in (None, "") for f in icmp)
