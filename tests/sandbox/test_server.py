"""The sandbox itself: the demo account, resets, the console, SSM, the CLI entry point."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from vpc_mirror.sandbox.console import ssh_fingerprint
from vpc_mirror.sandbox.seed import DEMO_INSTANCES

PUBLIC_PARAMETERS = [
    "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
    "/aws/service/debian/release/12/latest/amd64",
    "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
]


def name_of(resource: dict) -> str | None:
    return next((t["Value"] for t in resource.get("Tags", []) if t["Key"] == "Name"), None)


def test_demo_account(sandbox, ec2):
    seed = sandbox.seed_info
    (vpc,) = ec2.describe_vpcs(VpcIds=[seed.vpc_id])["Vpcs"]
    assert vpc["CidrBlock"] == "10.0.0.0/16" and name_of(vpc) == "demo-vpc"
    assert vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6Pool"] == "Amazon"

    subnets = ec2.describe_subnets(SubnetIds=list(seed.subnet_ids))["Subnets"]
    assert {(s["CidrBlock"], name_of(s)) for s in subnets} == {
        ("10.0.1.0/24", "demo-public-a"),
        ("10.0.2.0/24", "demo-private-b"),
    }
    assert len({s["AvailabilityZone"] for s in subnets}) == 2

    (igw,) = ec2.describe_internet_gateways(InternetGatewayIds=[seed.internet_gateway_id])["InternetGateways"]
    assert igw["Attachments"] == [{"State": "available", "VpcId": seed.vpc_id}]
    assert ec2.describe_key_pairs(KeyNames=[seed.key_name])["KeyPairs"]

    reservations = ec2.describe_instances(InstanceIds=list(seed.instances.values()))["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    assert {name_of(i): i["InstanceType"] for i in instances} == {n: t for n, (t, _) in DEMO_INSTANCES.items()}
    assert {i["State"]["Name"] for i in instances} == {"running"}
    assert {i["SubnetId"] for i in instances} == set(seed.subnet_ids)
    assert not ec2.describe_tags(Filters=[{"Name": "key", "Values": ["vpc-mirror:setup"]}])["Tags"]


def test_instance_types_report_the_hypervisor_mirroring_support_needs(ec2):
    answer = ec2.describe_instance_types(InstanceTypes=[t for t, _ in DEMO_INSTANCES.values()])
    hypervisors = {t["InstanceType"]: (t["Hypervisor"], t["BareMetal"]) for t in answer["InstanceTypes"]}
    assert hypervisors == {
        "m5.large": ("nitro", False),
        "c5.large": ("nitro", False),
        "m6i.large": ("nitro", False),
        "t2.micro": ("xen", False),
        "m4.large": ("xen", False),
    }


def test_reset_switches_seeds_and_wipes_everything(sandbox, ec2):
    ec2.create_traffic_mirror_filter()
    sandbox.reset("empty")
    assert sandbox.seed_info is None
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []
    assert [v["IsDefault"] for v in ec2.describe_vpcs()["Vpcs"]] == [True]
    sandbox.reset("demo")
    assert sandbox.seed_info is not None
    assert len(ec2.describe_vpcs()["Vpcs"]) == 2


def test_env_points_clients_at_the_sandbox(sandbox):
    assert sandbox.env() == {
        "VPC_MIRROR_ENDPOINT_URL": sandbox.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.endpoint_url)


def test_console_output_carries_cloud_init_host_key_fingerprints(sandbox, ec2):
    instance_id = sandbox.seed_info.instances["web-1"]
    (reservation,) = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    hostname = "ip-" + reservation["Instances"][0]["PrivateIpAddress"].replace(".", "-")

    output = ec2.get_console_output(InstanceId=instance_id)["Output"]

    block = re.search(
        r"ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----\n(.*?)ec2: -----END SSH HOST KEY FINGERPRINTS-----",
        output,
        re.S,
    )
    lines = block.group(1).splitlines()
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["(ECDSA)", "(ED25519)"]
    for line in lines:
        assert re.fullmatch(rf"ec2: 256 SHA256:[A-Za-z0-9+/]{{43}} root@{hostname} \((ECDSA|ED25519)\)", line)
    assert ec2.get_console_output(InstanceId=instance_id)["Output"] == output


def test_console_output_can_be_set(sandbox, ec2):
    instance_id = sandbox.seed_info.instances["api-1"]
    sandbox.set_console_output(instance_id, "hello\n")
    assert ec2.get_console_output(InstanceId=instance_id)["Output"] == "hello\n"
    with pytest.raises(ClientError) as excinfo:
        ec2.get_console_output(InstanceId="i-0123456789abcdef0")
    assert excinfo.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def test_ssh_fingerprint_matches_ssh_keygen():
    # A throwaway key and what `ssh-keygen -lf` printed for it.
    blob = base64.b64decode("AAAAC3NzaC1lZDI1NTE5AAAAIGsoJvbdjXYxh02yokIzddwQbisMXfp/YQQ1yCpCe8Gz")
    assert ssh_fingerprint(blob) == "SHA256:ZvT1t3rHfvsvs24FWebreQhVggwI6uQ/n2IegSQp9D0"


@pytest.mark.parametrize("name", PUBLIC_PARAMETERS)
def test_public_ami_parameters_resolve_to_images_in_the_account(sandbox, ec2, name):
    ami_id = sandbox.client("ssm").get_parameter(Name=name)["Parameter"]["Value"]
    (image,) = ec2.describe_images(ImageIds=[ami_id])["Images"]
    assert image["State"] == "available" and image["Architecture"] == "x86_64"


def test_run_forever_prints_the_environment_and_stops_on_sigterm():
    code = "from sandbox.server import run_forever; run_forever(0, 'empty', 0.0, [])"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env) as process:
        lines = [process.stdout.readline() for _ in range(6)]
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=20)
    assert lines[0].startswith("vpc-mirror sandbox (empty) listening on http://127.0.0.1:")
    assert "export VPC_MIRROR_ENDPOINT_URL=http://127.0.0.1:" in "".join(lines)
    assert "export AWS_DEFAULT_REGION=us-east-1" in "".join(lines)
    assert process.returncode == 0 and "stopped" in rest


def test_new_interfaces_get_unique_usable_addresses_of_their_subnet(sandbox, ec2):
    import ipaddress

    subnet = ec2.describe_subnets(SubnetIds=[sandbox.seed_info.subnet_ids[0]])["Subnets"][0]
    block = ipaddress.ip_network(subnet["CidrBlock"])
    for _ in range(30):
        ec2.create_network_interface(SubnetId=subnet["SubnetId"])
    addresses = [ipaddress.ip_address(e["PrivateIpAddress"]) for e in ec2.describe_network_interfaces(
        Filters=[{"Name": "subnet-id", "Values": [subnet["SubnetId"]]}])["NetworkInterfaces"]]
    assert len(addresses) == len(set(addresses)) > 30  # the demo instances' interfaces too
    reserved = {block.network_address + i for i in range(4)} | {block.broadcast_address}
    assert all(a in block and a not in reserved for a in addresses)
