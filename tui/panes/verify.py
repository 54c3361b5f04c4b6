"""The Verify pane: is mirrored traffic arriving, from whom, with which VNI - and if not, why not.

``VerifyPane(live, source, *, diagnose=None, silence_seconds=10.0, clock=time.time, names=None)``

- ``live``: a ``steps.capture.live.LiveCapture``; the pane only reads it (snapshots, raw lines, status).
- ``source``: what feeds it - a ``PcapFileSource``, ``RemoteSource``, ``DemoTraffic(...).source()`` -
  or a factory returning one (may be async: e.g. connect to the sensor first). The pane runs it
  when mounted and stops it when unmounted.
- ``diagnose(live)``: returns the ``steps.diagnostics.DiagnosticCheck`` list (sync: run in a thread; async:
  awaited). Run when no VXLAN packet arrived for ``silence_seconds``, and on demand (``d``).
- ``clock``: the "now" of the rates; ``None`` = the newest packet's time (pcap files, snapshots).
- ``names``: outer source address -> a label (the source instance's name), shown beside it.

When a capture from a factory fails (the connection to the sensor is lost: state "disconnected";
or tcpdump could not start, ...), a banner says so under the status line and ``r`` reconnects: the
factory is called again and a fresh ``LiveCapture`` (same port) replaces ``live``, since the new
tcpdump stream starts a new pcap file. A file or the demo's traffic is not offered that.

Everything on screen is redrawn from ``live.snapshot()`` at ``REFRESH_HZ``, never per packet: a
thread makes each view (snapshot, rows, raw lines), the UI thread only redraws the table lines
that changed (tui.widgets.stats_table), so keys stay answered under heavy traffic
(tests/bench/bench_live.py). Posts ``TrafficSeen`` (first VXLAN packet of each capture),
``BeaconSeen`` (first tame-beacon UDP/999 flow) and ``CaptureEnded`` (the source stopped).

A capture on the sensor also has a loss line under the status (``steps.capture.loss``): what reached
the interface and where packets were lost, green while nothing is, amber for a little or a figure that
could not be read, red from 1% lost.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Static

from vpc_mirror.steps.capture.aggregate import Snapshot
from vpc_mirror.steps.capture.live import LiveCapture, beacon_flows
from vpc_mirror.steps.capture.loss import Loss, describe, severity
from vpc_mirror.steps.capture.remote import CaptureStatus
from vpc_mirror.tui.widgets.stats_table import StatsTable

REFRESH_HZ = 4
RAW_LINES = 200
MAX_FLOW_ROWS = 50
STATUS_MARK = {"starting": "…", "listening": "●", "stopped": "■"}
CHECK_MARK = {"ok": ("✓", "green"), "failed": ("✗", "red"), "unknown": ("?", "yellow"), "warning": ("!", "yellow")}
PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMP6", None: "ARP"}


def human_bytes(n: float) -> str:
    if n < 1000:
        return f"{n:.0f} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000:
            break
    return f"{n:.1f} {unit}"


def byte_rate(per_second: float) -> str:
    return f"{human_bytes(per_second)}/s"


def clock_text(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds))


def endpoint(address: str | None, port: int | None) -> str:
    if address is None:
        return "?"
    shown = f"[{address}]" if ":" in address and port is not None else address
    return shown if port is None else f"{shown}:{port}"


class RawLines(ScrollView):
    """The raw view: its lines replaced at once each redraw, drawn only where visible.

    Its width only grows (the widest line yet) and its height changes only on pause and resume, so
    replacing the lines seldom relayouts the screen. It is anchored on the newest line, so it stays
    there when a relayout (the horizontal scrollbar appearing) changes what fits, until the user scrolls.
    """

    DEFAULT_CSS = "RawLines { height: 1fr; min-height: 3; }"

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.lines: list[str] = []

    def set_lines(self, lines: list[str]) -> None:
        self.lines = lines
        size = Size(max(self.virtual_size.width, max(map(cell_len, lines), default=0)), len(lines))
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()
        self.anchor()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width, style = self.size.width, self.rich_style
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, style)
        text = self.lines[index]
        if text.isascii():  # the usual case: cut here, so no intermediate Strip (each carries caches) is made
            line = Strip([Segment(text[scroll_x:scroll_x + width].ljust(width), style)], width)
        else:
            line = Strip([Segment(text, style)]).crop_extend(scroll_x, scroll_x + width, style)
        return line.apply_offsets(scroll_x, index)


@dataclass(frozen=True)
class View:
    """What one redraw shows, made off the UI thread: rows as cell texts, raw lines (None: unchanged)."""

    number: int  # in the order views were made
    snapshot: Snapshot
    status: Text
    sources: list[tuple]
    vnis: list[tuple]
    flows: list[tuple]
    raw: list[str] | None
    raw_key: tuple[int, int]  # (packets, rows) the raw lines were made for
    beacon: list
    loss: Loss | None


class VerifyPane(Widget):
    """Live tables per outer source, VNI and inner flow; raw lines; status; the checklist on silence."""

    DEFAULT_CSS = """
    VerifyPane { layout: vertical; height: 1fr; }
    VerifyPane #verify-status { height: auto; padding: 0 1; background: $boost; }
    VerifyPane #verify-beacon { display: none; height: auto; padding: 0 1; background: $success 30%;
                                text-style: bold; }
    VerifyPane.-beacon #verify-beacon { display: block; }
    VerifyPane #verify-lost { display: none; height: auto; padding: 0 1; background: $error 30%; }
    VerifyPane.-lost #verify-lost { display: block; }
    VerifyPane #verify-loss { display: none; height: auto; padding: 0 1; background: $success 20%; }
    VerifyPane.-loss #verify-loss { display: block; }
    VerifyPane #verify-loss.-warning { background: $warning 40%; }
    VerifyPane #verify-loss.-error { background: $error 40%; }
    VerifyPane #verify-top { height: 6; }
    VerifyPane #verify-sources { width: 2fr; }
    VerifyPane #verify-vnis { width: 1fr; }
    VerifyPane #verify-flows { height: 1fr; min-height: 4; }
    VerifyPane #verify-raw-title { height: 1; padding: 0 1; background: $panel; }
    VerifyPane #verify-checklist { display: none; height: 1fr; border: round $warning; padding: 0 1; }
    VerifyPane.-checklist #verify-checklist { display: block; }
    VerifyPane.-checklist #verify-flows, VerifyPane.-checklist #verify-raw,
    VerifyPane.-checklist #verify-raw-title { display: none; }
    """
    BINDINGS = [
        Binding("p", "toggle_pause", "Pause raw", id="verify-pause"),
        Binding("t", "tail", "Tail raw", id="verify-tail"),
        Binding("d", "diagnose", "Checklist", id="verify-diagnose"),
        Binding("r", "reconnect", "Reconnect", id="verify-reconnect"),
    ]

    class TrafficSeen(Message):
        """The first VXLAN packet arrived; ``snapshot`` is the capture at that refresh."""

        def __init__(self, snapshot) -> None:
            super().__init__()
            self.snapshot = snapshot

    class BeaconSeen(Message):
        """The test beacon's UDP/999 flow was seen; ``flows`` are its ``FlowStats``."""

        def __init__(self, flows: list) -> None:
            super().__init__()
            self.flows = flows

    class CaptureEnded(Message):
        """The source stopped (file read, stopped, or failed: see ``status.state``)."""

        def __init__(self, status: CaptureStatus) -> None:
            super().__init__()
            self.status = status

    def __init__(self, live: LiveCapture, source, *, diagnose: Callable | None = None,
                 silence_seconds: float = 10.0, clock: Callable[[], float] | None = time.time,
                 names: dict[str, str] | None = None, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.live = live
        self._source = source
        self._diagnose = diagnose
        self.silence_seconds = silence_seconds
        self._clock = clock
        self.names = names or {}
        self._stop = asyncio.Event()
        #: how the capture ended (None while it runs)
        self.ended: CaptureStatus | None = None
        self.paused = False
        self._raw_at: tuple | None = None  # (packets, rows) the raw view shows
        self._vxlan = 0
        self._quiet_since = time.monotonic()
        self._silence_checked = False
        self._beacon = False
        self._making = False  # a view is being made in a thread
        self._made = itertools.count()
        self._shown = -1  # number of the view on screen
        self._status_lines = -1
        self._loss_lines = -1
        self.checks: list | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="verify-status")
        yield Static(id="verify-lost")
        yield Static(id="verify-loss")
        yield Static(id="verify-beacon")
        with Horizontal(id="verify-top"):
            yield StatsTable([("outer source", 20), ("packets", 9), ("pps", 8), ("rate", 10), ("bytes", 9),
                              ("last", 8)], id="verify-sources")
            yield StatsTable([("VNI", 6), ("packets", 9), ("pps", 7), ("rate", 10)], id="verify-vnis")
        yield StatsTable([("VNI", 6), ("proto", 5), ("inner flow", 36), ("packets", 9), ("pps", 8), ("rate", 10),
                          ("bytes", 9), ("from", 20)], id="verify-flows")
        yield Static(id="verify-raw-title")
        yield RawLines(id="verify-raw")
        with VerticalScroll(id="verify-checklist"):
            yield Static(id="verify-checks")

    def on_mount(self) -> None:
        self.query_one("#verify-checklist").border_title = "Mirroring checklist (d: close)"
        self._show_raw_title()
        self.update_view()
        self.set_interval(1 / REFRESH_HZ, self._tick)
        self._run_source()

    def on_unmount(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the source (also done on unmount); the tables keep what was seen."""
        self._stop.set()

    @work(group="verify-capture", exit_on_error=False)
    async def _run_source(self) -> None:
        source = self._source
        if not hasattr(source, "run"):
            try:
                source = source()
                if inspect.isawaitable(source):
                    source = await source
            except Exception as exc:  # a refused connection or bad input: a status, not a crash
                self.live.set_status(CaptureStatus("failed", str(exc) or type(exc).__name__))
                self._ended(self.live.status)
                return
        self._ended(await self.live.run(source, self._stop))

    def _ended(self, status: CaptureStatus) -> None:
        self.ended = status
        self.update_view()
        if self.can_reconnect:
            self.query_one("#verify-lost", Static).update(offer_text(status))
            self.add_class("-lost")
            self.refresh_bindings()
        self.post_message(self.CaptureEnded(status))

    @property
    def can_reconnect(self) -> bool:
        """The capture failed and its source is a factory, which can connect again (a file or the demo cannot)."""
        return (self.ended is not None and self.ended.state != "stopped" and not self._stop.is_set()
                and not hasattr(self._source, "run"))

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """``r`` is offered (and shown in the footer) only while there is something to reconnect."""
        return self.can_reconnect if action == "reconnect" else True

    def action_reconnect(self) -> None:
        """Start over on a fresh capture: the tables restart from zero, the first packet is announced again."""
        self.ended = None
        self.remove_class("-lost")
        self.refresh_bindings()
        self.live = LiveCapture(port=self.live.port)
        self.live.set_status(CaptureStatus("starting", "reconnecting to the sensor"))
        self._vxlan, self._quiet_since, self._silence_checked, self._raw_at = 0, time.monotonic(), False, None
        self.update_view()
        self._run_source()

    # -- the fixed-rate redraw ------------------------------------------------------------------------------------
    #
    # Each tick a thread makes the whole view (snapshot, formatted rows, raw lines) and the UI thread
    # only puts it on screen, so keys are answered while the next view is being made.

    def _tick(self) -> None:
        if not self._making:
            self._making = True
            self._make_in_thread()

    @work(thread=True, group="verify-refresh", exit_on_error=False)
    def _make_in_thread(self) -> None:
        try:
            self.app.call_from_thread(self.show_view, self.make_view())
        finally:
            self._making = False

    def update_view(self) -> None:
        """Redraw now, on this thread (also when the source ends, and in tests)."""
        self.show_view(self.make_view())

    def make_view(self) -> View:
        """Everything the screen shows, from one snapshot; any thread."""
        number = next(self._made)
        snap = self.live.snapshot(self._clock() if self._clock is not None else None)
        raw = None
        raw_key = (snap.packets, self._raw_height())
        if not self.paused and raw_key != self._raw_at:
            raw = self.live.raw_lines(raw_key[1])  # following: what fits; pausing brings the rest

        def label(address: str) -> str:
            return f"{address} ({self.names[address]})" if address in self.names else address

        sources = [(label(address), f"{s.packets:,}", f"{s.pps:,.1f}", byte_rate(s.bytes_per_s),
                    human_bytes(s.bytes), clock_text(s.last))
                   for address, s in sorted(snap.sources.items(), key=lambda kv: -kv[1].packets)]
        vnis = [(str(vni), f"{s.packets:,}", f"{s.pps:,.1f}", byte_rate(s.bytes_per_s))
                for vni, s in snap.vnis.items()]
        flows = [(str(f.vni), PROTOCOLS.get(f.proto, str(f.proto)),
                  f"{endpoint(f.src, f.sport)} → {endpoint(f.dst, f.dport)}", f"{f.stats.packets:,}",
                  f"{f.stats.pps:,.1f}", byte_rate(f.stats.bytes_per_s), human_bytes(f.stats.bytes),
                  label(f.source))
                 for f in snap.flows[:MAX_FLOW_ROWS]]
        return View(number, snap, self._status_text(snap), sources, vnis, flows, raw, raw_key, beacon_flows(snap),
                    self.live.loss(snap))

    def show_view(self, view: View) -> None:
        """Put a view on screen; post what it newly shows; start the checklist on silence. UI thread."""
        if view.number < self._shown:
            return  # made before the one on screen (a thread's view overtaken by a direct redraw)
        self._shown = view.number
        snap = view.snapshot
        status = self.query_one("#verify-status", Static)
        lines = view.status.cell_len // max(status.content_size.width, 1)  # a relayout only when it rewraps
        status.update(view.status, layout=lines != self._status_lines)
        self._status_lines = lines
        self._show_loss(view.loss)
        self.query_one("#verify-sources", StatsTable).show(view.sources)
        self.query_one("#verify-vnis", StatsTable).show(view.vnis)
        self.query_one("#verify-flows", StatsTable).show(view.flows)
        if view.raw is not None and not self.paused:
            self._raw_at = view.raw_key
            self._show_raw(view.raw)
        if view.beacon:
            self.query_one("#verify-beacon", Static).update(beacon_text(view.beacon), layout=not self._beacon)
            if not self._beacon:
                self._beacon = True
                self.add_class("-beacon")
                self.post_message(self.BeaconSeen(view.beacon))
        if snap.vxlan_packets != self._vxlan:
            if not self._vxlan:
                self.post_message(self.TrafficSeen(snap))
            self._vxlan = snap.vxlan_packets
            self._quiet_since = time.monotonic()
            self._silence_checked = False
        elif self._silent():
            self._silence_checked = True
            self.action_diagnose(show=True)

    def _show_loss(self, loss: Loss | None) -> None:
        """The loss line, coloured by how much was lost; hidden for a capture that cannot lose packets."""
        self.set_class(loss is not None, "-loss")
        if loss is None:
            return
        line = self.query_one("#verify-loss", Static)
        level = severity(loss)
        for name in ("ok", "warning", "error"):
            line.set_class(name == level, f"-{name}")
        text = loss_text(loss, level)
        lines = text.cell_len // max(line.content_size.width, 1)
        line.update(text, layout=lines != self._loss_lines)
        self._loss_lines = lines

    def _silent(self) -> bool:
        """Time for the checklist: quiet for long enough while capturing, or a capture that ended with nothing."""
        if self._diagnose is None or self._silence_checked or self.can_reconnect:
            return False  # a failed capture that can be reconnected: the banner says why, not the checklist
        capturing = self.live.status.state in ("starting", "listening")
        return (capturing or not self._vxlan) and time.monotonic() - self._quiet_since >= self.silence_seconds

    def _status_text(self, snap) -> Text:
        status = self.live.status
        mark = STATUS_MARK.get(status.state, "✗")
        text = Text.assemble((f"{mark} {status.message}", "bold" if mark != "✗" else "bold red"))
        text.append(f"  {snap.packets:,} packets: {snap.vxlan_packets:,} VXLAN, {snap.non_vxlan:,} other, "
                    f"{snap.malformed:,} malformed, {snap.truncated:,} truncated")
        if snap.evicted_flows:
            text.append(f", {snap.evicted_flows:,} flows evicted")
        text.append(f"  {snap.vxlan_pps:,.1f} pps")
        if self.live.error and self.live.error not in status.message:
            text.append(f"  ({self.live.error})", "red")
        return text

    # -- raw view -------------------------------------------------------------------------------------------------

    def _show_raw_title(self) -> None:
        state = "paused (p: resume, t: tail)" if self.paused else "following (p: pause)"
        self.query_one("#verify-raw-title", Static).update(Text(f"raw packets, newest last - {state}", "bold"),
                                                           layout=False)


    def _raw_height(self) -> int:
        return max(self.query_one("#verify-raw", RawLines).size.height, 1)

    def _show_raw(self, lines: list[str]) -> None:
        self.query_one("#verify-raw", RawLines).set_lines(lines)

    def action_toggle_pause(self) -> None:
        """Freeze the raw view, with the last RAW_LINES packets to scroll through, or let it follow again."""
        self.paused = not self.paused
        self._show_raw_title()
        self._raw_at = None  # resuming: the next tick brings the newest lines
        if self.paused:
            self._load_history()

    @work(thread=True, group="verify-history", exclusive=True, exit_on_error=False)
    def _load_history(self) -> None:
        """The last RAW_LINES packets for the paused view, decoded off the UI thread."""
        lines = self.live.raw_lines(RAW_LINES)
        self.app.call_from_thread(lambda: self._show_raw(lines) if self.paused else None)

    def action_tail(self) -> None:
        self.paused = False
        self._show_raw_title()
        self._raw_at = None
        self._show_raw(self.live.raw_lines(self._raw_height()))

    # -- checklist ------------------------------------------------------------------------------------------------

    def action_diagnose(self, show: bool = False) -> None:
        """Show (and rerun) the checklist; pressed again while shown, close it."""
        if self.has_class("-checklist") and not show:
            self.remove_class("-checklist")
            return
        self.add_class("-checklist")
        checks = self.query_one("#verify-checks", Static)
        if self._diagnose is None:
            checks.update(Text("No checklist here: it checks a saved setup's AWS resources and sensor, and this "
                               "capture has none (a pcap file or a bare host). `vpc-mirror watch NAME` has one."))
            return
        checks.update(Text("checking the setup's mirroring resources…", "italic"))
        self._run_diagnose()

    @work(group="verify-diagnose", exclusive=True, exit_on_error=False)
    async def _run_diagnose(self) -> None:
        try:
            if inspect.iscoroutinefunction(self._diagnose):
                checks = await self._diagnose(self.live)
            else:
                checks = await asyncio.to_thread(self._diagnose, self.live)
        except Exception as exc:  # shown where the checklist would be; the view stays up
            self.query_one("#verify-checks", Static).update(
                Text(f"The checklist could not be made: {exc}", "red"))
            return
        self.checks = list(checks)
        heading = "No mirrored packet has arrived." if not self._vxlan else "Mirrored packets are arriving."
        self.query_one("#verify-checks", Static).update(checklist_text(self.checks, heading))


def beacon_text(flows: list) -> Text:
    first = flows[0]
    rounds = sum(f.stats.packets for f in flows)
    return Text(f"★ Test beacon seen: {first.src} → {first.dst} UDP/999 (VNI {first.vni}, mirrored from "
                f"{first.source}), {rounds} round{'s' if rounds != 1 else ''}, last at "
                f"{clock_text(max(f.stats.last for f in flows))} UTC")


LOSS_MARK = {"ok": "✓", "warning": "!", "error": "✗"}


def loss_text(loss: Loss, level: str) -> Text:
    """The loss line: its mark, the account, and what could not be read."""
    text = Text.assemble((f"{LOSS_MARK[level]} Loss: ", "bold"), describe(loss))
    if loss.unknown:
        text.append(f"; could not tell: {', '.join(loss.unknown)}", "bold")
    return text


def offer_text(status: CaptureStatus) -> Text:
    """The banner under the status line (which says why): what happened, and the key that starts over."""
    headline = "Lost the connection to the sensor." if status.state == "disconnected" else "Not capturing."
    return Text.assemble((f"✗ {headline}", "bold"), " Press ", ("r", "bold reverse"), " to reconnect.")


def checklist_text(checks: list, heading: str) -> Text:
    """One line per check with its mark; the fix under each that is not ok."""
    text = Text()
    text.append(f"{heading} Checked against AWS and the sensor:\n", "bold")
    for check in checks:
        mark, style = CHECK_MARK.get(check.status, ("?", "yellow"))
        text.append(f"{mark} ", f"bold {style}")
        text.append(check.name, "bold")
        text.append(f": {check.detail}\n")
        if check.fix and check.status != "ok":
            text.append(f"    fix: {check.fix}\n", style)
    return text
