"""The least-privilege IAM policy for one setup: apply, resume, status and teardown.

Derived from the plan: the calls each step's inspection makes, and for each
resource kind in the plan the calls that find, create and delete it (as
steps.resources does). Describe calls take no resource-level permissions in
EC2, so they are on ``*``; creates are scoped to the account and region; deletes
also require the setup's tag on the resource, except where the resource is not
ours to tag (the VPC's main route table, a source instance an ENI detaches from).
``status`` reads the state file only and needs no permission.
"""

from __future__ import annotations

import json

from vpc_mirror.models.actions import Action
from vpc_mirror.steps.context import SETUP_TAG, Context
from vpc_mirror.steps.launch import IMAGE_PARAMETERS
from vpc_mirror.steps.sources import sensor_vpc_of, sources_of
from vpc_mirror.steps.test_beacon import BEACON_IMAGE

#: kind -> the Describe calls that find it (and wait for it).
FIND = {
    "vpc": ["DescribeVpcs", "DescribeRouteTables"],
    "subnet": ["DescribeSubnets"],
    "internet-gateway": ["DescribeInternetGateways"],
    "gateway-attachment": ["DescribeInternetGateways"],
    "route": ["DescribeRouteTables"],
    "security-group": ["DescribeSecurityGroups"],
    "security-group-ingress": ["DescribeSecurityGroups"],
    "instance": ["DescribeInstances"],
    "network-interface": ["DescribeNetworkInterfaces"],
    "eni-attachment": ["DescribeNetworkInterfaces"],
    "mirror-target": ["DescribeTrafficMirrorTargets"],
    "mirror-filter": ["DescribeTrafficMirrorFilters"],
    "mirror-filter-services": ["DescribeTrafficMirrorFilters"],
    "mirror-filter-rule": ["DescribeTrafficMirrorFilters"],
    "mirror-session": ["DescribeTrafficMirrorSessions"],
}

#: kind -> (teardown call, resource type in its ARN). Rules, services and ingress go with their parent.
DELETE = {
    "vpc": ("DeleteVpc", "vpc"),
    "subnet": ("DeleteSubnet", "subnet"),
    "internet-gateway": ("DeleteInternetGateway", "internet-gateway"),
    "gateway-attachment": ("DetachInternetGateway", "internet-gateway"),
    "security-group": ("DeleteSecurityGroup", "security-group"),
    "instance": ("TerminateInstances", "instance"),
    "network-interface": ("DeleteNetworkInterface", "network-interface"),
    "eni-attachment": ("DetachNetworkInterface", "network-interface"),
    "mirror-target": ("DeleteTrafficMirrorTarget", "traffic-mirror-target"),
    "mirror-filter": ("DeleteTrafficMirrorFilter", "traffic-mirror-filter"),
    "mirror-session": ("DeleteTrafficMirrorSession", "traffic-mirror-session"),
}


def _inspect_reads(ctx: Context) -> set[str]:
    """What the steps' inspections read, by the answers (steps/*.py ``inspect``)."""
    plan = ctx.plan
    reads = {"DescribeInstances", "DescribeInstanceTypes", "DescribeSubnets",
             "DescribeTrafficMirrorSessions", "DescribeTrafficMirrorTargets"}
    sensor_vpc = sensor_vpc_of(ctx)
    if sensor_vpc and any(s["vpc_id"] != sensor_vpc for s in sources_of(ctx)):  # is the sensor reachable?
        reads |= {"DescribeVpcPeeringConnections", "DescribeTransitGatewayAttachments"}
    if plan.vpc.mode == "existing":
        reads.add("DescribeVpcs")
    if plan.sensor.mode == "launch":
        reads |= {"DescribeImages", "DescribeKeyPairs", "DescribeInstanceTypeOfferings"}
    if plan.test_beacon.enabled:
        reads |= {"DescribeImages", "DescribeInstanceTypeOfferings"}
    return reads


def _image_parameters(ctx: Context) -> list[str]:
    images = []
    if ctx.plan.sensor.mode == "launch":
        images.append(ctx.plan.sensor.image)
    if ctx.plan.test_beacon.enabled:
        images.append(BEACON_IMAGE)
    return sorted({IMAGE_PARAMETERS[i] for i in images if i in IMAGE_PARAMETERS})


def policy(ctx: Context, actions: list[Action]) -> dict:
    region, account = ctx.aws.region, ctx.state.account_id or "*"
    arn = f"arn:aws:ec2:{region}:{account}"
    kinds = {a.kind for a in actions if a.verb == "create"}
    creates = sorted({a.api for a in actions if a.verb == "create" and a.api})
    tagging = sorted({a.api for a in actions if a.verb == "create" and a.params.get("TagSpecifications")})
    reads = _inspect_reads(ctx) | {op for kind in kinds for op in FIND.get(kind, [])}
    statements: list[dict] = [
        {"Sid": "Identity", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
        {"Sid": "ReadNoResourceLevelPermissions", "Effect": "Allow",
         "Action": sorted(f"ec2:{op}" for op in reads), "Resource": "*"},
    ]
    parameters = _image_parameters(ctx)
    if parameters:
        statements.append({"Sid": "PublicAmiParameters", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                           "Resource": [f"arn:aws:ssm:{region}::parameter{p}" for p in parameters]})
    create_resources = [f"{arn}:*"]
    if "RunInstances" in creates:
        create_resources.append(f"arn:aws:ec2:{region}::image/*")  # public AMIs belong to no account of ours
    statements.append({"Sid": "Create", "Effect": "Allow", "Action": [f"ec2:{op}" for op in creates],
                       "Resource": create_resources})
    if tagging:
        statements.append({"Sid": "TagOnCreateOnly", "Effect": "Allow", "Action": ["ec2:CreateTags"],
                           "Resource": f"{arn}:*/*",
                           "Condition": {"StringEquals": {"ec2:CreateAction": tagging}}})
    deletes = sorted({DELETE[k] for k in kinds if k in DELETE})
    if deletes:
        statements.append({"Sid": "DeleteOnlyThisSetup", "Effect": "Allow",
                           "Action": sorted({f"ec2:{op}" for op, _ in deletes}),
                           "Resource": sorted({f"{arn}:{rtype}/*" for _, rtype in deletes}),
                           "Condition": {"StringEquals": {f"aws:ResourceTag/{SETUP_TAG}": ctx.setup}}})
    if "eni-attachment" in kinds:
        statements.append({"Sid": "DetachFromAnyInstance", "Effect": "Allow",
                           "Action": ["ec2:DetachNetworkInterface"], "Resource": f"{arn}:instance/*"})
    if "route" in kinds:
        statements.append({"Sid": "RoutesOfTheMainRouteTable", "Effect": "Allow", "Action": ["ec2:DeleteRoute"],
                           "Resource": f"{arn}:route-table/*"})
    return {"Version": "2012-10-17", "Statement": statements}


def render(ctx: Context, actions: list[Action]) -> str:
    return json.dumps(policy(ctx, actions), indent=2) + "\n"
