"""The zeek, verify, hunt and ship pages: they mount the sensor panes (tui.panes) once the setup is applied.

A pane is built when its page is first shown for a setup: the Verify pane in
a worker (it needs the applied setup's context, which imports boto3), so the
wizard never waits for it; the Zeek, Hunt and Ship panes at once (each opens
its context itself, in a worker). ``watched_setup`` is also the start screen's
Troubleshoot for an applied setup.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from vpc_mirror.steps.capture.live import LiveCapture
from vpc_mirror.tui.backend import Backend
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.base import HINT, PageChanged, WizardPage
from vpc_mirror.tui.panes.hunt import HuntPane
from vpc_mirror.tui.panes.ship import ShipPane
from vpc_mirror.tui.panes.verify import VerifyPane
from vpc_mirror.tui.panes.zeek import ZeekPane
from vpc_mirror.tui.screens.troubleshoot import SensorWatch, WatchTarget

if TYPE_CHECKING:
    from vpc_mirror.models.state import State


class SensorPage(WizardPage, Vertical):
    """Mounts the pane ``make_pane`` makes for the current setup (saying "Preparing…" until then)."""

    DEFAULT_CSS = "SensorPage { height: 1fr; } SensorPage > .slot-note { padding: 0 1; color: $text-muted; }"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.built_for: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="slot-note")

    def activate(self) -> None:
        setup = self.model.draft.setup
        if self.built_for == setup:
            return
        self.built_for = setup
        self.query_one(".slot-note", Static).update("Preparing…")
        self.build(setup)

    def make_pane(self, setup: str) -> Widget:
        """The pane for ``setup``."""
        raise NotImplementedError

    def build(self, setup: str) -> None:
        """Make and mount the pane at once (VerifyPage makes it in a worker)."""
        try:
            pane = self.make_pane(setup)
        except Exception as exc:  # shown on the page; the rest of the wizard stays usable
            self._note(f"Cannot open the {self.PAGE} pane: {exc}")
            return
        self._mount(pane)

    def _note(self, text: str) -> None:
        self.query_one(".slot-note", Static).update(text)

    def _mount(self, pane: Widget) -> None:
        self.query_one(".slot-note", Static).display = False
        for child in list(self.children)[1:]:
            child.remove()
        self.mount(pane)
        self.call_after_refresh(self.focus_first)

    def show_state(self, state: State | None) -> None:
        """A state just saved (any thread): the model's copy and the sidebar's marks follow it."""
        def show() -> None:
            self.model.state = state
            self.post_message(PageChanged())
        if state is not None:
            self.app.call_from_thread(show)

    def reload_state(self) -> None:
        """A pane recorded its step (in a worker): the state as saved now."""
        self.show_state(self.model.backend.store.load(self.built_for))


class ZeekPage(SensorPage):
    """The Zeek pane for the setup's sensor; Next waits until it confirms Zeek runs (or the demo was read)."""

    PAGE = "zeek"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.confirmed = False

    def activate(self) -> None:
        if self.built_for != self.model.draft.setup:
            self.confirmed = False
        super().activate()

    def can_advance(self) -> bool:
        return self.confirmed

    def focus_first(self) -> None:
        if not any(pane.focus_acknowledge() for pane in self.query(ZeekPane)):
            super().focus_first()

    def hint(self, can_advance: bool) -> str:
        return HINT if can_advance else "confirm the Zeek step first"

    def make_pane(self, setup: str) -> ZeekPane:
        """Made at once, so the page's keys work as soon as it shows; the pane opens the engine context
        itself, in its own worker."""
        model = self.model
        return ZeekPane(model.plan().zeek, context=lambda: model.backend.context(model.plan()),
                        known_hosts=model.backend.state_dir / "known_hosts", demo=model.backend.demo)

    def on_zeek_pane_confirmed(self, event: ZeekPane.Confirmed) -> None:
        event.stop()
        self.confirmed = True
        self.post_message(PageChanged())
        # the state says so too (the demo: skipped, as `status` shows it); the sidebar follows the state
        self.run_worker(self._save_demo_zeek if event.demo else self.reload_state, thread=True,
                        exit_on_error=False)

    def _save_demo_zeek(self) -> None:
        from vpc_mirror.steps.zeek import record_demo_preview  # asyncssh: only in a worker (start-up time)

        self.show_state(with_saved_state(self.model.backend, self.built_for, record_demo_preview))


class VerifyPage(SensorPage):
    """The Verify pane on the setup's mirrored traffic; its first packets mark the verify step."""

    PAGE = "verify"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.watched: Watched | None = None

    def make_pane(self, setup: str) -> VerifyPane:
        """Blocking (reads the saved setup and AWS): see ``build``."""
        self.watched = watched_setup(self.app, self.model.backend, setup)
        return self.watched.pane()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def build(self, setup: str) -> None:
        """In a worker, so the wizard never waits for AWS."""
        try:
            pane = self.make_pane(setup)
        except Exception as exc:  # shown on the page; the rest of the wizard stays usable
            self.app.call_from_thread(self._note, f"Cannot open the {self.PAGE} pane: {exc}")
            return
        self.app.call_from_thread(self._mount, pane)

    def on_verify_pane_traffic_seen(self, event: VerifyPane.TrafficSeen) -> None:
        """Mark the verify step done (or failed, with why) once mirrored traffic arrives, as `watch NAME` does."""
        if self.watched is not None:
            record = self.watched.record
            self.run_worker(lambda: self.show_state(record(event.snapshot)), thread=True, exit_on_error=False)

    def on_unmount(self) -> None:
        if self.watched is not None and self.watched.watch is not None:
            self.watched.watch.close()


class HuntPage(SensorPage):
    """The Hunt pane on the sensor's Zeek logs (the demo: its synthetic traffic); Next is never held back."""

    PAGE = "hunt"

    def make_pane(self, setup: str) -> HuntPane:
        model = self.model
        return HuntPane(context=lambda: model.backend.context(model.plan()),
                        known_hosts=model.backend.state_dir / "known_hosts", demo=model.backend.demo)

    def on_hunt_pane_hunted(self, event: HuntPane.Hunted) -> None:
        event.stop()
        self.run_worker(self.reload_state, thread=True, exit_on_error=False)


class ShipPage(SensorPage):
    """The Ship pane; shipping is optional, so Finish is never held back (the step stays pending)."""

    PAGE = "ship"
    NEXT_LABEL = "Finish"

    def make_pane(self, setup: str) -> ShipPane:
        model = self.model
        return ShipPane(context=lambda: model.backend.context(model.plan()),
                        known_hosts=model.backend.state_dir / "known_hosts", demo=model.backend.demo)

    def on_ship_pane_confirmed(self, event: ShipPane.Confirmed) -> None:
        event.stop()
        self.run_worker(self.reload_state, thread=True, exit_on_error=False)


@dataclass
class Watched:
    """What the Verify pane watches for an applied setup (its arguments), and what to do around it."""

    live: LiveCapture
    source: Any  # a steps.capture.live source
    diagnose: Callable[[LiveCapture], Awaitable[list]]
    #: saves the verify step's result from a snapshot and returns the state (blocking: in a worker)
    record: Callable[[Any], State | None]
    names: dict[str, str] | None = None
    #: a real sensor's connection, closed when the pane goes
    watch: SensorWatch | None = None
    clock: Callable[[], float] | None = time.time
    silence_seconds: float = 10.0

    def pane(self) -> VerifyPane:
        return VerifyPane(self.live, self.source, diagnose=self.diagnose, silence_seconds=self.silence_seconds,
                          clock=self.clock, names=self.names)


def watched_setup(app: App, backend: Backend, setup: str) -> Watched:
    """An applied setup's traffic: the demo's synthetic traffic, or the capture on its sensor.

    Blocking (reads the saved setup, imports boto3): call from a worker. For a real sensor the
    connection (host key and sudo dialogs, pushed on ``app``) is made when the pane starts its source.
    """
    if not backend.demo:
        watch = SensorWatch(app, WatchTarget(state_dir=backend.state_dir, setup=setup,
                                             endpoint_url=backend.endpoint_url, profile=backend.profile,
                                             region=backend.region))
        return Watched(LiveCapture(), watch.source, watch.diagnose, watch.record, watch=watch)
    # boto3: only in a worker (start-up time)
    from vpc_mirror.steps.setup import saved_context
    from vpc_mirror.steps.watch import demo_traffic, endpoints, explain_silence, record_verdict

    backend.ready.wait()
    ctx = saved_context(backend.store, setup, endpoint_url=backend.endpoint_url, profile=backend.profile,
                        region=backend.region)

    async def diagnose(live: LiveCapture) -> list:
        return await explain_silence(ctx, live=live)

    def record(snapshot) -> State | None:
        return with_saved_state(backend, setup, lambda saved: record_verdict(saved, snapshot))

    return Watched(LiveCapture(), demo_traffic(ctx).source(), diagnose, record,
                   names={address: name for name, address in endpoints(ctx).sources.items()})


def with_saved_state(backend: Backend, setup: str, record: Callable[[Any], object]) -> State:
    """``record(ctx)`` (a steps ``record_*``) on a context of the saved setup; the state after it (in a worker)."""
    ctx = backend.context(backend.store.load_answers(setup))
    try:
        record(ctx)
        return ctx.state
    finally:
        ctx.close()
