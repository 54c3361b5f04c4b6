"""The Verify pane: real captures counted right, the beacon banner, the checklist on silence, pause, snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from vpc_mirror.steps.capture.live import DemoTraffic, LiveCapture, PcapFileSource
from vpc_mirror.steps.capture.pcap import global_header
from vpc_mirror.steps.diagnostics import Check
from vpc_mirror.tui.panes.verify import VerifyPane

from tests.testdata import VXLAN as VXLAN_DATA


class PaneApp(App):
    """Just the pane, as the wizard's verify step mounts it."""

    def __init__(self, pane_factory) -> None:
        super().__init__()
        self.pane_factory = pane_factory
        self.seen: list = []

    def compose(self) -> ComposeResult:
        yield self.pane_factory()

    def on_verify_pane_beacon_seen(self, message: VerifyPane.BeaconSeen) -> None:
        self.seen.append(message)


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)
    await pilot.pause()  # let what made it true finish (a dialog composing, a message bubbling)


def rows(app, table_id: str) -> list[tuple]:
    table = app.query_one(table_id)
    return [tuple(map(str, table.get_row_at(i))) for i in range(table.row_count)]


def text_of(app, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


@pytest.mark.parametrize("capture, vni, sources", [
    ("zeek/vxlan.pcap", "123", {"192.168.56.11", "192.168.56.12"}),
    ("tcpdump/vxlan.pcap", "100", {"192.168.203.1", "192.168.202.1"}),
])
async def test_a_real_capture_shows_its_vni_sources_and_flows(capture, vni, sources):
    live = LiveCapture()
    app = PaneApp(lambda: VerifyPane(live, PcapFileSource(VXLAN_DATA / capture), clock=None))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: live.status.state == "stopped")
        app.query_one(VerifyPane).update_view()
        await pilot.pause()
        # every packet is inside the 10 s rate window, so each rate is its total over 10 s
        source_bytes = {r[0]: int(r[4].removesuffix(" B")) for r in rows(app, "#verify-sources")}
        assert [r[3] for r in rows(app, "#verify-sources")] == [f"{b / 10:.0f} B/s" for b in source_bytes.values()]
        assert rows(app, "#verify-vnis") == [(vni, "10", "1.0", f"{sum(source_bytes.values()) / 10:.0f} B/s")]
        assert {r[0] for r in rows(app, "#verify-sources")} == sources
        assert [r[1] for r in rows(app, "#verify-sources")] == ["5", "5"]
        flows = rows(app, "#verify-flows")
        assert sorted((r[1], r[3]) for r in flows) == [("ARP", "1"), ("ARP", "1"), ("ICMP", "4"), ("ICMP", "4")]
        assert "10 packets: 10 VXLAN, 0 other, 0 malformed, 0 truncated" in text_of(app, "#verify-status")
        raw = app.query_one("#verify-raw").lines
        assert len(raw) == 10 and all(f"VXLAN vni {vni}" in line for line in raw)


async def test_the_demo_traffic_shows_the_beacon_banner():
    traffic = DemoTraffic({"web-1": "10.0.1.10", "test-beacon": "10.0.1.20"}, "10.0.2.5", 4242, pps=100,
                          beacon_period=1.0, beacon_host="10.0.1.20")
    live = LiveCapture()
    app = PaneApp(lambda: VerifyPane(live, traffic.source(), names={"10.0.1.10": "web-1"}))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VerifyPane)
        await until(pilot, lambda: pane.has_class("-beacon"))
        await pilot.pause()
        assert "Test beacon seen: 10.0.1.20 → 192.0.2.80 UDP/999 (VNI 4242" in text_of(app, "#verify-beacon")
        assert len(app.seen) == 1 and {f.src for f in app.seen[0].flows} == {"10.0.1.20"}
        assert "10.0.1.10 (web-1)" in {r[0] for r in rows(app, "#verify-sources")}
    fed = live.fed_bytes
    time.sleep(0.3)
    assert live.fed_bytes == fed, "unmounting the pane stops its source"


async def test_pause_stops_the_raw_view_and_tail_catches_up():
    traffic = DemoTraffic({"web-1": "10.0.1.10"}, "10.0.2.5", 4242, pps=400)
    live = LiveCapture()
    app = PaneApp(lambda: VerifyPane(live, traffic.source(tick=0.02)))
    async with app.run_test(size=(80, 24)) as pilot:
        raw = app.query_one("#verify-raw")
        await until(pilot, lambda: live.snapshot().packets >= 50 and raw.lines)
        await pilot.press("p")
        await until(pilot, lambda: len(raw.lines) >= 50)  # paused, it holds the recent packets to scroll through
        frozen, packets = list(raw.lines), live.snapshot().packets
        assert "paused" in text_of(app, "#verify-raw-title")
        await until(pilot, lambda: live.snapshot().packets > packets + 50)
        await pilot.pause(0.3)  # at least one refresh at 4 Hz
        assert list(raw.lines) == frozen
        await pilot.press("t")
        assert list(raw.lines) != frozen and "following" in text_of(app, "#verify-raw-title")


@pytest.fixture
def silent_pcap(tmp_path) -> Path:
    """A capture file with nothing in it: the mirror that never delivers."""
    path = tmp_path / "empty.pcap"
    path.write_bytes(global_header())
    return path


@pytest.fixture
def broken_demo_setup(sandbox, state_dir):
    """The demo setup applied to the sandbox, then one of its sessions deleted behind its back."""
    from vpc_mirror.steps.setup import open_context
    from vpc_mirror.steps.state_store import StateStore
    from tests.awsfacts import demo_plan, ec2, run

    run(sandbox, state_dir)
    store = StateStore(state_dir)
    session = next(iter(store.load("demo").steps["session"].resources.values()))
    ec2(sandbox).delete_traffic_mirror_session(TrafficMirrorSessionId=session.id)
    ctx = open_context(demo_plan(), store, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    yield ctx
    ctx.close()


async def test_silence_brings_the_checklist_with_the_deleted_session(silent_pcap, broken_demo_setup):
    from vpc_mirror.steps.watch import explain_silence

    async def diagnose(live):
        return await explain_silence(broken_demo_setup, live=live)

    live = LiveCapture()
    app = PaneApp(lambda: VerifyPane(live, PcapFileSource(silent_pcap), diagnose=diagnose, silence_seconds=0.5))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VerifyPane)
        await until(pilot, lambda: pane.checks is not None, timeout=20)
        assert pane.has_class("-checklist")
        checks = {c.name: c.status for c in pane.checks}
        assert checks["a mirror session per source"] == "failed"
        shown = text_of(app, "#verify-checks")
        assert "No mirrored packet has arrived." in shown
        assert "✗ a mirror session per source: no session on" in shown
        assert "fix: run `vpc-mirror resume demo`" in shown
        await pilot.press("d")
        assert not pane.has_class("-checklist")


# -- snapshots: fixed data (a pcap file named relative to its directory, rates as of its last packet) ---------------

FIXED_CHECKS = [
    Check("a mirror session per source", "failed", "no session on web-1",
          "run `vpc-mirror resume demo` to recreate the sessions of this setup"),
    Check("filter accepts both directions", "ok", "the filter accepts ingress and egress traffic"),
    Check("capture interface is up on the sensor", "unknown", "the sensor was not asked (no SSH connection)",
          "connect to the sensor to check its interfaces"),
    Check("target MTU fits mirrored packets", "warning", "1554 bytes exceed ens6's MTU 1500; AWS truncates them",
          "raise the MTU to 9001"),
]


def pcap_pane_app(**options) -> tuple[PaneApp, LiveCapture]:
    live = LiveCapture()
    return PaneApp(lambda: VerifyPane(live, PcapFileSource(Path("vxlan.pcap")), clock=None, **options)), live


def settled(live):
    async def run_before(pilot) -> None:
        await until(pilot, lambda: live.status.state == "stopped")
        pane = pilot.app.query_one(VerifyPane)
        pane.update_view()
        if pane._diagnose is not None:
            pane.action_diagnose()
            await until(pilot, lambda: pane.checks is not None)
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot_of_a_real_capture(snap_compare, monkeypatch, size):
    monkeypatch.chdir(VXLAN_DATA / "zeek")
    app, live = pcap_pane_app()
    assert snap_compare(app, terminal_size=size, run_before=settled(live))


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot_of_the_checklist(snap_compare, monkeypatch, size):
    monkeypatch.chdir(VXLAN_DATA / "zeek")
    app, live = pcap_pane_app(diagnose=lambda live: FIXED_CHECKS)
    assert snap_compare(app, terminal_size=size, run_before=settled(live))
