"""The least-privilege IAM policy for one setup: apply, resume, sync, status and teardown.

Derived from the plan: the calls each step's inspection makes, and for each
resource kind in the plan the calls that find, create and delete it (as
steps.resources does). Describe calls take no resource-level permissions in
EC2, so they are on ``*``; creates are scoped to the account and region; deletes
also require the setup's tag on the resource, except where the resource is not
ours to tag (the VPC's main route table, a source instance an ENI detaches from).
``status`` reads the state file only and needs no permission.

Load balancers, target groups and listeners are Elastic Load Balancing's
(``elasticloadbalancing:`` actions, its own ARNs): the same rules, with
registering sensors and changing attributes allowed only on the setup's
tagged load balancer and target group, and listeners (which the setup does not
tag) deletable only on the setup's load balancer, by its name in their ARNs,
and created only on a load balancer carrying the setup's tag. An existing
NLB's or GWLB's target group is the user's: the sensors are registered in (and
deregistered from) that group alone, by the ARN the plan found.
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
    "endpoint-service": ["DescribeVpcEndpointServiceConfigurations"],
    "vpc-endpoint": ["DescribeVpcEndpoints"],
    "interface-groups": ["DescribeNetworkInterfaces"],
    "load-balancer": ["DescribeLoadBalancers", "DescribeTags"],
    "lb-attributes": ["DescribeLoadBalancerAttributes"],
    "target-group": ["DescribeTargetGroups", "DescribeTags"],
    "listener": ["DescribeListeners"],
    "target-registration": ["DescribeTargetHealth"],
    "tg-attributes": ["DescribeTargetGroupAttributes"],
}
#: Kinds whose calls are Elastic Load Balancing's (Action.service "elbv2"), not EC2's.
ELB_KINDS = frozenset({"load-balancer", "lb-attributes", "target-group", "listener", "target-registration",
                       "tg-attributes"})

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
    "endpoint-service": ("DeleteVpcEndpointServiceConfigurations", "vpc-endpoint-service"),
    "vpc-endpoint": ("DeleteVpcEndpoints", "vpc-endpoint"),
}
#: A load balancer's Type -> its listeners' ARNs say (listener/net/NAME/..., listener/gwy/NAME/...).
LISTENER_ARN_TYPE = {"network": "net", "gateway": "gwy"}
#: The same for Elastic Load Balancing (resource types of its ARNs); listeners: see _load_balancing.
ELB_DELETE = {
    "load-balancer": ("DeleteLoadBalancer", "loadbalancer"),
    "target-group": ("DeleteTargetGroup", "targetgroup"),
    "target-registration": ("DeregisterTargets", "targetgroup"),
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
    return {f"ec2:{op}" for op in reads} | _reused_load_balancer_reads(ctx)


def _reused_load_balancer_reads(ctx: Context) -> set[str]:
    """What steps.load_balancer reads of an existing NLB or GWLB endpoint: the load balancer, its listener and the
    target group that listener forwards to (and, for an endpoint, the endpoint and its service)."""
    target = ctx.plan.target
    if target.load_balancer_arn is None and target.gwlb_endpoint_id is None:
        return set()
    reads = {f"elasticloadbalancing:{op}" for op in ("DescribeLoadBalancers", "DescribeListeners",
                                                     "DescribeTargetGroups")}
    if target.gwlb_endpoint_id is not None:
        reads |= {"ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpointServiceConfigurations"}
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
    ec2_creates = [a for a in actions if a.verb == "create" and a.api and a.service == "ec2"]
    creates = {a.api for a in ec2_creates}
    tagging = {a.api for a in ec2_creates if a.params.get("TagSpecifications")}
    if ctx.plan.sources.select:  # sync mirrors instances that match later, even when none matches yet
        kinds.add("mirror-session")
        creates.add("CreateTrafficMirrorSession")
        tagging.add("CreateTrafficMirrorSession")
    creates, tagging = sorted(creates), sorted(tagging)
    reads = _inspect_reads(ctx) | {f"{_service(kind)}:{op}" for kind in kinds for op in FIND.get(kind, [])}
    statements: list[dict] = [
        {"Sid": "Identity", "Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"},
        {"Sid": "ReadNoResourceLevelPermissions", "Effect": "Allow", "Action": sorted(reads), "Resource": "*"},
    ]
    parameters = _image_parameters(ctx)
    if parameters:
        statements.append({"Sid": "PublicAmiParameters", "Effect": "Allow", "Action": ["ssm:GetParameter"],
                           "Resource": [f"arn:aws:ssm:{region}::parameter{p}" for p in parameters]})
    create_resources = [f"{arn}:*"]
    if "RunInstances" in creates:
        create_resources.append(f"arn:aws:ec2:{region}::image/*")  # public AMIs belong to no account of ours
    made = [op for op in creates if op != "ModifyNetworkInterfaceAttribute"]
    if made:
        statements.append({"Sid": "Create", "Effect": "Allow", "Action": [f"ec2:{op}" for op in made],
                           "Resource": create_resources})
    if "ModifyNetworkInterfaceAttribute" in creates:
        statements += _sensor_interface_groups(ctx, actions, arn)
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
    if "security-group-ingress" in kinds and ctx.plan.sources.select:  # sync revokes what gone sources needed
        statements.append({"Sid": "SyncRevokesOnlyThisSetupsRules", "Effect": "Allow",
                           "Action": ["ec2:RevokeSecurityGroupIngress"], "Resource": f"{arn}:security-group/*",
                           "Condition": {"StringEquals": {f"aws:ResourceTag/{SETUP_TAG}": ctx.setup}}})
    if "eni-attachment" in kinds:
        statements.append({"Sid": "DetachFromAnyInstance", "Effect": "Allow",
                           "Action": ["ec2:DetachNetworkInterface"], "Resource": f"{arn}:instance/*"})
    if "route" in kinds:
        statements.append({"Sid": "RoutesOfTheMainRouteTable", "Effect": "Allow", "Action": ["ec2:DeleteRoute"],
                           "Resource": f"{arn}:route-table/*"})
    statements += _load_balancing(ctx, actions, f"arn:aws:elasticloadbalancing:{region}:{account}")
    return {"Version": "2012-10-17", "Statement": statements}


def _sensor_interface_groups(ctx: Context, actions: list[Action], arn: str) -> list[dict]:
    """Adding the load balancer's security group to the sensors' primary interfaces, and to no other interface.

    ModifyNetworkInterfaceAttribute authorizes the interface (resource type
    network-interface, whose condition keys include ec2:Vpc: the VPC's ARN),
    and may also authorize the groups it is given and the instance the
    interface is attached to (Service Authorization Reference, Amazon EC2);
    those are allowed apart, unconditioned, as they grant nothing on another
    interface. A reused sensor's interface is known: its ARN alone. A launched
    sensor's primary interface is made by RunInstances, which tags only the
    instance and its volume, and its id is known only after apply: so any
    interface in the sensors' VPC when that VPC exists, else (a VPC this setup
    creates, which holds only its own instances) any interface.
    """
    by_key = {a.key: a for a in actions}
    sensors = [by_key[a.params["NetworkInterfaceId"].key] for a in actions
               if a.kind == "interface-groups" and a.verb == "create"]
    known = [s.params.get("primary_eni") for s in sensors if s.verb == "reuse"]
    enis = ([f"{arn}:network-interface/{eni}" for eni in known]
            if len(known) == len(sensors) and all(known) else [f"{arn}:network-interface/*"])
    interfaces: dict = {"Sid": "AddGroupsOnlyToTheSensorsInterfaces", "Effect": "Allow",
                        "Action": ["ec2:ModifyNetworkInterfaceAttribute"], "Resource": enis}
    vpc = sensor_vpc_of(ctx)
    if vpc:
        interfaces["Condition"] = {"StringEquals": {"ec2:Vpc": f"{arn}:vpc/{vpc}"}}
    return [interfaces, {"Sid": "TheGroupsAndInstanceOfThatInterface", "Effect": "Allow",
                         "Action": ["ec2:ModifyNetworkInterfaceAttribute"],
                         "Resource": [f"{arn}:instance/*", f"{arn}:security-group/*"]}]


def _service(kind: str) -> str:
    return "elasticloadbalancing" if kind in ELB_KINDS else "ec2"


def _load_balancing(ctx: Context, actions: list[Action], arn: str) -> list[dict]:
    """Create, tag (at creation only), change and delete the setup's load balancer, target group and listener;
    register the sensors in a reused target group, which is the user's (untagged): that group only."""
    reused = {a.key: a.id for a in actions if a.verb == "reuse" and a.kind == "target-group" and a.id}
    into_reused = [a for a in actions if a.verb == "create" and a.kind == "target-registration"
                   and a.params["TargetGroupArn"].key in reused]
    created = [a for a in actions if a.verb == "create" and a.service == "elbv2" and a not in into_reused]
    statements = []
    if into_reused:
        statements.append({"Sid": "RegisterTheSensorsInTheReusedTargetGroup", "Effect": "Allow",
                           "Action": [f"elasticloadbalancing:{op}" for op in ("DeregisterTargets", "RegisterTargets")],
                           "Resource": sorted({reused[a.params["TargetGroupArn"].key] for a in into_reused})})
    if not created:
        return statements
    ours = {"StringEquals": {f"aws:ResourceTag/{SETUP_TAG}": ctx.setup}}
    kinds = {a.kind for a in created}
    made = sorted({a.api for a in created if a.api.startswith("Create") and a.api != "CreateListener"})
    changed = sorted({a.api for a in created if not a.api.startswith("Create")})
    if made:
        statements.append({"Sid": "CreateLoadBalancing", "Effect": "Allow",
                           "Action": [f"elasticloadbalancing:{op}" for op in made],
                           "Resource": [f"{arn}:loadbalancer/*", f"{arn}:targetgroup/*"]})
    if "listener" in kinds:  # CreateListener authorizes the load balancer it is made on (Service Authorization
        # Reference, Elastic Load Balancing V2: resource type loadbalancer, condition key aws:ResourceTag)
        statements.append({"Sid": "ListenOnlyOnThisSetupsLoadBalancer", "Effect": "Allow",
                           "Action": ["elasticloadbalancing:CreateListener"], "Resource": f"{arn}:loadbalancer/*",
                           "Condition": ours})
    tagged = sorted({a.api for a in created if a.params.get("Tags")})
    if tagged:
        statements.append({"Sid": "TagLoadBalancingOnCreateOnly", "Effect": "Allow",
                           "Action": ["elasticloadbalancing:AddTags"],
                           "Resource": [f"{arn}:loadbalancer/*", f"{arn}:targetgroup/*"],
                           "Condition": {"StringEquals": {"elasticloadbalancing:CreateAction": tagged}}})
    if changed:
        statements.append({"Sid": "ChangeOnlyThisSetupsLoadBalancing", "Effect": "Allow",
                           "Action": [f"elasticloadbalancing:{op}" for op in changed],
                           "Resource": [f"{arn}:loadbalancer/*", f"{arn}:targetgroup/*"], "Condition": ours})
    deletes = sorted({ELB_DELETE[k] for k in kinds if k in ELB_DELETE})
    if deletes:
        statements.append({"Sid": "DeleteOnlyThisSetupsLoadBalancing", "Effect": "Allow",
                           "Action": sorted({f"elasticloadbalancing:{op}" for op, _ in deletes}),
                           "Resource": sorted({f"{arn}:{rtype}/*" for _, rtype in deletes}), "Condition": ours})
    balancers = [a.params for a in created if a.kind == "load-balancer"]
    if "listener" in kinds and balancers:
        statements.append({"Sid": "ListenersOfThisSetupsLoadBalancer", "Effect": "Allow",
                           "Action": ["elasticloadbalancing:DeleteListener"],
                           "Resource": [f"{arn}:listener/{LISTENER_ARN_TYPE[lb['Type']]}/{lb['Name']}/*"
                                        for lb in balancers]})
    return statements


def render(ctx: Context, actions: list[Action]) -> str:
    return json.dumps(policy(ctx, actions), indent=2) + "\n"
