"""Synthetic mirrored traffic: valid VXLAN pcap bytes shaped like AWS mirroring.

Used by the benchmark, the tests and the demo's live view. Each inner flow is
described by a `FlowSpec`; the generator spreads the flows' packets over the
duration in a seeded random order, so the same arguments give the same bytes,
and `expected_flows` says exactly what a decoder must find. An optional
`Beacon` adds the runbook's tame beacon rounds. With `gwlb` every packet
arrives as a Gateway Load Balancer delivers a mirror session's traffic to its
targets: the VXLAN packet inside GENEVE, with AWS's three GENEVE options.
"""

from __future__ import annotations

import heapq
import ipaddress
import random
import struct
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from .decode import ETH_IPV4, GENEVE_PORT, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, VXLAN_PORT
from .pcap import global_header

FlowKey = tuple[int, int, str, str, int | None, int | None]
"""(vni, inner proto, src, dst, sport, dport), addresses as text."""

_ACK, _PSH_ACK, _SYN, _SYN_ACK, _FIN_ACK = 0x10, 0x18, 0x02, 0x12, 0x11
_SENSOR_MAC = bytes.fromhex("0200000000aa")
_ROUTER_MAC = bytes.fromhex("0200000000bb")
# A Gateway Load Balancer's GENEVE options (class 0x0108, AWS): the endpoint's id, the attachment's id (8 bytes
# each) and the flow cookie (4 bytes), each after its 4-byte option header.
_GWLB_OPTIONS = (
    struct.pack("!HBB", 0x0108, 1, 2) + bytes.fromhex("0123456789abcdef")
    + struct.pack("!HBB", 0x0108, 2, 2) + bytes(8)
    + struct.pack("!HBB", 0x0108, 3, 1) + bytes.fromhex("c0ffee01")
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class FlowSpec:
    """One directional inner flow, mirrored from outer address `source`."""

    source: str
    vni: int
    proto: int  # 6 TCP, 17 UDP, 1 ICMP (58 ICMPv6 for IPv6 addresses)
    src: str
    dst: str
    sport: int | None = None
    dport: int | None = None
    packets: int = 1
    payload: int = 0  # bytes after the TCP/UDP/ICMP header

    @property
    def key(self) -> FlowKey:
        return (self.vni, self.proto, self.src, self.dst, self.sport, self.dport)

    @property
    def ip_len(self) -> int:
        """Inner IP packet length, which the aggregator counts as the flow's bytes."""
        ip_header = 40 if ":" in self.src else 20
        l4_header = 20 if self.proto == PROTO_TCP else 8
        return ip_header + l4_header + self.payload


@dataclass(frozen=True, slots=True)
class Beacon:
    """The runbook's tame beacon, run by inner host `host` against `server`.

    Every `period` seconds: an ICMP echo and its reply, a UDP datagram
    "Infected" to port 999, and a short HTTPS (TCP 443) connection.
    """

    source: str
    vni: int
    host: str
    server: str
    period: float = 34.0
    offset: float = 1.0  # first round, seconds after the start


def random_flows(
    sources: Sequence[str],
    vnis: Sequence[int],
    *,
    flows: int,
    packets: int,
    seed: int = 0,
    protos: Sequence[int] = (PROTO_TCP, PROTO_UDP, PROTO_ICMP),
) -> list[FlowSpec]:
    """`flows` ordinary flows sharing `packets` packets, each from one source and VNI."""
    rng = random.Random(seed)
    share, extra = divmod(packets, flows)
    specs = []
    for i in range(flows):
        source = sources[i % len(sources)]
        vni = vnis[(i // len(sources)) % len(vnis)]
        proto = protos[rng.randrange(len(protos))]
        src = f"10.{vnis.index(vni) % 250}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        dst = f"172.16.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        ports = (rng.randrange(1024, 65536), rng.choice((443, 80, 53, 8080, 22)))
        specs.append(
            FlowSpec(
                source, vni, proto, src, dst,
                *(ports if proto in (PROTO_TCP, PROTO_UDP) else (None, None)),
                packets=share + (i < extra),
                payload=rng.choice((0, 32, 64, 200, 512, 1200)),
            )  # fmt: skip
        )
    return specs


class SyntheticTraffic:
    """Pcap bytes for `flows` (plus an optional beacon) sent to `target`."""

    def __init__(
        self,
        flows: Sequence[FlowSpec],
        *,
        target: str,
        start: float = 1_700_000_000.0,
        duration: float = 60.0,
        seed: int = 0,
        beacon: Beacon | None = None,
        port: int = VXLAN_PORT,
        gwlb: str | None = None,
    ) -> None:
        self.flows = list(flows)
        self.target = target
        self.start = start
        self.duration = duration
        self.seed = seed
        self.beacon = beacon
        self.port = port
        self.gwlb = gwlb  # the load balancer's address: GENEVE from it to `target` around each VXLAN packet

    def packets(self) -> Iterator[tuple[float, bytes]]:
        """(timestamp, Ethernet frame) in time order."""
        return heapq.merge(self._ordinary(), self._beacon_packets(), key=lambda p: p[0])

    def pcap_chunks(self, batch: int = 4096) -> Iterator[bytes]:
        """The pcap stream: the global header, then `batch` records per chunk."""
        yield global_header()
        pack = struct.Struct("<IIII").pack
        it = self.packets()
        while chunk := list(islice(it, batch)):
            parts = []
            for ts, frame in chunk:
                sec = int(ts)
                parts.append(pack(sec, int((ts - sec) * 1e6), len(frame), len(frame)))
                parts.append(frame)
            yield b"".join(parts)

    def write(self, path: str | Path) -> None:
        """Write the whole capture to a pcap file."""
        with open(path, "wb") as out:
            for chunk in self.pcap_chunks():
                out.write(chunk)

    def expected_flows(self) -> dict[FlowKey, tuple[int, int]]:
        """Inner flow -> (packets, bytes) that decoding the output must give."""
        totals: dict[FlowKey, tuple[int, int]] = {}
        beacon = [(spec, 1) for _t, spec, _flags, _reply in self._beacon_specs()]
        for spec, count in [(f, f.packets) for f in self.flows] + beacon:
            packets, nbytes = totals.get(spec.key, (0, 0))
            totals[spec.key] = (packets + count, nbytes + count * spec.ip_len)
        return totals

    def _ordinary(self) -> Iterator[tuple[float, bytes]]:
        schedule = [i for i, f in enumerate(self.flows) for _ in range(f.packets)]
        random.Random(self.seed).shuffle(schedule)
        templates = [_frame(f, self.target, self.port, flags=_PSH_ACK, gwlb=self.gwlb) for f in self.flows]
        step = self.duration / max(len(schedule), 1)
        for n, i in enumerate(schedule):
            yield self.start + n * step, templates[i]

    def _beacon_packets(self) -> Iterator[tuple[float, bytes]]:
        for ts, spec, flags, reply in self._beacon_specs():
            payload = b"Infected" if spec.dport == 999 else bytes(spec.payload)
            yield ts, _frame(spec, self.target, self.port, flags=flags, data=payload, reply=reply, gwlb=self.gwlb)

    def _beacon_specs(self) -> Iterable[tuple[float, FlowSpec, int, bool]]:
        """(time, one-packet flow, TCP flags, is an echo reply) for every beacon packet."""
        b = self.beacon
        if b is None:
            return []
        rng = random.Random(self.seed ^ 0xBEAC)
        icmp = PROTO_ICMPV6 if ":" in b.host else PROTO_ICMP
        out = []
        t = self.start + b.offset
        while t < self.start + self.duration:
            eph = rng.randrange(32768, 61000)

            def one(src: str, dst: str, proto: int, sport: int | None, dport: int | None, payload: int) -> FlowSpec:
                return FlowSpec(b.source, b.vni, proto, src, dst, sport, dport, 1, payload)

            exchange = [
                (one(b.host, b.server, icmp, None, None, 56), 0),
                (one(b.server, b.host, icmp, None, None, 56), 0),
                (one(b.host, b.server, PROTO_UDP, eph + 1, 999, len(b"Infected")), 0),
                (one(b.host, b.server, PROTO_TCP, eph, 443, 0), _SYN),
                (one(b.server, b.host, PROTO_TCP, 443, eph, 0), _SYN_ACK),
                (one(b.host, b.server, PROTO_TCP, eph, 443, 0), _ACK),
                (one(b.host, b.server, PROTO_TCP, eph, 443, 517), _PSH_ACK),
                (one(b.server, b.host, PROTO_TCP, 443, eph, 1400), _PSH_ACK),
                (one(b.host, b.server, PROTO_TCP, eph, 443, 0), _FIN_ACK),
                (one(b.server, b.host, PROTO_TCP, 443, eph, 0), _FIN_ACK),
                (one(b.host, b.server, PROTO_TCP, eph, 443, 0), _ACK),
            ]
            out += [(t + i * 0.001, spec, flags, i == 1) for i, (spec, flags) in enumerate(exchange)]
            t += b.period
        return out


def _frame(
    spec: FlowSpec, target: str, port: int, *, flags: int, data: bytes | None = None, reply: bool = False,
    gwlb: str | None = None,
) -> bytes:
    """Outer Ethernet/IP/UDP/VXLAN around the inner Ethernet frame of one packet (inside GENEVE from `gwlb`)."""
    payload = bytes(spec.payload) if data is None else data
    inner_ip = _ip(spec.src, spec.dst, spec.proto, _l4(spec, flags, payload, reply))
    inner = _mac(spec.dst) + _mac(spec.src) + _ethertype(spec.src) + inner_ip
    vxlan = struct.pack("!B3xI", 0x08, spec.vni << 8)
    sport = 49152 + zlib.crc32(repr(spec.key).encode()) % 16384
    udp = struct.pack("!HHHH", sport, port, 8 + len(vxlan) + len(inner), 0) + vxlan + inner
    if gwlb is None:
        return _SENSOR_MAC + _ROUTER_MAC + _ethertype(spec.source) + _ip(spec.source, target, PROTO_UDP, udp)
    mirrored = _ip(spec.source, gwlb, PROTO_UDP, udp)  # to the load balancer's endpoint, which hands it on
    geneve = struct.pack("!BBHI", len(_GWLB_OPTIONS) // 4, 0, ETH_IPV4, 0) + _GWLB_OPTIONS + mirrored
    outer_udp = struct.pack("!HHHH", sport, GENEVE_PORT, 8 + len(geneve), 0) + geneve
    return _SENSOR_MAC + _ROUTER_MAC + _ethertype(gwlb) + _ip(gwlb, target, PROTO_UDP, outer_udp)


def _l4(spec: FlowSpec, flags: int, payload: bytes, reply: bool) -> bytes:
    if spec.proto == PROTO_TCP:
        return struct.pack("!HHIIBBHHH", spec.sport, spec.dport, 1, 1, 0x50, flags, 65535, 0, 0) + payload
    if spec.proto == PROTO_UDP:
        return struct.pack("!HHHH", spec.sport, spec.dport, 8 + len(payload), 0) + payload
    echo = (0 if reply else 8) if spec.proto == PROTO_ICMP else (129 if reply else 128)
    ident = zlib.crc32(" ".join(sorted((spec.src, spec.dst))).encode()) & 0xFFFF
    return struct.pack("!BBHHH", echo, 0, 0, ident, 1) + payload


def _ip(src: str, dst: str, proto: int, payload: bytes) -> bytes:
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 6:
        return struct.pack("!IHBB", 6 << 28, len(payload), proto, 64) + s.packed + d.packed + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, s.packed, d.packed)
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _checksum(header: bytes) -> int:
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(address: str) -> bytes:
    return b"\x02" + zlib.crc32(address.encode()).to_bytes(4, "big") + b"\x01"


def _ethertype(address: str) -> bytes:
    return b"\x86\xdd" if ":" in address else b"\x08\x00"
