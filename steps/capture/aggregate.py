"""Bounded aggregation of decoded VXLAN traffic, read through immutable snapshots.

Only the flow table is kept up to date as packets arrive (the session hands
it one update per flow and second). A flow is keyed by outer source, VNI and
inner 5-tuple, so the per-source and per-VNI figures are sums over the flows,
computed when a snapshot is taken; an evicted flow is folded into its
source's and VNI's running totals first, so nothing is lost to eviction.

Each counter is a flat list (see the indices below) holding lifetime totals
and two rate buckets of `window` seconds. The rate is the sliding-window
counter estimate: the previous bucket weighted by how much of it is still
inside the window, plus the current bucket, divided by the window. It costs
nothing beyond the counts themselves.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from .decode import Address, addr_text, split_inner

FlowKey = tuple[Address, bytes, int | None, bytes]
"""(outer source, VNI as its 3 wire bytes, inner proto, `join_inner` bytes); ARP has proto None.

Everything but the protocol stays as the bytes on the wire, so the session's
fast path can use what it unpacked as it is.
"""

# Counter layout: packets and bytes before the current bucket, first and last
# seen (whole seconds: enough for a live view, and free to store), the end of
# the current bucket (a second, so the per-packet check is one comparison),
# its packets and bytes, the previous bucket's, and (flows only) the second
# the flow took its place in the eviction queue, or EVICTED once it is out of
# the table (so whoever still holds the list can tell).
PACKETS, BYTES, FIRST, LAST, UNTIL, CUR_PACKETS, CUR_BYTES, PREV_PACKETS, PREV_BYTES, PLACED = range(10)
EVICTED = -1

DEFAULT_FLOW_CAPACITY = 10_000
DEFAULT_WINDOW = 10


@dataclass(frozen=True, slots=True)
class Stats:
    """Counts for a source, VNI or flow; rates are per second over the window."""

    packets: int
    bytes: int
    first: int  # whole seconds
    last: int
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
    geneve_packets: int  # of vxlan_packets, those that arrived inside GENEVE
    vxlan_pps: float
    sources: dict[str, Stats]
    vnis: dict[int, Stats]
    flows: tuple[FlowStats, ...]  # busiest first


def new_counter(sec: int, until: int) -> list[int]:
    """An empty counter first seen at `sec`, in the bucket ending at `until`."""
    return [0, 0, sec, sec, until, 0, 0, 0, 0, sec]


def rotate(c: list, until: int, window: int) -> None:
    """Close the current bucket and start the one ending at `until`."""
    cur_p, cur_b = c[CUR_PACKETS], c[CUR_BYTES]
    c[PACKETS] += cur_p
    c[BYTES] += cur_b
    if until == c[UNTIL] + window:
        c[PREV_PACKETS], c[PREV_BYTES] = cur_p, cur_b
    else:
        c[PREV_PACKETS] = c[PREV_BYTES] = 0
    c[CUR_PACKETS] = c[CUR_BYTES] = 0
    c[UNTIL] = until


def fold(into: list, c: list, window: int) -> None:
    """Add counter `c` into `into`, keeping both rate buckets right."""
    if c[UNTIL] > into[UNTIL]:
        rotate(into, c[UNTIL], window)
    into[PACKETS] += c[PACKETS]
    into[BYTES] += c[BYTES]
    if c[UNTIL] == into[UNTIL]:
        into[CUR_PACKETS] += c[CUR_PACKETS]
        into[CUR_BYTES] += c[CUR_BYTES]
        into[PREV_PACKETS] += c[PREV_PACKETS]
        into[PREV_BYTES] += c[PREV_BYTES]
    else:
        into[PACKETS] += c[CUR_PACKETS]
        into[BYTES] += c[CUR_BYTES]
        if c[UNTIL] == into[UNTIL] - window:
            into[PREV_PACKETS] += c[CUR_PACKETS]
            into[PREV_BYTES] += c[CUR_BYTES]
    into[FIRST] = min(into[FIRST], c[FIRST])
    into[LAST] = max(into[LAST], c[LAST])


class Aggregator:
    """Per-flow counters in a bounded table; the least recently seen flows go first.

    Eviction is CLOCK (second chance) over insertion order, to the second: a
    flow seen again since it was queued is requeued instead of evicted. That
    is least-recently-seen without reordering the table on every packet.
    `flows` and the counters are public so the session's hot loop can update
    an existing flow inline; anything else goes through `add`.
    """

    __slots__ = (
        "capacity", "window", "flows", "evicted", "non_vxlan", "malformed", "truncated", "geneve",
        "undecoded", "latest", "_retired_sources", "_retired_vnis",
    )  # fmt: skip

    def __init__(self, flow_capacity: int = DEFAULT_FLOW_CAPACITY, window: int = DEFAULT_WINDOW) -> None:
        if flow_capacity < 1 or window < 1:
            raise ValueError("flow capacity and window must be positive")
        self.capacity = flow_capacity
        self.window = window
        self.flows: OrderedDict[FlowKey, list] = OrderedDict()
        self.evicted = 0
        self.undecoded = 0  # neither VXLAN nor clearly not: malformed or cut by the snaplen
        self.non_vxlan = 0
        self.malformed = 0
        self.truncated = 0  # cut by the snap length before the end of a header the view reads
        self.geneve = 0
        self.latest = 0.0  # timestamp of the newest packet, kept by the feeder
        self._retired_sources: dict[Address, list] = {}
        self._retired_vnis: dict[bytes, list] = {}

    def add(self, key: FlowKey, sec: int, nbytes: int, packets: int = 1) -> None:
        """Count `packets` VXLAN packets of flow `key`, seen at `sec`, carrying `nbytes` (inner L3)."""
        flows = self.flows
        c = flows.get(key)
        if c is None:
            if len(flows) >= self.capacity:
                self._evict()
            c = flows[key] = new_counter(sec, sec - sec % self.window + self.window)
        elif sec >= c[UNTIL]:
            rotate(c, sec - sec % self.window + self.window, self.window)
        c[CUR_PACKETS] += packets
        c[CUR_BYTES] += nbytes
        if sec > c[LAST]:
            c[LAST] = sec

    def _evict(self) -> None:
        flows = self.flows
        while True:
            key, c = flows.popitem(last=False)
            if c[LAST] <= c[PLACED]:
                break
            c[PLACED] = c[LAST]
            flows[key] = c
        c[PLACED] = EVICTED
        self.evicted += 1
        for table, k in ((self._retired_sources, key[0]), (self._retired_vnis, key[1])):
            into = table.get(k)
            if into is None:
                table[k] = list(c)
            else:
                fold(into, c, self.window)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Totals, per source, per VNI and per flow; rates as of `now` (default: last packet)."""
        if now is None:
            now = self.latest
        rate = _Rate(now, self.window)
        window = self.window
        sources = {k: list(c) for k, c in self._retired_sources.items()}
        vnis = {k: list(c) for k, c in self._retired_vnis.items()}
        flows = []
        for key, c in self.flows.items():
            for table, k in ((sources, key[0]), (vnis, key[1])):
                into = table.get(k)
                if into is None:
                    table[k] = list(c)
                else:
                    fold(into, c, window)
            source, vni, proto, inner = key
            src, dst, sport, dport = split_inner(inner)
            flows.append(
                FlowStats(
                    addr_text(source), int.from_bytes(vni, "big"), proto,
                    None if src is None else addr_text(src),
                    None if dst is None else addr_text(dst),
                    sport, dport, rate.stats(c),
                )  # fmt: skip
            )
        flows.sort(key=lambda f: (-f.stats.packets, -f.stats.last))
        source_stats = {addr_text(k): rate.stats(c) for k, c in sources.items()}
        vni_stats = {int.from_bytes(k, "big"): rate.stats(c) for k, c in sorted(vnis.items())}
        vxlan_packets = sum(s.packets for s in vni_stats.values())
        return Snapshot(
            time=now,
            packets=vxlan_packets + self.non_vxlan + self.undecoded,
            vxlan_packets=vxlan_packets,
            non_vxlan=self.non_vxlan,
            malformed=self.malformed,
            truncated=self.truncated,
            evicted_flows=self.evicted,
            geneve_packets=self.geneve,
            vxlan_pps=sum(s.pps for s in vni_stats.values()),
            sources=source_stats,
            vnis=vni_stats,
            flows=tuple(flows),
        )


class _Rate:
    """Sliding-window counter estimate at one instant."""

    __slots__ = ("until", "carry", "window")

    def __init__(self, now: float, window: int) -> None:
        self.window = window
        start = int(now // window) * window
        self.until = start + window
        # Share of the previous bucket still inside the window ending at `now`.
        self.carry = min(1.0, max(0.0, 1.0 - (now - start) / window))

    def stats(self, c: list) -> Stats:
        if c[UNTIL] >= self.until:  # >: the sensor's clock is ahead of `now`
            pkts = c[PREV_PACKETS] * self.carry + c[CUR_PACKETS]
            nbytes = c[PREV_BYTES] * self.carry + c[CUR_BYTES]
        elif c[UNTIL] == self.until - self.window:
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
