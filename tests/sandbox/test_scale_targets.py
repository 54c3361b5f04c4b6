"""Network Load Balancer and Gateway Load Balancer endpoint mirror targets, their sessions, source types."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.test_mirroring import code, new_filter, new_session, new_target

UNKNOWN_NLB = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nowhere/0123456789abcdef"


def target_of(ec2: Any, target_id: str) -> dict[str, Any]:
    return ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[target_id])["TrafficMirrorTargets"][0]


def refused(call: Any, **params: Any) -> str:
    with pytest.raises(ClientError) as excinfo:
        call(**params)
    return code(excinfo)


# -- targets -----------------------------------------------------------------
def test_nlb_and_gwlb_endpoint_targets_are_described_with_their_type(ec2, new_load_balancer, new_gwlb_endpoint):
    nlb = new_load_balancer("sensors")
    endpoint = new_gwlb_endpoint("sensors-gw")
    by_nlb = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb)["TrafficMirrorTarget"]
    by_endpoint = ec2.create_traffic_mirror_target(GatewayLoadBalancerEndpointId=endpoint)["TrafficMirrorTarget"]

    assert target_of(ec2, by_nlb["TrafficMirrorTargetId"]) == by_nlb
    assert by_nlb["Type"] == "network-load-balancer" and by_nlb["NetworkLoadBalancerArn"] == nlb
    assert "NetworkInterfaceId" not in by_nlb and "GatewayLoadBalancerEndpointId" not in by_nlb
    assert target_of(ec2, by_endpoint["TrafficMirrorTargetId"]) == by_endpoint
    assert by_endpoint["Type"] == "gateway-load-balancer-endpoint"
    assert by_endpoint["GatewayLoadBalancerEndpointId"] == endpoint and "NetworkLoadBalancerArn" not in by_endpoint
    found = ec2.describe_traffic_mirror_targets(Filters=[{"Name": "network-load-balancer-arn", "Values": [nlb]}])
    assert [t["TrafficMirrorTargetId"] for t in found["TrafficMirrorTargets"]] == [by_nlb["TrafficMirrorTargetId"]]


def test_an_unknown_nlb_or_a_load_balancer_of_another_type_is_refused(ec2, new_load_balancer):
    create = ec2.create_traffic_mirror_target
    assert refused(create, NetworkLoadBalancerArn=UNKNOWN_NLB) == "NetworkLoadBalancerNotFoundException"
    gateway = new_load_balancer("not-an-nlb", "gateway")
    assert refused(create, NetworkLoadBalancerArn=gateway) == "InvalidParameterValue"
    assert ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"] == []


def test_one_nlb_serves_one_target(ec2, new_load_balancer):
    nlb = new_load_balancer("sensors")
    ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=nlb)
    create = ec2.create_traffic_mirror_target
    assert refused(create, NetworkLoadBalancerArn=nlb) == "NlbInUseByTrafficMirrorTargetException"
    ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=new_load_balancer("other"))


def test_an_unknown_deleted_or_non_gwlb_endpoint_is_refused(ec2, sandbox, new_gwlb_endpoint):
    create = ec2.create_traffic_mirror_target
    assert refused(create, GatewayLoadBalancerEndpointId="vpce-0123456789abcdef0") == "InvalidVpcEndpointId.NotFound"
    deleted = new_gwlb_endpoint("gone")
    ec2.delete_vpc_endpoints(VpcEndpointIds=[deleted])
    assert refused(create, GatewayLoadBalancerEndpointId=deleted) == "InvalidVpcEndpointId.NotFound"
    interface = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface", VpcId=sandbox.seed_info.vpc_id, ServiceName="com.amazonaws.us-east-1.ssm",
        SubnetIds=[sandbox.seed_info.subnet_ids[1]],
    )["VpcEndpoint"]["VpcEndpointId"]
    assert refused(create, GatewayLoadBalancerEndpointId=interface) == "InvalidParameterValue"


def test_exactly_one_kind_of_target_is_given(ec2, new_eni, new_load_balancer, new_gwlb_endpoint):
    create = ec2.create_traffic_mirror_target
    nlb, endpoint = new_load_balancer("sensors"), new_gwlb_endpoint("sensors-gw")
    assert refused(create) == "InvalidParameterCombination"
    assert refused(create, NetworkLoadBalancerArn=nlb, GatewayLoadBalancerEndpointId=endpoint) == (
        "InvalidParameterCombination"
    )
    assert refused(create, NetworkInterfaceId=new_eni(), GatewayLoadBalancerEndpointId=endpoint) == (
        "InvalidParameterCombination"
    )


# -- sessions to a load balancer -----------------------------------------------
@pytest.fixture
def nlb_target(ec2, new_load_balancer) -> tuple[str, str]:
    """A filter and a Network Load Balancer target."""
    target = ec2.create_traffic_mirror_target(NetworkLoadBalancerArn=new_load_balancer("sensors"))
    return new_filter(ec2), target["TrafficMirrorTarget"]["TrafficMirrorTargetId"]


def test_nlb_sessions_default_to_8500_byte_packets(ec2, eni_of, nlb_target):
    filter_id, target_id = nlb_target
    session = new_session(ec2, eni_of("web-1"), target_id, filter_id)
    assert session["PacketLength"] == 8500
    session_id = session["TrafficMirrorSessionId"]
    modify = ec2.modify_traffic_mirror_session
    assert modify(TrafficMirrorSessionId=session_id, PacketLength=128)["TrafficMirrorSession"]["PacketLength"] == 128
    after = modify(TrafficMirrorSessionId=session_id, RemoveFields=["packet-length"])["TrafficMirrorSession"]
    assert after["PacketLength"] == 8500
    (described,) = ec2.describe_traffic_mirror_sessions(TrafficMirrorSessionIds=[session_id])["TrafficMirrorSessions"]
    assert described["PacketLength"] == 8500


def test_nlb_sessions_take_at_most_8500_bytes(ec2, eni_of, nlb_target, mirror_to_eni):
    filter_id, target_id = nlb_target
    source = eni_of("web-1")
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=source, TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id, SessionNumber=1, PacketLength=8501,
    ) == "InvalidParameterValue"
    to_eni = new_session(ec2, source, mirror_to_eni, filter_id, PacketLength=9000)
    assert "PacketLength" not in new_session(ec2, eni_of("api-1"), mirror_to_eni, filter_id)
    assert refused(
        ec2.modify_traffic_mirror_session, TrafficMirrorSessionId=to_eni["TrafficMirrorSessionId"],
        TrafficMirrorTargetId=target_id,
    ) == "InvalidParameterValue"


@pytest.fixture
def mirror_to_eni(ec2, new_eni) -> str:
    return new_target(ec2, new_eni())


def test_a_load_balancer_target_takes_more_than_ten_sources(ec2, new_eni, nlb_target, new_gwlb_endpoint):
    filter_id, nlb = nlb_target
    gwlb = ec2.create_traffic_mirror_target(GatewayLoadBalancerEndpointId=new_gwlb_endpoint("gw"))[
        "TrafficMirrorTarget"]["TrafficMirrorTargetId"]
    for _ in range(12):
        source = new_eni()
        new_session(ec2, source, nlb, filter_id, 1)
        new_session(ec2, source, gwlb, filter_id, 2)
    assert len(ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]) == 24


# -- source interface types ------------------------------------------------------
@pytest.mark.parametrize("interface_type", ["efa", "efa-only", "trunk", "branch"])
def test_a_source_or_target_interface_not_of_type_interface_is_refused(ec2, sandbox, mirror_to_eni, interface_type):
    eni = ec2.create_network_interface(SubnetId=sandbox.seed_info.subnet_ids[1], InterfaceType=interface_type)[
        "NetworkInterface"]
    assert eni["InterfaceType"] == interface_type
    eni_id = eni["NetworkInterfaceId"]
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni_id, TrafficMirrorTargetId=mirror_to_eni,
        TrafficMirrorFilterId=new_filter(ec2), SessionNumber=1,
    ) == "NetworkInterfaceNotSupported"
    assert refused(ec2.create_traffic_mirror_target, NetworkInterfaceId=eni_id) == "NetworkInterfaceNotSupported"


def test_an_instance_launched_with_an_efa_is_not_a_source(ec2, sandbox, mirror_to_eni):
    spec = {"DeviceIndex": 0, "SubnetId": sandbox.seed_info.subnet_ids[1], "InterfaceType": "efa"}
    instance = ec2.run_instances(ImageId=sandbox.seed_info.ubuntu_ami_id, InstanceType="c5n.18xlarge",
                                 MinCount=1, MaxCount=1, NetworkInterfaces=[spec])["Instances"][0]
    (eni,) = instance["NetworkInterfaces"]
    assert eni["InterfaceType"] == "efa"
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni["NetworkInterfaceId"],
        TrafficMirrorTargetId=mirror_to_eni, TrafficMirrorFilterId=new_filter(ec2), SessionNumber=1,
    ) == "NetworkInterfaceNotSupported"


def test_a_nat_gateway_interface_cannot_be_a_source(ec2, sandbox, mirror_to_eni):
    nat = ec2.create_nat_gateway(SubnetId=sandbox.seed_info.subnet_ids[1], ConnectivityType="private")["NatGateway"]
    (address,) = nat["NatGatewayAddresses"]
    (eni,) = ec2.describe_network_interfaces(NetworkInterfaceIds=[address["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert eni["InterfaceType"] == "natGateway"
    assert refused(
        ec2.create_traffic_mirror_session, NetworkInterfaceId=eni["NetworkInterfaceId"],
        TrafficMirrorTargetId=mirror_to_eni, TrafficMirrorFilterId=new_filter(ec2), SessionNumber=1,
    ) == "NetworkInterfaceNotSupported"
