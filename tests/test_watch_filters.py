"""`watch --vni` and `--source` filter on the sensor: only that traffic crosses the SSH connection."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.test_watch import (
    PCAP,
    VNI,
    send_beacon_rounds,
    ssh_flags,
    vxlan_source,
    watch,
)


@pytest.mark.parametrize("argv, named", [
    (["--pcap", str(PCAP), "--headless", "--vni", "5"], "--vni: for a capture on the sensor"),
    (["--host", "10.0.0.1", "--vni", "5"], "--vni: for a capture on the sensor; add --headless"),
    (["--host", "10.0.0.1", "--headless", "--vni", "16777216"], "VNI 16777216 is outside 0-16777215"),
    (["--host", "10.0.0.1", "--headless", "--source", "10.0.0.300"], "source '10.0.0.300' is not an IP address"),
    (["--host", "10.0.0.1", "--headless", "--snaplen", "0"], "snap length 0 is outside"),
])  # fmt: skip
def test_bad_capture_options_exit_2_before_connecting(capsys, state_dir, argv, named):
    code, out, err = watch(capsys, *argv, "--state-dir", str(state_dir))
    assert code == 2 and named in err and out == ""


def capture_with(sensor_host, capsys, state_dir, *options: str) -> tuple[int, dict, str]:
    """A 4-second headless capture on the sensor while the beacon runs through a real Linux vxlan device."""
    with vxlan_source(sensor_host) as (inside, outer_source):
        stop = threading.Event()
        sender = threading.Thread(target=lambda: (time.sleep(1.5), send_beacon_rounds(inside, stop)))
        sender.start()
        try:
            code, out, _err = watch(
                capsys, *ssh_flags(sensor_host), "--mac", sensor_host.capture_mac, "--headless", "--seconds", "4",
                "--json", "--state-dir", str(state_dir), *(o.replace("SOURCE", outer_source) for o in options))
        finally:
            stop.set()
            sender.join()
    return code, json.loads(out), outer_source


@pytest.mark.root
def test_the_sessions_vni_and_source_are_captured(sensor_host, capsys, state_dir):
    code, doc, source = capture_with(sensor_host, capsys, state_dir, "--vni", str(VNI), "--source", "SOURCE",
                                     "--snaplen", "200")
    assert code == 0
    assert doc["vxlan_packets"] == doc["packets"] > 0
    assert doc["vnis"] == {str(VNI): doc["packets"]} and doc["sources"] == {source: doc["packets"]}
    assert doc["truncated"] == 0  # 200 bytes still hold every header of these packets


@pytest.mark.root
def test_another_vni_leaves_nothing_to_send_over_ssh(sensor_host, capsys, state_dir):
    code, doc, _source = capture_with(sensor_host, capsys, state_dir, "--vni", str(VNI + 1))
    assert code == 1  # no mirrored packet arrived
    assert doc["packets"] == 0
