"""AWS errors turned into messages that say what to do next."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
)


class AwsError(Exception):
    """An AWS call failed; ``str()`` is the message for the user."""

    def __init__(self, message: str, *, code: str | None = None, operation: str | None = None):
        super().__init__(message)
        self.code = code
        self.operation = operation


_ADVICE = {
    "NetworkInterfaceNotSupported": (
        "AWS does not mirror this source's instance type (named above); move the source to a Nitro type "
        "AWS supports, or drop it from sources.instances"
    ),
    "TrafficMirrorSessionsPerInterfaceLimitExceeded": (
        "the source ENI already has 3 mirror sessions, AWS's limit; delete one or drop this source"
    ),
    "TrafficMirrorFilterRuleLimitExceeded": "a filter takes at most 10 rules per direction set; remove some rules",
    "TrafficMirrorTargetInUseException": "a session still uses this target; delete the session first",
    "TrafficMirrorSourcesPerTargetLimitExceeded": (
        "the target's ENI takes no more sources (10, or 100 on the largest size of a family); "
        "use a larger sensor.instance_type or fewer sources"
    ),
    "InterfaceInUseByTrafficMirrorTarget": "this ENI is a mirror target; a target's ENI cannot be a source",
    "TrafficMirrorFilterInUse": "a session still uses this filter; delete the session first",
    "IdempotentParameterMismatch": (
        "an earlier run of this setup created this resource with other answers; "
        "run `vpc-mirror teardown` for the setup, or apply under a new --name"
    ),
    "RequestLimitExceeded": "AWS kept throttling after all retries; run the same command again shortly",
    "InvalidKeyPair.NotFound": "the key pair does not exist in this region; create or import it, or fix sensor.key_name",
    "DependencyViolation": "something outside this setup still uses the resource; remove that first",
    "InsufficientInstanceCapacity": "AWS has no capacity for this instance type here now; try another type or later",
    "VcpuLimitExceeded": "the account's vCPU quota is used up; request a quota increase or pick a smaller type",
    "AuthFailure": "the credentials were refused; check the profile's keys or refresh the SSO login",
    "ExpiredToken": "the session token expired; refresh the credentials (e.g. aws sso login) and resume",
}


def explain(exc: Exception, operation: str | None = None, context: str | None = None) -> AwsError:
    """Any boto3 failure -> AwsError with a message naming the fix."""
    where = f"{context}: " if context else ""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        aws_message = exc.response.get("Error", {}).get("Message", "")
        op = operation or exc.operation_name
        if code in ("UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
            action = f"{_service_of(op)}:{op}"
            return AwsError(
                f"{where}not allowed to call {action}; grant the IAM action {action} to this profile "
                "(`vpc-mirror export NAME --format iam-policy` lists all it needs)",
                code=code,
                operation=op,
            )
        advice = _ADVICE.get(code)
        if advice is None and code.endswith(".NotFound"):
            advice = "it no longer exists; check the id in the answers, or resume to re-discover"
        text = f"{where}{op} failed: {code}: {aws_message}"
        if advice:
            text += f" — {advice}"
        return AwsError(text, code=code, operation=op)
    if isinstance(exc, NoCredentialsError):
        return AwsError(
            f"{where}no AWS credentials found; pass --profile, or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(exc, ProfileNotFound):
        return AwsError(f"{where}{exc}; list profiles with `aws configure list-profiles`")
    if isinstance(exc, NoRegionError):
        return AwsError(f"{where}no region; pass --region or set account.region in the answers")
    if isinstance(exc, EndpointConnectionError):
        return AwsError(f"{where}cannot reach {exc.kwargs.get('endpoint_url')}; check the network or --endpoint-url")
    return AwsError(f"{where}{type(exc).__name__}: {exc}")


def describe(exc: Exception) -> str:
    """A message for the user: boto3's failures explained, anything else as it says."""
    if isinstance(exc, (ClientError, BotoCoreError)):
        return str(explain(exc))
    return str(exc) or type(exc).__name__


_STS = {"GetCallerIdentity"}
_SSM = {"GetParameter", "GetParameters"}


def _service_of(operation: str) -> str:
    if operation in _STS:
        return "sts"
    if operation in _SSM:
        return "ssm"
    return "ec2"
