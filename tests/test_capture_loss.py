"""Loss accounting with real parts: the namespace sensor's sshd and tcpdump, VXLAN replayed onto its capture
interface with tcpreplay faster than the capture keeps up, `watch --json` and the live Verify screen."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time

import pytest
from vpc_mirror.steps.capture import remote
from vpc_mirror.steps.capture.loss import UNKNOWN
from vpc_mirror.steps.capture.synthetic import SyntheticTraffic, random_flows

from tests.test_watch import ssh_flags, watch

pytestmark = [pytest.mark.root,
              pytest.mark.skipif(shutil.which("tcpreplay") is None, reason="needs tcpreplay (apt-get install tcpreplay)")]

PACKETS = 50_000
LOOPS = 4  # 200,000 packets at tcpreplay's full speed
SMALL_BUFFER_KIB = 512  # tcpdump's kernel buffer in these tests: a flood overruns it on any machine


@pytest.fixture
def small_buffer(monkeypatch):
    monkeypatch.setattr(remote, "BUFFER_KIB", SMALL_BUFFER_KIB)


@pytest.fixture(scope="module")
def vxlan_pcap(tmp_path_factory):
    path = tmp_path_factory.mktemp("flood") / "vxlan.pcap"
    SyntheticTraffic(random_flows(["10.0.1.10", "10.0.1.11"], [4242], flows=20, packets=PACKETS, seed=3),
                     target="10.0.2.5").write(path)
    return path


def capturing(host) -> bool:
    """A packet socket is open in the sensor: tcpdump is capturing."""
    return len(host.exec("cat", "/proc/net/packet").stdout.splitlines()) > 1


def replay(host, pcap, loops: int = LOOPS) -> threading.Thread:
    """Once tcpdump captures, tcpreplay at full speed onto the sensor's capture interface (from its peer, which
    the fixture made)."""
    def run():
        deadline = time.monotonic() + 30
        while not capturing(host) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # and has said it listens, which is when the interface is first read
        subprocess.run(["tcpreplay", "--topspeed", f"--loop={loops}", "-i", host.capture_peer, str(pcap)],
                       check=True, capture_output=True, timeout=120)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_flood_faster_than_the_capture_is_all_accounted_for(sensor_host, vxlan_pcap, small_buffer, capsys,
                                                              state_dir):
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    sender = replay(sensor_host, vxlan_pcap)
    try:
        code, out, err = watch(capsys, *ssh_flags(sensor_host), "--interface", sensor_host.capture_if,
                               "--headless", "--seconds", "12", "--json", "--state-dir", str(state_dir))
    finally:
        sender.join()
    assert code == 0, err
    doc = json.loads(out)
    loss = doc["loss"]
    sent = PACKETS * LOOPS
    assert loss["captured"] == doc["packets"]
    # what the interface counted, less what the filter left out (the peer's own IPv6 chatter), is what was sent
    assert 0 <= loss["filtered_out"] <= 20 and loss["interface_rx"] - loss["filtered_out"] == sent
    assert loss["captured"] + loss["kernel_dropped"] + loss["interface_dropped"] + loss["unaccounted"] == sent
    assert loss["kernel_dropped"] > 0, "the flood was meant to be faster than the capture"
    assert f"warning: {sent - loss['captured']:,} packets were lost" in err
    assert "dropped by the kernel" in err


def test_tcpdump_killed_before_it_could_say_what_it_dropped_is_unknown_not_zero(sensor_host, capsys, state_dir):
    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    killer = threading.Timer(2.5, lambda: sensor_host.exec("pkill", "-KILL", "-x", "tcpdump", check=False))
    killer.start()
    try:
        code, out, err = watch(capsys, *ssh_flags(sensor_host), "--interface", sensor_host.capture_if,
                               "--headless", "--seconds", "6", "--json", "--state-dir", str(state_dir))
    finally:
        killer.cancel()
    assert code == 1 and "tcpdump ended with status 137" in err
    loss = json.loads(out)["loss"]
    assert loss["kernel_dropped"] == loss["unaccounted"] == UNKNOWN
    assert isinstance(loss["interface_rx"], int)  # the interface was read after tcpdump died
    assert "could not tell: kernel_dropped, unaccounted" in err


async def test_the_verify_screen_turns_the_loss_line_red_while_packets_are_dropped(sensor_host, vxlan_pcap,
                                                                                   small_buffer, state_dir):
    from textual.widgets import Static
    from vpc_mirror.tui.panes.verify import VerifyPane
    from vpc_mirror.tui.screens.troubleshoot import (
        TroubleshootApp,
        TroubleshootScreen,
        WatchTarget,
    )

    from tests.tui.test_troubleshoot_screen import until

    sensor_host.exec("ip", "link", "set", sensor_host.capture_if, "up")
    target = WatchTarget(state_dir=state_dir, host=sensor_host.address, user=sensor_host.sudo_user,
                         identity=sensor_host.client_key, known_hosts=sensor_host.dir / "known_hosts",
                         accept_host_key=sensor_host.host_key_fingerprints[0], mac=sensor_host.capture_mac,
                         ssh_config=[])
    app = TroubleshootApp(lambda app: TroubleshootScreen.for_sensor(app, target))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        line = screen.query_one("#verify-loss", Static)
        await until(pilot, lambda: screen.live.status.state == "listening" and screen.live.readings.start)
        await until(pilot, lambda: line.has_class("-ok"))  # nothing lost yet: green
        assert screen.query_one(VerifyPane).has_class("-loss") and "✓ Loss: " in str(line.render())
        sender = replay(sensor_host, vxlan_pcap)
        try:
            await until(pilot, lambda: line.has_class("-error"), timeout=30)
        finally:
            sender.join()
        shown = str(line.render())
        assert shown.startswith("✗ Loss: ") and "reached the interface so far" in shown
        assert int(shown.split(" dropped by the kernel")[0].rsplit(" ", 1)[1].replace(",", "")) > 0
