"""A sandbox per test module, wiped and reseeded before each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config

from vpc_mirror.sandbox.server import Sandbox


@pytest.fixture(scope="module")
def running_sandbox() -> Iterator[Sandbox]:
    with Sandbox(random_seed=0) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(running_sandbox: Sandbox) -> Sandbox:
    running_sandbox.set_fail_rate(0.0)
    running_sandbox.set_denied(())
    running_sandbox.reset("demo")
    return running_sandbox


@pytest.fixture(scope="module")
def ec2_client(running_sandbox: Sandbox) -> Any:
    """No client-side retries: a test sees exactly what the sandbox answered."""
    return running_sandbox.client("ec2", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def ec2(sandbox: Sandbox, ec2_client: Any) -> Any:
    """The EC2 client on a freshly reset demo account."""
    return ec2_client


@pytest.fixture
def eni_of(ec2: Any, sandbox: Sandbox) -> Callable[[str], str]:
    """Demo instance name -> its primary network interface id."""

    def primary_eni(name: str) -> str:
        reservations = ec2.describe_instances(InstanceIds=[sandbox.seed_info.instances[name]])["Reservations"]
        return reservations[0]["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]

    return primary_eni


@pytest.fixture
def new_eni(ec2: Any, sandbox: Sandbox) -> Callable[[], str]:
    """A fresh, unattached network interface in the demo's private subnet."""

    def create() -> str:
        subnet = sandbox.seed_info.subnet_ids[1]
        return ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]

    return create


@pytest.fixture(scope="module")
def elbv2_client(running_sandbox: Sandbox) -> Any:
    return running_sandbox.client("elbv2", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def elbv2(sandbox: Sandbox, elbv2_client: Any) -> Any:
    """The Elastic Load Balancing client on a freshly reset demo account."""
    return elbv2_client


@pytest.fixture
def new_load_balancer(elbv2: Any, sandbox: Sandbox) -> Callable[..., str]:
    """A load balancer of the given type in the demo's subnets -> its ARN."""

    def create(name: str, kind: str = "network") -> str:
        subnets = list(sandbox.seed_info.subnet_ids) if kind != "gateway" else [sandbox.seed_info.subnet_ids[1]]
        scheme = {"Scheme": "internal"} if kind != "gateway" else {}
        answer = elbv2.create_load_balancer(Name=name, Type=kind, Subnets=subnets, **scheme)
        return answer["LoadBalancers"][0]["LoadBalancerArn"]

    return create


@pytest.fixture
def new_gwlb_endpoint(ec2: Any, sandbox: Sandbox, new_load_balancer: Callable[..., str]) -> Callable[[str], str]:
    """A Gateway Load Balancer, its endpoint service and an endpoint in the demo VPC -> the endpoint id."""

    def create(name: str) -> str:
        service = ec2.create_vpc_endpoint_service_configuration(
            GatewayLoadBalancerArns=[new_load_balancer(name, "gateway")], AcceptanceRequired=False
        )["ServiceConfiguration"]
        return ec2.create_vpc_endpoint(
            VpcEndpointType="GatewayLoadBalancer", VpcId=sandbox.seed_info.vpc_id,
            ServiceName=service["ServiceName"], SubnetIds=[sandbox.seed_info.subnet_ids[1]],
        )["VpcEndpoint"]["VpcEndpointId"]

    return create
