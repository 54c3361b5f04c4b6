"""The raw view: the last N packets as one tcpdump-like line each.

The ring keeps only the feed buffers the last frames are in - no copy, and
not even where each record starts: the capture loop passes each buffer with
how many whole records it holds, and the record offsets are found when lines
are read, by walking the newest buffers' record headers. So the per-packet loop
does no work for the raw view at all, and a view that shows 30 lines a few
times a second pays for those buffers' headers and 30 lines. The price: the
ring keeps alive the fewest newest buffers that hold `capacity` records.
"""

from __future__ import annotations

import struct
import time
from collections import deque

from .decode import (
    ETH_ARP,
    MALFORMED,
    NON_VXLAN,
    PROTO_ICMP,
    PROTO_ICMPV6,
    PROTO_TCP,
    PROTO_UDP,
    Decoder,
    Packet,
    addr_text,
    mac_text,
)

DEFAULT_CAPACITY = 200

_ICMP_ECHO = {PROTO_ICMP: {8: "echo request", 0: "echo reply"}, PROTO_ICMPV6: {128: "echo request", 129: "echo reply"}}
_ICMP_NAMES = {
    PROTO_ICMP: {3: "unreachable", 5: "redirect", 11: "time exceeded"},
    PROTO_ICMPV6: {1: "destination unreachable", 3: "time exceeded", 135: "neighbor solicitation", 136: "neighbor advertisement"},
}  # fmt: skip


class RawView:
    """A bounded ring of recent frames, rendered on demand."""

    __slots__ = ("capacity", "_spans", "_held", "_record", "_scale")

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._spans: deque[tuple[bytes, int, int]] = deque()  # (buffer, end of its whole records, their count)
        self._held = 0  # records in all spans
        self._record = struct.Struct("<IIII")
        self._scale = 1e-6

    def add(self, buf: bytes, end: int, count: int, record_header: struct.Struct, scale: float) -> None:
        """Keep the `count` whole records in `buf[:end]`, read with `record_header`."""
        if not self.capacity or not count:
            return
        self._record = record_header
        self._scale = scale
        self._spans.append((buf, end, count))
        self._held += count
        while self._held - self._spans[0][2] >= self.capacity:
            self._held -= self._spans.popleft()[2]

    def lines(self, decoder: Decoder, n: int | None = None) -> list[str]:
        """The last `n` frames (at most `capacity`; all kept if None), oldest first."""
        want = self.capacity if n is None else max(min(n, self.capacity), 0)
        found: list[tuple[bytes, int]] = []
        unpack = self._record.unpack_from
        for buf, end, _count in reversed(self._spans):
            if len(found) >= want:
                break
            at, offsets = 0, []
            while at < end:
                offsets.append(at)
                at += 16 + unpack(buf, at)[2]
            found[:0] = [(buf, o) for o in offsets]
        lines = []
        for buf, at in found[max(len(found) - want, 0):] if want else []:
            sec, frac, caplen, wire = unpack(buf, at)
            lines.append(format_packet(decoder.decode(buf, at + 16, caplen, wire, sec + frac * self._scale)))
        return lines


def format_packet(p: Packet) -> str:
    """One line: UTC time, outer source > destination, VNI, inner summary."""
    sec, usec = divmod(round(p.ts * 1e6), 1_000_000)
    stamp = time.strftime("%H:%M:%S", time.gmtime(sec)) + f".{usec:06d}"
    if p.kind == MALFORMED:
        return f"{stamp} malformed frame, length {p.wire_len}"
    outer = f"{addr_text(p.outer_src)} > {addr_text(p.outer_dst)}" if p.outer_src is not None else "?"
    if p.kind == NON_VXLAN:
        where = f" to udp port {p.outer_dport}" if p.outer_dport is not None else ""
        return f"{stamp} {outer}: not VXLAN{where}, length {p.wire_len}"
    if not p.geneve:
        tunnel = "VXLAN"
    elif p.vxlan_flags is None:
        tunnel = "GENEVE"
    else:
        tunnel = "VXLAN over GENEVE"
    line = f"{stamp} {outer}: {tunnel} vni {p.vni}, {_inner(p)}"
    return line if p.inner_ok else line + " [|inner]"


def _inner(p: Packet) -> str:
    if p.ethertype is None:
        return "no inner frame"
    if p.ethertype == ETH_ARP:
        return _arp(p)
    if p.src is None or p.dst is None:
        return f"{mac_text(p.src_mac or b'')} > {mac_text(p.dst_mac or b'')}, ethertype 0x{p.ethertype:04x}"
    src, dst = addr_text(p.src), addr_text(p.dst)
    if p.proto in (PROTO_TCP, PROTO_UDP) and p.sport is not None:
        ends = f"{src}.{p.sport} > {dst}.{p.dport}"
        if p.proto == PROTO_TCP:
            return f"{ends}: tcp {p.payload_len if p.payload_len is not None else '?'}"
        return f"{ends}: UDP, length {p.payload_len}"
    if p.proto in (PROTO_ICMP, PROTO_ICMPV6) and p.icmp_type is not None:
        return f"{src} > {dst}: {_icmp(p)}"
    return f"{src} > {dst}: ip-proto-{p.proto} {p.payload_len if p.payload_len is not None else '?'}"


def _icmp(p: Packet) -> str:
    label = "ICMP" if p.proto == PROTO_ICMP else "ICMP6,"
    kind = _ICMP_ECHO[p.proto].get(p.icmp_type)
    if kind is not None and p.echo is not None:
        ident, seq = p.echo
        return f"{label} {kind}, id {ident}, seq {seq}, length {p.payload_len}"
    name = _ICMP_NAMES[p.proto].get(p.icmp_type, f"type {p.icmp_type}")
    return f"{label} {name}, code {p.icmp_code}, length {p.payload_len}"


def _arp(p: Packet) -> str:
    if p.arp is None or p.src is None or p.dst is None:
        return "ARP"
    op, sender_mac, _target_mac = p.arp
    if op == 1:
        return f"ARP, Request who-has {addr_text(p.dst)} tell {addr_text(p.src)}"
    if op == 2:
        return f"ARP, Reply {addr_text(p.src)} is-at {mac_text(sender_mac)}"
    return f"ARP, op {op} {addr_text(p.src)} > {addr_text(p.dst)}"
