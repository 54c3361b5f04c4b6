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
extension header in an outer IPv6 header, GENEVE over IPv4 with an IPv4
packet inside (an IPv6 `--source` matches plain VXLAN only). Outside those
shapes a packet is kept by the unfiltered expression but may be missed by a
VNI or source filter (VXLAN inside GENEVE with a VLAN tag or IPv6 is judged
as plain GENEVE).
"""

from __future__ import annotations

import ipaddress

from .decode import GENEVE_PORT

MAX_VNI = (1 << 24) - 1

# Offsets into the UDP header of a GENEVE packet, as BPF arithmetic.
_PAYLOAD = "16 + (udp[8] & 0x3f) * 4"  # UDP 8 + GENEVE 8 + options
_ETH_IP = f"{_PAYLOAD} + 14"  # a Linux geneve device's payload: an Ethernet frame
_LB_IP = _PAYLOAD  # a Gateway Load Balancer's payload: the IP packet itself


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
    if address is None or address.version == 4:
        clauses.append(_geneve(port, vni, address))
    return " or ".join(f"({c})" for c in clauses)


def _vxlan(port: int, vni: int | None, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> str:
    """VXLAN straight on the wire: over IPv4 `udp[]` finds the header past IP options; over IPv6, fixed offsets."""
    v4 = [f"udp dst port {port}"]
    v6 = [f"ip6[6] = 17 and ip6[42:2] = {port}"]
    if vni is not None:
        v4.append(f"udp[12:4] & 0xffffff00 = {vni << 8}")
        v6.append(f"ip6[52:4] & 0xffffff00 = {vni << 8}")
    if address is None:
        return f"(ip and {' and '.join(v4)}) or (ip6 and {' and '.join(v6)})"
    if address.version == 4:
        return f"ip src {address} and {' and '.join(v4)}"
    return f"ip6 src {address} and {' and '.join(v6)}"


def _geneve(port: int, vni: int | None, address: ipaddress.IPv4Address | None) -> str:
    """GENEVE over IPv4: the VXLAN packet inside it (either payload kind), or else GENEVE's own VNI and source."""
    inside = [_carries_vxlan(ip, port, vni, address) for ip in (_ETH_IP, _LB_IP)]
    plain = [f"not {_carries_vxlan(ip, port, None, None)}" for ip in (_ETH_IP, _LB_IP)]
    if vni is not None:
        plain.append(f"udp[12:4] & 0xffffff00 = {vni << 8}")
    if address is not None:
        plain.append(f"ip src {address}")
    return f"udp dst port {GENEVE_PORT} and ({' or '.join(inside)} or ({' and '.join(plain)}))"


def _carries_vxlan(ip: str, port: int, vni: int | None, address: ipaddress.IPv4Address | None) -> str:
    """GENEVE whose payload, with its IPv4 header at UDP offset `ip`, is VXLAN (of `vni` from `address`)."""
    kind = "udp[10:2] = 0x6558" if ip == _ETH_IP else "udp[10:2] = 0x0800"
    tests = [kind]
    if ip == _ETH_IP:
        tests.append(f"udp[{_PAYLOAD} + 12:2] = 0x0800")
    l4 = f"{ip} + (udp[{ip}] & 0x0f) * 4"
    tests += [
        f"udp[{ip}] & 0xf0 = 0x40",  # IPv4
        f"udp[{ip} + 9] = 17",  # UDP
        f"udp[{ip} + 6:2] & 0x1fff = 0",  # not a later fragment
        f"udp[{l4} + 2:2] = {port}",
    ]
    if vni is not None:
        tests.append(f"udp[{l4} + 12:4] & 0xffffff00 = {vni << 8}")
    if address is not None:
        tests.append(f"udp[{ip} + 12:4] = {int(address)}")
    return f"({' and '.join(tests)})"
