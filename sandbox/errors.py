"""The EC2 errors the sandbox's extension answers with, under AWS's own codes.

Codes come from "Error codes for the Amazon EC2 API"
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
That page spells the traffic-mirroring not-found codes ``InvalidTrafficMirror
FilterNotFound`` / ``...TargetNoFound``; the API itself answers
``InvalidTrafficMirrorFilterId.NotFound`` and friends, which is what clients
match on (hashicorp/terraform-provider-aws, internal/service/ec2/errors.go), so
those are used here.

Each class is a moto ``EC2ClientError``: moto serializes it as an EC2 error
response (HTTP 400, ``<Response><Errors><Error><Code>``).
"""

from __future__ import annotations

from moto.ec2.exceptions import EC2ClientError


class InvalidParameterValue(EC2ClientError):
    """A value is not valid (common client error code)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterValue", message)


class InvalidParameterCombination(EC2ClientError):
    """An incorrect combination of parameters, or a missing one (common client error code)."""

    def __init__(self, message: str) -> None:
        super().__init__("InvalidParameterCombination", message)


class IdempotentParameterMismatch(EC2ClientError):
    """Same ClientToken as an earlier, non-identical request (common client error code)."""

    def __init__(self, token: str) -> None:
        super().__init__(
            "IdempotentParameterMismatch",
            f"The client token '{token}' was already used by a request with different parameters.",
        )


class MirrorResourceNotFound(EC2ClientError):
    """An unknown traffic-mirror filter, rule, target or session id."""

    def __init__(self, kind: str, resource_id: str) -> None:
        code = {
            "filter": "InvalidTrafficMirrorFilterId.NotFound",
            "filter rule": "InvalidTrafficMirrorFilterRuleId.NotFound",
            "target": "InvalidTrafficMirrorTargetId.NotFound",
            "session": "InvalidTrafficMirrorSessionId.NotFound",
        }[kind]
        super().__init__(code, f"The traffic mirror {kind} ID '{resource_id}' does not exist.")


class TrafficMirrorFilterRuleAlreadyExists(EC2ClientError):
    def __init__(self, filter_id: str, direction: str, rule_number: int) -> None:
        super().__init__(
            "TrafficMirrorFilterRuleAlreadyExists",
            f"Traffic mirror filter {filter_id} already has an {direction} rule number {rule_number}.",
        )


class TrafficMirrorFilterRuleLimitExceeded(EC2ClientError):
    def __init__(self, filter_id: str, limit: int) -> None:
        super().__init__(
            "TrafficMirrorFilterRuleLimitExceeded",
            f"Traffic mirror filter {filter_id} already has the maximum of {limit} rules.",
        )


class TrafficMirrorFilterInUse(EC2ClientError):
    def __init__(self, filter_id: str, session_id: str) -> None:
        super().__init__(
            "TrafficMirrorFilterInUse",
            f"Traffic mirror filter {filter_id} is in use by traffic mirror session {session_id}.",
        )


class TrafficMirrorTargetInUse(EC2ClientError):
    def __init__(self, target_id: str, session_id: str) -> None:
        super().__init__(
            "TrafficMirrorTargetInUseException",
            f"Traffic mirror target {target_id} is in use by traffic mirror session {session_id}.",
        )


class TrafficMirrorSessionsPerInterfaceLimitExceeded(EC2ClientError):
    def __init__(self, eni_id: str, limit: int) -> None:
        super().__init__(
            "TrafficMirrorSessionsPerInterfaceLimitExceeded",
            f"Network interface {eni_id} already has the maximum of {limit} traffic mirror sessions.",
        )


class TrafficMirrorSourcesPerTargetLimitExceeded(EC2ClientError):
    def __init__(self, target_id: str, limit: int) -> None:
        super().__init__(
            "TrafficMirrorSourcesPerTargetLimitExceeded",
            f"Traffic mirror target {target_id} already has the maximum of {limit} sources.",
        )


class InterfaceInUseByTrafficMirrorTarget(EC2ClientError):
    def __init__(self, eni_id: str, target_id: str) -> None:
        super().__init__(
            "InterfaceInUseByTrafficMirrorTarget",
            f"Network interface {eni_id} is already used by traffic mirror target {target_id}.",
        )


class InterfaceInUseByTrafficMirrorSession(EC2ClientError):
    def __init__(self, eni_id: str, session_id: str) -> None:
        super().__init__(
            "InterfaceInUseByTrafficMirrorSession",
            f"Network interface {eni_id} is the source of traffic mirror session {session_id}.",
        )


class NetworkInterfaceNotSupported(EC2ClientError):
    def __init__(self, eni_id: str, reason: str) -> None:
        super().__init__(
            "NetworkInterfaceNotSupported",
            f"Network interface {eni_id} is not supported for Traffic Mirroring: {reason}",
        )


class NetworkLoadBalancerNotFound(EC2ClientError):
    def __init__(self, arn: str) -> None:
        super().__init__("NetworkLoadBalancerNotFoundException", f"The Network Load Balancer '{arn}' does not exist.")


class NlbInUseByTrafficMirrorTarget(EC2ClientError):
    def __init__(self, arn: str, target_id: str) -> None:
        super().__init__(
            "NlbInUseByTrafficMirrorTargetException",
            f"The Network Load Balancer '{arn}' is already configured as traffic mirror target {target_id}.",
        )


class VpcEndpointNotFound(EC2ClientError):
    def __init__(self, endpoint_id: str) -> None:
        super().__init__("InvalidVpcEndpointId.NotFound", f"The VPC endpoint ID '{endpoint_id}' does not exist.")


class TrafficMirrorLimitExceeded(EC2ClientError):
    """The account already has the quota's number of filters, targets or sessions."""

    def __init__(self, kind: str, limit: int) -> None:
        code = {
            "filter": "TrafficMirrorFilterLimitExceeded",
            "target": "TrafficMirrorTargetLimitExceeded",
            "session": "TrafficMirrorSessionLimitExceeded",
        }[kind]
        super().__init__(code, f"The maximum number of traffic mirror {kind}s ({limit}) has been exceeded.")


class InvalidPaginationToken(EC2ClientError):
    def __init__(self, token: str) -> None:
        super().__init__(
            "InvalidPaginationToken",
            f"The pagination token '{token}' is not valid or is expired, or belongs to a different request.",
        )
