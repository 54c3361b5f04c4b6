"""Watching a setup's mirrored traffic: what the capture should see, the demo's traffic, and why nothing arrives.

Shared by the headless `vpc-mirror watch` and the TUI's Verify pane, so both
judge a silent capture the same way. Reads the saved state only, except
`explain_silence`, which reads AWS (blocking calls on the engine's pool) and,
when connected, the sensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpc_mirror.steps.capture.aggregate import Snapshot
from vpc_mirror.steps.capture.live import DemoTraffic, LiveCapture, MirroredSource
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.diagnostics import CaptureView, DiagnosticCheck, Interface, SensorView, diagnose
from vpc_mirror.steps.engine import set_status
from vpc_mirror.steps.setup import change_state
from vpc_mirror.steps.test_beacon import mirrors_beacon


@dataclass(frozen=True)
class Endpoints:
    """What the mirrored packets of a setup look like from the sensor."""

    sources: dict[str, str]  # source name (or instance id) -> address its mirrored packets come from
    target: str | None  # the capture ENI's private address
    mac: str | None  # the capture ENI's MAC, to find its interface on the sensor
    #: source name -> the VNI of its session: session.vni when the answers give one, else the one AWS picked
    #: (unique per session); a source whose VNI the state does not know yet is left out
    source_vnis: dict[str, int]

    @property
    def vnis(self) -> list[int]:
        """The sessions' VNIs (empty when AWS picked them and state does not know)."""
        return sorted(set(self.source_vnis.values()))


def endpoints(ctx: Context) -> Endpoints:
    """From the saved state: the sources' addresses (a dedicated ENI's own), the target's, each session's VNI."""
    sources: dict[str, str] = {}
    sessions: dict[str, str] = {}  # source name -> its session's key
    for s in ctx.facts("sources").get("sources", []):
        name = s.get("name") or s["instance_id"]
        dedicated = ctx.state.resource(f"source-eni/{s['instance_id']}")
        sources[name] = (dedicated.attrs.get("private_ip") if dedicated and dedicated.status == "created" else None) \
            or s["private_ip"]
        sessions[name] = f"session/{s['instance_id']}"
    beacon = ctx.state.resource("test-beacon")
    if mirrors_beacon(ctx) and beacon is not None and beacon.status == "created":
        sources["test-beacon"] = beacon.attrs["private_ip"]
        sessions["test-beacon"] = "session/test-beacon"
    source_vnis = {}
    for name, key in sessions.items():
        session = ctx.state.resource(key)
        vni = session.attrs.get("vni") if session is not None and session.status == "created" else None
        vni = vni if vni is not None else ctx.plan.session.vni
        if vni is not None:
            source_vnis[name] = vni
    target = ctx.state.resource("sensor-eni")
    return Endpoints(sources=sources, target=target.attrs.get("private_ip") if target else None,
                     mac=target.attrs.get("mac") if target else None, source_vnis=source_vnis)


def verdict(ctx: Context, snap: Snapshot) -> tuple[bool, str | None]:
    """Does the capture prove this setup's mirroring works? (yes, None) or (no, why)."""
    if snap.vxlan_packets == 0:
        return False, "no mirrored VXLAN packet arrived"
    ends = endpoints(ctx)
    if ends.vnis and not set(snap.vnis) & set(ends.vnis):
        return False, (f"VXLAN packets arrive with VNI {', '.join(map(str, sorted(snap.vnis)))}, not this setup's "
                       f"{', '.join(map(str, ends.vnis))}")
    if ends.sources and not set(snap.sources) & set(ends.sources.values()):
        return False, "VXLAN packets arrive, but from none of this setup's sources"
    return True, None


def record_verdict(ctx: Context, snap: Snapshot) -> tuple[bool, str | None]:
    """The verdict, saved as the verify step's status (done, or failed with why) on the state as saved now."""
    def record(saved: Context) -> tuple[bool, str | None]:
        seen, problem = verdict(saved, snap)
        set_status(saved, "verify", "done" if seen else "failed", problem)
        return seen, problem

    return change_state(ctx, record)


def demo_traffic(ctx: Context, **options) -> DemoTraffic:
    """The demo's synthetic traffic for this setup: its sources, its target, each source's session VNI.

    ``options`` are DemoTraffic's (pps, beacon_period, ...); the beacon runs on
    the mirrored test beacon, at its interval, when the setup has one.
    """
    ends = endpoints(ctx)
    sources = {name: address for name, address in ends.sources.items() if name in ends.source_vnis}
    if not sources or ends.target is None:
        raise ValueError(f"setup {ctx.setup} has no applied sessions and capture ENI yet; apply it first")
    options.setdefault("beacon_period", float(ctx.plan.test_beacon.interval_seconds))
    options.setdefault("beacon_host", sources.get("test-beacon"))
    mirrored = {name: MirroredSource(address, ends.source_vnis[name]) for name, address in sources.items()}
    return DemoTraffic(mirrored, ends.target, **options)


async def sensor_view(sensor, capture_interface: str | None) -> SensorView:
    """The sensor's interfaces as the checks need them, read over SSH (`steps.ssh.Sensor`)."""
    from vpc_mirror.steps.zeek import links  # deferred for start-up time: loads asyncssh, needed only with a sensor

    return SensorView([Interface(l.name, l.mac, l.up, l.mtu) for l in await links(sensor)], capture_interface)


def capture_view(live: LiveCapture) -> CaptureView:
    snap = live.snapshot()
    return CaptureView(seconds=live.elapsed(), vxlan_packets=snap.vxlan_packets,
                       vnis={vni: s.packets for vni, s in snap.vnis.items()})


async def explain_silence(ctx: Context, sensor=None, capture_interface: str | None = None,
                          live: LiveCapture | None = None) -> list[DiagnosticCheck]:
    """The diagnostics checklist for this setup, with the sensor's and the capture's view when there is one."""
    view = await sensor_view(sensor, capture_interface) if sensor is not None else None
    return await diagnose(ctx, view, capture_view(live) if live is not None else None)
