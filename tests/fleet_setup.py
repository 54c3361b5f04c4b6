"""A saved two-sensor setup whose sensors are namespace hosts (tests/conftest_fleet.py), for `watch` and `zeek`.

The demo is applied in the sandbox (one sensor), then its state is made what a
fleet's would be: answers with ``sensor.count: 2``, and a second sensor and
capture ENI under steps/fleet.py's keys, each sensor's address and capture
MAC those of a namespace host. A known_hosts file holds both hosts' keys,
as after a first contact.
"""

from __future__ import annotations

from pathlib import Path

from tests.awsfacts import demo_plan, run
from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.steps.fleet import capture_eni_key, sensor_keys
from vpc_mirror.steps.state_store import StateStore

SETUP = "demo"


def fleet_setup(sandbox, state_dir: Path, hosts, mirrored_from: str | None = None, target_type: str = "eni",
                **zeek) -> Path:
    """Apply the demo as a fleet of ``hosts``; ``mirrored_from`` becomes a source's address (so the setup's
    verdict is judged on packets sent from there); with a ``target_type`` nlb or gwlb the traffic reaches each
    sensor on its own interface (eth0, SSH's). Returns the known_hosts file to pass."""
    first = hosts[0]
    plan = demo_plan(zeek=ZeekPlan(user=first.sudo_user, identity=str(first.client_key), **zeek))
    run(sandbox, state_dir, plan)
    store = StateStore(state_dir)
    fleet = plan.model_copy(update={"sensor": plan.sensor.model_copy(update={"count": len(hosts)}),
                                    "target": plan.target.model_copy(update={"type": target_type})})
    store.save_answers(fleet)
    state = store.load(SETUP)
    sensor, eni = state.resource("sensor"), state.resource("sensor-eni")
    sensor_step = next(s for s in state.steps.values() if "sensor" in s.resources)
    eni_step = next(s for s in state.steps.values() if "sensor-eni" in s.resources)
    for n, (key, host) in enumerate(zip(sensor_keys(fleet), hosts)):
        if key != sensor.key:
            sensor_step.resources[key] = sensor.model_copy(deep=True, update={"key": key, "id": f"i-0f1ee700000000{n}"})
            eni_step.resources[capture_eni_key(key)] = eni.model_copy(
                deep=True, update={"key": capture_eni_key(key), "id": f"eni-0f1ee70000000{n}"})
        sensor_step.resources[key].attrs["public_ip"] = host.address
        eni_step.resources[capture_eni_key(key)].attrs["mac"] = host.capture_mac
        sensor_step.resources[key].attrs["primary_mac"] = host.exec("cat", "/sys/class/net/eth0/address").stdout.strip()
    if mirrored_from is not None:
        state.step("sources").facts["sources"][0]["private_ip"] = mirrored_from
    store.save(state)
    known = state_dir / "known_hosts"
    known.write_text("".join(f"{h.address} {' '.join((h.dir / 'keys' / 'host_ed25519.pub').read_text().split()[:2])}\n"
                             for h in hosts))
    return known
