"""The public images and SSM public parameters the wizard looks AMIs up with.

In AWS, Amazon, Canonical and Debian publish the current AMI id of each
release as an SSM public parameter ("Query for the latest Amazon Linux AMI IDs
using Systems Manager Parameter Store",
https://docs.aws.amazon.com/linux/al2023/ug/ec2.html; "Find Ubuntu images on
AWS", https://documentation.ubuntu.com/aws/aws-how-to/instances/find-ubuntu-images/;
Debian: https://wiki.debian.org/Cloud/AmazonEC2Image). moto's SSM API refuses
to put names under ``/aws/``, and the sandbox does not load moto's 1,300
default AMIs (see ``sandbox.server``), so these are written straight into the
moto backends: images owned by the publishers' accounts, and parameters of data
type ``aws:ec2:image`` pointing at them (a new version of any parameter moto
already knows, so ours is the current one).
"""

from __future__ import annotations

from typing import NamedTuple

from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ec2.models.amis import Ami
from moto.ec2.utils import random_ami_id
from moto.ssm.models import Parameter, ssm_backends

AMAZON = "137112412989"
CANONICAL = "099720109477"
DEBIAN = "136693071363"


class PublicImage(NamedTuple):
    name: str
    owner: str
    description: str
    parameters: tuple[str, ...]


PUBLIC_IMAGES = (
    PublicImage(
        "al2023-ami-2023.9.20251001.0-kernel-6.1-x86_64",
        AMAZON,
        "Amazon Linux 2023 AMI 2023.9.20251001.0 x86_64 HVM kernel-6.1",
        ("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",),
    ),
    PublicImage(
        "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251001",
        CANONICAL,
        "Canonical, Ubuntu, 24.04, amd64 noble image",
        ("/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",),
    ),
    PublicImage(
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20251001",
        CANONICAL,
        "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image",
        (
            "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
            "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
        ),
    ),
    PublicImage(
        "debian-12-amd64-20251001-2253",
        DEBIAN,
        "Debian 12 (20251001-2253)",
        ("/aws/service/debian/release/12/latest/amd64",),
    ),
)


def install_public_images(account_id: str, region: str) -> dict[str, str]:
    """Register :data:`PUBLIC_IMAGES` and their parameters; answer parameter name -> AMI id."""
    ec2 = ec2_backends[account_id][region]
    ssm = ssm_backends[account_id][region]
    published: dict[str, str] = {}
    for image in PUBLIC_IMAGES:
        ami_id = random_ami_id()
        ec2.amis[ami_id] = Ami(
            ec2,
            ami_id,
            name=image.name,
            description=image.description,
            owner_id=image.owner,
            public=True,
            virtualization_type="hvm",
            architecture="x86_64",
            root_device_type="ebs",
            hypervisor="xen",
            region_name=region,
            creation_date=utcnow(),
        )
        for name in image.parameters:
            versions = ssm._parameters[name]  # moto loads the ones it knows on first access
            versions.append(
                Parameter(
                    account_id=account_id,
                    name=name,
                    value=ami_id,
                    parameter_type="String",
                    description=None,
                    allowed_pattern=None,
                    keyid=None,
                    last_modified_date=utcnow(),
                    version=len(versions) + 1,
                    data_type="aws:ec2:image",
                )
            )
            published[name] = ami_id
    return published
