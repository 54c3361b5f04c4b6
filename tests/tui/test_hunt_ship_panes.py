"""The Hunt and Ship panes: the demo's beacon found and recorded, the demo's shipping plan shown and skipped,
and against the real test sshd the sensor's Zeek logs read after the host-key dialog."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.panes.hunt import HuntPane
from vpc_mirror.tui.panes.ship import ShipPane
from vpc_mirror.tui.panes.zeek import HostKeyDialog
from tests.tui.test_zeek_pane import console_text, shown, until


class PaneApp(App):
    def __init__(self, pane_factory) -> None:
        super().__init__()
        self.pane_factory = pane_factory
        self.messages: list = []

    def compose(self) -> ComposeResult:
        yield self.pane_factory()

    def on_hunt_pane_hunted(self, message: HuntPane.Hunted) -> None:
        self.messages.append(message)

    def on_ship_pane_confirmed(self, message: ShipPane.Confirmed) -> None:
        self.messages.append(message)


@pytest.fixture
def applied(sandbox, state_dir):
    """The demo setup applied to the sandbox: (plan, store, a context factory)."""
    from tests.awsfacts import demo_plan, run
    from vpc_mirror.steps.setup import open_context

    plan = demo_plan()
    run(sandbox, state_dir, plan)
    store = StateStore(state_dir)
    return plan, store, lambda: open_context(plan, store, endpoint_url=sandbox.endpoint_url, region=sandbox.region)


def rows(app) -> list[list[str]]:
    table = app.query_one(DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def test_demo_hunt_finds_the_test_beacon_in_the_demos_traffic_and_records_it(applied, state_dir):
    plan, store, context = applied
    beacon_ip = store.load("demo").resource("test-beacon").attrs["private_ip"]
    app = PaneApp(lambda: HuntPane(context=context, known_hosts=state_dir / "known_hosts", demo=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.messages)
        assert "the demo's synthetic traffic" in shown(app, "#hunt-demo-notice")
        assert "the demo has no sensor" in shown(app, "#hunt-phase")
        banner = shown(app, "#hunt-banner")
        assert f"test beacon ({beacon_ip} -> {plan.test_beacon.destination} every 34 s) scores 1.00 (High): " \
               "the hunt will find it" in banner
        table = app.query_one(DataTable)
        beacon_row = rows(app)[table.cursor_row]
        assert beacon_row[:3] == ["1.000", "high", f"▶ {beacon_ip} -> {plan.test_beacon.destination} (name)"]
        assert app.messages[0].error is None
    step = store.load("demo").step("hunt")
    assert step.status == "done" and step.error is None
    assert store.load("demo").steps["hunt"].facts["beacon_pair"] == {
        "src": beacon_ip, "dst": plan.test_beacon.destination, "score": 1.0, "severity": "high"}


async def test_demo_ship_shows_the_plan_checks_the_form_and_is_recorded_skipped(applied, state_dir):
    _, store, context = applied
    app = PaneApp(lambda: ShipPane(context=context, known_hosts=state_dir / "known_hosts", demo=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.query(".ship-file"))
        titles = [box.border_title for box in app.query(".ship-file")]
        assert titles == ["/usr/local/bin/vpc-mirror-ship", "/etc/cron.d/vpc-mirror-ship",
                          "/var/lib/vpc-mirror-ship/.ssh/known_hosts", "on the hunter"]
        assert "useradd --system" in shown(app, "#ship-commands")
        assert "does not apply it" in shown(app, "#ship-demo-notice")

        dest = app.query_one("#ship-dest_dir", Input)
        dest.value = "/etc"
        await pilot.pause()
        assert "dest dir: /etc is a system directory" in shown(app, "#ship-problems")
        assert app.query_one("#ship-connect").disabled
        dest.value = "/srv/zeek-logs"
        await pilot.pause()
        assert shown(app, "#ship-problems").strip() == "" and not app.query_one("#ship-connect").disabled
        app.query_one("#ship-connect").press()
        await until(pilot, lambda: "/srv/zeek-logs" in app.query(".ship-file").last().content.code)

        await pilot.press("a")
        await until(pilot, lambda: app.messages)
        assert app.messages[0].status == "skipped"
    step = store.load("demo").step("ship")
    assert step.status == "skipped" and "the demo has no sensor or hunter" in step.error


@pytest.fixture
def sensor_with_a_beacon(sensor_host, sandbox, state_dir):
    """The demo setup applied, its zeek answers pointing at the test sshd, where three hours of Zeek's logs
    show its test beacon (beaconing to c2.example.net): (plan, store, the prefix)."""
    from tests.awsfacts import demo_plan, run
    from tests.hunt.test_hunt_cli import sensor_with_logs
    from vpc_mirror.models.zeek import ZeekPlan

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key),
                    zeek_prefix=str(sensor_host.dir / "zeek"))
    plan = demo_plan(zeek=zeek)
    run(sandbox, state_dir, plan)
    store = StateStore(state_dir)
    prefix = sensor_with_logs(sensor_host, hours=3, source=store.load("demo").resource("test-beacon").attrs["private_ip"])
    return plan, store, prefix


@pytest.mark.root
async def test_hunt_reads_the_sensors_logs_over_ssh_after_the_host_key_dialog(sensor_host, sandbox,
                                                                              sensor_with_a_beacon):
    from vpc_mirror.steps.setup import open_context

    plan, store, prefix = sensor_with_a_beacon
    state = store.load("demo")
    beacon_ip = state.resource("test-beacon").attrs["private_ip"]
    locked = prefix / "logs" / "2023-11-14" / "ssl.00:00:00-01:00:00.log.gz"
    locked.chmod(0o600)  # root's alone: the login user cannot read it
    sandbox.set_console_output(state.resource("sensor").id, console_text(sensor_host.host_key_fingerprints))
    app = PaneApp(lambda: HuntPane(
        context=lambda: open_context(plan, store, endpoint_url=sandbox.endpoint_url, region=sandbox.region),
        known_hosts=sensor_host.dir / "known_hosts", ssh_config=[]))
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog), timeout=30)
        assert app.screen.verdict == "match"
        await pilot.press("enter")  # Trust and connect
        await until(pilot, lambda: app.messages, timeout=30)
        assert f"{prefix}/logs on {sensor_host.sudo_user}@{sensor_host.address}" in shown(app, "#hunt-phase")
        assert f"test beacon ({beacon_ip} -> {plan.test_beacon.destination} every 34 s)" in shown(app, "#hunt-banner")
        assert rows(app)[0][2] == f"▶ {beacon_ip} -> c2.example.net (name)"
        unread = shown(app, "#hunt-unread")
        assert "Could not read 0 line(s) and 1 file(s)" in unread and str(locked) in unread
    facts = store.load("demo").steps["hunt"].facts
    assert facts["beacon_pair"]["dst"] == "c2.example.net" and facts["unreadable_files"] == [str(locked)]


async def test_teardown_asks_about_log_shipping_and_no_leaves_it(applied, sandbox, state_dir):
    from tests.awsfacts import tagged
    from tests.tui.wizard_pilot import make_app
    from vpc_mirror.steps.ship import record_result
    from vpc_mirror.tui.screens.dialogs import ConfirmDialog
    from vpc_mirror.tui.screens.teardown import TeardownScreen

    _, store, context = applied
    ctx = context()
    try:
        record_result(ctx, {"hunter": "hunter.example.org"}, "done")
    finally:
        ctx.close()
    app = make_app(sandbox, state_dir)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(TeardownScreen(app.model, "demo"))
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        assert "Remove log shipping from the sensor (/etc/cron.d/vpc-mirror-ship, /usr/local/bin/vpc-mirror-ship, " \
               "user vpc-mirror-ship and its key)?" in shown(app, "*")
        await pilot.press("escape")  # no
        await until(pilot, lambda: isinstance(app.screen, TeardownScreen) and app.screen.ok is not None, timeout=60)
        assert app.screen.ok
        assert any("Log shipping is left on the sensor" in line for line in app.model.log_lines)
    assert store.load("demo").step("ship").status == "done" and not tagged(sandbox, "demo")
