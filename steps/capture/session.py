"""A capture session: pcap bytes in, snapshots and raw lines out.

This is the only per-packet loop. The common AWS shape is decoded with one
`unpack_from` and, when the flow already exists in the current rate bucket,
counted inline; everything else goes through the general decoder and
`Aggregator.add`. Whoever produces the bytes (the sensor over SSH, a pcap
file, the sandbox's synthetic source) just calls `feed`.
"""

from __future__ import annotations

from .aggregate import (
    BUCKET,
    CUR_BYTES,
    CUR_PACKETS,
    DEFAULT_FLOW_CAPACITY,
    DEFAULT_WINDOW,
    LAST,
    Aggregator,
    Snapshot,
)
from .decode import FAST, FAST_LEN, NON_VXLAN, VXLAN, VXLAN_PORT, Decoder
from .pcap import LINKTYPE_ETHERNET, PcapStream, Record
from .rawview import DEFAULT_CAPACITY, KEPT_BYTES, RawView

# The fast path also needs the TCP flags byte to be captured, as the general
# decoder does, so both paths agree on what a whole inner header is.
_FAST_MIN_CAPLEN = FAST_LEN + 10


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
        buf, records = self._stream.feed(data)
        if not records:
            return
        header = self._stream.header
        if header is not None and header.linktype != self._decoder.linktype:
            self._decoder = Decoder(self.port, header.linktype)
            self._fast = header.linktype == LINKTYPE_ETHERNET
        self._count(buf, records)
        for off, caplen, wire, _sec, ts in records[-self._raw_capacity :]:
            self._raw.push(ts, caplen, wire, buf[off : off + min(caplen, KEPT_BYTES)])

    @property
    def packets(self) -> int:
        """Records read so far."""
        return self._agg.packets

    def _count(self, buf: bytes, records: list[Record]) -> None:
        agg = self._agg
        agg.packets += len(records)
        flows = agg.flows
        get = flows.get
        touch = flows.move_to_end
        add = agg.add
        slow = self._slow
        window = agg.window
        port = self.port
        unpack = FAST.unpack_from
        min_caplen = _FAST_MIN_CAPLEN if self._fast else 1 << 62
        truncated = 0
        for off, caplen, wire, sec, ts in records:
            if caplen != wire:
                truncated += 1
            if caplen >= min_caplen:
                (et, vi, tl, frag, proto, osrc, _odst, _osport, odport, ulen,
                 flags, vni, iet, ivi, il, ifrag, iproto, isrc, idst, sport, dport) = unpack(buf, off)  # fmt: skip
                if (
                    et == 0x0800 and vi == 0x45 and tl >= 20 and not frag & 0x1FFF
                    and proto == 17 and odport == port and ulen >= 16 and flags & 0x08
                    and iet == 0x0800 and ivi == 0x45 and il >= 20 and not ifrag & 0x1FFF
                    and (iproto == 6 or iproto == 17)
                ):  # fmt: skip
                    key = (osrc, vni >> 8, iproto, isrc, idst, sport, dport)
                    c = get(key)
                    if c is not None and c[BUCKET] == sec // window:
                        touch(key)
                        c[CUR_PACKETS] += 1
                        c[CUR_BYTES] += il
                        c[LAST] = ts
                    else:
                        add(key, ts, sec, il)
                    continue
            slow(buf, off, caplen, wire, sec, ts)
        agg.truncated += truncated

    def _slow(self, buf: bytes, off: int, caplen: int, wire: int, sec: int, ts: float) -> None:
        """General path; snaplen cuts count as truncated only, not as malformed."""
        p = self._decoder.decode(buf, off, caplen, wire, ts)
        agg = self._agg
        if p.kind == NON_VXLAN:
            agg.non_vxlan += 1
            return
        explained = caplen < wire
        if p.kind != VXLAN:
            agg.malformed += not explained
            return
        if not p.inner_ok:
            agg.malformed += not explained
        key = (p.outer_src, p.vni, p.proto, p.src, p.dst, p.sport, p.dport)
        agg.add(key, ts, sec, p.l3_len or 0)

    def snapshot(self, now: float | None = None) -> Snapshot:
        """Counts so far; rates as of `now` (default: the last packet's time)."""
        return self._agg.snapshot(now)

    def raw_lines(self, n: int | None = None) -> list[str]:
        """The last `n` packets, one tcpdump-like line each, oldest first."""
        return self._raw.lines(self._decoder, n)
