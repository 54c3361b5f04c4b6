"""Connections whose two directions reached different sensors, so that each sensor's Zeek logs half of them.

A load balancer in front of a sensor fleet picks the sensor for each packet
by hashing the packet it carries: the mirrored VXLAN packet, whose outer UDP
source port AWS derives from the inner flow. The two directions of one
connection are two different inner flows, so they may land on different
sensors. Each sensor then sees one side only, and its Zeek logs
half-connections (conn.log: one side's bytes, a history of one side's
letters, no service). A connection is flagged when some sensor saw it one way
and another sensor the other way, and no sensor saw both: one-way traffic
(a beacon's UDP datagrams) and connections one sensor saw whole are not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .aggregate import Snapshot

#: What the view says when it finds such connections, and what to do about it (README: "Sensor fleets").
WHY = ("AWS picks the load balancer's target for each direction of a connection separately (it hashes the "
       "mirrored packet, whose outer source port comes from the inner flow), so the two directions of a "
       "connection can reach different sensors, and Zeek on each logs half-connections")
FIX = ("make the target group keep one source's traffic on one sensor: flow stickiness by source and "
       "destination address (Gateway Load Balancer: stickiness.type source_ip_dest_ip; Network Load Balancer: "
       "stickiness.type source_ip), or use one sensor")

Endpoint = tuple[str, int | None]


@dataclass(frozen=True)
class SplitConnection:
    """One connection seen one direction per sensor: ``a`` -> ``b`` on some sensors, ``b`` -> ``a`` on others."""

    proto: int
    a: Endpoint
    b: Endpoint
    a_to_b: tuple[str, ...]  # sensors that saw only a -> b
    b_to_a: tuple[str, ...]  # sensors that saw only b -> a
    packets: dict[str, int]  # sensor -> packets of this connection it saw

    def text(self) -> str:
        def end(e: Endpoint) -> str:
            return e[0] if e[1] is None else f"{e[0]}:{e[1]}"

        return (f"proto {self.proto} {end(self.a)} > {end(self.b)} on {', '.join(self.a_to_b)}; "
                f"{end(self.b)} > {end(self.a)} on {', '.join(self.b_to_a)}")

    def as_json(self) -> dict:
        return {"proto": self.proto, "a": self.a[0], "a_port": self.a[1], "b": self.b[0], "b_port": self.b[1],
                "a_to_b": list(self.a_to_b), "b_to_a": list(self.b_to_a), "packets": self.packets}


def one_direction_per_sensor(per_sensor: Mapping[str, Snapshot]) -> list[SplitConnection]:
    """The connections no sensor saw both ways but the fleet did, busiest first (ARP is not a connection)."""
    seen: dict[tuple, dict[str, set[bool]]] = {}  # (proto, a, b) -> sensor -> directions seen (True: a -> b)
    packets: dict[tuple, dict[str, int]] = {}
    for sensor, snap in per_sensor.items():
        for f in snap.flows:
            if f.proto is None or f.src is None or f.dst is None:
                continue
            src, dst = (f.src, f.sport), (f.dst, f.dport)
            a, b = sorted((src, dst), key=lambda e: (e[0], -1 if e[1] is None else e[1]))
            key = (f.proto, a, b)
            seen.setdefault(key, {}).setdefault(sensor, set()).add(src == a)
            counts = packets.setdefault(key, {})
            counts[sensor] = counts.get(sensor, 0) + f.stats.packets
    split = []
    for (proto, a, b), by_sensor in seen.items():
        if any(len(ways) == 2 for ways in by_sensor.values()):
            continue  # some sensor has the whole connection
        forward = tuple(s for s, ways in by_sensor.items() if True in ways)
        backward = tuple(s for s, ways in by_sensor.items() if False in ways)
        if forward and backward and a != b:
            split.append(SplitConnection(proto, a, b, forward, backward, packets[(proto, a, b)]))
    split.sort(key=lambda c: -sum(c.packets.values()))
    return split
