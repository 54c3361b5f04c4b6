"""Launching instances (sensor, test beacon): image look-up and RunInstances parameters."""

from __future__ import annotations

import difflib

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused

#: SSM public parameters that name the current AMI of each well-known image.
IMAGE_PARAMETERS = {
    "ubuntu-24.04": "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    "ubuntu-22.04": "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    "debian-12": "/aws/service/debian/release/12/latest/amd64",
    "amazon-linux-2023": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
}


def resolve_image(ctx: Context, step: str, field: str, image: str) -> dict:
    """``ubuntu-24.04`` or ``ami-…`` -> {"image_id", "root_device"}; Refused naming ``field`` if unusable."""
    image_id = image
    if image in IMAGE_PARAMETERS:
        try:
            image_id = ctx.aws.ssm.get_parameter(Name=IMAGE_PARAMETERS[image])["Parameter"]["Value"]
        except ClientError as exc:
            raise Refused(step, [f"{field}: cannot look up {image} ({exc.response['Error']['Code']}); "
                                 "give an ami-… id instead"]) from None
    try:
        images = ctx.aws.ec2.describe_images(ImageIds=[image_id])["Images"]
    except ClientError:
        images = []
    if not images:
        raise Refused(step, [f"{field}: image {image_id} does not exist in {ctx.aws.region}; "
                             "pick another image or region"])
    return {"image_id": image_id, "root_device": images[0].get("RootDeviceName", "/dev/sda1")}


def check_instance_type(ctx: Context, step: str, field: str, instance_type: str, default: str) -> None:
    """Refused, naming ``field`` and the nearest offered types (else ``default``), unless the region offers it."""
    def offered(**filters) -> list[str]:
        pages = ctx.aws.ec2.get_paginator("describe_instance_type_offerings").paginate(LocationType="region",
                                                                                       **filters)
        return [o["InstanceType"] for page in pages for o in page["InstanceTypeOfferings"]]

    if offered(Filters=[{"Name": "instance-type", "Values": [instance_type]}]):
        return
    near = difflib.get_close_matches(instance_type, offered(), n=3, cutoff=0.5) or [f"{default}, the default"]
    raise Refused(step, [f"{field}: {instance_type} is not an instance type {ctx.aws.region} offers; "
                         f"pick one it does, e.g. {', '.join(near)}"])


def check_key_pair(ctx: Context, step: str, key_name: str) -> None:
    try:
        ctx.aws.ec2.describe_key_pairs(KeyNames=[key_name])
    except ClientError:
        raise Refused(step, [f"sensor.key_name: key pair {key_name!r} does not exist in {ctx.aws.region}; "
                             "create or import it in EC2 > Key pairs"]) from None


def run_instances_params(
    ctx: Context,
    *,
    step: str,
    role: str,
    image: dict,
    instance_type: str,
    root_gib: int,
    key_name: str | None,
    ipv6: bool,
    user_data: str | None = None,
) -> dict:
    name = ctx.name_tag(role)
    interface: dict = {"DeviceIndex": 0, "SubnetId": Ref("subnet"), "AssociatePublicIpAddress": True}
    if ctx.plan.vpc.ssh_from:
        interface["Groups"] = [Ref("ssh-sg")]
    if ipv6:
        interface["Ipv6AddressCount"] = 1
    params: dict = {
        "ImageId": image["image_id"],
        "InstanceType": instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "NetworkInterfaces": [interface],
        "BlockDeviceMappings": [
            {"DeviceName": image["root_device"],
             "Ebs": {"VolumeSize": root_gib, "VolumeType": "gp3", "DeleteOnTermination": True, "Encrypted": True}}
        ],
        "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        "TagSpecifications": ctx.tag_specs(name, "instance", "volume"),
    }
    if key_name:
        params["KeyName"] = key_name
    if user_data:
        params["UserData"] = user_data
    return params
