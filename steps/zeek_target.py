"""Where a setup's sensors are for SSH: address, login user, capture MAC and console fingerprints (from AWS).

The capture MAC is that of the interface the mirrored traffic arrives on: the
sensor's capture ENI with ENI targets, its primary interface behind a Network
or Gateway Load Balancer (instance targets receive on the primary interface).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from vpc_mirror.steps.context import Context
from vpc_mirror.steps.fleet import FIRST, capture_eni_key, sensor_keys
from vpc_mirror.steps.ssh import console_fingerprints

#: Login user implied by the image name (AWS documents these per distribution).
_IMAGE_USERS = (("ubuntu", "ubuntu"), ("debian", "admin"), ("amzn", "ec2-user"), ("amazon", "ec2-user"),
                ("al20", "ec2-user"), ("rocky", "rocky"), ("centos", "centos"), ("fedora", "fedora"),
                ("alma", "ec2-user"), ("rhel", "ec2-user"))


def user_for_image(name: str) -> str | None:
    lowered = name.lower()
    return next((user for marker, user in _IMAGE_USERS if marker in lowered), None)


@dataclass
class SensorTarget:
    instance_id: str | None
    host: str | None
    user: str | None
    #: the MAC of the interface receiving the mirrored traffic, where Zeek listens
    mac: str | None
    #: its state key in the fleet ("sensor", "sensor-2", ...)
    key: str = FIRST


def sensor_target(ctx: Context) -> SensorTarget:
    """What the saved state knows of the (first) sensor (nothing AWS is called)."""
    return _target(ctx, FIRST)


def sensor_targets(ctx: Context) -> list[SensorTarget]:
    """Every sensor of the setup, in fleet order (nothing AWS is called)."""
    return [_target(ctx, key) for key in sensor_keys(ctx.plan)]


def _target(ctx: Context, key: str) -> SensorTarget:
    sensor = ctx.state.resource(key)
    attrs = sensor.attrs if sensor else {}
    if ctx.plan.target.type == "eni":
        eni = ctx.state.resource(capture_eni_key(key))
        mac = eni.attrs.get("mac") if eni else None
    else:
        mac = attrs.get("primary_mac")
    image = ctx.plan.sensor.image
    return SensorTarget(instance_id=sensor.id if sensor else None,
                        host=attrs.get("public_ip") or attrs.get("private_ip"),
                        user=user_for_image(image) if not image.startswith("ami-") else None,
                        mac=mac, key=key)


def instance_fingerprints(ctx: Context, instance_id: str) -> list[str] | None:
    """The host key fingerprints cloud-init printed to the console; None when there are none to compare."""
    try:
        output = ctx.aws.ec2.get_console_output(InstanceId=instance_id).get("Output") or ""
    except (ClientError, BotoCoreError):
        return None
    return console_fingerprints(output) or None


def image_user(ctx: Context, image_id: str) -> str | None:
    try:
        images = ctx.aws.ec2.describe_images(ImageIds=[image_id])["Images"]
    except (ClientError, BotoCoreError):
        return None
    return user_for_image(images[0].get("Name", "")) if images else None


def sensor_login(ctx: Context) -> tuple[str | None, str | None, str | None, list[str] | None]:
    """(address, login user, capture MAC, console fingerprints) of a setup's sensor; blocking (AWS)."""
    target = sensor_target(ctx)
    image = ctx.plan.sensor.image
    user = target.user or (image_user(ctx, ctx.facts("sensor").get("image_id") or image)
                           if image.startswith("ami-") else None)
    fingerprints = instance_fingerprints(ctx, target.instance_id) if target.instance_id else None
    return target.host, user, target.mac, fingerprints
