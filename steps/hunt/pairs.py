"""Log records -> the pairs RITA v5 would score, and their scores. Pure: no I/O.

Follows RITA's import filter (``config/filter.go`` ``FilterConnPair``,
``FilterSNIPair``), its linking of ssl/http rows to conn rows by uid
(``importer/ssl.go``, ``importer/http.go``), and the pair selection of
``analysis/spagooper.go`` and ``analysis/uconns.sql``:

- only internal -> external connections count (internal <-> internal, such as
  the VXLAN between source and sensor, external <-> external and external ->
  internal are dropped, as are RITA's never-included ranges: loopback,
  link-local, multicast, ...);
- the window ends at the last kept connection and starts WINDOW before it, or
  at the first kept connection if that is later (``GetBeaconMinMaxTimestamps``);
  rows are taken from the start of the hour the window starts in, because RITA
  selects its hourly aggregates by ``hour >= toStartOfHour(min_ts)``;
- a domain pair is source -> ssl ``server_name`` / http ``host`` (for http
  the uid's latest request, the one RITA links its conn row to); when a domain
  pair qualifies, any IP pair that shares a connection (uid) with it is left
  out (``filtered_hashes`` in uconns.sql drops the whole IP pair);
- a pair qualifies with at least 4 distinct seconds and fewer than 86,400
  connections, and is scored by score.beacon_score.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .records import ConnRecord, NameRecord
from .score import RITA_DEFAULTS, BeaconConfig, BeaconScore, NotScorable, beacon_score

#: RITA's default ``filtering.internal_subnets`` (RFC 1918 and the ULA prefix)
RITA_INTERNAL_SUBNETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8")
#: RITA's mandatory never-included subnets (config/filter.go GetMandatoryNeverIncludeSubnets)
NEVER_INCLUDED_SUBNETS = ("0.0.0.0/32", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32",
                          "::1/128", "::/128", "fe80::/10", "ff00::/8")
HOUR = 3600

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(cidrs: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs as networks; host bits are allowed (``10.0.0.5/8``), as RITA allows them."""
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


@dataclass(frozen=True)
class Networks:
    """Which addresses are internal, and which are never analysed."""

    internal: tuple[Network, ...]
    never: tuple[Network, ...] = field(default_factory=lambda: parse_networks(NEVER_INCLUDED_SUBNETS))
    #: address -> "internal" | "external" | "never"; a day of logs repeats the same few addresses
    _seen: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    @classmethod
    def with_defaults(cls, extra: Iterable[str] = ()) -> Networks:
        return cls(parse_networks((*RITA_INTERNAL_SUBNETS, *extra)))

    def outbound(self, src: str, dst: str) -> bool:
        """True for internal -> external, the only direction RITA analyses (filter_external_to_internal)."""
        return self._where(src) == "internal" and self._where(dst) == "external"

    def _where(self, address: str) -> str:
        where = self._seen.get(address)
        if where is None:
            try:
                addr = _unmapped(ipaddress.ip_address(address))
            except ValueError:
                addr = None
            where = ("never" if addr is None or _within(addr, self.never)
                     else "internal" if _within(addr, self.internal) else "external")
            self._seen[address] = where
        return where


def _unmapped(addr):
    """RITA stores every address as IPv6: an IPv4-mapped IPv6 address is the IPv4 address."""
    return addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr


def _within(addr, nets: Sequence[Network]) -> bool:
    return any(addr.version == net.version and addr in net for net in nets)


@dataclass(frozen=True)
class Window:
    start: int
    end: int


@dataclass(frozen=True)
class PairResult:
    """One scored pair: an IP pair (dst an address) or a domain pair (dst a server name or host)."""

    kind: Literal["ip", "domain"]
    src: str
    dst: str
    connections: int
    unique_seconds: int
    first_seen: int
    last_seen: int
    score: BeaconScore


@dataclass(frozen=True)
class HuntResult:
    """Every scored pair, best first; ``window`` is None when no connection was outbound."""

    window: Window | None
    pairs: list[PairResult]
    #: outbound connections in the rows RITA would read for this window
    connections: int
    #: pairs with enough distinct seconds that RITA still could not score (it skips them too)
    unscorable: int
    #: pairs with too many connections to score (RITA's strobes): the loudest talkers, named, never dropped silently
    strobes: list[Strobe] = field(default_factory=list)


@dataclass(frozen=True)
class Strobe:
    """A pair RITA does not score as a beacon because it has ``strobe_connections`` or more connections."""

    kind: str
    src: str
    dst: str
    connections: int


@dataclass
class _Series:
    timestamps: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    uids: set[str] = field(default_factory=set)

    def add(self, conn: ConnRecord) -> None:
        self.timestamps.append(int(conn.ts))
        self.sizes.append(conn.orig_ip_bytes)
        self.uids.add(conn.uid)

    def qualifies(self, config: BeaconConfig) -> bool:
        return len(set(self.timestamps)) >= config.unique_connection_threshold and not self.strobe(config)

    def strobe(self, config: BeaconConfig) -> bool:
        return len(self.timestamps) >= config.strobe_connections


def window_of(timestamps: Iterable[int], seconds: int) -> Window | None:
    """[max(first, last - seconds), last] over the kept connections (RITA's GetBeaconMinMaxTimestamps)."""
    first = last = None
    for ts in timestamps:
        first = ts if first is None or ts < first else first
        last = ts if last is None or ts > last else last
    if last is None:
        return None
    return Window(max(first, last - seconds), last)


def rows_from(window: Window) -> int:
    """The earliest second RITA reads rows from: the start of the hour the window starts in."""
    return window.start - window.start % HOUR


def domain_of(names: Iterable[NameRecord]) -> dict[str, list[str]]:
    """uid -> the names RITA links it to: every ssl ``server_name``, and the latest http request's
    ``host`` (earlier requests on the same connection are RITA's ``multi_request`` rows)."""
    latest_http: dict[str, NameRecord] = {}
    linked: dict[str, list[str]] = {}
    for record in names:
        if record.kind == "http":
            seen = latest_http.get(record.uid)
            if seen is None or (record.ts, record.name) > (seen.ts, seen.name):  # ties: any fixed choice
                latest_http[record.uid] = record
        elif record.name:
            linked.setdefault(record.uid, []).append(record.name)
    for uid, record in latest_http.items():
        if record.name:
            linked.setdefault(uid, []).append(record.name)
    return linked


def find_beacons(conns: Iterable[ConnRecord], names: Iterable[NameRecord], networks: Networks,
                 window_seconds: int, config: BeaconConfig = RITA_DEFAULTS) -> HuntResult:
    """Score every qualifying domain pair and IP pair in the logs, as RITA would over this window."""
    outbound = [conn for conn in conns if networks.outbound(conn.orig_h, conn.resp_h)]
    window = window_of((int(conn.ts) for conn in outbound), window_seconds)
    if window is None:
        return HuntResult(None, [], 0, 0)
    earliest = rows_from(window)
    kept = [conn for conn in outbound if earliest <= int(conn.ts) <= window.end]
    linked = domain_of(names)

    domains: dict[tuple[str, str], _Series] = {}
    ips: dict[tuple[str, str], _Series] = {}
    for conn in kept:
        for name in linked.get(conn.uid, ()):
            domains.setdefault((conn.orig_h, name), _Series()).add(conn)
        ips.setdefault((conn.orig_h, conn.resp_h), _Series()).add(conn)

    qualifying_domains = {key: series for key, series in domains.items() if series.qualifies(config)}
    taken = set().union(*(series.uids for series in qualifying_domains.values()))
    qualifying_ips = {key: series for key, series in ips.items()
                      if series.qualifies(config) and not series.uids & taken}

    pairs: list[PairResult] = []
    unscorable = 0
    for kind, table in (("domain", qualifying_domains), ("ip", qualifying_ips)):
        for (src, dst), series in table.items():
            try:
                scored = beacon_score(series.timestamps, series.sizes, window.start, window.end, config)
            except NotScorable:
                unscorable += 1
                continue
            pairs.append(PairResult(kind, src, dst, len(series.timestamps), len(set(series.timestamps)),
                                    min(series.timestamps), max(series.timestamps), scored))
    pairs.sort(key=lambda p: (-p.score.score, p.kind, p.src, p.dst))
    strobes = sorted((Strobe(kind, src, dst, len(series.timestamps))
                      for kind, table in (("domain", domains), ("ip", ips))
                      for (src, dst), series in table.items() if series.strobe(config)),
                     key=lambda s: (-s.connections, s.kind, s.src, s.dst))
    return HuntResult(window, pairs, len(kept), unscorable, strobes)
