"""The headless summary behind `vpc-mirror watch --pcap FILE --headless --json`.

Shape:
    {"packets", "vxlan_packets", "geneve_packets", "non_vxlan", "malformed", "truncated",
     "vnis": {VNI: packets}, "sources": {outer source: packets},
     "flows": [{"vni", "src", "dst", "proto", "sport", "dport", "packets", "bytes"}],
     "loss": {"interface_rx", "captured", "filtered_out", "kernel_dropped", "interface_dropped", "unaccounted"}}

* `vxlan_packets` counts every mirrored packet: VXLAN, VXLAN inside GENEVE (a
  Gateway Load Balancer target) and plain GENEVE; `geneve_packets` is how many
  of them arrived inside GENEVE. `vnis` and `sources` count those packets only;
  for VXLAN inside GENEVE they are the VXLAN packet's (the mirrored ENI's
  address and the session's VNI), not the load balancer's.
* `truncated`: records whose headers the snap length cut before their end (a
  record cut after its last header is whole to the view); `malformed`: records
  whose headers are inconsistent in a way the snap length does not explain.
* A flow is directional: VNI plus inner 5-tuple, merged over outer sources
  (the same packet mirrored from both ends counts twice, as it arrived
  twice). `proto` is the inner IP protocol number; ports are null for ICMP
  and other portless protocols. `bytes` sums inner IP total lengths, i.e.
  the traffic as it was on the wire even when the mirror truncated it.
* ARP is listed as flows with `proto` null and `src`/`dst` the sender and
  target protocol addresses (tshark's arp.src.proto_ipv4/arp.dst.proto_ipv4),
  because "who-has" traffic is often the first sign that mirroring works.
  Inner frames that are neither IP nor ARP count in `vnis`/`sources` only.
* Flows are sorted busiest first; with more flows than the table holds the
  least recently seen were evicted and are missing from the list:
  `evicted_flows` says how many (their packets still count in the totals).
* `loss` (a capture on the sensor only; a file has none): see `loss.py`.
  interface_rx = captured + filtered_out + kernel_dropped + interface_dropped
  + unaccounted; a figure that could not be read is "unknown".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .aggregate import DEFAULT_FLOW_CAPACITY, Snapshot
from .decode import VXLAN_PORT
from .loss import Loss
from .session import CaptureSession

READ_CHUNK = 1 << 20


def summarize_pcap(path: str | Path, port: int = VXLAN_PORT, flow_capacity: int = DEFAULT_FLOW_CAPACITY) -> dict[str, Any]:
    """Read a whole pcap file and return its summary; raises ValueError if it is not pcap."""
    session = CaptureSession(port, flow_capacity, raw_capacity=0)
    with open(path, "rb") as f:
        while chunk := f.read(READ_CHUNK):
            session.feed(chunk)
            if session.error:
                raise ValueError(f"{path}: {session.error}")
    return summary(session.snapshot())


def summary(snap: Snapshot, loss: Loss | None = None) -> dict[str, Any]:
    """The JSON-ready summary of a snapshot, with the capture's loss account when it has one."""
    flows: dict[tuple, list[int]] = {}
    for f in snap.flows:
        if f.src is None:
            continue
        counts = flows.setdefault((f.vni, f.src, f.dst, f.proto, f.sport, f.dport), [0, 0])
        counts[0] += f.stats.packets
        counts[1] += f.stats.bytes
    rows = [
        {"vni": vni, "src": src, "dst": dst, "proto": proto, "sport": sport, "dport": dport,
         "packets": packets, "bytes": nbytes}
        for (vni, src, dst, proto, sport, dport), (packets, nbytes) in flows.items()
    ]  # fmt: skip
    rows.sort(key=lambda r: -r["packets"])
    return {
        "packets": snap.packets,
        "vxlan_packets": snap.vxlan_packets,
        "geneve_packets": snap.geneve_packets,
        "non_vxlan": snap.non_vxlan,
        "malformed": snap.malformed,
        "truncated": snap.truncated,
        "vnis": {vni: s.packets for vni, s in snap.vnis.items()},
        "sources": {source: s.packets for source, s in snap.sources.items()},
        "flows": rows,
        "evicted_flows": snap.evicted_flows,
    } | ({"loss": loss.as_json()} if loss is not None else {})
