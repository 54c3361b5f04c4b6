"""A security group of this setup's own and its inbound rule: the two actions the vpc and sensor_eni steps plan."""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context


def security_group_actions(ctx: Context, step: str, purpose: str, *, description: str, summary: str,
                           permission: dict, permission_summary: str) -> list[Action]:
    """Create the group ``<purpose>-sg`` in the setup's VPC, then allow ``permission`` (an IpPermissions entry) in."""
    key = f"{purpose}-sg"
    name = ctx.name_tag(key)
    return [
        Action(step=step, key=key, kind="security-group", verb="create", name=name, api="CreateSecurityGroup",
               params={"GroupName": f"vpc-mirror-{ctx.setup}-{purpose}", "VpcId": Ref("vpc"),
                       "Description": f"vpc-mirror {ctx.setup}: {description}",
                       "TagSpecifications": ctx.tag_specs(name, "security-group")},
               summary=summary),
        Action(step=step, key=f"{key}-ingress", kind="security-group-ingress", verb="create",
               api="AuthorizeSecurityGroupIngress",
               params={"GroupId": Ref(key), "IpPermissions": [permission]},
               summary=permission_summary),
    ]
