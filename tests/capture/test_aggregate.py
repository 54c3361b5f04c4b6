"""The aggregator's memory stays bounded without losing counts, and its rates follow the traffic."""

from __future__ import annotations

import pytest

from vpc_mirror.steps.capture.aggregate import Aggregator
from vpc_mirror.steps.capture.decode import join_inner

A, B, C, D = (join_inner(bytes([10, 0, 0, 1]), bytes([10, 0, 0, n]), 1000 + n, 443) for n in (2, 3, 4, 5))
SRC1, SRC2 = bytes([192, 168, 0, 1]), bytes([192, 168, 0, 2])


def vni(n: int) -> bytes:
    return n.to_bytes(3, "big")


def test_small_table_evicts_the_least_recently_seen_and_keeps_totals() -> None:
    agg = Aggregator(flow_capacity=3)
    agg.add((SRC1, vni(10), 6, A), sec=100, nbytes=60)
    agg.add((SRC1, vni(10), 6, B), sec=101, nbytes=60)
    agg.add((SRC2, vni(20), 6, C), sec=102, nbytes=60)
    agg.add((SRC1, vni(10), 6, A), sec=103, nbytes=60)  # A is recent again; B is now the oldest
    agg.add((SRC2, vni(20), 6, D), sec=104, nbytes=60)
    agg.latest = 104.0
    snap = agg.snapshot()
    assert snap.evicted_flows == 1
    assert {(f.sport, f.dport) for f in snap.flows} == {(1002, 443), (1004, 443), (1005, 443)}
    # B's packet is gone from the flow list but not from its source and VNI.
    assert snap.sources["192.168.0.1"].packets == 3
    assert snap.vnis[10].packets == 3 and snap.vnis[20].packets == 2
    assert snap.vxlan_packets == snap.packets == 5
    assert snap.sources["192.168.0.1"].first == 100 and snap.sources["192.168.0.1"].last == 103


def test_many_flows_through_a_small_table() -> None:
    agg = Aggregator(flow_capacity=10)
    for n in range(1000):
        agg.add((SRC1, vni(1), 17, join_inner(bytes(4), bytes(4), n, 53)), sec=n, nbytes=100)
    snap = agg.snapshot(now=999.0)
    assert len(snap.flows) == 10
    assert snap.evicted_flows == 990
    assert {f.sport for f in snap.flows} == set(range(990, 1000))
    assert snap.vnis[1].packets == 1000 and snap.vnis[1].bytes == 100_000


def test_sliding_window_rate() -> None:
    agg = Aggregator(window=10)
    key = (SRC1, vni(5), 17, A)
    for sec in range(0, 40):  # 100 packets of 50 bytes every second for 40 s
        agg.add(key, sec, nbytes=100 * 50, packets=100)
    assert agg.snapshot(now=40.0).flows[0].stats.pps == pytest.approx(100)
    assert agg.snapshot(now=40.0).flows[0].stats.bytes_per_s == pytest.approx(5000)
    assert agg.snapshot(now=45.0).vnis[5].pps == pytest.approx(50)  # half the window is quiet
    assert agg.snapshot(now=50.0).sources["192.168.0.1"].pps == 0
    assert agg.snapshot(now=50.0).flows[0].stats.packets == 4000  # totals stay


def test_rate_tracks_a_change_of_pace() -> None:
    agg = Aggregator(window=10)
    key = (SRC1, vni(5), 17, A)
    for sec in range(0, 20):
        agg.add(key, sec, nbytes=10, packets=10)
    for sec in range(20, 25):
        agg.add(key, sec, nbytes=100, packets=100)
    # Window (15, 25]: half of the 10 pps bucket, then five seconds at 100 pps.
    assert agg.snapshot(now=25.0).vxlan_pps == pytest.approx((10 * 10 * 0.5 + 100 * 5) / 10)
    for sec in range(25, 30):
        agg.add(key, sec, nbytes=100, packets=100)
    assert agg.snapshot(now=30.0).vxlan_pps == pytest.approx(100)


def test_snapshots_are_immutable_pictures() -> None:
    agg = Aggregator()
    agg.add((SRC1, vni(5), 17, A), 1, 100)
    first = agg.snapshot()
    agg.add((SRC1, vni(5), 17, A), 2, 100)
    assert first.flows[0].stats.packets == 1
    assert agg.snapshot().flows[0].stats.packets == 2
