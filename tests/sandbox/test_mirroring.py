"""The traffic-mirroring extension, over HTTP with a real boto3 client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

AWS_ID = r"-[0-9a-f]{17}"
EVERYTHING_V4 = {"SourceCidrBlock": "0.0.0.0/0", "DestinationCidrBlock": "0.0.0.0/0"}


def code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def tags(resource_type: str, **values: str) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in values.items()]}]


def new_filter(ec2: Any, **kwargs: Any) -> str:
    return ec2.create_traffic_mirror_filter(**kwargs)["TrafficMirrorFilter"]["TrafficMirrorFilterId"]


def add_rule(ec2: Any, filter_id: str, number: int, direction: str = "ingress", **fields: Any) -> dict[str, Any]:
    fields = {"RuleAction": "accept", **EVERYTHING_V4, **fields}
    return ec2.create_traffic_mirror_filter_rule(
        TrafficMirrorFilterId=filter_id, TrafficDirection=direction, RuleNumber=number, **fields
    )["TrafficMirrorFilterRule"]


def new_target(ec2: Any, eni_id: str, **kwargs: Any) -> str:
    return ec2.create_traffic_mirror_target(NetworkInterfaceId=eni_id, **kwargs)["TrafficMirrorTarget"][
        "TrafficMirrorTargetId"
    ]


def new_session(ec2: Any, eni_id: str, target_id: str, filter_id: str, number: int = 1, **kwargs: Any) -> dict:
    return ec2.create_traffic_mirror_session(
        NetworkInterfaceId=eni_id,
        TrafficMirrorTargetId=target_id,
        TrafficMirrorFilterId=filter_id,
        SessionNumber=number,
        **kwargs,
    )["TrafficMirrorSession"]


@pytest.fixture
def mirror(ec2, new_eni):
    """A filter and an ENI target, ready for sessions."""
    return new_filter(ec2), new_target(ec2, new_eni())


# -- ids ---------------------------------------------------------------------
def test_ids_have_aws_prefixes(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    rule = add_rule(ec2, filter_id, 10)
    session = new_session(ec2, eni_of("web-1"), target_id, filter_id)
    assert re.fullmatch("tmf" + AWS_ID, filter_id)
    assert re.fullmatch("tmt" + AWS_ID, target_id)
    assert re.fullmatch("tmfr" + AWS_ID, rule["TrafficMirrorFilterRuleId"])
    assert re.fullmatch("tms" + AWS_ID, session["TrafficMirrorSessionId"])


# -- filters and rules -------------------------------------------------------
def test_rules_and_network_services_appear_in_describe_filters(ec2):
    filter_id = new_filter(ec2, Description="mirror everything")
    add_rule(ec2, filter_id, 200, SourceCidrBlock="::/0", DestinationCidrBlock="::/0")
    add_rule(ec2, filter_id, 100, Protocol=6, DestinationPortRange={"FromPort": 22, "ToPort": 22}, Description="ssh")
    add_rule(ec2, filter_id, 100, "egress", RuleAction="reject")
    ec2.modify_traffic_mirror_filter_network_services(TrafficMirrorFilterId=filter_id, AddNetworkServices=["amazon-dns"])

    (described,) = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"]

    assert described["Description"] == "mirror everything"
    assert described["NetworkServices"] == ["amazon-dns"]
    assert [r["RuleNumber"] for r in described["IngressFilterRules"]] == [100, 200]
    ssh = described["IngressFilterRules"][0]
    assert ssh["Protocol"] == 6 and ssh["DestinationPortRange"] == {"FromPort": 22, "ToPort": 22}
    assert ssh["Description"] == "ssh" and ssh["TrafficMirrorFilterId"] == filter_id
    assert described["IngressFilterRules"][1]["SourceCidrBlock"] == "::/0"
    (egress,) = described["EgressFilterRules"]
    assert egress["TrafficDirection"] == "egress" and egress["RuleAction"] == "reject"


def test_network_services_can_be_removed_and_only_amazon_dns_exists(ec2):
    filter_id = new_filter(ec2)
    modify = ec2.modify_traffic_mirror_filter_network_services
    modify(TrafficMirrorFilterId=filter_id, AddNetworkServices=["amazon-dns"])
    answer = modify(TrafficMirrorFilterId=filter_id, RemoveNetworkServices=["amazon-dns"])
    assert answer["TrafficMirrorFilter"]["NetworkServices"] == []
    with pytest.raises(ClientError) as excinfo:
        modify(TrafficMirrorFilterId=filter_id, AddNetworkServices=["ntp"])
    assert code(excinfo) == "InvalidParameterValue"


def test_rule_number_is_unique_per_filter_and_direction(ec2):
    filter_id = new_filter(ec2)
    add_rule(ec2, filter_id, 10)
    add_rule(ec2, filter_id, 10, "egress")
    add_rule(ec2, new_filter(ec2), 10)
    with pytest.raises(ClientError) as excinfo:
        add_rule(ec2, filter_id, 10)
    assert code(excinfo) == "TrafficMirrorFilterRuleAlreadyExists"


INVALID_RULES = [
    {"RuleNumber": 0},
    {"RuleNumber": 32767},
    {"RuleAction": "drop"},
    {"TrafficDirection": "both"},
    {"Protocol": 256},
    {"Protocol": 1, "DestinationPortRange": {"FromPort": 0, "ToPort": 0}},
    {"SourcePortRange": {"FromPort": 1, "ToPort": 2}},
    {"Protocol": 17, "SourcePortRange": {"FromPort": 90, "ToPort": 80}},
    {"SourceCidrBlock": "10.0.0.0/8", "DestinationCidrBlock": "::/0"},
    {"SourceCidrBlock": "10.0.0.0/33"},
]


def test_invalid_rule_values_are_refused(ec2):
    filter_id = new_filter(ec2)
    for fields in INVALID_RULES:
        request = {"RuleNumber": 1, "TrafficDirection": "ingress", "RuleAction": "accept", **EVERYTHING_V4, **fields}
        with pytest.raises(ClientError) as excinfo:
            ec2.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=filter_id, **request)
        assert code(excinfo) == "InvalidParameterValue", fields
    assert ec2.describe_traffic_mirror_filter_rules(TrafficMirrorFilterId=filter_id)["TrafficMirrorFilterRules"] == []


def test_valid_edge_values_are_accepted(ec2):
    filter_id = new_filter(ec2)
    add_rule(ec2, filter_id, 1, Protocol=0)
    add_rule(ec2, filter_id, 32766, Protocol=17, SourcePortRange={"FromPort": 0, "ToPort": 65535})
    add_rule(ec2, filter_id, 5, SourceCidrBlock="10.0.0.0/16", DestinationCidrBlock="10.0.1.0/24")


def test_a_filter_takes_at_most_ten_rules(ec2):
    filter_id = new_filter(ec2)
    for number in range(1, 6):
        add_rule(ec2, filter_id, number)
        add_rule(ec2, filter_id, number, "egress")
    with pytest.raises(ClientError) as excinfo:
        add_rule(ec2, filter_id, 99)
    assert code(excinfo) == "TrafficMirrorFilterRuleLimitExceeded"


def test_modify_rule_including_remove_fields(ec2):
    filter_id = new_filter(ec2)
    add_rule(ec2, filter_id, 20)
    rule_id = add_rule(
        ec2, filter_id, 10, Protocol=6, SourcePortRange={"FromPort": 1, "ToPort": 2}, Description="x"
    )["TrafficMirrorFilterRuleId"]

    changed = ec2.modify_traffic_mirror_filter_rule(
        TrafficMirrorFilterRuleId=rule_id, RuleNumber=30, RuleAction="reject"
    )["TrafficMirrorFilterRule"]
    assert (changed["RuleNumber"], changed["RuleAction"], changed["Protocol"]) == (30, "reject", 6)

    cleared = ec2.modify_traffic_mirror_filter_rule(
        TrafficMirrorFilterRuleId=rule_id, RemoveFields=["source-port-range", "protocol", "description"]
    )["TrafficMirrorFilterRule"]
    assert not {"SourcePortRange", "Protocol", "Description"} & cleared.keys()

    with pytest.raises(ClientError) as excinfo:
        ec2.modify_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id, RuleNumber=20)
    assert code(excinfo) == "TrafficMirrorFilterRuleAlreadyExists"
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id, DestinationCidrBlock="::/0")
    assert code(excinfo) == "InvalidParameterValue"


def test_delete_rule(ec2):
    filter_id = new_filter(ec2)
    rule_id = add_rule(ec2, filter_id, 10)["TrafficMirrorFilterRuleId"]
    assert ec2.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id)["TrafficMirrorFilterRuleId"] == rule_id
    (described,) = ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"]
    assert described["IngressFilterRules"] == []
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=rule_id)
    assert code(excinfo) == "InvalidTrafficMirrorFilterRuleId.NotFound"


def test_describe_filter_rules_with_filters(ec2):
    filter_id, other_id = new_filter(ec2), new_filter(ec2)
    add_rule(ec2, filter_id, 10)
    add_rule(ec2, filter_id, 20, "egress", RuleAction="reject")
    add_rule(ec2, other_id, 10)
    describe = ec2.describe_traffic_mirror_filter_rules

    def numbers(**kwargs: Any) -> list[tuple[str, int]]:
        return sorted((r["TrafficMirrorFilterId"], r["RuleNumber"]) for r in describe(**kwargs)["TrafficMirrorFilterRules"])

    assert numbers(TrafficMirrorFilterId=filter_id) == [(filter_id, 10), (filter_id, 20)]
    assert numbers(Filters=[{"Name": "traffic-direction", "Values": ["egress"]}]) == [(filter_id, 20)]
    assert numbers(Filters=[{"Name": "rule-number", "Values": ["10"]}]) == sorted([(filter_id, 10), (other_id, 10)])
    assert numbers(
        Filters=[{"Name": "traffic-mirror-filter-id", "Values": [other_id]}, {"Name": "rule-action", "Values": ["accept"]}]
    ) == [(other_id, 10)]
    with pytest.raises(ClientError) as excinfo:
        describe(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert code(excinfo) == "InvalidParameterValue"
    with pytest.raises(ClientError) as excinfo:
        describe(TrafficMirrorFilterId="tmf-0123456789abcdef0")
    assert code(excinfo) == "InvalidTrafficMirrorFilterId.NotFound"


# -- deletes -----------------------------------------------------------------
def test_filters_and_targets_in_use_cannot_be_deleted(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    session_id = new_session(ec2, eni_of("web-1"), target_id, filter_id)["TrafficMirrorSessionId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filter_id)
    assert code(excinfo) == "TrafficMirrorFilterInUse"
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target_id)
    assert code(excinfo) == "TrafficMirrorTargetInUseException"

    ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=session_id)
    assert ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filter_id)["TrafficMirrorFilterId"] == filter_id
    assert ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=target_id)["TrafficMirrorTargetId"] == target_id
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []
    assert ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"] == []


UNKNOWN_IDS = [
    ("delete_traffic_mirror_filter", "TrafficMirrorFilterId", "InvalidTrafficMirrorFilterId.NotFound"),
    ("delete_traffic_mirror_target", "TrafficMirrorTargetId", "InvalidTrafficMirrorTargetId.NotFound"),
    ("delete_traffic_mirror_session", "TrafficMirrorSessionId", "InvalidTrafficMirrorSessionId.NotFound"),
    ("delete_traffic_mirror_filter_rule", "TrafficMirrorFilterRuleId", "InvalidTrafficMirrorFilterRuleId.NotFound"),
    ("describe_traffic_mirror_filters", "TrafficMirrorFilterIds", "InvalidTrafficMirrorFilterId.NotFound"),
    ("describe_traffic_mirror_targets", "TrafficMirrorTargetIds", "InvalidTrafficMirrorTargetId.NotFound"),
    ("describe_traffic_mirror_sessions", "TrafficMirrorSessionIds", "InvalidTrafficMirrorSessionId.NotFound"),
    ("describe_traffic_mirror_filter_rules", "TrafficMirrorFilterRuleIds", "InvalidTrafficMirrorFilterRuleId.NotFound"),
]


def test_unknown_ids_are_not_found(ec2):
    value = "tm-0123456789abcdef0"
    for call, argument, error in UNKNOWN_IDS:
        with pytest.raises(ClientError) as excinfo:
            getattr(ec2, call)(**{argument: [value] if argument.endswith("Ids") else value})
        assert code(excinfo) == error, call


# -- targets -----------------------------------------------------------------
def test_target_interface_must_exist_and_be_free(ec2, eni_of, new_eni, mirror):
    filter_id, target_id = mirror
    with pytest.raises(ClientError) as excinfo:
        new_target(ec2, "eni-0123456789abcdef0")
    assert code(excinfo) == "InvalidNetworkInterfaceID.NotFound"

    target_eni = ec2.describe_traffic_mirror_targets(TrafficMirrorTargetIds=[target_id])["TrafficMirrorTargets"][0][
        "NetworkInterfaceId"
    ]
    with pytest.raises(ClientError) as excinfo:
        new_target(ec2, target_eni)
    assert code(excinfo) == "InterfaceInUseByTrafficMirrorTarget"

    source = eni_of("web-1")
    new_session(ec2, source, target_id, filter_id)
    with pytest.raises(ClientError) as excinfo:
        new_target(ec2, source)
    assert code(excinfo) == "InterfaceInUseByTrafficMirrorSession"

    with pytest.raises(ClientError) as excinfo:
        ec2.create_traffic_mirror_target(NetworkInterfaceId=new_eni(), NetworkLoadBalancerArn="arn:aws:nlb")
    assert code(excinfo) == "InvalidParameterCombination"


def test_an_eni_target_takes_ten_sources(ec2, new_eni, mirror):
    filter_id, target_id = mirror
    for _ in range(10):
        new_session(ec2, new_eni(), target_id, filter_id)
    with pytest.raises(ClientError) as excinfo:
        new_session(ec2, new_eni(), target_id, filter_id)
    assert code(excinfo) == "TrafficMirrorSourcesPerTargetLimitExceeded"


# -- sessions ----------------------------------------------------------------
def test_session_source_must_be_a_supported_instance_type(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    for name in ("web-1", "api-1", "batch-1"):
        assert new_session(ec2, eni_of(name), target_id, filter_id)["NetworkInterfaceId"] == eni_of(name)
    for name in ("db-1", "legacy-1"):
        with pytest.raises(ClientError) as excinfo:
            new_session(ec2, eni_of(name), target_id, filter_id)
        assert code(excinfo) == "NetworkInterfaceNotSupported", name
    assert len(ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]) == 3


def test_at_most_three_sessions_per_source_interface(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    source = eni_of("web-1")
    for number in (1, 2, 3):
        new_session(ec2, source, target_id, filter_id, number)
    with pytest.raises(ClientError) as excinfo:
        new_session(ec2, source, target_id, filter_id, 4)
    assert code(excinfo) == "TrafficMirrorSessionsPerInterfaceLimitExceeded"


def test_session_number_is_unique_per_source_and_in_range(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    new_session(ec2, eni_of("web-1"), target_id, filter_id, 1)
    new_session(ec2, eni_of("api-1"), target_id, filter_id, 1)
    for number in (1, 0, 32767):
        with pytest.raises(ClientError) as excinfo:
            new_session(ec2, eni_of("web-1"), target_id, filter_id, number)
        assert code(excinfo) == "InvalidParameterValue"


def test_terminating_a_source_instance_deletes_its_interface_and_sessions(ec2, sandbox, eni_of, mirror):
    filter_id, target_id = mirror
    source = eni_of("web-1")
    new_session(ec2, source, target_id, filter_id)
    ec2.terminate_instances(InstanceIds=[sandbox.seed_info.instances["web-1"]])
    assert ec2.describe_network_interfaces(Filters=[{"Name": "network-interface-id", "Values": [source]}])[
        "NetworkInterfaces"
    ] == []
    assert ec2.describe_traffic_mirror_sessions()["TrafficMirrorSessions"] == []
    ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=filter_id)


def test_a_target_interface_cannot_be_a_source(ec2, mirror):
    filter_id, target_id = mirror
    target_eni = ec2.describe_traffic_mirror_targets()["TrafficMirrorTargets"][0]["NetworkInterfaceId"]
    with pytest.raises(ClientError) as excinfo:
        new_session(ec2, target_eni, target_id, filter_id)
    assert code(excinfo) == "InterfaceInUseByTrafficMirrorTarget"


def test_session_references_must_exist(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    unknown = "-0123456789abcdef0"
    cases = [
        (("eni" + unknown, target_id, filter_id), "InvalidNetworkInterfaceID.NotFound"),
        ((eni_of("web-1"), "tmt" + unknown, filter_id), "InvalidTrafficMirrorTargetId.NotFound"),
        ((eni_of("web-1"), target_id, "tmf" + unknown), "InvalidTrafficMirrorFilterId.NotFound"),
    ]
    for refs, error in cases:
        with pytest.raises(ClientError) as excinfo:
            new_session(ec2, *refs)
        assert code(excinfo) == error


def test_session_vni_defaults_to_a_unique_random_value_and_modify_works(ec2, eni_of, mirror):
    filter_id, target_id = mirror
    first = new_session(ec2, eni_of("web-1"), target_id, filter_id, Description="d", PacketLength=128)
    second = new_session(ec2, eni_of("api-1"), target_id, filter_id, VirtualNetworkId=42)
    assert 0 < first["VirtualNetworkId"] < 2**24 and first["VirtualNetworkId"] != 42
    assert second["VirtualNetworkId"] == 42

    session_id = first["TrafficMirrorSessionId"]
    renumbered = ec2.modify_traffic_mirror_session(TrafficMirrorSessionId=session_id, SessionNumber=7)
    assert renumbered["TrafficMirrorSession"] == {**first, "SessionNumber": 7}
    cleared = ec2.modify_traffic_mirror_session(
        TrafficMirrorSessionId=session_id, RemoveFields=["packet-length", "description"]
    )["TrafficMirrorSession"]
    assert "PacketLength" not in cleared and "Description" not in cleared
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_traffic_mirror_session(TrafficMirrorSessionId=session_id, TrafficMirrorFilterId="tmf-0123456789abcdef0")
    assert code(excinfo) == "InvalidTrafficMirrorFilterId.NotFound"

    with pytest.raises(ClientError) as excinfo:
        new_session(ec2, eni_of("batch-1"), target_id, filter_id, VirtualNetworkId=2**24)
    assert code(excinfo) == "InvalidParameterValue"


# -- ClientToken -------------------------------------------------------------
def _create(ec2: Any, kind: str, eni_of: Any, new_eni: Any, **extra: Any) -> tuple[Any, dict[str, Any], str]:
    """(call, arguments, key of the created resource) for one create action."""
    if kind == "filter":
        return ec2.create_traffic_mirror_filter, {"Description": "a", **extra}, "TrafficMirrorFilter"
    if kind == "rule":
        rule = {"TrafficMirrorFilterId": new_filter(ec2), "TrafficDirection": "ingress", "RuleNumber": 1,
                "RuleAction": "accept", **EVERYTHING_V4, **extra}
        return ec2.create_traffic_mirror_filter_rule, rule, "TrafficMirrorFilterRule"
    if kind == "target":
        return ec2.create_traffic_mirror_target, {"NetworkInterfaceId": new_eni(), **extra}, "TrafficMirrorTarget"
    session = {"NetworkInterfaceId": eni_of("web-1"), "TrafficMirrorTargetId": new_target(ec2, new_eni()),
               "TrafficMirrorFilterId": new_filter(ec2), "SessionNumber": 1, **extra}
    return ec2.create_traffic_mirror_session, session, "TrafficMirrorSession"


@pytest.mark.parametrize("kind", ["filter", "rule", "target", "session"])
def test_client_token_makes_creates_idempotent(ec2, eni_of, new_eni, kind):
    call, arguments, key = _create(ec2, kind, eni_of, new_eni)
    first = call(ClientToken="token-1", **arguments)
    again = call(ClientToken="token-1", **arguments)
    assert first[key] == again[key]
    assert first["ClientToken"] == again["ClientToken"] == "token-1"

    with pytest.raises(ClientError) as excinfo:
        call(ClientToken="token-1", **{**arguments, "Description": "changed"})
    assert code(excinfo) == "IdempotentParameterMismatch"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_client_token_for_run_instances_and_network_interfaces(ec2, sandbox):
    subnet = sandbox.seed_info.subnet_ids[0]
    launch = {"ImageId": sandbox.seed_info.ubuntu_ami_id, "MinCount": 1, "MaxCount": 1, "SubnetId": subnet}
    first = ec2.run_instances(ClientToken="launch-1", **launch)["Instances"][0]["InstanceId"]
    assert ec2.run_instances(ClientToken="launch-1", **launch)["Instances"][0]["InstanceId"] == first
    with pytest.raises(ClientError) as excinfo:
        ec2.run_instances(ClientToken="launch-1", **{**launch, "InstanceType": "c5.large"})
    assert code(excinfo) == "IdempotentParameterMismatch"

    eni = ec2.create_network_interface(SubnetId=subnet, ClientToken="eni-1")["NetworkInterface"]
    again = ec2.create_network_interface(SubnetId=subnet, ClientToken="eni-1")["NetworkInterface"]
    assert eni["NetworkInterfaceId"] == again["NetworkInterfaceId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.create_network_interface(SubnetId=subnet, ClientToken="eni-1", Description="other")
    assert code(excinfo) == "IdempotentParameterMismatch"


# -- tags --------------------------------------------------------------------
def test_tag_specifications_and_tag_filters(ec2, eni_of, new_eni):
    filter_id = new_filter(ec2, TagSpecifications=tags("traffic-mirror-filter", Name="f", owner="me"))
    new_filter(ec2)
    rule = add_rule(ec2, filter_id, 1, TagSpecifications=tags("traffic-mirror-filter-rule", Name="r"))
    target_id = new_target(ec2, new_eni(), TagSpecifications=tags("traffic-mirror-target", Name="t"))
    session = new_session(
        ec2, eni_of("web-1"), target_id, filter_id, TagSpecifications=tags("traffic-mirror-session", Name="s")
    )
    assert {"Key": "Name", "Value": "r"} in rule["Tags"]
    assert {"Key": "Name", "Value": "s"} in session["Tags"]

    by_name = ec2.describe_traffic_mirror_filters(Filters=[{"Name": "tag:Name", "Values": ["f"]}])
    assert [f["TrafficMirrorFilterId"] for f in by_name["TrafficMirrorFilters"]] == [filter_id]
    by_key = ec2.describe_traffic_mirror_filters(Filters=[{"Name": "tag-key", "Values": ["owner"]}])
    assert [f["TrafficMirrorFilterId"] for f in by_key["TrafficMirrorFilters"]] == [filter_id]
    targets = ec2.describe_traffic_mirror_targets(Filters=[{"Name": "tag:Name", "Values": ["t"]}])
    assert [t["TrafficMirrorTargetId"] for t in targets["TrafficMirrorTargets"]] == [target_id]
    sessions = ec2.describe_traffic_mirror_sessions(Filters=[{"Name": "tag:Name", "Values": ["s"]}])
    assert [s["TrafficMirrorSessionId"] for s in sessions["TrafficMirrorSessions"]] == [session["TrafficMirrorSessionId"]]
    rules = ec2.describe_traffic_mirror_filter_rules(Filters=[{"Name": "tag:Name", "Values": ["r"]}])
    assert [r["TrafficMirrorFilterRuleId"] for r in rules["TrafficMirrorFilterRules"]] == [rule["TrafficMirrorFilterRuleId"]]
    assert ec2.describe_traffic_mirror_sessions(Filters=[{"Name": "tag:Name", "Values": ["nope"]}])[
        "TrafficMirrorSessions"
    ] == []

    with pytest.raises(ClientError) as excinfo:
        new_filter(ec2, TagSpecifications=tags("instance", Name="wrong"))
    assert code(excinfo) == "InvalidParameter"
