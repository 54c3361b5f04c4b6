"""Decode mirrored frames: outer Ethernet/IP/UDP -> VXLAN (or GENEVE) -> inner Ethernet/IP/L4.

Nothing here raises on bad input. Every frame gets a `kind`:

* VXLAN      - a mirrored packet: outer headers and the tunnel header were
               read, so the outer source and the VNI are known. The inner
               headers are decoded as far as the bytes go; `inner_ok` is
               False when they were inconsistent or cut short.
* NON_VXLAN  - readable outer headers, but not UDP to the VXLAN or GENEVE
               port (or a non-first IP fragment, whose UDP header is elsewhere).
* MALFORMED  - the outer headers or the tunnel header could not be read.

A mirror session whose target is a Gateway Load Balancer endpoint reaches the
sensor as the VXLAN packet inside GENEVE (UDP 6081, the GENEVE payload an IP
packet; a Linux `geneve` device carries an Ethernet frame instead). Such a
packet is decoded as the VXLAN packet it carries: its outer source is the
mirrored ENI, not the load balancer, and `geneve` is set. GENEVE carrying
anything else ("plain GENEVE") is a tunnel of its own: GENEVE's outer source
and VNI, its payload as the inner frame, `vxlan_flags` None.

Addresses stay the packed bytes they are on the wire (4 for IPv4, 16 for
IPv6): cheap to hash, and turned into text only for display (`addr_text`).

Two paths: `fast_record` unpacks the common AWS shape (Ethernet/IPv4/UDP/
VXLAN/Ethernet/IPv4/TCP|UDP|ICMP, no options, no VLAN tags) with one `unpack_from`,
and `gwlb_record` the same packet inside a Gateway Load Balancer's GENEVE; the
session uses them for the bulk of the traffic and falls back to `Decoder` for
anything else.
"""

from __future__ import annotations

import ipaddress
import struct
from typing import NamedTuple

from .pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2

VXLAN_PORT = 4789
GENEVE_PORT = 6081

VXLAN = 0
NON_VXLAN = 1
MALFORMED = 2

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_IPV6 = 0x86DD
ETH_BRIDGED = 0x6558  # GENEVE's protocol type for an Ethernet frame
VLAN_TPIDS = frozenset({0x8100, 0x88A8, 0x9100})

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMPV6 = 58
# IPv6 extension headers skipped on the way to the transport header.
_IPV6_SKIP = frozenset({0, 43, 60})
_IPV6_FRAGMENT = 44

Address = bytes
"""Packed: 4 bytes for IPv4, 16 for IPv6."""

# The most header bytes the view reads in one frame: the capture's default snap
# length, so that line rate costs no more than the headers. Each Ethernet
# header with two VLAN tags; each IP header IPv6 with 64 bytes of extension
# headers (more than IPv4's 60 with options); GENEVE with its longest options.
_ETHERNET = 14 + 2 * 4
_IP = 40 + 64
_UDP = 8
_GENEVE_MAX = 8 + 63 * 4
HEADERS_LEN = (
    _ETHERNET + _IP + _UDP  # outer
    + _GENEVE_MAX + _ETHERNET + _IP + _UDP  # a Gateway Load Balancer's GENEVE around the VXLAN packet
    + 8 + _ETHERNET + _IP + 60  # VXLAN, inner Ethernet, IP, TCP with options
)  # fmt: skip


class Packet(NamedTuple):
    """Everything the views need about one frame (a tuple: cheap to keep)."""

    kind: int
    ts: float
    caplen: int
    wire_len: int
    outer_src: Address | None = None
    outer_dst: Address | None = None
    outer_sport: int | None = None
    outer_dport: int | None = None
    vni: int | None = None
    vxlan_flags: int | None = None
    inner_ok: bool = False
    src_mac: bytes | None = None
    dst_mac: bytes | None = None
    ethertype: int | None = None
    proto: int | None = None  # inner IP protocol number
    src: Address | None = None  # inner IP, or ARP sender protocol address
    dst: Address | None = None  # inner IP, or ARP target protocol address
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    l3_len: int | None = None  # inner IP total length (ARP: 28); the flow's bytes
    payload_len: int | None = None  # TCP/UDP payload, ICMP message length
    tcp_flags: int | None = None
    echo: tuple[int, int] | None = None  # ICMP echo (id, seq)
    arp: tuple[int, bytes, bytes] | None = None  # (op, sender mac, target mac)
    geneve: bool = False  # arrived inside GENEVE (a Gateway Load Balancer target)


# Fast path: one Struct reads a pcap record header and, from the frame after
# it, the fields of the common AWS shape (Ethernet/IPv4/UDP/VXLAN/Ethernet/
# IPv4/TCP|UDP|ICMP, no options, no VLAN tags). Frame fields are bytes or single
# bytes where possible, so the record header's byte order does not matter;
# the two 16-bit fragment fields are masked per byte order (`fast_record`).
_FAST_RECORD = "IIII"  # record: seconds, fraction, caplen, origlen
_FAST_VXLAN = (
    "5xHxB"  # fragment field, protocol
    "2x4s"  # outer source
    "6x2s"  # outer destination port
    "4xB3x3sx"  # VXLAN flags, VNI
    "12x3s"  # inner ethertype + version/IHL
    "x2s"  # inner total length
    "2xHxB"  # inner fragment field, protocol
    "2x12s"  # inner source, destination, source port, destination port
)
_FAST_FIELDS = _FAST_RECORD + "12x3s" + _FAST_VXLAN  # outer ethertype + version/IHL, then the VXLAN packet
# The same VXLAN packet as a Gateway Load Balancer delivers it: inside Ethernet/
# IPv4/UDP 6081/GENEVE with AWS's 32 bytes of options and the IP packet as payload.
_GWLB_FIELDS = (
    _FAST_RECORD
    + "12x3s"  # GENEVE's outer ethertype + version/IHL
    + "5xHxB"  # its fragment field, protocol
    + "12x2s"  # its UDP destination port (GENEVE's)
    + "4x4s"  # GENEVE version/option length, flags, protocol type
    + "36x1s"  # (VNI, options) the VXLAN packet's version/IHL
    + _FAST_VXLAN
)  # fmt: skip
FAST_IPV4 = b"\x08\x00\x45"  # ethertype IPv4, version 4, 20-byte header
FAST_MIN_IP_LEN = b"\x00\x14"  # big-endian 20, compared as bytes
GWLB_PORT = GENEVE_PORT.to_bytes(2, "big")
GWLB_GENEVE = b"\x08\x00\x08\x00"  # 8 words of options, no flags, an IPv4 packet inside
GWLB_SHIFT = 14 + 20 + 8 + 8 + 32 - 14  # where the VXLAN packet starts, past where it starts without GENEVE


def fast_record(byte_order: str) -> tuple[struct.Struct, int]:
    """The fast-path Struct for a capture in `byte_order`, and its fragment-offset mask."""
    return struct.Struct(byte_order + _FAST_FIELDS), 0x1FFF if byte_order == ">" else 0xFF1F


def gwlb_record(byte_order: str) -> struct.Struct:
    """The fast-path Struct for the VXLAN packet inside a Gateway Load Balancer's GENEVE."""
    return struct.Struct(byte_order + _GWLB_FIELDS)


_U16 = struct.Struct("!H").unpack_from
_IPV4 = struct.Struct("!BxHxxHxBxx4s4s").unpack_from  # ver/ihl, len, frag, proto, src, dst
_IPV6 = struct.Struct("!IHBx16s16s").unpack_from  # ver/tc/flow, plen, next header, src, dst
_PORTS = struct.Struct("!HH").unpack_from
_TCP = struct.Struct("!12xBB").unpack_from  # data offset, flags
_ICMP = struct.Struct("!BB2xHH").unpack_from  # type, code, echo id, echo seq
_ARP_FIXED = struct.Struct("!HHBB").unpack_from  # hardware type, protocol type, lengths
_ARP = struct.Struct("!6xH6s4s6s4s").unpack_from  # op, sender mac/ip, target mac/ip
_VXLAN = struct.Struct("!B3xI").unpack_from
_GENEVE = struct.Struct("!BxHI").unpack_from  # version/option length, protocol type, VNI + reserved


class Decoder:
    """General decoder for one capture (link type) and VXLAN port."""

    __slots__ = ("port", "linktype", "_l2")

    def __init__(self, port: int = VXLAN_PORT, linktype: int = LINKTYPE_ETHERNET) -> None:
        self.port = port
        self.linktype = linktype
        # (offset of the ethertype, offset of the network header)
        self._l2 = {
            LINKTYPE_ETHERNET: (12, 14),
            LINKTYPE_LINUX_SLL: (14, 16),
            LINKTYPE_LINUX_SLL2: (0, 20),
        }[linktype]

    def decode(self, buf: bytes, off: int, caplen: int, wire_len: int, ts: float) -> Packet:
        """Decode the frame at buf[off:off+caplen]; never raises."""
        end = min(off + caplen, len(buf))
        bad = Packet(MALFORMED, ts, caplen, wire_len)
        type_at, l3 = self._l2
        if off + l3 > end:
            return bad
        ethertype = _U16(buf, off + type_at)[0]
        l3 += off
        if type_at == 12:  # Ethernet: skip 802.1Q / QinQ tags
            ethertype, l3 = _skip_vlans(buf, ethertype, l3, end)
            if l3 < 0:
                return bad
        net = _network(buf, ethertype, l3, end)
        if net is None:
            return Packet(NON_VXLAN, ts, caplen, wire_len)
        if not net:
            return bad
        proto, src, dst, l4, frag_offset, _l3_len = net
        outer = Packet(NON_VXLAN, ts, caplen, wire_len, src, dst)
        if proto != PROTO_UDP or frag_offset:
            return outer
        if l4 + 8 > end:
            return bad
        sport, dport = _PORTS(buf, l4)
        if dport == self.port:
            return _vxlan(buf, l4 + 8, end, Packet(VXLAN, ts, caplen, wire_len, src, dst, sport, dport))
        if dport == GENEVE_PORT:
            return self._geneve(buf, l4 + 8, end, Packet(VXLAN, ts, caplen, wire_len, src, dst, sport, dport,
                                                         geneve=True))
        return outer._replace(outer_sport=sport, outer_dport=dport)

    def _geneve(self, buf: bytes, at: int, end: int, pkt: Packet) -> Packet:
        """GENEVE: the VXLAN packet it carries, or else its own payload as the inner frame."""
        bad = Packet(MALFORMED, pkt.ts, pkt.caplen, pkt.wire_len)
        if at + 8 > end:
            return bad
        ver_optlen, ptype, vni = _GENEVE(buf, at)
        payload = at + 8 + (ver_optlen & 0x3F) * 4
        if ver_optlen >> 6 or payload > end:
            return bad
        pkt = pkt._replace(vni=vni >> 8)
        if ptype == ETH_BRIDGED:
            if payload + 14 > end:
                return pkt
            ethertype, l3 = _skip_vlans(buf, _U16(buf, payload + 12)[0], payload + 14, end)
            if l3 < 0:
                return pkt
        else:
            ethertype, l3 = ptype, payload
        net = _network(buf, ethertype, l3, end)
        if net:
            proto, src, dst, l4, frag_offset, _l3_len = net
            if proto == PROTO_UDP and not frag_offset and l4 + 8 <= end:
                sport, dport = _PORTS(buf, l4)
                if dport == self.port:
                    return _vxlan(buf, l4 + 8, end, pkt._replace(outer_src=src, outer_dst=dst, outer_sport=sport,
                                                                 outer_dport=dport, vni=None))
        if ptype == ETH_BRIDGED:
            return _inner(buf, payload, end, pkt)
        return _inner_network(buf, ethertype, l3, end, pkt)


def _vxlan(buf: bytes, at: int, end: int, pkt: Packet) -> Packet:
    """The VXLAN header at `at` (I flag set), then the inner frame."""
    if at + 8 > end:
        return Packet(MALFORMED, pkt.ts, pkt.caplen, pkt.wire_len)
    flags, vni = _VXLAN(buf, at)
    if not flags & 0x08:
        return Packet(MALFORMED, pkt.ts, pkt.caplen, pkt.wire_len)
    return _inner(buf, at + 8, end, pkt._replace(vni=vni >> 8, vxlan_flags=flags))


def _skip_vlans(buf: bytes, ethertype: int, at: int, end: int) -> tuple[int, int]:
    """Follow 802.1Q/802.1ad tags; returns (ethertype, payload offset), offset -1 if cut."""
    while ethertype in VLAN_TPIDS:
        if at + 4 > end:
            return ethertype, -1
        ethertype = _U16(buf, at + 2)[0]
        at += 4
    return ethertype, at


def _network(
    buf: bytes, ethertype: int, at: int, end: int
) -> tuple[int, Address, Address, int, int, int] | None | tuple[()]:
    """IPv4/IPv6 header -> (proto, src, dst, l4 offset, fragment offset, IP length).

    The IP length is not checked here: only the inner one is used (for bytes).

    None: not IP. (): IP, but the header is inconsistent or cut short.
    """
    if ethertype == ETH_IPV4:
        if at + 20 > end:
            return ()
        ver_ihl, total, frag, proto, src, dst = _IPV4(buf, at)
        hlen = (ver_ihl & 0x0F) * 4
        if ver_ihl >> 4 != 4 or hlen < 20 or at + hlen > end:
            return ()
        # TSO/GSO frames may carry total length 0: use what was captured.
        return proto, src, dst, at + hlen, frag & 0x1FFF, total or end - at
    if ethertype == ETH_IPV6:
        if at + 40 > end:
            return ()
        vtf, plen, nh, src, dst = _IPV6(buf, at)
        if vtf >> 28 != 6:
            return ()
        p = at + 40
        frag_offset = 0
        while nh in _IPV6_SKIP or nh == _IPV6_FRAGMENT:
            if p + 8 > end:
                return ()
            if nh == _IPV6_FRAGMENT:
                frag_offset = _U16(buf, p + 2)[0] >> 3
                nh, p = buf[p], p + 8
            else:
                nh, p = buf[p], p + (buf[p + 1] + 1) * 8
        if p > end:
            return ()
        return nh, src, dst, p, frag_offset, (40 + plen) if plen else end - at
    return None


def _inner(buf: bytes, at: int, end: int, pkt: Packet) -> Packet:
    """Fill in the inner frame; marks `inner_ok` only if its headers were whole."""
    if at + 14 > end:
        return pkt
    dst_mac = buf[at : at + 6]
    src_mac = buf[at + 6 : at + 12]
    ethertype, l3 = _skip_vlans(buf, _U16(buf, at + 12)[0], at + 14, end)
    if l3 < 0:
        return pkt
    return _inner_network(buf, ethertype, l3, end, pkt._replace(src_mac=src_mac, dst_mac=dst_mac))


def _inner_network(buf: bytes, ethertype: int, l3: int, end: int, pkt: Packet) -> Packet:
    """The inner packet from its network header on (after an Ethernet header, or straight after GENEVE)."""
    pkt = pkt._replace(ethertype=ethertype)
    if ethertype == ETH_ARP:
        return _arp(buf, l3, end, pkt)
    net = _network(buf, ethertype, l3, end)
    if net is None:  # some other protocol inside the tunnel: fine, nothing more to read
        return pkt._replace(inner_ok=True, l3_len=end - l3)
    if not net:
        return pkt
    proto, src, dst, l4, frag_offset, l3_len = net
    l4_len = l3_len - (l4 - l3)
    if l4_len < 0:
        return pkt
    pkt = pkt._replace(proto=proto, src=src, dst=dst, l3_len=l3_len)
    if frag_offset:
        return pkt._replace(inner_ok=True)
    if proto in (PROTO_TCP, PROTO_UDP):
        if l4 + 4 > end:
            return pkt
        sport, dport = _PORTS(buf, l4)
        pkt = pkt._replace(sport=sport, dport=dport)
        if proto == PROTO_UDP:
            if l4 + 8 > end:
                return pkt
            return pkt._replace(inner_ok=True, payload_len=_U16(buf, l4 + 4)[0] - 8)
        if l4 + 14 > end:
            return pkt
        data_off, flags = _TCP(buf, l4)
        return pkt._replace(inner_ok=True, tcp_flags=flags, payload_len=l4_len - (data_off >> 4) * 4)
    if proto in (PROTO_ICMP, PROTO_ICMPV6):
        if l4 + 8 > end:
            return pkt
        itype, code, ident, seq = _ICMP(buf, l4)
        is_echo = itype in ((0, 8) if proto == PROTO_ICMP else (128, 129))
        return pkt._replace(
            inner_ok=True,
            icmp_type=itype,
            icmp_code=code,
            payload_len=l4_len,
            echo=(ident, seq) if is_echo else None,
        )
    return pkt._replace(inner_ok=True, payload_len=l4_len)


def _arp(buf: bytes, at: int, end: int, pkt: Packet) -> Packet:
    """Ethernet/IPv4 ARP: sender and target protocol addresses become src/dst."""
    if at + 8 > end:
        return pkt
    if _ARP_FIXED(buf, at) != (1, ETH_IPV4, 6, 4):
        return pkt._replace(inner_ok=True, l3_len=end - at)
    if at + 28 > end:
        return pkt
    op, sha, spa, tha, tpa = _ARP(buf, at)
    return pkt._replace(inner_ok=True, src=spa, dst=tpa, l3_len=28, arp=(op, sha, tha))


def join_inner(src: Address | None, dst: Address | None, sport: int | None, dport: int | None) -> bytes:
    """Inner addresses and ports as the bytes they are on the wire (the flow key's tail).

    The fast path slices exactly these bytes out of the packet; `split_inner`
    reads them back for display.
    """
    if src is None or dst is None:
        return b""
    raw = src + dst
    return raw if sport is None or dport is None else raw + struct.pack("!HH", sport, dport)


def split_inner(raw: bytes) -> tuple[Address | None, Address | None, int | None, int | None]:
    """(src, dst, sport, dport) from `join_inner`'s bytes; the length tells the layout."""
    size = 16 if len(raw) >= 32 else 4
    if len(raw) < 2 * size:
        return None, None, None, None
    src, dst = raw[:size], raw[size : 2 * size]
    if len(raw) == 2 * size + 4:
        sport, dport = _PORTS(raw, 2 * size)
        return src, dst, sport, dport
    return src, dst, None, None


_TEXT: dict[Address, str] = {}
_TEXT_MAX = 65536


def addr_text(addr: Address) -> str:
    """Address as text, cached: the views show the same few addresses over and over."""
    text = _TEXT.get(addr)
    if text is None:
        if len(_TEXT) >= _TEXT_MAX:
            _TEXT.clear()
        text = str(ipaddress.ip_address(addr))
        _TEXT[addr] = text
    return text


def mac_text(mac: bytes) -> str:
    """aa:bb:cc:dd:ee:ff."""
    return mac.hex(":")
