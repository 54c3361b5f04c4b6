"""Several sensors' snapshots as one: the fleet's totals, for the verdict and the summary's top level.

Behind a load balancer each sensor sees a share of the mirrored traffic, so
the setup's picture is the sum of theirs. Counts and rates add up; a flow
seen by two sensors (each direction on its own, see directions.py) is one
row with both sensors' packets.
"""

from __future__ import annotations

from collections.abc import Iterable

from .aggregate import FlowStats, Snapshot, Stats


def add_stats(a: Stats, b: Stats) -> Stats:
    return Stats(a.packets + b.packets, a.bytes + b.bytes, min(a.first, b.first), max(a.last, b.last),
                 a.pps + b.pps, a.bytes_per_s + b.bytes_per_s)


def _add_into(table: dict, key, stats: Stats) -> None:
    table[key] = add_stats(table[key], stats) if key in table else stats


def merge_snapshots(snapshots: Iterable[Snapshot]) -> Snapshot:
    """One snapshot holding every sensor's counts (an empty capture when there is none)."""
    snaps = list(snapshots)
    sources: dict[str, Stats] = {}
    vnis: dict[int, Stats] = {}
    flows: dict[tuple, Stats] = {}
    for snap in snaps:
        for source, stats in snap.sources.items():
            _add_into(sources, source, stats)
        for vni, stats in snap.vnis.items():
            _add_into(vnis, vni, stats)
        for f in snap.flows:
            _add_into(flows, (f.source, f.vni, f.proto, f.src, f.dst, f.sport, f.dport), f.stats)
    rows = [FlowStats(*key, stats) for key, stats in flows.items()]
    rows.sort(key=lambda f: (-f.stats.packets, -f.stats.last))
    return Snapshot(
        time=max((s.time for s in snaps), default=0.0),
        packets=sum(s.packets for s in snaps),
        vxlan_packets=sum(s.vxlan_packets for s in snaps),
        non_vxlan=sum(s.non_vxlan for s in snaps),
        malformed=sum(s.malformed for s in snaps),
        truncated=sum(s.truncated for s in snaps),
        evicted_flows=sum(s.evicted_flows for s in snaps),
        geneve_packets=sum(s.geneve_packets for s in snaps),
        vxlan_pps=sum(s.vxlan_pps for s in snaps),
        sources=sources,
        vnis=dict(sorted(vnis.items())),
        flows=tuple(rows),
    )
