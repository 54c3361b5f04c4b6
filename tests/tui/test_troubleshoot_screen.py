"""The troubleshooting screen: a pcap file (snapshots), a lost sensor reconnected with `r`, and a bare host's
sensor over the real test sshd (watched, and reconnected after its connection dies)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from textual.app import App

from vpc_mirror.steps.capture.live import LiveCapture
from vpc_mirror.tui.panes.verify import VerifyPane
from vpc_mirror.tui.panes.zeek import HostKeyDialog
from vpc_mirror.tui.screens.troubleshoot import TroubleshootApp, TroubleshootScreen, WatchTarget

from tests.testdata import VXLAN as VXLAN_DATA
from tests.tui.test_verify_pane import SensorPath


async def until(pilot, predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)
    await pilot.pause()  # let what made it true finish (a dialog composing, a message bubbling)


@pytest.mark.parametrize("size", [(80, 24), (120, 36)])
def test_snapshot_of_a_pcap_file(snap_compare, monkeypatch, size):
    monkeypatch.chdir(VXLAN_DATA / "tcpdump")
    app = TroubleshootApp(lambda app: TroubleshootScreen.for_pcap("vxlan.pcap"))

    async def run_before(pilot) -> None:
        live = pilot.app.screen.live
        await until(pilot, lambda: live.status.state == "stopped")
        pilot.app.screen.query_one(VerifyPane).update_view()
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def test_escape_leaves_a_pushed_screen_and_stops_its_capture():
    screen = TroubleshootScreen.for_pcap(VXLAN_DATA / "zeek" / "vxlan.pcap")
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(screen)
        assert screen.sub_title == "pcap vxlan.pcap"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is not screen and app.is_running


def dropped_sensor_app(path: SensorPath) -> TroubleshootApp:
    return TroubleshootApp(lambda app: TroubleshootScreen(LiveCapture(), path, clock=None, where="sensor 192.0.2.10"))


async def lost(pilot) -> None:
    pane = pilot.app.screen.query_one(VerifyPane)
    await until(pilot, lambda: pane.has_class("-lost"))
    pane.update_view()
    await pilot.pause()


def footer_text(screen) -> str:
    return " ".join(str(key.render()) for key in screen.query("FooterKey"))


def test_snapshot_of_a_dropped_sensor(snap_compare):
    assert snap_compare(dropped_sensor_app(SensorPath(drops=1)), terminal_size=(80, 24), run_before=lost)


async def test_r_reconnects_a_dropped_sensor_and_the_footer_offers_it_only_then():
    path = SensorPath(drops=1)
    app = dropped_sensor_app(path)
    async with app.run_test(size=(80, 24)) as pilot:
        await lost(pilot)
        screen, first = app.screen, app.screen.live
        assert "r Reconnect" in footer_text(screen)
        await pilot.press("r")
        await until(pilot, lambda: screen.live.status.state == "listening")
        assert path.connections == 2 and screen.live is not first
        assert "Reconnect" not in footer_text(screen)


@pytest.mark.root
async def test_a_host_is_watched_over_ssh_after_its_host_key_is_trusted(sensor_host, state_dir):
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    target = WatchTarget(state_dir=state_dir, host=sensor_host.address, user=sensor_host.sudo_user,
                         identity=sensor_host.client_key, known_hosts=sensor_host.dir / "known_hosts",
                         mac=sensor_host.capture_mac, ssh_config=[])
    app = TroubleshootApp(lambda app: TroubleshootScreen.for_sensor(app, target))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HostKeyDialog))
        assert app.screen.verdict == "unknown"
        await pilot.click("#trust")
        await until(pilot, lambda: isinstance(app.screen, TroubleshootScreen))
        screen = app.screen
        assert screen.sub_title == f"sensor {sensor_host.address}"
        await until(pilot, lambda: screen.live.status.state == "listening")
        assert screen.live.status.message.startswith("capturing on ens6")
        await pilot.press("escape")  # the only screen: quits, which stops tcpdump on the sensor
    deadline = time.monotonic() + 5
    while sensor_host.exec("pgrep", "tcpdump", check=False).returncode == 0:
        assert time.monotonic() < deadline, "tcpdump still runs on the sensor"
        time.sleep(0.1)


@pytest.mark.root
async def test_a_sensor_whose_connection_dies_is_reconnected_with_r(sensor_host, state_dir):
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    target = WatchTarget(state_dir=state_dir, host=sensor_host.address, user=sensor_host.sudo_user,
                         identity=sensor_host.client_key, known_hosts=sensor_host.dir / "known_hosts",
                         accept_host_key=sensor_host.host_key_fingerprints[0], mac=sensor_host.capture_mac,
                         ssh_config=[])
    app = TroubleshootApp(lambda app: TroubleshootScreen.for_sensor(app, target))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        await until(pilot, lambda: screen.live.status.state == "listening")
        first = screen.live
        for pid, command in sensor_host.processes().items():  # sshd's side of our connection dies
            if f"{sensor_host.sudo_user}@" in command:
                os.kill(pid, signal.SIGKILL)
        await until(pilot, lambda: screen.query_one(VerifyPane).has_class("-lost"))
        assert first.status.state == "disconnected" and "r Reconnect" in footer_text(screen)
        await pilot.press("r")
        await until(pilot, lambda: screen.live.status.state == "listening")
        assert screen.live is not first and screen.live.status.message.startswith("capturing on ens6")
