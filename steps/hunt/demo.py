"""The demo's hunt: the conn and ssl rows Zeek would log from the demo's synthetic traffic. Pure: no I/O.

The demo has no sensor and so no Zeek logs; its Hunt page scores these
instead and says so. Each round of the runbook's tame beacon is three
connections (ping, UDP 999, HTTPS with the destination as its TLS server name),
as Zeek logs them; the ordinary flows are one connection each per round,
client to server.
"""

from __future__ import annotations

import math

from vpc_mirror.steps.capture.live import DemoTraffic
from vpc_mirror.steps.capture.synthetic import FlowSpec

from .records import ConnRecord, NameRecord

#: the demo's hunt window: long enough for RITA's histogram (24 bins) to see the beacon's rhythm
DEMO_WINDOW_SECONDS = 15 * 60
_IP_HEADER, _ICMP_HEADER, _UDP_HEADER, _TCP_HEADER = 20, 8, 8, 20


def _request(spec: FlowSpec) -> bool:
    """The client's half of a flow (the server answers from the lower, well-known port)."""
    return spec.sport is None or spec.dport is None or spec.dport < spec.sport


def demo_logs(traffic: DemoTraffic, *, end: float, server_name: str,
              seconds: int = DEMO_WINDOW_SECONDS) -> tuple[list[ConnRecord], list[NameRecord]]:
    """Zeek's rows for the ``seconds`` of demo traffic before ``end``; the beacon's HTTPS names ``server_name``."""
    period = traffic.period
    rounds = math.ceil(seconds / period)
    first = end - rounds * period
    offset = min(3.0, period / 2)  # DemoTraffic's: the first round a few seconds into each window
    conns: list[ConnRecord] = []
    names: list[NameRecord] = []
    host, server = traffic.beacon_host, traffic.server
    tls = 4 * (_IP_HEADER + _TCP_HEADER) + 517  # SYN, ACK, the client hello, FIN, ACK
    for k in range(rounds):
        start = first + k * period
        for n, spec in enumerate(s for s in traffic.flows() if _request(s)):
            conns.append(ConnRecord(start + n * 0.01, f"Cdemo{k}f{n}", spec.src, spec.dst,
                                    spec.packets * spec.ip_len))
        ts = start + offset
        conns += [ConnRecord(ts, f"Cdemo{k}icmp", host, server, _IP_HEADER + _ICMP_HEADER + 56),
                  ConnRecord(ts + 0.002, f"Cdemo{k}udp", host, server, _IP_HEADER + _UDP_HEADER + len(b"Infected")),
                  ConnRecord(ts + 0.003, f"Cdemo{k}tls", host, server, tls)]
        names.append(NameRecord("ssl", ts + 0.004, f"Cdemo{k}tls", server_name))
    return conns, names
