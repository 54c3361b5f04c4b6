"""The live troubleshooting screen: the Verify pane on its own, for `vpc-mirror watch` and Start → Troubleshoot.

``TroubleshootScreen(live, source, *, diagnose=None, clock=time.time, names=None, where="")`` takes the
Verify pane's arguments (see tui.panes.verify) plus ``where``, what is watched, shown as the sub-title.
Two ways to make one:

- ``TroubleshootScreen.for_pcap(path)``: a capture file, read once.
- ``TroubleshootScreen.for_sensor(WatchTarget(...))``: a saved setup's sensor (everything from its
  state, and the diagnostics checklist when nothing arrives) or any host; the connection asks for
  the host key and sudo password in dialogs, then tcpdump runs on the capture interface.

``run_troubleshoot(args)`` is `vpc-mirror watch` without ``--headless``. The screen posts nothing;
Escape leaves it (or quits when it is the app's only screen). Leaving stops the capture.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.steps.capture.live import LiveCapture, PcapFileSource, RemoteSource
from vpc_mirror.tui.panes.verify import VerifyPane
from vpc_mirror.tui.panes.zeek import connect_sensor


@dataclass
class WatchTarget:
    """Which sensor to watch: a saved setup (``setup``) or a host; the rest overrides or completes it."""

    state_dir: Path
    setup: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    identity: Path | None = None
    known_hosts: Path | None = None
    accept_host_key: str | None = None
    interface: str | None = None
    mac: str | None = None
    vxlan_port: int = 4789
    endpoint_url: str | None = None
    profile: str | None = None
    region: str | None = None
    ssh_config: list[str] | None = None

    @classmethod
    def from_args(cls, args) -> WatchTarget:
        return cls(state_dir=args.state_dir, setup=args.name, host=args.host, port=args.port, user=args.user,
                   identity=args.identity, known_hosts=args.known_hosts, accept_host_key=args.accept_host_key,
                   interface=args.interface, mac=args.mac, vxlan_port=args.vxlan_port,
                   endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)

    @property
    def label(self) -> str:
        return f"setup {self.setup}" if self.setup else f"sensor {self.host}"


class SensorWatch:
    """Connects to the sensor when the Verify pane starts it, and explains silence for a setup."""

    def __init__(self, app: App, target: WatchTarget) -> None:
        self.app, self.target = app, target
        self.ctx = None
        self.sensor = None
        self.interface: str | None = None

    async def source(self):
        """The RemoteSource on the capture interface (connecting first); raises with a message on failure."""
        # asyncssh and boto3: not before the screen is up (start-up time of `vpc-mirror watch`)
        from vpc_mirror.steps.ssh import SshTarget
        from vpc_mirror.steps.zeek import capture_link
        from vpc_mirror.steps.zeek_target import sensor_login

        t = self.target
        host = user = mac = fingerprints = None
        base = ZeekPlan()
        if t.setup:
            if self.ctx is None:  # reconnecting keeps the setup already read
                self.ctx = await asyncio.to_thread(self._open_setup)
            base = self.ctx.plan.zeek
            host, user, mac, fingerprints = await asyncio.to_thread(sensor_login, self.ctx)
        overrides = {"host": t.host, "port": t.port, "user": t.user, "interface": t.interface, "mac": t.mac,
                     "identity": str(t.identity) if t.identity else None}
        answers = ZeekPlan.model_validate(base.model_dump() | {k: v for k, v in overrides.items() if v is not None})
        if answers.interface:
            mac = None
        host, user = answers.host or host, answers.user or user
        if host is None:
            raise ValueError("the sensor has no address in the saved state; give --host")
        ssh = SshTarget(host=host, port=answers.port, user=user,
                        identity=Path(answers.identity).expanduser() if answers.identity else None,
                        known_hosts=t.known_hosts or t.state_dir / "known_hosts", ssh_config=t.ssh_config)
        if self.sensor is not None:  # reconnecting: the old connection is dead, or about to be dropped
            self.sensor.close()
            self.sensor = None
        self.sensor = await connect_sensor(self.app, ssh, fingerprints, lambda line: None,
                                           accept=t.accept_host_key)
        self.interface = (await capture_link(self.sensor, answers, mac)).name
        return RemoteSource(self.sensor, self.interface, port=t.vxlan_port)

    def _open_setup(self):
        from vpc_mirror.steps.setup import open_context  # boto3: only in a worker (start-up time)
        from vpc_mirror.steps.state_store import StateStore

        store = StateStore(self.target.state_dir)
        plan = store.load_answers(self.target.setup)
        if plan is None or store.load(self.target.setup) is None:
            raise ValueError(f"no saved setup named {self.target.setup!r} in {self.target.state_dir}")
        return open_context(plan, store, endpoint_url=self.target.endpoint_url, profile=self.target.profile,
                            region=self.target.region)

    async def diagnose(self, live: LiveCapture) -> list:
        from vpc_mirror.steps.watch import explain_silence  # boto3: only once asked (start-up time)

        if self.ctx is None:
            raise ValueError("the setup could not be read, so there is nothing to check")
        return await explain_silence(self.ctx, self.sensor, self.interface, live)

    def record(self, snapshot):
        """Mark the setup's verify step done once its mirrored traffic is seen (as `watch NAME` does); the state."""
        if self.ctx is None:
            return None
        from vpc_mirror.steps.watch import record_verdict  # boto3: only in a worker (start-up time)

        record_verdict(self.ctx, snapshot)
        return self.ctx.state

    def close(self) -> None:
        if self.sensor is not None:
            self.sensor.close()
        if self.ctx is not None:
            self.ctx.close()


class TroubleshootScreen(Screen):
    """The Verify pane with a header (what is watched) and the footer's keys."""

    BINDINGS = [Binding("escape", "leave", "Back", id="troubleshoot-leave")]

    def __init__(self, live: LiveCapture, source, *, diagnose: Callable | None = None,
                 clock: Callable[[], float] | None = time.time, names: dict[str, str] | None = None,
                 where: str = "", on_traffic: Callable | None = None, on_leave: Callable[[], None] | None = None):
        super().__init__()
        self._live, self.source, self.where = live, source, where
        self.pane_options = {"diagnose": diagnose, "clock": clock, "names": names}
        self._on_traffic, self._on_leave = on_traffic, on_leave

    @property
    def live(self) -> LiveCapture:
        """The capture shown: the pane's, which is a new one after each reconnect (``r``)."""
        panes = self.query(VerifyPane)  # none before the screen is composed
        return panes.first().live if panes else self._live

    @classmethod
    def for_pcap(cls, path: str | Path, port: int = 4789) -> TroubleshootScreen:
        path = Path(path)
        return cls(LiveCapture(port=port), PcapFileSource(path), clock=None, where=f"pcap {path.name}")

    @classmethod
    def for_sensor(cls, app: App, target: WatchTarget) -> TroubleshootScreen:
        watch = SensorWatch(app, target)
        return cls(LiveCapture(port=target.vxlan_port), watch.source,
                   diagnose=watch.diagnose if target.setup else None, where=target.label,
                   on_traffic=watch.record, on_leave=watch.close)

    def compose(self) -> ComposeResult:
        yield Header()
        yield VerifyPane(self._live, self.source, id="troubleshoot-verify", **self.pane_options)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.where
        self.query_one("#verify-flows").focus()

    def on_verify_pane_traffic_seen(self, message: VerifyPane.TrafficSeen) -> None:
        if self._on_traffic is not None:
            self.run_worker(asyncio.to_thread(self._on_traffic, message.snapshot), exit_on_error=False)

    def on_unmount(self) -> None:
        if self._on_leave is not None:
            self._on_leave()

    def action_leave(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.dismiss()
        else:
            self.app.exit()


class TroubleshootApp(App):
    """`vpc-mirror watch` without --headless: just the troubleshooting screen."""

    TITLE = "vpc-mirror watch"
    BINDINGS = [Binding("q", "quit", "Quit", id="quit")]

    def __init__(self, make_screen: Callable[[App], Screen]) -> None:
        super().__init__()
        self._make_screen = make_screen

    def get_default_screen(self) -> Screen:
        return self._make_screen(self)


def run_troubleshoot(args) -> int:
    if args.pcap is not None:
        def make(app: App) -> Screen:
            return TroubleshootScreen.for_pcap(args.pcap, args.vxlan_port)
    else:
        target = WatchTarget.from_args(args)

        def make(app: App) -> Screen:
            return TroubleshootScreen.for_sensor(app, target)
    TroubleshootApp(make).run()
    return 0
