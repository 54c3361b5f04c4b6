"""Bounded aggregation of decoded VXLAN traffic, read through immutable snapshots.

Only the flow table is touched per packet. A flow is keyed by outer source,
VNI and inner 5-tuple, so the per-source and per-VNI figures are sums over the
flows, computed when a snapshot is taken; an evicted flow is folded into its
source's and VNI's running totals first, so nothing is lost to eviction.

Each counter is a flat list (see the indices below) holding lifetime totals
and two rate buckets of `window` seconds. The rate is the sliding-window
counter estimate: the previous bucket weighted by how much of it is still
inside the window, plus the current bucket, divided by the window. It costs
no work per packet beyond the counts themselves.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .decode import Address, addr_text

FlowKey = tuple[Address, int, int | None, Address | None, Address | None, int | None, int | None]
"""(outer source, VNI, inner proto, src, dst, sport, dport); ARP has proto None."""

# Counter layout: packets and bytes before the current bucket, first and last
# seen, current bucket number, its packets and bytes, the previous bucket's.
PACKETS, BYTES, FIRST, LAST, BUCKET, CUR_PACKETS, CUR_BYTES, PREV_PACKETS, PREV_BYTES = range(9)

DEFAULT_FLOW_CAPACITY = 10_000
DEFAULT_WINDOW = 10


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for a source, VNI or flow; rates are per second over the window."""

    packets: int
    bytes: int
    first: float
    last: float
    pps: float
    bytes_per_s: float


@dataclass(frozen=True, slots=True)
class FlowStats:
    """One inner flow as seen from one outer source."""

    source: str
    vni: int
    proto: int | None
    src: str | None
    dst: str | None
    sport: int | None
    dport: int | None
    stats: Stats


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A consistent picture of the capture so far; never changed once made."""

    time: float
    packets: int
    vxlan_packets: int
    non_vxlan: int
    malformed: int
    truncated: int
    evicted_flows: int
    vxlan_pps: float
    sources: dict[str, Stats]
    vnis: dict[int, Stats]
    flows: tuple[FlowStats, ...]  # busiest first


def new_counter(ts: float, bucket: int, nbytes: int) -> list[float]:
    """A counter holding one packet."""
    return [0, 0, ts, ts, bucket, 1, nbytes, 0, 0]


def rotate(c: list, bucket: int) -> None:
    """Close the current bucket and start `bucket`."""
    cur_p, cur_b = c[CUR_PACKETS], c[CUR_BYTES]
    c[PACKETS] += cur_p
    c[BYTES] += cur_b
    if bucket == c[BUCKET] + 1:
        c[PREV_PACKETS], c[PREV_BYTES] = cur_p, cur_b
    else:
        c[PREV_PACKETS] = c[PREV_BYTES] = 0
    c[CUR_PACKETS] = c[CUR_BYTES] = 0
    c[BUCKET] = bucket


def fold(into: list, c: list) -> None:
    """Add counter `c` into `into`, keeping both rate buckets right."""
    if c[BUCKET] > into[BUCKET]:
        rotate(into, c[BUCKET])
    into[PACKETS] += c[PACKETS]
    into[BYTES] += c[BYTES]
    if c[BUCKET] == into[BUCKET]:
        into[CUR_PACKETS] += c[CUR_PACKETS]
        into[CUR_BYTES] += c[CUR_BYTES]
        into[PREV_PACKETS] += c[PREV_PACKETS]
        into[PREV_BYTES] += c[PREV_BYTES]
    else:
        into[PACKETS] += c[CUR_PACKETS]
        into[BYTES] += c[CUR_BYTES]
        if c[BUCKET] == into[BUCKET] - 1:
            into[PREV_PACKETS] += c[CUR_PACKETS]
            into[PREV_BYTES] += c[CUR_BYTES]
    into[FIRST] = min(into[FIRST], c[FIRST])
    into[LAST] = max(into[LAST], c[LAST])


class Aggregator:
    """Per-flow counters in a bounded table, least recently seen evicted first.

    `flows` and the counters are public so the session's hot loop can update
    an existing flow inline; anything else goes through `add`.
    """

    __slots__ = (
        "capacity", "window", "flows", "evicted", "non_vxlan", "malformed", "truncated",
        "packets", "_retired_sources", "_retired_vnis",
    )  # fmt: skip

    def __init__(self, flow_capacity: int = DEFAULT_FLOW_CAPACITY, window: int = DEFAULT_WINDOW) -> None:
        if flow_capacity < 1 or window < 1:
            raise ValueError("flow capacity and window must be positive")
        self.capacity = flow_capacity
        self.window = window
        self.flows: OrderedDict[FlowKey, list] = OrderedDict()
        self.evicted = 0
        self.packets = 0
        self.non_vxlan = 0
        self.malformed = 0
        self.truncated = 0
        self._retired_sources: dict[Address, list] = {}
        self._retired_vnis: dict[int, list] = {}

    def add(self, key: FlowKey, ts: float, sec: int, nbytes: int) -> None:
        """Count one VXLAN packet of `nbytes` (inner L3 length) for flow `key`."""
        bucket = sec // self.window
        flows = self.flows
        c = flows.get(key)
        if c is None:
            if len(flows) >= self.capacity:
                self._evict()
            flows[key] = new_counter(ts, bucket, nbytes)
        else:
            flows.move_to_end(key)
            if bucket > c[BUCKET]:
                rotate(c, bucket)
            c[CUR_PACKETS] += 1
            c[CUR_BYTES] += nbytes
            c[LAST] = ts

    def _evict(self) -> None:
        key, c = self.flows.popitem(last=False)
        self.evicted += 1
        for table, k in ((self._retired_sources, key[0]), (self._retired_vnis, key[1])):
            into = table.get(k)
            if into is None:
                table[k] = list(c)
            else:
                fold(into, c)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Totals, per source, per VNI and per flow; rates as of `now` (default: last packet)."""
        if now is None:
            counters = [*self.flows.values(), *self._retired_sources.values()]
            now = max((c[LAST] for c in counters), default=0.0)
        rate = _Rate(now, self.window)
        sources = {k: list(c) for k, c in self._retired_sources.items()}
        vnis = {k: list(c) for k, c in self._retired_vnis.items()}
        flows = []
        for key, c in self.flows.items():
            for table, k in ((sources, key[0]), (vnis, key[1])):
                into = table.get(k)
                if into is None:
                    table[k] = list(c)
                else:
                    fold(into, c)
            source, vni, proto, src, dst, sport, dport = key
            flows.append(
                FlowStats(
                    addr_text(source), vni, proto,
                    None if src is None else addr_text(src),
                    None if dst is None else addr_text(dst),
                    sport, dport, rate.stats(c),
                )  # fmt: skip
            )
        flows.sort(key=lambda f: (-f.stats.packets, -f.stats.last))
        source_stats = {addr_text(k): rate.stats(c) for k, c in sources.items()}
        vni_stats = {k: rate.stats(c) for k, c in sorted(vnis.items())}
        return Snapshot(
            time=now,
            packets=self.packets,
            vxlan_packets=sum(s.packets for s in vni_stats.values()),
            non_vxlan=self.non_vxlan,
            malformed=self.malformed,
            truncated=self.truncated,
            evicted_flows=self.evicted,
            vxlan_pps=sum(s.pps for s in vni_stats.values()),
            sources=source_stats,
            vnis=vni_stats,
            flows=tuple(flows),
        )


class _Rate:
    """Sliding-window counter estimate at one instant."""

    __slots__ = ("bucket", "carry", "window")

    def __init__(self, now: float, window: int) -> None:
        self.window = window
        self.bucket = int(now // window)
        # Share of the previous bucket still inside the window ending at `now`.
        self.carry = min(1.0, max(0.0, 1.0 - (now - self.bucket * window) / window))

    def stats(self, c: list) -> Stats:
        if c[BUCKET] >= self.bucket:  # >: the sensor's clock is ahead of `now`
            pkts = c[PREV_PACKETS] * self.carry + c[CUR_PACKETS]
            nbytes = c[PREV_BYTES] * self.carry + c[CUR_BYTES]
        elif c[BUCKET] == self.bucket - 1:
            pkts = c[CUR_PACKETS] * self.carry
            nbytes = c[CUR_BYTES] * self.carry
        else:
            pkts = nbytes = 0.0
        return Stats(
            c[PACKETS] + c[CUR_PACKETS],
            c[BYTES] + c[CUR_BYTES],
            c[FIRST],
            c[LAST],
            pkts / self.window,
            nbytes / self.window,
        )
