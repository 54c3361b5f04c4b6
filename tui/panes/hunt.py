"""The Hunt pane: Zeek's logs scored as RITA v5 scores them, and whether the test beacon is found.

``HuntPane(*, context, known_hosts, demo=False, ssh_config=None)``

- ``context``: a callable returning the setup's engine ``Context`` (called in a worker thread: it
  imports boto3); the sensor's address, login and console fingerprints come from it, and the result
  is recorded in its state (step ``hunt``), as `vpc-mirror hunt NAME` records it.
- ``demo``: score the conn and ssl rows Zeek would log from the demo's synthetic traffic
  (steps.hunt.demo) and say plainly that it is the demo's traffic; nothing connects anywhere.
- otherwise the sensor is reached with the Zeek pane's dialogs (``connect_sensor``: host key, sudo)
  and its logs read over SSH (steps.hunt.remote).

Shows a table of the scored pairs, best first, the test beacon's highlighted, a banner saying whether
the hunt finds the beacon, and every file and line that could not be read. Posts ``HuntPane.Hunted``
once the result is in the state. ``r`` hunts again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, DataTable, Static

from vpc_mirror.tui.panes.progress import PhaseAndLog

from vpc_mirror.steps.hunt.beacon import TestBeacon, beacon_pair, hunt_facts, verdict
from vpc_mirror.steps.hunt.demo import DEMO_WINDOW_SECONDS, demo_logs
from vpc_mirror.steps.hunt.pairs import HuntResult, Networks, PairResult, find_beacons
from vpc_mirror.steps.hunt.zeeklogs import LogReader, ReadReport
from vpc_mirror.tui.panes.setup_sensor import connect_setup_sensor

#: RITA's default window (24 h) on a real sensor; the demo scores its own DEMO_WINDOW_SECONDS
WINDOW_SECONDS = 24 * 3600
_SEVERITY_STYLE = {"high": "bold red", "medium": "bold yellow", "low": "yellow", "none": "dim"}


def now() -> float:
    """When the demo's traffic ends (the screenshots fix it, so each picture is the same)."""
    return time.time()


@dataclass(frozen=True)
class Hunted:
    """One hunt as the pane shows it: the scored pairs, what was read, the beacon looked for, from where."""

    result: HuntResult
    report: ReadReport
    beacon: TestBeacon | None
    #: where the logs came from, e.g. "/opt/zeek/logs on ubuntu@198.51.100.7"
    logs: str
    demo: bool


def banner(hunted: Hunted) -> tuple[str, bool]:
    """The verdict line (and whether it is good news): does the hunt find the test beacon?"""
    beacon = hunted.beacon
    if hunted.result.window is None:
        return "No internal -> external connection in the logs yet: nothing to score.", False
    if beacon is None:
        return ("This setup has no test beacon; the pairs below are what AI-Hunter / RITA will score.", True)
    found = beacon_pair(hunted.result, beacon)
    if found is None:
        return (f"The test beacon ({beacon}) is not among the scored pairs yet: RITA needs at least 4 of its "
                "connections in distinct seconds. Hunt again (r) in a few minutes.", False)
    score = found.score
    if score.severity.value == "none":
        return (f"The test beacon ({beacon}) scores {score.score:.2f}, below RITA's lowest band (0.50): "
                "give it more rounds, then hunt again (r).", False)
    return (f"The test beacon ({beacon}) scores {score.score:.2f} ({score.severity.value.title()}): "
            "the hunt will find it.", True)


def unread(report: ReadReport) -> str:
    """What was read and, never silently, what could not be."""
    skipped = f", {len(report.files_skipped)} older than the window not needed" if report.files_skipped else ""
    text = f"Read {len(report.files_read)} file(s){skipped}: {report.records} rows."
    if report.complete and not report.problems:
        return text + " Every line could be read."
    text += f" Could not read {report.bad_lines} line(s) and {len(report.bad_files)} file(s); the scores leave them out:"
    return "\n".join([text, *(f"  {problem}" for problem in report.problems)])


class HuntPane(PhaseAndLog):
    """The scored pairs, the beacon's verdict and what could not be read; hunting runs in a worker."""

    PREFIX = "hunt"

    DEFAULT_CSS = """
    HuntPane { layout: vertical; height: 1fr; }
    HuntPane #hunt-demo-notice { height: auto; padding: 0 1; background: $warning 25%; }
    HuntPane #hunt-phase { height: auto; padding: 0 1; background: $boost; }
    HuntPane #hunt-phase.-error { color: $error; text-style: bold; }
    HuntPane #hunt-banner { height: auto; padding: 0 1; text-style: bold; }
    HuntPane #hunt-banner.-found { background: $success 30%; }
    HuntPane #hunt-banner.-missing { background: $error 30%; }
    HuntPane #hunt-pairs { height: 1fr; }
    HuntPane #hunt-unread { height: auto; max-height: 6; padding: 0 1; color: $text-muted; }
    HuntPane #hunt-actions { height: 1; align-horizontal: right; }
    """

    BINDINGS = [Binding("r", "hunt", "Hunt again", id="hunt-again-key")]

    class Hunted(Message):
        """A hunt ended and its result is in the state (``error``: why it proves nothing yet, or None)."""

        def __init__(self, error: str | None) -> None:
            super().__init__()
            self.error = error

    def __init__(self, *, context: Callable, known_hosts: Path, demo: bool = False,
                 ssh_config: Sequence[str] | None = None, id: str | None = None) -> None:
        super().__init__(context=context, known_hosts=known_hosts, demo=demo, ssh_config=ssh_config, id=id)
        self.hunted: Hunted | None = None

    def compose(self) -> ComposeResult:
        if self.demo:
            yield Static(Text.assemble(("Demo: ", "bold"), "the demo's synthetic traffic as Zeek would log it, "
                                       "scored as RITA v5 scores it. ",
                                       ("A real setup reads Zeek's logs on the sensor.", "bold")),
                         id="hunt-demo-notice")
        yield Static(id="hunt-phase")
        yield Static(id="hunt-banner")
        yield DataTable(id="hunt-pairs", cursor_type="row", zebra_stripes=True)
        yield Static(id="hunt-unread")
        with Horizontal(id="hunt-actions"):
            yield Button("Hunt again", id="hunt-again", compact=True, disabled=True)

    def on_mount(self) -> None:
        self.query_one("#hunt-banner", Static).display = False
        self.query_one(DataTable).add_columns("score", "band", "src -> dst", "conns", "ts", "size", "hist", "dur")
        self.action_hunt()

    def on_unmount(self) -> None:
        if self.ctx is not None:
            self.ctx.close()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        return not self.query_one("#hunt-again", Button).disabled if action == "hunt" else True

    @on(Button.Pressed, "#hunt-again")
    def action_hunt(self) -> None:
        self.query_one("#hunt-again", Button).disabled = True
        self._hunt()

    @work(exclusive=True, group="hunt", exit_on_error=False)
    async def _hunt(self) -> None:
        try:
            if self.ctx is None:
                self._phase("Reading the setup…")
                self.ctx = await asyncio.to_thread(self._context_factory)
            hunted = await (self._demo() if self.demo else self._sensor())
        except Exception as exc:  # SshError, a refused key, no logs, AWS unreachable: shown, with Hunt again
            text = str(exc) or type(exc).__name__
            self._phase(f"Hunting failed: {text}", error=True)
            await self._record(None, text)
        else:
            self._show(hunted)
            await self._record(hunted, None)
        finally:
            self.query_one("#hunt-again", Button).disabled = False
            self.refresh_bindings()

    async def _demo(self) -> Hunted:
        # boto3 (steps.watch, steps.setup): only in a worker (start-up time)
        from vpc_mirror.steps.hunt.record import setup_beacon
        from vpc_mirror.steps.watch import demo_traffic

        minutes = DEMO_WINDOW_SECONDS // 60
        self._phase(f"Scoring {minutes} minutes of the demo's synthetic traffic…")
        ctx = self.ctx

        def score() -> Hunted:
            conns, names = demo_logs(demo_traffic(ctx), end=now(), server_name=ctx.plan.test_beacon.destination)
            result = find_beacons(conns, names, Networks.with_defaults(), DEMO_WINDOW_SECONDS)
            report = ReadReport(records=len(conns) + len(names))
            return Hunted(result, report, setup_beacon(ctx),
                          f"the demo's synthetic traffic ({minutes} minutes, not Zeek's logs: the demo has no sensor)",
                          demo=True)

        return await asyncio.to_thread(score)

    async def _sensor(self) -> Hunted:
        # asyncssh and boto3: only when hunting (start-up time)
        from vpc_mirror.steps.hunt.record import setup_beacon
        from vpc_mirror.steps.ec2_describe import vpc_blocks
        from vpc_mirror.steps.hunt.remote import log_dir, read_remote, remote_files

        ctx = self.ctx
        self._phase("Reading the setup's sensor (address, user, console fingerprints) and its VPC…")
        networks = Networks.with_defaults(await asyncio.to_thread(vpc_blocks, ctx))
        sensor = await connect_setup_sensor(self.app, ctx, self.known_hosts, self._phase, self.ssh_config)
        label = sensor.target.label
        try:
            folder = await log_dir(sensor, ctx.facts("zeek").get("prefix") or ctx.plan.zeek.zeek_prefix)
            self._phase(f"Listing Zeek's logs in {folder} on {label}…")
            files, problems = await remote_files(sensor, folder)
            if not files:
                detail = "; ".join(map(str, problems)) or "nothing there"
                raise ValueError(f"no conn, ssl or http log under {folder} on the sensor yet ({detail})")
            reader = LogReader(networks, WINDOW_SECONDS)
            for problem in problems:
                reader.bad_file(problem.file, problem.line, problem.message)
            self._phase(f"Reading {len(files)} log file(s) in {folder} on {label} (newest first)…")
            logs = await read_remote(sensor, files, reader)
        finally:
            sensor.close()
        self._phase("Scoring the pairs as RITA v5 does…")
        result = await asyncio.to_thread(find_beacons, logs.conns, logs.names, networks, WINDOW_SECONDS)
        return Hunted(result, logs.report, setup_beacon(ctx), f"{folder} on {label}", demo=False)

    def _show(self, hunted: Hunted) -> None:
        self.hunted = hunted
        result = hunted.result
        self._phase(f"Scored {len(result.pairs)} pair(s) from {result.connections} internal -> external "
                    f"connection(s) in {hunted.logs}.")
        text, good = banner(hunted)
        shown = self.query_one("#hunt-banner", Static)
        shown.update(Text(text))
        shown.set_class(good, "-found")
        shown.set_class(not good, "-missing")
        shown.display = True
        table = self.query_one(DataTable)
        table.clear()
        mine = beacon_pair(result, hunted.beacon) if hunted.beacon is not None else None
        for pair in result.pairs:
            table.add_row(*_row(pair, pair is mine), key=f"{pair.kind}:{pair.src}:{pair.dst}")
        if mine is not None:
            table.move_cursor(row=result.pairs.index(mine))
        self.query_one("#hunt-unread", Static).update(Text(
            f"{hunted.report.records} rows made from the demo's traffic; no file to read." if hunted.demo
            else unread(hunted.report)))

    async def _record(self, hunted: Hunted | None, error: str | None) -> None:
        """The result in the setup's state, as `vpc-mirror hunt NAME` records it; then Hunted is posted."""
        from vpc_mirror.steps.hunt.record import record_result  # boto3: only in a worker (start-up time)

        if self.ctx is None:
            return
        if hunted is not None:
            facts = hunt_facts(hunted.result, hunted.report, hunted.beacon, hunted.logs)
            error = verdict(hunted.result, facts, hunted.beacon)
        else:
            facts = {}
        try:
            await asyncio.to_thread(record_result, self.ctx, facts, error)
        except Exception as exc:  # the state is busy (another run holds it): said, the table stays
            self._phase(f"The result could not be saved in the setup's state: {exc}", error=True)
            return
        self.post_message(self.Hunted(error))


def _row(pair: PairResult, beacon: bool) -> list[Text]:
    s = pair.score
    style = "bold reverse" if beacon else ""
    marker = "▶ " if beacon else ""
    dst = pair.dst + (" (name)" if pair.kind == "domain" else "")
    return [Text(f"{s.score:.3f}", style), Text(s.severity.value, f"{_SEVERITY_STYLE[s.severity.value]} {style}"),
            Text(f"{marker}{pair.src} -> {dst}", style), Text(str(pair.connections), style),
            *(Text(f"{value:.3f}", style) for value in (s.timestamp, s.datasize, s.histogram, s.duration))]
