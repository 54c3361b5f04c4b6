"""Shared fixtures for the capture tests: the real captures and what tshark makes of them.

tshark decodes GENEVE on UDP 6081 by itself; the mirrored packet's VNI and outer
source are those of the innermost tunnel (VXLAN inside GENEVE: the VXLAN ones).
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_FIELDS = [
    "frame.protocols", "vxlan.vni", "geneve.vni",
    "ip.src", "ip.dst", "ip.proto", "ip.len",
    "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.plen",
    "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
    "arp.src.proto_ipv4", "arp.dst.proto_ipv4",
]  # fmt: skip


def tshark_packets(path: Path, port: int = 4789) -> list[dict[str, Any] | None]:
    """Per frame, in order: None when tshark finds no VXLAN or GENEVE in it, else the mirrored packet's
    "vni", "source", "geneve" (arrived inside GENEVE), inner flow "key" and "bytes"."""
    argv = ["tshark", "-r", str(path), "-d", f"udp.port=={port},vxlan", "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=,", "-E", "separator=\t"]  # fmt: skip
    for field in _FIELDS:
        argv += ["-e", field]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    packets: list[dict[str, Any] | None] = []
    for line in out.splitlines():
        row = dict(zip(_FIELDS, line.split("\t"), strict=True))
        protocols = row["frame.protocols"].split(":")
        tunnels = [i for i, p in enumerate(protocols) if p in ("vxlan", "geneve")]
        if not tunnels:
            packets.append(None)
            continue
        tunnel = protocols[tunnels[-1]]
        vni = int(row[f"{tunnel}.vni"].split(",")[-1], 0)  # geneve.vni is hex
        outer = sum(p in ("ip", "ipv6") for p in protocols[: tunnels[-1]]) - 1  # the IP layer the tunnel is in
        layers = _ip_layers(row)
        if "arp" in protocols:
            key = (vni, row["arp.src.proto_ipv4"], row["arp.dst.proto_ipv4"], None, None, None)
            nbytes = 28
        else:
            inner = layers[outer + 1]
            udp_ports = list(zip(_ints(row["udp.srcport"]), _ints(row["udp.dstport"])))
            tcp_ports = list(zip(_ints(row["tcp.srcport"]), _ints(row["tcp.dstport"])))
            ports = tcp_ports[0] if inner["proto"] == 6 else udp_ports[-1] if inner["proto"] == 17 else (None, None)
            key = (vni, inner["src"], inner["dst"], inner["proto"], *ports)
            nbytes = inner["len"]
        packets.append({"vni": vni, "source": layers[outer]["src"], "geneve": "geneve" in protocols,
                        "key": key, "bytes": nbytes})
    return packets


def tshark_summary(path: Path, port: int = 4789) -> dict[str, Any]:
    """The summary fields as tshark decodes `path` with VXLAN on `port` (and GENEVE on 6081)."""
    packets = tshark_packets(path, port)
    mirrored = [p for p in packets if p is not None]
    flows: dict[tuple, list[int]] = {}
    for p in mirrored:
        counts = flows.setdefault(p["key"], [0, 0])
        counts[0] += 1
        counts[1] += p["bytes"]
    return {
        "packets": len(packets),
        "vxlan_packets": len(mirrored),
        "geneve_packets": sum(p["geneve"] for p in mirrored),
        "vnis": dict(Counter(p["vni"] for p in mirrored)),
        "sources": dict(Counter(p["source"] for p in mirrored)),
        "flows": {k: tuple(v) for k, v in flows.items()},
    }


def _ints(value: str) -> list[int]:
    return [int(v) for v in value.split(",") if v]


def _ip_layers(row: dict[str, str]) -> list[dict[str, Any]]:
    """IP headers in the order frame.protocols lists them (outer first)."""
    v4 = {k: row[f"ip.{k}"].split(",") for k in ("src", "dst", "proto", "len")}
    v6 = {k: row[f"ipv6.{k}"].split(",") for k in ("src", "dst", "nxt", "plen")}
    layers, i4, i6 = [], 0, 0
    for proto in row["frame.protocols"].split(":"):
        if proto == "ip":
            layers.append({"src": v4["src"][i4], "dst": v4["dst"][i4], "proto": int(v4["proto"][i4]),
                           "len": int(v4["len"][i4])})  # fmt: skip
            i4 += 1
        elif proto == "ipv6":
            layers.append({"src": v6["src"][i6], "dst": v6["dst"][i6], "proto": int(v6["nxt"][i6]),
                           "len": 40 + int(v6["plen"][i6])})  # fmt: skip
            i6 += 1
    return layers


@pytest.fixture
def tshark() -> Callable[..., dict[str, Any]]:
    """tshark_summary, or a skip when tshark is not installed."""
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed (apt-get install tshark): cannot cross-check the decoder")
    return tshark_summary
