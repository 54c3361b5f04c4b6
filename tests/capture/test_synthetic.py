"""The synthetic source produces exactly the traffic it was asked for."""

from __future__ import annotations

from pathlib import Path

from vpc_mirror.steps.capture import Beacon, CaptureSession, FlowSpec, SyntheticTraffic, random_flows, summarize_pcap


def decoded_flows(summary: dict) -> dict[tuple, tuple[int, int]]:
    return {
        (f["vni"], f["proto"], f["src"], f["dst"], f["sport"], f["dport"]): (f["packets"], f["bytes"])
        for f in summary["flows"]
    }


def write(traffic: SyntheticTraffic, tmp_path: Path) -> Path:
    path = tmp_path / "synthetic.pcap"
    traffic.write(path)
    return path


def test_random_mix_decodes_to_exactly_the_requested_flows(tmp_path: Path) -> None:
    sources = ["10.0.0.10", "10.0.1.10", "10.0.2.10"]
    flows = random_flows(sources, [11, 22], flows=60, packets=5000, seed=3)
    assert {f.proto for f in flows} == {1, 6, 17}
    traffic = SyntheticTraffic(flows, target="10.0.9.9", seed=3)
    summary = summarize_pcap(write(traffic, tmp_path))
    assert summary["packets"] == summary["vxlan_packets"] == 5000
    assert summary["malformed"] == summary["truncated"] == summary["non_vxlan"] == 0
    assert decoded_flows(summary) == traffic.expected_flows()
    assert set(summary["sources"]) == set(sources)
    assert summary["vnis"] == {
        vni: sum(f.packets for f in flows if f.vni == vni) for vni in (11, 22)
    }


def test_same_seed_same_bytes() -> None:
    flows = random_flows(["10.0.0.1"], [1], flows=5, packets=100, seed=9)
    first = b"".join(SyntheticTraffic(flows, target="10.0.0.2", seed=9).pcap_chunks())
    again = b"".join(SyntheticTraffic(random_flows(["10.0.0.1"], [1], flows=5, packets=100, seed=9),
                                      target="10.0.0.2", seed=9).pcap_chunks())  # fmt: skip
    other = b"".join(SyntheticTraffic(flows, target="10.0.0.2", seed=10).pcap_chunks())
    assert first == again
    assert first != other


def test_tame_beacon_every_34_seconds(tmp_path: Path) -> None:
    beacon = Beacon("10.0.5.20", 42, host="172.31.5.20", server="198.51.100.7")
    traffic = SyntheticTraffic([], target="10.0.9.9", duration=120, beacon=beacon)
    path = write(traffic, tmp_path)
    rounds = [1.0, 35.0, 69.0, 103.0]
    assert path.read_bytes().count(b"Infected") == len(rounds)
    summary = summarize_pcap(path)
    assert decoded_flows(summary) == traffic.expected_flows()
    udp = [f for f in summary["flows"] if f["dport"] == 999]
    https = [f for f in summary["flows"] if f["dport"] == 443]
    assert len(udp) == len(https) == len(rounds)
    assert all(f["src"] == "172.31.5.20" and f["dst"] == "198.51.100.7" and f["vni"] == 42 for f in udp + https)
    session = CaptureSession(raw_capacity=1000)
    session.feed(path.read_bytes())
    requests = [line for line in session.raw_lines() if "ICMP echo request" in line]
    assert [round(_seconds(line) - traffic.start % 86400) for line in requests] == rounds
    assert any("198.51.100.7 > 172.31.5.20: ICMP echo reply" in line for line in session.raw_lines())


def _seconds(line: str) -> float:
    """Seconds since midnight (UTC) of a raw view line's timestamp."""
    h, m, s = line.split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_ipv6_inner_and_outer(tmp_path: Path) -> None:
    flows = [
        FlowSpec("2001:db8::10", 3, 6, "fd00::1", "fd00::2", 40000, 443, packets=4, payload=10),
        FlowSpec("2001:db8::10", 3, 58, "fd00::1", "fd00::2", packets=2, payload=56),
    ]
    traffic = SyntheticTraffic(flows, target="2001:db8::99")
    summary = summarize_pcap(write(traffic, tmp_path))
    assert decoded_flows(summary) == traffic.expected_flows()
    assert summary["sources"] == {"2001:db8::10": 6}


def test_tshark_agrees_on_a_small_synthetic_capture(tmp_path: Path, tshark) -> None:
    flows = random_flows(["10.0.0.10", "10.0.1.10"], [5, 6], flows=12, packets=300, seed=1)
    beacon = Beacon("10.0.0.10", 5, host="10.5.0.9", server="203.0.113.50")
    traffic = SyntheticTraffic(flows, target="10.0.9.9", duration=40, beacon=beacon)
    path = write(traffic, tmp_path)
    expected = tshark(path)
    assert expected["vxlan_packets"] == expected["packets"] == 300 + 2 * 11
    as_tshark_keys = {(vni, src, dst, proto, sport, dport): counts
                      for (vni, proto, src, dst, sport, dport), counts in traffic.expected_flows().items()}  # fmt: skip
    assert expected["flows"] == as_tshark_keys
