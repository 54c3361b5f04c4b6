"""Two real hosts for `vpc-mirror ship`: the sensor and the AI-Hunter, each sshd in its own namespace.

Both are tests/sensor_host.py's SensorHost with /home and /var/lib kept in
their temp dirs too (the code under test creates users there). A veth pair
joins the two namespaces directly, so the sensor reaches the hunter's address
without the test touching the machine's routing or forwarding. The sensor
gets the zeekctl stand-in in /opt/zeek (where the Zeek packages put it) and
an archive folder for rotated logs.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from sensor_host import OVERLAID, SensorHost, _free_block

STANDIN = Path(__file__).resolve().parent.parent / "zeekctl_standin"
SHIP_USER = "dataimport"
KEPT = (*OVERLAID, "/home", "/var/lib")


@dataclass
class ShipHosts:
    sensor: SensorHost
    hunter: SensorHost


def _ip(*argv: str) -> None:
    subprocess.run(argv, check=True, timeout=15, capture_output=True, text=True)


def join(sensor: SensorHost, hunter: SensorHost) -> None:
    """A veth from the sensor's namespace to the hunter's; the sensor routes the hunter's address over it."""
    block = _free_block()
    here, there = f"vsh{sensor.token}s", f"vsh{sensor.token}h"
    _ip("ip", "link", "add", here, "type", "veth", "peer", "name", there)
    _ip("ip", "link", "set", here, "netns", sensor.netns)
    _ip("ip", "link", "set", there, "netns", hunter.netns)
    _ip("ip", "netns", "exec", sensor.netns, "ip", "addr", "add", f"{block[1]}/30", "dev", here)
    _ip("ip", "netns", "exec", sensor.netns, "ip", "link", "set", here, "up")
    _ip("ip", "netns", "exec", hunter.netns, "ip", "addr", "add", f"{block[2]}/30", "dev", there)
    _ip("ip", "netns", "exec", hunter.netns, "ip", "link", "set", there, "up")
    _ip("ip", "netns", "exec", sensor.netns, "ip", "route", "add", f"{hunter.address}/32", "dev", here)


def put(host: SensorHost, path: str, data: bytes, mode: int = 0o644, mtime: float | None = None) -> None:
    """Write ``path`` from inside the host's namespaces (never into an overlay's upper dir while it is mounted)."""
    staged = host.dir / "staged"
    staged.write_bytes(data)
    host.exec("install", "-D", "-m", f"{mode:o}", str(staged), path)
    if mtime is not None:
        host.exec("touch", "-d", f"@{mtime:.0f}", path)


def install_zeek_standin(sensor: SensorHost) -> None:
    """zeekctl (and zeek) where the Zeek packages put them, and an empty archive at /opt/zeek/logs."""
    for name in ("zeekctl", "zeek"):
        put(sensor, f"/opt/zeek/bin/{name}", (STANDIN / name).read_bytes(), 0o755)
    put(sensor, "/opt/zeek/share/zeek/site/local.zeek", (STANDIN / "local.zeek").read_bytes())
    sensor.exec("mkdir", "-p", "/opt/zeek/logs", "/opt/zeek/etc")
