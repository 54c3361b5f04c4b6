"""The Zeek sensor pane: the demo preview, and against the real test sshd the host-key and sudo dialogs, diffs,
apply with streamed output and the ``zeekctl status`` table."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import DataTable, Input

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.tui.panes.zeek import HostKeyDialog, PasswordDialog, ZeekPane
from vpc_mirror.tui.screens.dialogs import ConfirmDialog

FINGERPRINT = "SHA256:" + "Ab3" * 14 + "x"


class PaneApp(App):
    def __init__(self, pane_factory) -> None:
        super().__init__()
        self.pane_factory = pane_factory
        self.confirmed: list[ZeekPane.Confirmed] = []

    def compose(self) -> ComposeResult:
        yield self.pane_factory()

    def on_zeek_pane_confirmed(self, message: ZeekPane.Confirmed) -> None:
        self.confirmed.append(message)


async def until(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)
    await pilot.pause()  # let what made it true finish (a dialog composing, a message bubbling)


def shown(app, selector: str) -> str:
    return "\n".join(str(w.render()) for w in app.screen.query(selector))


def plan_text(app) -> str:
    """What the Changes tab says: summary, commands, and each file box's title and text."""
    boxes = [f"{box.border_title}\n{box.content.code}" for box in app.query(".zeek-file")]
    return "\n".join([shown(app, "#zeek-summary"), shown(app, "#zeek-commands"), *boxes])


async def test_demo_shows_what_a_real_sensor_would_get_and_that_it_is_not_applied(tmp_path):
    app = PaneApp(lambda: ZeekPane(known_hosts=tmp_path / "known_hosts", demo=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "The demo does not connect to a sensor and does not apply it." in shown(app, "#zeek-demo-notice")
        text = plan_text(app)
        assert "Ubuntu 24.04" in text and "not installed: installs zeek-8.0 into /opt/zeek" in text
        assert "+interface=ens6" in text and "+@load policy/protocols/conn/mac-logging" in text
        assert "xUbuntu_24.04" in text and "$ /opt/zeek/bin/zeekctl deploy" in text
        await pilot.click("#zeek-acknowledge")
        await pilot.pause()
        assert [(m.demo, m.status) for m in app.confirmed] == [(True, None)]
    assert not (tmp_path / "known_hosts").exists()


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot_of_the_demo_preview(snap_compare, size):
    app = PaneApp(lambda: ZeekPane(known_hosts=Path("known_hosts"), demo=True))

    async def run_before(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
@pytest.mark.parametrize("dialog", [
    lambda: HostKeyDialog("203.0.113.7", FINGERPRINT, "mismatch", ["SHA256:" + "Zz9" * 14 + "q"]),
    lambda: HostKeyDialog("203.0.113.7", FINGERPRINT, "unknown", None),
    lambda: PasswordDialog("[sudo] password for zeekadmin: "),
], ids=["host-key-mismatch", "host-key-unknown", "sudo-password"])
def test_snapshot_of_the_connection_dialogs(snap_compare, dialog, size):
    class DialogApp(App):
        def on_mount(self) -> None:
            self.push_screen(dialog())

    async def run_before(pilot) -> None:
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False

    assert snap_compare(DialogApp(), terminal_size=size, run_before=run_before)


# -- against the real sshd of tests/sensor_host.py -------------------------------------------------------------------

def console_text(fingerprints: list[str]) -> str:
    return ("ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n"
            + "".join(f"ec2: 256 {fp} root@sensor (ED25519)\n" for fp in fingerprints)
            + "ec2: -----END SSH HOST KEY FINGERPRINTS-----\n")


@pytest.fixture
def sensor_setup(sensor_host, sandbox, state_dir):
    """The demo setup applied to the sandbox, its zeek answers pointing at the test sshd: (plan, store)."""
    from vpc_mirror.steps.state_store import StateStore
    from tests.awsfacts import demo_plan, run
    from tests.test_zeek_sensor import install_standin

    zeek = ZeekPlan(host=sensor_host.address, user=sensor_host.sudo_user, identity=str(sensor_host.client_key),
                    zeek_prefix=install_standin(sensor_host), interface="ens6")
    plan = demo_plan(zeek=zeek)
    run(sandbox, state_dir, plan)
    return plan, StateStore(state_dir)


@pytest.mark.root
async def test_refused_then_matching_host_key_then_apply_ends_with_zeek_running(sensor_host, sandbox, sensor_setup):
    from vpc_mirror.steps.setup import open_context

    plan, store = sensor_setup
    sensor_id = store.load("demo").resource("sensor").id
    sandbox.set_console_output(sensor_id, console_text(["SHA256:" + "x" * 43]))
    known_hosts = sensor_host.dir / "known_hosts"
    app = PaneApp(lambda: ZeekPane(
        context=lambda: open_context(plan, store, endpoint_url=sandbox.endpoint_url, region=sandbox.region),
        known_hosts=known_hosts, ssh_config=[]))
    async with app.run_test(size=(120, 36)) as pilot:
        pane = app.query_one(ZeekPane)
        await until(pilot, lambda: not app.query_one("#zeek-connect").disabled)
        assert app.query_one("#zeek-host", Input).value == sensor_host.address
        assert app.query_one("#zeek-capture", Input).value == "ens6"

        await pilot.click("#zeek-connect")
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        assert app.screen.verdict == "mismatch" and app.screen.fingerprint in sensor_host.host_key_fingerprints
        assert "does NOT match" in shown(app, "#hostkey-title")
        await pilot.press("enter")  # the only button: Close
        await until(pilot, lambda: "Host key refused" in shown(app, "#zeek-phase"))
        assert not known_hosts.exists()

        sandbox.set_console_output(sensor_id, console_text(sensor_host.host_key_fingerprints))
        await pilot.click("#zeek-retry")
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        assert app.screen.verdict == "match"
        assert app.screen.fingerprint in shown(app, "#hostkey-fingerprint")
        await pilot.press("enter")  # Trust and connect
        await until(pilot, lambda: pane.work is not None)
        assert sensor_host.address in known_hosts.read_text()
        text = plan_text(app)
        assert "-interface=eth0" in text and "+interface=ens6" in text
        assert "ens6 is down" in text and "zeekctl deploy" in text

        marked = []  # while it applies, the pane is marked so the wizard asks before quitting
        log = pane._log
        pane._log = lambda text: (marked.append(pane.has_class("-changing-sensor")), log(text))
        await pilot.click("#zeek-apply")
        await until(pilot, lambda: isinstance(app.screen, ConfirmDialog))
        await pilot.press("enter")  # Apply
        await until(pilot, lambda: pane.status is not None, timeout=30)
        assert marked[0] and marked[-1] is False and not pane.has_class("-changing-sensor")
        table = app.query_one("#zeek-status-table", DataTable)
        node = [str(c) for c in table.get_row_at(0)]
        assert table.row_count == 1 and node[:4] == ["zeek", "standalone", "localhost", "running"]
        await pilot.pause(0.2)  # the output log is written in batches
        output = "\n".join(app.query_one("#zeek-output").lines)
        assert "+@load policy/protocols/conn/mac-logging" in output and "… zeekctl deploy" in output
        assert [(m.demo, m.status.running) for m in app.confirmed] == [(False, True)]
        await until(pilot, lambda: store.load("demo").step("zeek").status == "done")


@pytest.mark.root
async def test_unknown_host_key_is_asked_and_the_sudo_password_prompted_and_not_kept(sensor_host):
    from tests.test_zeek_sensor import install_standin

    answers = ZeekPlan(host=sensor_host.address, user=sensor_host.password_user,
                       identity=str(sensor_host.client_key), zeek_prefix=install_standin(sensor_host),
                       interface="ens6")
    app = PaneApp(lambda: ZeekPane(answers, known_hosts=sensor_host.dir / "known_hosts", ssh_config=[]))
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(ZeekPane)
        await pilot.click("#zeek-connect")
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        assert app.screen.verdict == "unknown" and "no console output" in shown(app, "#hostkey-title")
        await pilot.click("#trust")
        await until(pilot, lambda: isinstance(app.screen, PasswordDialog))
        assert sensor_host.password_user in shown(app, "Static")
        assert app.screen.query_one(Input).password
        await pilot.press(*sensor_host.sudo_password, "enter")
        await until(pilot, lambda: pane.work is not None)
        assert "+interface=ens6" in plan_text(app)
        await pilot.pause(0.2)
        output = "\n".join(app.query_one("#zeek-output").lines)
        assert sensor_host.sudo_password not in output
        assert sensor_host.sudo_password not in repr(pane.sensor)
