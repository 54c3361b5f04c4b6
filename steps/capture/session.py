"""A capture session: pcap bytes in, snapshots and raw lines out.

This is the only per-packet loop. The common AWS shape, inner TCP, UDP or
ICMP (also inside a Gateway Load Balancer's GENEVE, and also when the snap
length cut the payload off), is decoded with one `unpack_from` and, when the
flow already exists in the current rate bucket, counted inline; everything
else goes through the general decoder and `Aggregator.add`. Whoever produces
the bytes (the sensor over SSH, a pcap file, the sandbox's synthetic source)
just calls `feed`.
"""

from __future__ import annotations

import struct
from collections import Counter

from .aggregate import (
    CUR_BYTES,
    CUR_PACKETS,
    DEFAULT_FLOW_CAPACITY,
    DEFAULT_WINDOW,
    EVICTED,
    LAST,
    PLACED,
    UNTIL,
    Aggregator,
    Snapshot,
)
from .decode import (
    FAST_IPV4,
    FAST_MIN_IP_LEN,
    GWLB_GENEVE,
    GWLB_PORT,
    GWLB_SHIFT,
    NON_VXLAN,
    VXLAN,
    VXLAN_PORT,
    Decoder,
    fast_record,
    gwlb_record,
    join_inner,
)
from .pcap import LINKTYPE_ETHERNET, RECORD_HEADER_LEN, PcapStream, Unfinished
from .rawview import DEFAULT_CAPACITY, RawView

# The fast path also needs the whole UDP or ICMP header (8 bytes), or the TCP
# header up to the flags, to be captured, as the general decoder does: both
# paths must agree on what a whole inner header is.
_FAST_MIN_CAPLEN = 88 + 4
_TCP_MIN_CAPLEN = 88 + 10
# A second's tallies are counted when the next second starts, or a snapshot
# is taken, or (to bound memory) after a feed that left more than this many.
_MAX_PENDING = 100_000


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
        self._records = 0  # whole records counted, fast and slow path
        self._decoder = Decoder(port)
        # Set from the pcap header: the fast path's Struct, its mask, whether Ethernet.
        self._fast_record: struct.Struct | None = None
        self._gwlb_record: struct.Struct | None = None
        self._frag_mask = 0
        self._fast = False
        # Fast-path packets not yet counted, all seen in second `_second`.
        self._pending: list[tuple[bytes, bytes, int, bytes, bytes]] = []
        self._second = -1
        self._routes: dict[tuple[bytes, bytes, int, bytes, bytes], tuple[list[int], int]] = {}
        self._lb = False  # the last fast-path packet came inside a Gateway Load Balancer's GENEVE

    @property
    def error(self) -> str | None:
        """Why the stream could not be read (bad magic, ...), or None."""
        return self._stream.error

    def unfinished(self) -> Unfinished | None:
        """At the end of the stream: what it left incomplete (see PcapStream.unfinished), or None."""
        return self._stream.unfinished()

    def feed(self, data: bytes) -> None:
        """Consume the next bytes of the pcap stream."""
        stream = self._stream
        buf = stream.take(data)
        if not buf or stream.header is None:
            return
        if self._fast_record is None:
            self._fast_record, self._frag_mask = fast_record(stream.header.byte_order)
            self._gwlb_record = gwlb_record(stream.header.byte_order)
            self._decoder = Decoder(self.port, stream.header.linktype)
            self._fast = stream.header.linktype == LINKTYPE_ETHERNET
        stream.keep(buf, self._count(buf))

    def _count(self, buf: bytes) -> int:
        """Count every whole record in `buf`; returns where the incomplete one starts.

        Fast-path packets are tallied per second as raw (source, VNI, proto,
        addresses+ports, length) tuples and counted by `Counter` in C, so the
        aggregator sees one update per flow and size per second rather than
        one per packet. A packet to the GENEVE port gets a second look, as the
        VXLAN packet inside a Gateway Load Balancer's GENEVE, before the
        general path.
        """
        slow = self._slow
        flush = self._flush
        record = self._stream.record_header.unpack_from
        scale = self._stream.scale
        unpack = self._fast_record.unpack_from
        gwlb = self._gwlb_record.unpack_from
        geneve = 0
        frag_mask = self._frag_mask
        port = self.port.to_bytes(2, "big")
        min_caplen = _FAST_MIN_CAPLEN if self._fast else 1 << 62
        gwlb_min_caplen = min_caplen + GWLB_SHIFT
        pending = self._pending
        tally = pending.append
        second = self._second
        counted = self._records + len(pending)
        pos = last = 0
        end = len(buf)
        lb = self._lb  # the last fast-path packet came inside a Gateway Load Balancer's GENEVE: read that layout first
        tried = -1  # the record that layout was last tried on, and did not fit
        while True:
            if lb:
                try:
                    (sec, frac, caplen, wire, eth, frag, proto, gport, head, mirrored, mfrag, mproto, osrc, dport,
                     flags, vni, ieth, ilen, ifrag, iproto, inner) = gwlb(buf, pos)  # fmt: skip
                    fits = (
                        caplen >= gwlb_min_caplen and gport == GWLB_PORT and eth == FAST_IPV4
                        and not frag & frag_mask and proto == 17 and head == GWLB_GENEVE and mirrored == b"\x45"
                        and not mfrag & frag_mask and mproto == 17 and dport == port and flags & 0x08
                        and ieth == FAST_IPV4 and ilen >= FAST_MIN_IP_LEN and not ifrag & frag_mask
                        and (iproto == 17 or iproto == 1 or iproto == 6 and caplen >= _TCP_MIN_CAPLEN + GWLB_SHIFT)
                    )  # fmt: skip
                except struct.error:  # too few bytes for that layout
                    fits = False
                if not fits:  # some other shape: read it again as plain VXLAN, or by the general path
                    lb, tried = False, pos
                    continue
                off = pos + RECORD_HEADER_LEN
                if off + caplen > end:
                    break
                last = pos
                pos = off + caplen
                geneve += 1
            else:
                try:
                    (sec, frac, caplen, wire, eth, frag, proto, osrc, dport, flags, vni,
                     ieth, ilen, ifrag, iproto, inner) = unpack(buf, pos)  # fmt: skip
                except struct.error:  # too few bytes for the fast fields: the general path reads it
                    try:
                        sec, frac, caplen, wire = record(buf, pos)
                    except struct.error:  # not even a record header
                        break
                off = pos + RECORD_HEADER_LEN
                if off + caplen > end:
                    break
                last = pos
                pos = off + caplen
                if not (
                    caplen >= min_caplen and eth == FAST_IPV4 and not frag & frag_mask and proto == 17
                    and dport == port and flags & 0x08 and ieth == FAST_IPV4 and ilen >= FAST_MIN_IP_LEN
                    and not ifrag & frag_mask
                    and (iproto == 17 or iproto == 1 or iproto == 6 and caplen >= _TCP_MIN_CAPLEN)
                ):  # fmt: skip
                    if caplen >= gwlb_min_caplen and dport == GWLB_PORT and last != tried:
                        lb, pos = True, last  # that long, the fast fields were read: GENEVE, read it in its layout
                        continue
                    slow(buf, off, caplen, wire, sec, sec + frac * scale)
                    continue
            if sec != second:
                if pending:
                    flush()
                second = self._second = sec
            tally((osrc, vni, iproto, inner if iproto != 1 else inner[:8], ilen))  # ICMP: no ports
        self._lb = lb
        self._agg.geneve += geneve
        whole = self._records + len(pending) - counted
        if len(pending) > _MAX_PENDING:
            flush()
        if whole:
            self._raw.add(buf, pos, whole, self._stream.record_header, scale)
            sec, frac, _caplen, _wire = record(buf, last)
            self._agg.latest = max(self._agg.latest, sec + frac * scale)
        return pos

    def _flush(self) -> None:
        """Hand the pending second's fast-path tallies to the aggregator.

        `_routes` remembers, per tallied tuple, its flow's counter and the
        size as an int, so a flow seen every second costs one lookup here.
        """
        counts = Counter(self._pending)
        self._records += len(self._pending)
        self._pending.clear()
        sec = self._second
        agg = self._agg
        routes = self._routes
        route = routes.get
        for tallied, packets in counts.items():
            hit = route(tallied)
            if hit is not None:
                c, size = hit
                if c[UNTIL] > sec >= c[LAST] and c[PLACED] != EVICTED:  # the common case of Aggregator.add
                    c[CUR_PACKETS] += packets
                    c[CUR_BYTES] += size * packets
                    c[LAST] = sec
                    continue
            source, vni, proto, inner, raw_size = tallied
            size = int.from_bytes(raw_size, "big")
            key = (source, vni, proto, inner)
            agg.add(key, sec, size * packets, packets)
            if len(routes) >= 4 * agg.capacity:
                routes.clear()
            routes[tallied] = (agg.flows[key], size)

    def _slow(self, buf: bytes, off: int, caplen: int, wire: int, sec: int, ts: float) -> None:
        """General path. A header left unread counts as truncated when the snap length cut it, else as
        malformed; a record cut after the last header the view reads is whole as far as the view goes."""
        self._records += 1
        p = self._decoder.decode(buf, off, caplen, wire, ts)
        agg = self._agg
        if p.kind == NON_VXLAN:
            agg.non_vxlan += 1
            return
        cut = caplen < wire
        if p.kind != VXLAN:
            agg.undecoded += 1
            agg.truncated += cut
            agg.malformed += not cut
            return
        agg.geneve += p.geneve
        if not p.inner_ok:
            agg.truncated += cut
            agg.malformed += not cut
        key = (p.outer_src, p.vni.to_bytes(3, "big"), p.proto, join_inner(p.src, p.dst, p.sport, p.dport))
        agg.add(key, sec, p.l3_len or 0)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Counts so far; rates as of `now` (default: the last packet's time)."""
        self._flush()
        return self._agg.snapshot(now)

    def raw_lines(self, n: int | None = None) -> list[str]:
        """The last `n` packets, one tcpdump-like line each, oldest first."""
        return self._raw.lines(self._decoder, n)
