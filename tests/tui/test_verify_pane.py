"""The Verify pane: real captures counted right, the beacon banner, the checklist on silence, pause, reconnecting
after the path to the sensor dies, its tables (StatsTable: rows, updates, cursor, a bounded line cache), snapshots."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static

from vpc_mirror.steps.capture.live import DemoTraffic, LiveCapture, MirroredSource, PcapFileSource
from vpc_mirror.steps.capture.pcap import global_header
from vpc_mirror.steps.capture.remote import CaptureStatus
from vpc_mirror.steps.diagnostics import DiagnosticCheck
from vpc_mirror.tui.panes.verify import VerifyPane
from vpc_mirror.tui.widgets.stats_table import StatsTable

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
    return app.query_one(table_id, StatsTable).rows


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
    sources = {"web-1": MirroredSource("10.0.1.10", 4241), "test-beacon": MirroredSource("10.0.1.20", 4242)}
    traffic = DemoTraffic(sources, "10.0.2.5", pps=100, beacon_period=1.0, beacon_host="10.0.1.20")
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
    traffic = DemoTraffic({"web-1": MirroredSource("10.0.1.10", 4242)}, "10.0.2.5", pps=400)
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


# -- the path to the sensor dies: the banner and `r` -------------------------------------------------------------

DROPPED = "the connection to the sensor dropped during the capture; start it again"


class SensorPath:
    """Stands in for the sensor as a factory (as the wizard passes it): each call is a new connection,
    whose capture delivers a real pcap file and then, for the first ``drops`` connections, loses the path."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.connections = 0

    async def __call__(self) -> _Connection:
        self.connections += 1
        return _Connection(drops=self.connections <= self.drops)


class _Connection:
    decode_apart = True  # stands for the sensor

    def __init__(self, drops: bool) -> None:
        self.drops = drops

    async def run(self, live: LiveCapture, stop) -> None:
        live.set_status(CaptureStatus("listening", "capturing on ens6"))
        live.feed((VXLAN_DATA / "zeek" / "vxlan.pcap").read_bytes())
        if self.drops:
            live.set_status(CaptureStatus("disconnected", DROPPED))  # as steps.capture.remote reports it
            return
        await stop.wait()


def offered_keys(app) -> set[str]:
    return set(app.screen.active_bindings)


async def test_a_dropped_path_says_so_and_r_reconnects():
    path = SensorPath(drops=1)
    first = LiveCapture()
    app = PaneApp(lambda: VerifyPane(first, path, clock=None))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VerifyPane)
        await until(pilot, lambda: pane.has_class("-lost"))
        assert text_of(app, "#verify-status").startswith(f"✗ {DROPPED}")
        assert text_of(app, "#verify-lost") == "✗ Lost the connection to the sensor. Press r to reconnect."
        assert "r" in offered_keys(app)
        await pilot.press("r")
        await until(pilot, lambda: pane.live.status.state == "listening")
        pane.update_view()
        await pilot.pause()
        assert path.connections == 2 and pane.live is not first
        assert not pane.has_class("-lost") and "r" not in offered_keys(app)
        # a fresh capture: each source's 5 packets once, not added to what the lost one counted
        assert [r[1] for r in rows(app, "#verify-sources")] == ["5", "5"]
        assert "● capturing on ens6  10 packets" in text_of(app, "#verify-status")


async def test_a_refused_connection_is_offered_again():
    attempts = []

    async def refused():
        attempts.append(time.monotonic())
        raise ConnectionRefusedError("connect to 192.0.2.10 port 22: connection refused")

    app = PaneApp(lambda: VerifyPane(LiveCapture(), refused, clock=None))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VerifyPane)
        await until(pilot, lambda: pane.has_class("-lost"))
        assert text_of(app, "#verify-status").startswith("✗ connect to 192.0.2.10 port 22: connection refused")
        assert text_of(app, "#verify-lost") == "✗ Not capturing. Press r to reconnect."
        await pilot.press("r")
        await until(pilot, lambda: len(attempts) == 2 and pane.has_class("-lost"))


async def test_a_file_that_fails_offers_no_reconnect(tmp_path):
    junk = tmp_path / "notes.pcap"
    junk.write_text("not a capture\n" * 10)
    live = LiveCapture()
    app = PaneApp(lambda: VerifyPane(live, PcapFileSource(junk), clock=None))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(VerifyPane)
        await until(pilot, lambda: pane.ended is not None)
        assert pane.ended.state == "failed" and "notes.pcap" in text_of(app, "#verify-status")
        assert not pane.has_class("-lost") and "r" not in offered_keys(app)


# -- the tables: StatsTable draws its own lines --------------------------------------------------------------------

class TableApp(App):
    def compose(self) -> ComposeResult:
        yield StatsTable([("source", 8), ("packets", 7)], id="table")


def drawn(table: StatsTable) -> list[str]:
    """The table's lines as the screen shows them."""
    return [table.render_line(y).text.rstrip() for y in range(table.size.height)]


async def test_the_table_shows_its_rows_and_follows_updates():
    app = TableApp()
    async with app.run_test(size=(40, 6)) as pilot:
        table = app.query_one(StatsTable)
        table.show([("10.0.0.1", "12"), ("web-server-1", "3")])
        await pilot.pause()
        assert drawn(table) == [" source    packets", " 10.0.0.1  12", " web-ser…  3", "", "", ""]
        table.show([("10.0.0.2", "40")])  # a new busiest, one row fewer
        await pilot.pause()
        assert drawn(table)[1:3] == [" 10.0.0.2  40", ""]


async def test_the_line_cache_does_not_grow_with_refreshes():
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(StatsTable)

        async def refresh(times: int) -> None:
            for n in range(times):  # every cell changes each time, as under heavy traffic
                table.show([(f"10.0.0.{i}", str(n * 50 + i)) for i in range(50)])
                await pilot.pause()

        await refresh(5)
        after_a_few = table.cached_lines
        await refresh(200)
        assert table.cached_lines == after_a_few <= table.size.height  # a line per row drawn, never more
        await pilot.press("end")  # scrolling draws other rows: still one line each
        assert table.cached_lines <= 51


async def test_keys_move_the_row_cursor_and_keep_it_in_view():
    app = TableApp()
    async with app.run_test(size=(40, 8)) as pilot:
        table = app.query_one(StatsTable)
        table.show([(f"web-{i}", str(100 - i)) for i in range(30)])
        table.focus()
        await pilot.pause()

        assert table.cursor_row == 0 and drawn(table)[1].strip() == "web-0     100"
        await pilot.press("end")
        assert table.cursor_row == 29 and drawn(table)[-1].strip() == "web-29    71"

        def background(y: int):
            return next(iter(table.render_line(y))).style.bgcolor

        last = table.size.height - 1
        assert background(last) != background(last - 2)  # the cursor's row stands out from its stripe
        await pilot.press("up", "up")
        assert table.cursor_row == 27 and background(last - 2) != background(last)
        await pilot.press("home")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0


# -- snapshots: fixed data (a pcap file named relative to its directory, rates as of its last packet) ---------------

FIXED_CHECKS = [
    DiagnosticCheck("a mirror session per source", "failed", "no session on web-1",
                    "run `vpc-mirror resume demo` to recreate the sessions of this setup"),
    DiagnosticCheck("filter accepts both directions", "ok", "the filter accepts ingress and egress traffic"),
    DiagnosticCheck("capture interface is up on the sensor", "unknown",
                    "the sensor was not asked (no SSH connection)", "connect to the sensor to check its interfaces"),
    DiagnosticCheck("target MTU fits mirrored packets", "warning",
                    "1554 bytes exceed ens6's MTU 1500; AWS truncates them", "raise the MTU to 9001"),
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
