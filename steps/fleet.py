"""A setup's sensors by state key: one name for each, so that AWS steps and sensor-side work agree.

The first sensor keeps the keys a one-sensor setup has always had ("sensor",
"sensor-eni"), so setups saved before fleets resume unchanged; the others are
"sensor-2", "sensor-2-eni", ... up to ``sensor.count``.
"""

from __future__ import annotations

from vpc_mirror.models.plan import Plan

FIRST = "sensor"


def sensor_keys(plan: Plan) -> list[str]:
    """State keys of the setup's sensors, first to last."""
    count = plan.sensor.count if plan.sensor.mode == "launch" else 1
    return [FIRST] + [f"{FIRST}-{n}" for n in range(2, count + 1)]


def capture_eni_key(sensor_key: str) -> str:
    """State key of a sensor's capture ENI."""
    return f"{sensor_key}-eni"


def attachment_key(sensor_key: str) -> str:
    """State key of the attachment of a sensor's capture ENI."""
    return f"{capture_eni_key(sensor_key)}/attachment"


def target_key(sensor_key: str) -> str:
    """State key of a sensor's ENI mirror target (eni targets: one per sensor; load balancers: one in all)."""
    return "target" if sensor_key == FIRST else f"target/{sensor_key}"
