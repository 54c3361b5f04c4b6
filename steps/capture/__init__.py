"""Capture: decode the sensor's mirrored VXLAN traffic and aggregate it for the live view.

Decoding is pure standard library; the bytes come from whoever drives `CaptureSession.feed`
(tcpdump over SSH, a pcap file, the sandbox's synthetic source).
"""

from .aggregate import FlowStats, Snapshot, Stats
from .session import CaptureSession
from .summary import summarize_pcap, summary
from .synthetic import Beacon, FlowSpec, SyntheticTraffic, random_flows

__all__ = [
    "Beacon",
    "CaptureSession",
    "FlowSpec",
    "FlowStats",
    "Snapshot",
    "Stats",
    "SyntheticTraffic",
    "random_flows",
    "summarize_pcap",
    "summary",
]
