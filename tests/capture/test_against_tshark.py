"""Our summary of every real capture matches what tshark decodes from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from vpc_mirror.steps.capture import summarize_pcap

from tests.testdata import VXLAN as DATA
from tests.testdata import VXLAN_CAPTURES


def flows_of(summary: dict) -> dict[tuple, tuple[int, int]]:
    return {
        (f["vni"], f["src"], f["dst"], f["proto"], f["sport"], f["dport"]): (f["packets"], f["bytes"])
        for f in summary["flows"]
    }


def test_the_real_captures_are_there() -> None:
    assert len(VXLAN_CAPTURES) == 7, f"expected the 7 captures under {DATA}"


@pytest.mark.parametrize("path", VXLAN_CAPTURES, ids=lambda p: p.name)
def test_counts_vnis_sources_and_flows_match_tshark(path: Path, tshark) -> None:
    expected = tshark(path)
    ours = summarize_pcap(path)
    assert ours["packets"] == expected["packets"]
    assert ours["vxlan_packets"] == expected["vxlan_packets"]
    assert ours["non_vxlan"] == 0 and ours["malformed"] == 0 and ours["truncated"] == 0
    assert ours["vnis"] == expected["vnis"]
    assert ours["sources"] == expected["sources"]
    assert flows_of(ours) == expected["flows"]


def test_a_different_vxlan_port_is_not_vxlan(tshark) -> None:
    path = DATA / "zeek" / "vxlan.pcap"
    ours = summarize_pcap(path, port=8472)
    assert ours["vxlan_packets"] == 0
    assert ours["non_vxlan"] == tshark(path)["packets"]
    assert ours["flows"] == [] and ours["vnis"] == {}
