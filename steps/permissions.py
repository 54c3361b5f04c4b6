"""Would AWS let this caller make the plan's creates? Each one tried with DryRun, changing nothing.

A DryRun call answers ``DryRunOperation`` when the caller may make it and
``UnauthorizedOperation`` when not, without changing anything. Ids of resources
the plan has not created yet are placeholders: the sandbox answers DryRun
before it looks at ids; AWS may instead report a placeholder as not found,
which is shown as "could not tell" rather than guessed either way.

Apply runs these before its first change; ``vpc-mirror preflight``
(steps.preflight) adds the session limits and the plan's problems.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from botocore import xform_name
from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action, Ref, substitute
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import is_live

#: Stand-ins for ids and attributes of resources that do not exist yet.
PLACEHOLDER_IDS = {
    "vpc": "vpc-0123456789abcdef0",
    "subnet": "subnet-0123456789abcdef0",
    "internet-gateway": "igw-0123456789abcdef0",
    "security-group": "sg-0123456789abcdef0",
    "instance": "i-0123456789abcdef0",
    "network-interface": "eni-0123456789abcdef0",
    "mirror-target": "tmt-0123456789abcdef0",
    "mirror-filter": "tmf-0123456789abcdef0",
    "load-balancer": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/placeholder/"
                     "0123456789abcdef",
    "target-group": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/placeholder/0123456789abcdef",
    "endpoint-service": "vpce-svc-0123456789abcdef0",
    "vpc-endpoint": "vpce-0123456789abcdef0",
}
PLACEHOLDER_ATTRS = {
    "ipv6_subnet_0": "2001:db8::/64",
    "main_route_table_id": "rtb-0123456789abcdef0",
    "subnet_id": PLACEHOLDER_IDS["subnet"],
    "private_ip": "10.0.0.10",
    "primary_eni": PLACEHOLDER_IDS["network-interface"],
    "cidr": "10.0.0.0/24",
    "service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
}


#: The IAM action prefix of each service an action's call belongs to.
IAM_PREFIX = {"ec2": "ec2", "elbv2": "elasticloadbalancing"}


@dataclass(frozen=True)
class PreflightCheck:
    """One line of a preflight: what was checked, whether it passed, and why (or what to grant)."""

    what: str
    #: True passed, False failed, None could not tell
    ok: bool | None
    detail: str


async def permission_checks(ctx: Context, actions: list[Action]) -> list[PreflightCheck]:
    """One DryRun call per create the plan still has to make (what already exists needs no permission)."""
    by_key = {a.key: a for a in actions}
    todo = [a for a in actions if a.verb == "create" and a.api and not is_live(ctx.state.resource(a.key))]
    return list(await asyncio.gather(*(ctx.call(_dry_run, ctx, a, by_key) for a in todo)))


def _dry_run(ctx: Context, action: Action, by_key: dict[str, Action]) -> PreflightCheck:
    permission = f"{IAM_PREFIX[action.service]}:{action.api}"
    if action.service != "ec2":
        # Elastic Load Balancing has no DryRun: trying the call would make the resource.
        return PreflightCheck(permission, None, f"could not tell (Elastic Load Balancing has no DryRun; the IAM "
                                                f"action {permission} is needed); {action.summary}")
    params = dict(_with_placeholders(ctx, action.params, by_key), DryRun=True)
    try:
        getattr(ctx.aws.ec2, xform_name(action.api))(**params)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "DryRunOperation":
            return PreflightCheck(permission, True, f"allowed: {action.summary}")
        if code in ("UnauthorizedOperation", "AccessDenied"):
            return PreflightCheck(permission, False, f"denied: grant the IAM action {permission} ({action.summary})")
        return PreflightCheck(permission, None, f"could not tell ({code}: {exc.response['Error'].get('Message', '')}); "
                                       f"{action.summary}")
    return PreflightCheck(permission, True, f"allowed: {action.summary}")


def _with_placeholders(ctx: Context, value, by_key: dict[str, Action]):
    """Resolve refs like the engine does, with placeholders for what does not exist yet."""
    return substitute(value, lambda ref: _lookup(ctx, ref, by_key))


def _lookup(ctx: Context, ref: Ref, by_key: dict[str, Action]) -> str:
    """The live id or attribute (state, or the plan's reused resource), else a placeholder."""
    action = by_key[ref.key]
    res = ctx.state.resource(ref.key)
    known = ({"id": res.id, **res.attrs} if res is not None and res.id and res.status in ("created", "reused")
             else {"id": action.id, **action.params} if action.verb == "reuse" else {})
    if ref.attr is None:
        return known.get("id") or PLACEHOLDER_IDS[action.kind]
    return str(known[ref.attr]) if ref.attr in known else PLACEHOLDER_ATTRS[ref.attr]
