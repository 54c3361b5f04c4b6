"""Throttling, denied permissions and DryRun, as any HTTP client sees them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_fail_rate_one_throttles_every_call_before_it_has_an_effect(sandbox, ec2):
    sandbox.set_fail_rate(1.0)
    with pytest.raises(ClientError) as excinfo:
        ec2.create_traffic_mirror_filter(Description="never")
    assert error(excinfo) == ("RequestLimitExceeded", 503, "Request limit exceeded.")
    with pytest.raises(ClientError):
        ec2.describe_vpcs()

    sandbox.set_fail_rate(0.0)
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []


def test_fail_rate_zero_never_throttles(ec2):
    for _ in range(30):
        ec2.describe_availability_zones()


def test_a_partial_fail_rate_throttles_some_calls(sandbox, ec2):
    sandbox.set_fail_rate(0.5)
    outcomes = []
    for _ in range(40):
        try:
            ec2.describe_availability_zones()
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    assert set(outcomes) == {"ok", "RequestLimitExceeded"}


def test_throttling_applies_to_ec2_only(sandbox):
    sandbox.set_fail_rate(1.0)
    assert sandbox.client("sts").get_caller_identity()["Account"]


def test_denied_action_answers_unauthorized_operation(sandbox, ec2, eni_of):
    sandbox.set_denied({"ec2:CreateTrafficMirrorSession"})
    target = ec2.create_traffic_mirror_target(NetworkInterfaceId=eni_of("api-1"))["TrafficMirrorTarget"]
    mirror_filter = ec2.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    request = {
        "NetworkInterfaceId": eni_of("web-1"),
        "TrafficMirrorTargetId": target["TrafficMirrorTargetId"],
        "TrafficMirrorFilterId": mirror_filter["TrafficMirrorFilterId"],
        "SessionNumber": 1,
    }
    for dry_run in (False, True):
        with pytest.raises(ClientError) as excinfo:
            ec2.create_traffic_mirror_session(DryRun=dry_run, **request)
        code, status, message = error(excinfo)
        assert (code, status) == ("UnauthorizedOperation", 403)
        assert message.startswith("You are not authorized to perform this operation.")
        assert "is not authorized to perform: ec2:CreateTrafficMirrorSession" in message

    sandbox.set_denied(())
    assert ec2.create_traffic_mirror_session(**request)["TrafficMirrorSession"]["SessionNumber"] == 1


@pytest.mark.parametrize(
    "call",
    [
        lambda ec2: ec2.create_traffic_mirror_filter(DryRun=True),
        lambda ec2: ec2.describe_traffic_mirror_sessions(DryRun=True),
        lambda ec2: ec2.run_instances(ImageId="ami-12345678", MinCount=1, MaxCount=1, DryRun=True),
    ],
)
def test_allowed_dry_run_answers_dry_run_operation_and_does_nothing(ec2, call):
    with pytest.raises(ClientError) as excinfo:
        call(ec2)
    assert error(excinfo)[:2] == ("DryRunOperation", 412)
    assert ec2.describe_traffic_mirror_filters()["TrafficMirrorFilters"] == []
