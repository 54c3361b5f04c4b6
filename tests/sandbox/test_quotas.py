"""Account quotas, sources per ENI target by instance type, and the ClientToken length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from vpc_mirror.sandbox.backend_state import MIRROR_ACCOUNT_QUOTA, MirrorQuotas
from vpc_mirror.sandbox.mirroring import MirrorSession, TrafficMirroring

from tests.sandbox.test_mirroring import (
    EVERYTHING_V4,
    code,
    new_filter,
    new_session,
    new_target,
)


def refused(call: Callable[..., Any], **params: Any) -> str:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    return code(excinfo)


@pytest.fixture
def backend(sandbox) -> Any:
    """The sandbox's EC2 backend, in this process: fills an account with 10,000 resources in a second."""
    return ec2_backends[DEFAULT_ACCOUNT_ID][sandbox.region]


# -- account quotas at AWS's numbers -----------------------------------------------
def test_the_10001st_filter_is_refused(ec2, backend):
    mirroring = TrafficMirroring(backend)
    for _ in range(MIRROR_ACCOUNT_QUOTA):
        mirroring.create_filter(None, {})
    assert refused(ec2.create_traffic_mirror_filter) == "TrafficMirrorFilterLimitExceeded"


def test_the_10001st_target_is_refused(ec2, backend, new_gwlb_endpoint):
    endpoint = new_gwlb_endpoint("sensors")
    mirroring = TrafficMirroring(backend)
    for _ in range(MIRROR_ACCOUNT_QUOTA):
        mirroring.create_target({"gateway-load-balancer-endpoint": endpoint}, None, {})
    create = ec2.create_traffic_mirror_target
    assert refused(create, GatewayLoadBalancerEndpointId=endpoint) == "TrafficMirrorTargetLimitExceeded"


def test_the_10001st_session_is_refused(ec2, sandbox, backend, eni_of, new_gwlb_endpoint):
    """10,000 sessions take 3,334 source interfaces (3 each); they are stored directly,
    each create's own checks would cost minutes."""
    target = ec2.create_traffic_mirror_target(GatewayLoadBalancerEndpointId=new_gwlb_endpoint("sensors"))[
        "TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    filter_id = new_filter(ec2)
    wide = backend.create_subnet(sandbox.seed_info.vpc_id, "10.0.64.0/18", availability_zone="us-east-1b")
    for n in range(MIRROR_ACCOUNT_QUOTA):
        if n % 3 == 0:
            eni = backend.create_network_interface(wide, None)
        fields = {"TrafficMirrorTargetId": target, "TrafficMirrorFilterId": filter_id, "SessionNumber": 1 + n % 3,
                  "VirtualNetworkId": n}
        session = MirrorSession(backend, eni.id, fields, {})
        backend.traffic_mirror_sessions[session.id] = session
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni_of("web-1"), TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=filter_id, SessionNumber=1,
    ) == "TrafficMirrorSessionLimitExceeded"


# -- the same refusals at a lowered quota, through every create --------------------------
def test_each_quota_counts_what_exists_now(ec2, sandbox, new_eni, eni_of):
    sandbox.set_mirror_quotas(MirrorQuotas(filters=2, targets=2, sessions=2))
    filters = [new_filter(ec2), new_filter(ec2)]
    assert refused(ec2.create_traffic_mirror_filter) == "TrafficMirrorFilterLimitExceeded"
    targets = [new_target(ec2, new_eni()), new_target(ec2, new_eni())]
    assert refused(ec2.create_traffic_mirror_target, NetworkInterfaceId=new_eni()) == (
        "TrafficMirrorTargetLimitExceeded")
    sessions = [new_session(ec2, eni_of(name), targets[0], filters[0]) for name in ("web-1", "api-1")]
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni_of("batch-1"), TrafficMirrorTargetId=targets[0],
        TrafficMirrorFilterId=filters[0], SessionNumber=1,
    ) == "TrafficMirrorSessionLimitExceeded"

    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=sessions[1]["TrafficMirrorSessionId"])
    new_session(ec2, eni_of("batch-1"), targets[0], filters[0])
    ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=targets[1])
    new_target(ec2, new_eni())
    ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filters[1])
    new_filter(ec2)
    sandbox.reset()
    assert len([new_filter(ec2) for _ in range(3)]) == 3  # a reset restores AWS's quota


# -- sources per ENI target: the quotas page's list, not the largest size --------------------
def launch(ec2: Any, sandbox: Any, instance_type: str) -> str:
    """An instance of ``instance_type`` -> its primary interface, to be an ENI target."""
    instance = ec2.run_instances(
        ImageId=sandbox.seed_info.ubuntu_ami_id, InstanceType=instance_type, MinCount=1, MaxCount=1,
        SubnetId=sandbox.seed_info.subnet_ids[1],
    )["Instances"][0]
    return instance["NetworkInterfaces"][0]["NetworkInterfaceId"]


@pytest.fixture
def eni_in_wide_subnet(sandbox, backend) -> Callable[[], str]:
    """A fresh interface in a /18 of the demo VPC (the demo's /24s hold 250), made in-process."""
    wide = backend.create_subnet(sandbox.seed_info.vpc_id, "10.0.64.0/18", availability_zone="us-east-1b")
    return lambda: backend.create_network_interface(wide, None).id


@pytest.mark.parametrize(("instance_type", "limit"), [
    ("c5.18xlarge", 100),  # listed, though c5.24xlarge is the larger size
    ("t3.2xlarge", 10),  # the largest t3, not listed
    ("m5.large", 10),
])
def test_an_eni_target_takes_the_sources_its_instance_type_allows(ec2, sandbox, eni_in_wide_subnet,
                                                                   instance_type, limit):
    target = new_target(ec2, launch(ec2, sandbox, instance_type))
    filter_id = new_filter(ec2)
    for _ in range(limit):
        new_session(ec2, eni_in_wide_subnet(), target, filter_id)
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni_in_wide_subnet(), TrafficMirrorTargetId=target,
        TrafficMirrorFilterId=filter_id, SessionNumber=1,
    ) == "TrafficMirrorSourcesPerTargetLimitExceeded"


# -- ClientToken: at most 64 ASCII characters -------------------------------------------
LONGEST, TOO_LONG = "t" * 64, "t" * 65


@pytest.fixture
def creates(ec2, sandbox, new_eni, eni_of) -> dict[str, Callable[[str], Any]]:
    """Every create the sandbox makes idempotent, as token -> call."""
    filter_id = new_filter(ec2)
    target = new_target(ec2, new_eni())
    return {
        "CreateTrafficMirrorFilter": lambda token: ec2.create_traffic_mirror_filter(ClientToken=token),
        "CreateTrafficMirrorFilterRule": lambda token: ec2.create_traffic_mirror_filter_rule(
            TrafficMirrorFilterId=filter_id, TrafficDirection="ingress", RuleNumber=1, RuleAction="accept",
            ClientToken=token, **EVERYTHING_V4),
        "CreateTrafficMirrorTarget": lambda token: ec2.create_traffic_mirror_target(
            NetworkInterfaceId=new_eni(), ClientToken=token),
        "CreateTrafficMirrorSession": lambda token: ec2.create_traffic_mirror_session(
            NetworkInterfaceId=eni_of("web-1"), TrafficMirrorTargetId=target, TrafficMirrorFilterId=filter_id,
            SessionNumber=1, ClientToken=token),
        "RunInstances": lambda token: ec2.run_instances(
            ImageId=sandbox.seed_info.ubuntu_ami_id, InstanceType="t3.micro", MinCount=1, MaxCount=1,
            SubnetId=sandbox.seed_info.subnet_ids[1], ClientToken=token),
        "CreateNetworkInterface": lambda token: ec2.create_network_interface(
            SubnetId=sandbox.seed_info.subnet_ids[1], ClientToken=token),
    }


@pytest.mark.parametrize("action", [
    "CreateTrafficMirrorFilter", "CreateTrafficMirrorFilterRule", "CreateTrafficMirrorTarget",
    "CreateTrafficMirrorSession", "RunInstances", "CreateNetworkInterface",
])
def test_a_client_token_over_64_characters_is_refused(creates, action):
    with pytest.raises(ClientError) as excinfo:
        creates[action](TOO_LONG)
    assert code(excinfo) == "InvalidParameterValue" and "clientToken" in excinfo.value.response["Error"]["Message"]
    creates[action](LONGEST)
