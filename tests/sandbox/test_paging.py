"""Describe* paging for every traffic-mirroring Describe: MaxResults 5-1000 and an opaque NextToken."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.sandbox.test_mirroring import (
    add_rule,
    code,
    new_filter,
    new_session,
    new_target,
)

#: Describe action (boto3 name) -> the list key of its answer.
DESCRIBES = {
    "describe_traffic_mirror_filters": "TrafficMirrorFilters",
    "describe_traffic_mirror_filter_rules": "TrafficMirrorFilterRules",
    "describe_traffic_mirror_targets": "TrafficMirrorTargets",
    "describe_traffic_mirror_sessions": "TrafficMirrorSessions",
}
ID_KEYS = {
    "TrafficMirrorFilters": "TrafficMirrorFilterId",
    "TrafficMirrorFilterRules": "TrafficMirrorFilterRuleId",
    "TrafficMirrorTargets": "TrafficMirrorTargetId",
    "TrafficMirrorSessions": "TrafficMirrorSessionId",
}


@pytest.fixture(scope="module")
def populated(running_sandbox, ec2_client) -> Any:
    """The EC2 client on a demo account with 12 filters (12 rules between them), 12 ENI targets
    and 12 sessions, built once: the tests here only read it (building takes 2 s)."""
    running_sandbox.reset("demo")
    ec2 = ec2_client

    def new_eni() -> str:
        subnet = running_sandbox.seed_info.subnet_ids[1]
        return ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]

    filters = [new_filter(ec2, Description=f"f{i}") for i in range(12)]
    for i in range(12):
        add_rule(ec2, filters[i // 10], 1 + i % 10)
    targets = [new_target(ec2, new_eni()) for _ in range(12)]
    for i in range(12):  # an ENI target takes 10 sources
        new_session(ec2, new_eni(), targets[i // 10], filters[0])
    return ec2


def ids(items: list[dict[str, Any]], key: str) -> list[str]:
    return [item[ID_KEYS[key]] for item in items]


@pytest.mark.parametrize("action", DESCRIBES)
def test_max_results_5_pages_through_everything_once(populated, action):
    key = DESCRIBES[action]
    everything = ids(getattr(populated, action)()[key], key)
    assert len(everything) == 12

    pages, token = [], None
    while True:
        answer = getattr(populated, action)(MaxResults=5, **({"NextToken": token} if token else {}))
        pages.append(ids(answer[key], key))
        token = answer.get("NextToken")
        if not token:
            break
    assert [len(p) for p in pages] == [5, 5, 2]
    assert sorted(i for page in pages for i in page) == sorted(everything)


@pytest.mark.parametrize("action", [a for a in DESCRIBES if a != "describe_traffic_mirror_filter_rules"])
def test_boto3_paginators_walk_every_describe(populated, action):
    key = DESCRIBES[action]
    pages = list(populated.get_paginator(action).paginate(PaginationConfig={"PageSize": 5}))
    assert [len(p[key]) for p in pages] == [5, 5, 2]
    assert len({i for p in pages for i in ids(p[key], key)}) == 12


def test_without_max_results_one_page_holds_up_to_1000(populated):
    answer = populated.describe_traffic_mirror_filters()
    assert len(answer["TrafficMirrorFilters"]) == 12 and "NextToken" not in answer


@pytest.fixture(scope="module")
def unvalidated(running_sandbox) -> Any:
    """An EC2 client that sends what it is given: botocore itself refuses a MaxResults under 5."""
    return running_sandbox.client("ec2", config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))


@pytest.mark.parametrize("max_results", [4, 1001])
@pytest.mark.parametrize("action", DESCRIBES)
def test_max_results_outside_5_to_1000_is_refused(unvalidated, populated, action, max_results):
    with pytest.raises(ClientError) as excinfo:
        getattr(unvalidated, action)(MaxResults=max_results)
    assert code(excinfo) == "InvalidParameterValue"
    assert "maxResults" in excinfo.value.response["Error"]["Message"]


def test_a_next_token_is_valid_only_for_its_own_query(populated):
    first = populated.describe_traffic_mirror_filters(MaxResults=5)
    token = first["NextToken"]
    for call, params in [
        (populated.describe_traffic_mirror_targets, {}),
        (populated.describe_traffic_mirror_filters, {"Filters": [{"Name": "description", "Values": ["f1*"]}]}),
        (populated.describe_traffic_mirror_filters, {"NextToken": "not-a-token"}),
    ]:
        with pytest.raises(ClientError) as excinfo:
            call(**{"MaxResults": 5, "NextToken": token, **params})
        assert code(excinfo) == "InvalidPaginationToken"
    second = populated.describe_traffic_mirror_filters(MaxResults=5, NextToken=token)
    assert len(second["TrafficMirrorFilters"]) == 5


def test_filters_apply_before_paging(populated):
    wanted = {"Name": "description", "Values": ["f1*"]}  # f1, f10, f11
    pages = list(populated.get_paginator("describe_traffic_mirror_filters").paginate(
        Filters=[wanted], PaginationConfig={"PageSize": 5}))
    assert sorted(f["Description"] for p in pages for f in p["TrafficMirrorFilters"]) == ["f1", "f10", "f11"]


def test_a_deletion_between_pages_neither_skips_nor_repeats(running_sandbox, populated):
    """In another Region (moto's backends are per Region, as AWS's are), so the shared account stays as built."""
    ec2 = running_sandbox.client("ec2", region_name="eu-west-1")
    for i in range(12):
        new_filter(ec2, Description=f"f{i}")
    first = ec2.describe_traffic_mirror_filters(MaxResults=5)
    seen = ids(first["TrafficMirrorFilters"], "TrafficMirrorFilters")
    ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=seen[-1])
    rest = ec2.get_paginator("describe_traffic_mirror_filters").paginate(
        PaginationConfig={"PageSize": 5, "StartingToken": first["NextToken"]})
    later = [i for p in rest for i in ids(p["TrafficMirrorFilters"], "TrafficMirrorFilters")]
    assert len(later) == 7 and not set(later) & set(seen)
    assert len(populated.describe_traffic_mirror_filters()["TrafficMirrorFilters"]) == 12
