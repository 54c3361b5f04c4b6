"""The live view of a sensor fleet: `vpc-mirror watch NAME` without --headless when the setup has several sensors.

One capture per sensor, all at once; one table with a column per sensor and
the total (steps/capture/fleet_summary.py's rows, as the headless text shows
them), redrawn every second. Above it, what the figures cannot vouch for: a
sensor that is not read (and why: counts may be short) and connections whose
two directions reached different sensors (Zeek logs half-connections there).
Host keys are never asked here (the screen owns the terminal): an unknown key
leaves that sensor out, said, until `vpc-mirror zeek NAME` or
`watch NAME --headless` has recorded it. asyncssh, boto3 and the capture are
imported inside the functions that need them (start-up time: the screen is up
before any of them is loaded).
"""

from __future__ import annotations

import asyncio

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from vpc_mirror.tui.widgets.stats_table import StatsTable

REFRESH_SECONDS = 1.0
SHOWN_FLOWS = 50
LABEL_WIDTH = 46
FIGURE_WIDTH = 10


class FleetWatchScreen(Screen):
    """A column per sensor of setup ``args.name``; Escape or q leaves (and stops every capture)."""

    DEFAULT_CSS = """
    FleetWatchScreen #fleet-status { height: auto; padding: 0 1; background: $boost; }
    FleetWatchScreen #fleet-warnings { height: auto; padding: 0 1; background: $warning 40%; }
    FleetWatchScreen #fleet-warnings.-none { display: none; }
    """
    BINDINGS = [Binding("escape", "leave", "Back", id="fleet-leave")]

    def __init__(self, args, keys: list[str]) -> None:
        super().__init__()
        self.args, self.keys = args, keys
        self.fleet = None
        self.lives: dict = {}
        self.problems: dict[str, str] = {}
        self.stop = asyncio.Event()

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"connecting to {len(self.keys)} sensors…", id="fleet-status")
        yield Static("", id="fleet-warnings", classes="-none")
        yield StatsTable([("", LABEL_WIDTH), *((key, FIGURE_WIDTH) for key in self.keys), ("total", FIGURE_WIDTH)],
                         id="fleet-table")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"setup {self.args.name}: {len(self.keys)} sensors"
        self.query_one("#fleet-table").focus()
        self.run_worker(self._capture(), exit_on_error=False)
        self.set_interval(REFRESH_SECONDS, self._refresh)

    async def _capture(self) -> None:
        from vpc_mirror.tui.cli_common import CommandError
        from vpc_mirror.tui.cli_sensor import open_sensors

        try:
            self.fleet = await open_sensors(self.args, terminal=False)
        except CommandError as exc:
            self.query_one("#fleet-status", Static).update(f"cannot watch: {exc}")
            return
        self.problems = dict(self.fleet.missing)
        await asyncio.gather(*(self._capture_one(s) for s in self.fleet.reached))

    async def _capture_one(self, s) -> None:
        """Capture on one sensor until the screen goes; what stops it early is kept as that sensor's problem."""
        from vpc_mirror.steps.capture.live import LiveCapture, RemoteSource
        from vpc_mirror.steps.capture.remote import BadCaptureInput
        from vpc_mirror.steps.ssh import SshError
        from vpc_mirror.steps.zeek import ZeekRefused, capture_link
        from vpc_mirror.tui.cli_sensor import capture_options

        live = LiveCapture(port=self.args.vxlan_port, raw_capacity=0)
        try:
            link = await capture_link(s.conn.sensor, s.conn.answers, s.conn.mac)
            self.lives[s.key] = live
            status = await live.run(RemoteSource(s.conn.sensor, link.name, port=self.args.vxlan_port,
                                                 **capture_options(self.args)), self.stop)
        except (ZeekRefused, SshError, BadCaptureInput) as exc:
            self.problems[s.key] = str(exc)
            return
        if status.state not in ("stopped", "listening") and not self.stop.is_set():
            self.problems[s.key] = f"the capture stopped: {status.message}"

    def _refresh(self) -> None:
        from vpc_mirror.steps.capture.fleet_summary import fleet_rows, fleet_summary

        per_sensor = {key: live.snapshot() for key, live in self.lives.items()}
        doc = fleet_summary(per_sensor, {key: self.problems[key] for key in sorted(self.problems)})
        head, rows = fleet_rows(doc, SHOWN_FLOWS)
        shown = head[1:-1]
        table = self.query_one("#fleet-table", StatsTable)
        # a sensor not (or no longer) read keeps its column, marked, so no figure goes missing unseen
        table.show([(row[0], *(row[1 + shown.index(k)] if k in shown else "-" for k in self.keys), row[-1])
                    for row in rows])
        if self.fleet is not None:
            reading = len([k for k in self.keys if k in per_sensor and k not in self.problems])
            self.query_one("#fleet-status", Static).update(f"capturing on {reading} of {len(self.keys)} sensors")
        warnings = self.query_one("#fleet-warnings", Static)
        warnings.update("\n".join(f"! {w}" for w in doc["warnings"]))
        warnings.set_class(not doc["warnings"], "-none")

    def on_unmount(self) -> None:
        self.stop.set()
        if self.fleet is not None:
            self.fleet.close()

    def action_leave(self) -> None:
        self.app.exit()


class FleetWatchApp(App):
    """`vpc-mirror watch NAME` for a fleet: just the fleet screen."""

    TITLE = "vpc-mirror watch"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, args, keys: list[str]) -> None:
        super().__init__()
        self.args, self.keys = args, keys

    def get_default_screen(self) -> Screen:
        return FleetWatchScreen(self.args, self.keys)
