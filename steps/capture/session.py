"""A capture session: pcap bytes in, snapshots and raw lines out.

This is the only per-packet loop. The common AWS shape is decoded with one
`unpack_from` and, when the flow already exists in the current rate bucket,
counted inline; everything else goes through the general decoder and
`Aggregator.add`. Whoever produces the bytes (the sensor over SSH, a pcap
file, the sandbox's synthetic source) just calls `feed`.
"""

from __future__ import annotations

import struct
from collections import Counter, deque

from .aggregate import DEFAULT_FLOW_CAPACITY, DEFAULT_WINDOW, Aggregator, SizedKey, Snapshot
from .decode import FAST, FAST_FRAG_PROTO, FAST_IPV4, FAST_LEN, NON_VXLAN, VXLAN, VXLAN_PORT, Decoder, join_inner
from .pcap import LINKTYPE_ETHERNET, RECORD_HEADER_LEN, PcapStream
from .rawview import DEFAULT_CAPACITY, KEPT_BYTES, RawView

# The fast path also needs the whole UDP header, or the TCP header up to the
# flags, to be captured, as the general decoder does: both paths must agree
# on what a whole inner header is.
_FAST_MIN_CAPLEN = FAST_LEN + 4
_TCP_MIN_CAPLEN = FAST_LEN + 10


class CaptureSession:
    """Decode and aggregate a pcap byte stream fed in chunks of any size."""

    def __init__(
        self,
        port: int = VXLAN_PORT,
        flow_capacity: int = DEFAULT_FLOW_CAPACITY,
        window: int = DEFAULT_WINDOW,
        raw_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        self.port = port
        self._stream = PcapStream()
        self._agg = Aggregator(flow_capacity, window)
        self._raw = RawView(raw_capacity)
        self._raw_capacity = raw_capacity
        self._decoder = Decoder(port)
        self._fast = True

    @property
    def error(self) -> str | None:
        """Why the stream could not be read (bad magic, ...), or None."""
        return self._stream.error

    def feed(self, data: bytes) -> None:
        """Consume the next bytes of the pcap stream."""
        stream = self._stream
        buf = stream.take(data)
        if not buf or stream.header is None:
            return
        if stream.header.linktype != self._decoder.linktype:
            self._decoder = Decoder(self.port, stream.header.linktype)
            self._fast = stream.header.linktype == LINKTYPE_ETHERNET
        stream.keep(buf, self._count(buf))

    def _count(self, buf: bytes) -> int:
        """Count every whole record in `buf`; returns where the incomplete one starts.

        Fast-path packets are tallied per second as (flow, size) tuples and
        counted by `Counter` in C; the aggregator then sees one update per
        flow and size per second instead of one per packet.
        """
        agg = self._agg
        slow = self._slow
        port = self.port
        record = self._stream.record_header.unpack_from
        scale = self._stream.scale
        unpack = FAST.unpack_from
        min_caplen = _FAST_MIN_CAPLEN if self._fast else 1 << 62
        recent: deque[int] = deque(maxlen=max(self._raw_capacity, 1))  # record offsets
        remember = recent.append
        pending: list[SizedKey] = []
        tally = pending.append
        second = -1  # when the pending packets were seen
        pos = 0
        end = len(buf)
        while True:
            try:
                sec, frac, caplen, wire = record(buf, pos)
            except struct.error:  # fewer than 16 bytes left
                break
            off = pos + RECORD_HEADER_LEN
            if off + caplen > end:
                break
            remember(pos)
            pos = off + caplen
            if wire == caplen >= min_caplen:
                eth, frag_proto, osrc, odport, flags, vni, ieth, ilen, ifrag_proto, inner = unpack(buf, off)
                iproto = ifrag_proto & FAST_FRAG_PROTO
                if (
                    eth >> 8 == FAST_IPV4 and frag_proto & FAST_FRAG_PROTO == 17 and odport == port
                    and flags & 0x08 and ieth >> 8 == FAST_IPV4 and ilen >= 20
                    and (iproto == 17 or iproto == 6 and caplen >= _TCP_MIN_CAPLEN)
                ):  # fmt: skip
                    if sec != second:
                        if pending:
                            agg.add_sized(second, Counter(pending))
                            pending.clear()
                        second = sec
                    tally((osrc, vni >> 8, iproto, inner, ilen))
                    continue
            slow(buf, off, caplen, wire, sec, sec + frac * scale)
        if pending:
            agg.add_sized(second, Counter(pending))
        ts = agg.latest
        for at in recent:
            sec, frac, caplen, wire = record(buf, at)
            off = at + RECORD_HEADER_LEN
            ts = sec + frac * scale
            self._raw.push(ts, caplen, wire, buf[off : off + min(caplen, KEPT_BYTES)])
        agg.latest = max(agg.latest, ts)
        return pos

    def _slow(self, buf: bytes, off: int, caplen: int, wire: int, sec: int, ts: float) -> None:
        """General path; snaplen cuts count as truncated only, not as malformed."""
        p = self._decoder.decode(buf, off, caplen, wire, ts)
        agg = self._agg
        explained = caplen < wire
        agg.truncated += explained
        if p.kind == NON_VXLAN:
            agg.non_vxlan += 1
            return
        if p.kind != VXLAN:
            agg.undecoded += 1
            agg.malformed += not explained
            return
        if not p.inner_ok:
            agg.malformed += not explained
        key = (p.outer_src, p.vni, p.proto, join_inner(p.src, p.dst, p.sport, p.dport))
        agg.add(key, sec, p.l3_len or 0)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Counts so far; rates as of `now` (default: the last packet's time)."""
        return self._agg.snapshot(now)

    def raw_lines(self, n: int | None = None) -> list[str]:
        """The last `n` packets, one tcpdump-like line each, oldest first."""
        return self._raw.lines(self._decoder, n)
