"""The capture filter tcpdump runs on the sensor: mirrored packets only, optionally of one VNI or one source.

Filtering on the sensor, in the kernel, keeps the rest of the traffic off the
SSH connection. The expression selects what the decoder calls a mirrored
packet, with its VNI and outer source as the decoder reads them:

* VXLAN on the VXLAN port, outer IPv4 or IPv6: the VNI in the VXLAN header,
  the source the outer IP source;
* VXLAN inside GENEVE (UDP 6081, a Gateway Load Balancer target): the VXLAN
  packet's VNI and IP source (the mirrored ENI), found past GENEVE's options
  (`Opt Len` counts 4-byte words) and the IPv4 header's own length;
* plain GENEVE: GENEVE's VNI and outer source.

BPF cannot walk headers of variable number, so the VNI and source tests assume
what AWS and Linux send: no VLAN tag on the capture interface, no IPv6
extension header in an outer IPv6 header, and inside GENEVE (over IPv4 or
IPv6) an IPv4 VXLAN packet (an IPv6 `--source` matches plain VXLAN and plain
GENEVE only). Outside those shapes a packet is kept by the unfiltered
expression but may be missed by a VNI or source filter (VXLAN inside GENEVE
with a VLAN tag or IPv6 is judged as plain GENEVE).
"""

from __future__ import annotations

import ipaddress

from .decode import GENEVE_PORT

MAX_VNI = (1 << 24) - 1

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class _Udp:
    """Byte offsets from a UDP header, as BPF reads them over one outer IP version: ``udp[]`` works over IPv4 only
    (it skips IPv4 options), so over IPv6 the header is at the fixed offset 40 of ``ip6[]``."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.proto = "ip" if version == 4 else "ip6"

    def __call__(self, off: str | int, size: int | None = None) -> str:
        at = off if self.version == 4 else f"40 + {off}"
        field = f"{at}:{size}" if size else f"{at}"
        return f"udp[{field}]" if self.version == 4 else f"ip6[{field}]"

    def to_port(self, port: int) -> str:
        return f"udp dst port {port}" if self.version == 4 else f"ip6[6] = 17 and ip6[42:2] = {port}"

    def source(self, address: Address) -> str:
        return f"{self.proto} src {address}"


# Offsets into the UDP header of a GENEVE packet, as BPF arithmetic.
_PAYLOAD = "16 + ({opt_len} & 0x3f) * 4"  # UDP 8 + GENEVE 8 + options
_ETH = "eth"  # a Linux geneve device's payload: an Ethernet frame, the IP packet 14 bytes in
_LB = "ip"  # a Gateway Load Balancer's (or an L3 geneve device's) payload: the IP packet itself


def capture_filter(port: int, vni: int | None = None, source: str | None = None) -> str:
    """The BPF expression for mirrored packets on VXLAN `port` (and GENEVE), of VNI `vni` from `source`.

    Raises ValueError for a VNI outside 0-16777215 or a source that is not an IP address.
    """
    if vni is not None and not 0 <= vni <= MAX_VNI:
        raise ValueError(f"VNI {vni} is outside 0-{MAX_VNI}")
    try:
        address = None if source is None else ipaddress.ip_address(source)
    except ValueError:
        raise ValueError(f"source {source!r} is not an IP address") from None
    if vni is None and address is None:
        return f"udp dst port {port} or udp dst port {GENEVE_PORT}"
    clauses = [_vxlan(port, vni, address)]
    clauses += [c for c in (_geneve(_Udp(4), port, vni, address), _geneve(_Udp(6), port, vni, address)) if c]
    return " or ".join(f"({c})" for c in clauses)


def _vxlan(port: int, vni: int | None, address: Address | None) -> str:
    """VXLAN straight on the wire, over IPv4 and IPv6 (or the source's version)."""
    versions = [_Udp(4), _Udp(6)] if address is None else [_Udp(address.version)]
    clauses = []
    for udp in versions:
        tests = [udp.source(address)] if address is not None else [udp.proto]
        tests.append(udp.to_port(port))
        if vni is not None:
            tests.append(f"{udp(12, 4)} & 0xffffff00 = {vni << 8}")
        clauses.append(" and ".join(tests))
    return " or ".join(f"({c})" for c in clauses) if len(clauses) > 1 else clauses[0]


def _geneve(udp: _Udp, port: int, vni: int | None, address: Address | None) -> str | None:
    """GENEVE over one outer IP version: the VXLAN packet inside it (either payload kind, an IPv4 packet), or else
    GENEVE's own VNI and outer source. None when `address` can match neither."""
    choices = []
    if address is None or address.version == 4:
        choices += [_carries_vxlan(udp, kind, port, vni, address) for kind in (_ETH, _LB)]
    if address is None or address.version == udp.version:
        plain = [f"not {_carries_vxlan(udp, kind, port, None, None)}" for kind in (_ETH, _LB)]
        if vni is not None:
            plain.append(f"{udp(12, 4)} & 0xffffff00 = {vni << 8}")
        if address is not None:
            plain.append(udp.source(address))
        choices.append(f"({' and '.join(plain)})")
    if not choices:
        return None
    return f"{udp.proto} and {udp.to_port(GENEVE_PORT)} and ({' or '.join(choices)})"


def _carries_vxlan(udp: _Udp, kind: str, port: int, vni: int | None, address: ipaddress.IPv4Address | None) -> str:
    """GENEVE whose payload (`kind`) is an IPv4 packet carrying VXLAN (of `vni` from `address`)."""
    payload = _PAYLOAD.format(opt_len=udp(8))
    ip = f"{payload} + 14" if kind == _ETH else payload
    tests = [f"{udp(10, 2)} = {'0x6558' if kind == _ETH else '0x0800'}"]
    if kind == _ETH:
        tests.append(f"{udp(f'{payload} + 12', 2)} = 0x0800")
    l4 = f"{ip} + ({udp(ip)} & 0x0f) * 4"
    tests += [
        f"{udp(ip)} & 0xf0 = 0x40",  # IPv4
        f"{udp(f'{ip} + 9')} = 17",  # UDP
        f"{udp(f'{ip} + 6', 2)} & 0x1fff = 0",  # not a later fragment
        f"{udp(f'{l4} + 2', 2)} = {port}",
    ]
    if vni is not None:
        tests.append(f"{udp(f'{l4} + 12', 4)} & 0xffffff00 = {vni << 8}")
    if address is not None:
        tests.append(f"{udp(f'{ip} + 12', 4)} = {int(address)}")
    return f"({' and '.join(tests)})"
