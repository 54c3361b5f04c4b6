"""The zeek and verify pages: slots that mount the sensor panes (tui.panes) once the setup is applied.

The panes are built when their page is first shown, in a worker (they need
the applied setup's context, which imports boto3), so the wizard's first
screen never waits for them.
"""

from __future__ import annotations

import importlib

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import Static

from vpc_mirror.tui.screens.messages import PageChanged

_PANES = {"zeek": ("vpc_mirror.tui.panes.zeek", "ZeekPane"), "verify": ("vpc_mirror.tui.panes.verify", "VerifyPane")}


class SensorSlot(Vertical):
    DEFAULT_CSS = "SensorSlot { height: 1fr; } SensorSlot > .slot-note { padding: 0 1; color: $text-muted; }"

    def __init__(self, step: str) -> None:
        super().__init__(id=f"page-{step}")
        self.step = step
        self.built_for: str | None = None
        #: the Zeek pane confirmed Zeek runs (or the demo preview was read): the wizard enables Next
        self.confirmed = False
        #: the connection a real sensor's Verify pane captures over (steps of tui.screens.troubleshoot)
        self.sensor_watch = None
        #: saves the verify step's result from a snapshot (blocking: in a worker)
        self.record = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="slot-note")

    def activate(self) -> None:
        setup = self.app.draft.setup
        if self.built_for == setup:
            return
        self.built_for, self.confirmed = setup, False
        self.query_one(".slot-note", Static).update("Preparing…")
        self.build(setup)

    def focus_first(self) -> None:
        for widget in self.query("*"):
            if widget.focusable:
                widget.focus()
                return

    @work(thread=True, exclusive=True, exit_on_error=False)
    def build(self, setup: str) -> None:
        module, cls = _PANES[self.step]
        try:
            pane_class = getattr(importlib.import_module(module), cls)
            pane = pane_class(**getattr(self, f"_{self.step}_args")(setup))
        except Exception as exc:  # shown on the page; the rest of the wizard stays usable
            self.app.call_from_thread(self._note, f"Cannot open the {self.step} pane: {exc}")
            return
        self.app.call_from_thread(self._mount, pane)

    def on_zeek_pane_confirmed(self, event) -> None:
        event.stop()
        self.confirmed = True
        self.post_message(PageChanged())
        # the state says so too (the demo: skipped, as `status` shows it); the sidebar follows the state
        self.run_worker(self._save_demo_zeek if event.demo else self._reload_state, thread=True,
                        exit_on_error=False)

    def _save_demo_zeek(self) -> None:
        from vpc_mirror.steps.zeek import record_demo_preview

        self._show_state(with_saved_state(self.app.backend, self.built_for, record_demo_preview))

    def _reload_state(self) -> None:
        self._show_state(self.app.backend.store.load(self.built_for))

    def _show_state(self, state) -> None:
        """A state just saved (any thread): the app's copy and the sidebar's marks follow it."""
        def show() -> None:
            self.app.state = state
            self.post_message(PageChanged())
        if state is not None:
            self.app.call_from_thread(show)

    def on_verify_pane_traffic_seen(self, event) -> None:
        """Mark the verify step done (or failed, with why) once mirrored traffic arrives, as `watch NAME` does."""
        if self.record is not None:
            self.run_worker(lambda: self._show_state(self.record(event.snapshot)), thread=True, exit_on_error=False)

    def _note(self, text: str) -> None:
        self.query_one(".slot-note", Static).update(text)

    def _mount(self, pane: Widget) -> None:
        self.query_one(".slot-note", Static).display = False
        for child in list(self.children)[1:]:
            child.remove()
        self.mount(pane)
        self.call_after_refresh(self.focus_first)

    def _verify_args(self, setup: str) -> dict:
        args = verify_args(self.app, setup)
        self.sensor_watch = args.pop("watch", None)
        self.record = args.pop("record")
        return args

    def on_unmount(self) -> None:
        if self.sensor_watch is not None:
            self.sensor_watch.close()

    def _zeek_args(self, setup: str) -> dict:
        """The Zeek pane for the setup's sensor; it opens the engine context itself, in its worker."""
        app = self.app
        return {"answers": app.plan().zeek, "context": lambda: app.backend.context(app.plan()),
                "known_hosts": app.backend.state_dir / "known_hosts", "demo": app.backend.demo}


def verify_args(app, setup: str) -> dict:
    """The Verify pane's arguments for an applied setup: the demo's synthetic traffic, or the sensor's capture.

    Blocking (reads the saved setup, imports boto3): call from a worker. For a real sensor the
    connection (host key and sudo dialogs) is made when the pane starts its source; ``watch``
    is the connection to close afterwards.
    """
    backend = app.backend
    if not backend.demo:
        from vpc_mirror.tui.screens.troubleshoot import SensorWatch, WatchTarget

        watch = SensorWatch(app, WatchTarget(state_dir=backend.state_dir, setup=setup,
                                             endpoint_url=backend.endpoint_url, profile=backend.profile,
                                             region=backend.region))
        return {"live": _live(), "source": watch.source, "diagnose": watch.diagnose, "watch": watch,
                "record": watch.record}
    from vpc_mirror.steps.setup import saved_context
    from vpc_mirror.steps.watch import demo_traffic, endpoints, explain_silence, record_verdict

    backend.ready.wait()
    ctx = saved_context(backend.store, setup, endpoint_url=backend.endpoint_url, profile=backend.profile,
                        region=backend.region)
    names = {address: name for name, address in endpoints(ctx).sources.items()}

    async def diagnose(live):
        return await explain_silence(ctx, live=live)

    def record(snapshot):
        return with_saved_state(backend, setup, lambda saved: record_verdict(saved, snapshot))

    return {"live": _live(), "source": demo_traffic(ctx).source(), "diagnose": diagnose, "names": names,
            "record": record}


def with_saved_state(backend, setup: str, record):
    """``record(ctx)`` (a steps ``record_*``) on a context of the saved setup; the state after it (in a worker)."""
    ctx = backend.context(backend.store.load_answers(setup))
    try:
        record(ctx)
        return ctx.state
    finally:
        ctx.close()


def _live():
    from vpc_mirror.steps.capture.live import LiveCapture

    return LiveCapture()
