"""The target step's load balancer: the Network or Gateway Load Balancer in front of the sensors (target.type
nlb, gwlb), planned by the target step before the mirror target that points at it.

``nlb``: an internal Network Load Balancer in the sensor's subnet, a UDP 4789
listener and a target group of the sensors (instance targets; health check on
TCP ``target.health_check_port``). ``gwlb``: a Gateway Load Balancer there, a
GENEVE (6081) target group of the sensors, its listener, an endpoint service
(no acceptance needed, the setup is its only consumer) and an endpoint in the
sources' VPC, which becomes the mirror target. An existing NLB (by ARN) or
GWLB endpoint (by id) is checked and reused instead; the sensors are then
registered in the target group its listener forwards to, which must be in the
sensors' VPC (instance targets), and a sensor already registered there is the
user's: it is left registered on teardown.

A target group the setup creates gets flow stickiness, so that all of one
source's mirrored packets, both directions of its connections, reach one
sensor (Zeek logs half-connections otherwise). The stickiness types are AWS's
(API reference, TargetGroupAttribute: "source_ip for Network Load Balancers",
"source_ip_dest_ip and source_ip_dest_ip_proto for Gateway Load Balancers",
https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetGroupAttribute.html):
an NLB's UDP group by source address ("Sticky sessions",
https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#sticky-sessions),
a GWLB's by source and destination ("Flow stickiness",
https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/edit-target-group-attributes.html#flow-stickiness).

With an ``eni`` target there is no load balancer. Its facts are the target
step's (``load_balancer``), read again by the sensor_eni step, whose security
group admits the load balancer's subnets.
"""

from __future__ import annotations

import hashlib

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.models.load_balancing import CROSS_ZONE, STICKINESS, STICKINESS_TYPE
from vpc_mirror.steps.context import SETUP_TAG, Context
from vpc_mirror.steps.engine import Refused, guarded
from vpc_mirror.steps.fleet import sensor_keys
from vpc_mirror.steps.resources import load_balancer_attrs
from vpc_mirror.steps.sources import connected_vpcs, endpoint_source, sensor_vpc_of, sensor_zone, sources_of

#: Elastic Load Balancing names: at most 32 letters, digits and hyphens.
ELB_NAME_MAX = 32
#: The ports AWS sends mirrored traffic to: VXLAN to an NLB, GENEVE from a GWLB to its targets.
VXLAN_PORT = 4789
GENEVE_PORT = 6081
#: The stickiness type of a target group the setup creates, by target.type (see the module's docstring).
STICKINESS_TYPES = {"nlb": "source_ip", "gwlb": "source_ip_dest_ip"}


def elb_name(setup: str, role: str) -> str:
    """A load balancer or target group name AWS accepts, unique to the setup and ``role``.

    Elastic Load Balancing names are 1-32 letters, digits and hyphens, neither
    starting nor ending with a hyphen, unique per account and Region; setup
    names are up to 40 lower-case letters, digits and dashes. So the name is
    ``vpcm-<setup>-<role>`` when that fits, else the setup name cut short plus
    6 hex digits of its SHA-256, so that two long setup names with the same
    beginning still get different names.
    """
    plain = f"vpcm-{setup}-{role}"
    if len(plain) <= ELB_NAME_MAX:
        return plain
    digest = hashlib.sha256(setup.encode()).hexdigest()[:6]
    room = ELB_NAME_MAX - len(f"vpcm--{digest}-{role}")
    return f"vpcm-{setup[:room].rstrip('-')}-{digest}-{role}"


def sensor_network(ctx: Context) -> tuple[str | Ref, str | Ref, str | Ref | None]:
    """(VPC, subnet, subnet CIDR) of the sensors: the setup's subnet for launched ones, else the sensor's own."""
    if ctx.plan.sensor.mode == "launch":
        return Ref("vpc"), Ref("subnet"), Ref("subnet", "cidr")
    facts = ctx.facts("sensor")
    return facts.get("vpc_id"), facts.get("subnet_id"), facts.get("subnet_cidr")


def load_balancer_cidrs(ctx: Context) -> list[str | Ref]:
    """Where the load balancer's nodes send from (health checks; GENEVE from a GWLB): its subnets."""
    facts = lb_facts(ctx)
    if reusing(ctx):
        return list(facts.get("subnet_cidrs", []))
    cidr = sensor_network(ctx)[2]
    return [cidr] if cidr is not None else []


def reusing(ctx: Context) -> bool:
    """Whether the target is an existing NLB or GWLB endpoint rather than one this setup creates."""
    target = ctx.plan.target
    return target.load_balancer_arn is not None or target.gwlb_endpoint_id is not None


def _elb_tags(ctx: Context, name: str) -> list[dict]:
    return [{"Key": SETUP_TAG, "Value": ctx.setup}, {"Key": "Name", "Value": name}]


#: The step whose plan holds the load balancer's actions and whose facts hold what was read of it.
STEP = "target"


def lb_facts(ctx: Context) -> dict:
    """What inspect_load_balancer read (an existing NLB or endpoint, or where a new endpoint goes)."""
    return ctx.facts(STEP).setdefault("load_balancer", {})


def load_balancer_actions(ctx: Context) -> list[Action]:
    """The load balancer, its target group and listener (and a GWLB's endpoint service and endpoint), created or
    reused, and each sensor registered in the target group; none for an eni target."""
    target = ctx.plan.target
    if target.type == "eni":
        return []
    facts = lb_facts(ctx)
    actions = _reused(ctx, facts) if reusing(ctx) else _created(ctx, facts)
    return actions + [_registration(ctx, facts, key) for key in sensor_keys(ctx.plan)]


def _registration(ctx: Context, facts: dict, sensor: str) -> Action:
    """``sensor`` registered in the target group; in a reused group where it already is and not by this setup,
    the user's registration, used as it is (teardown leaves it)."""
    key = f"lb/targets/{sensor}"
    instance_id = _sensor_instance(ctx, sensor)
    record = ctx.state.resource(key)
    ours = record is not None and record.status in ("created", "intended")
    if instance_id in facts.get("registered", []) and not ours:
        return Action(step=STEP, key=key, kind="target-registration", verb="reuse", id=instance_id,
                      service="elbv2", params={"target_group": facts.get("target_group")},
                      summary=f"{sensor} ({instance_id}) is registered in the target group already; teardown "
                              "leaves it there")
    target = ctx.plan.target
    protocol = "UDP" if target.type == "nlb" else "GENEVE"
    return Action(step=STEP, key=key, kind="target-registration", verb="create", service="elbv2",
                  api="RegisterTargets",
                  params={"TargetGroupArn": Ref("lb/target-group"), "Targets": [{"Id": Ref(sensor)}]},
                  summary=f"register {sensor} in the target group ({protocol}, health check TCP "
                          f"{target.health_check_port})")


def _sensor_instance(ctx: Context, sensor: str) -> str | None:
    """The sensor's instance id: an existing sensor's, a launched one's once it runs; else None."""
    if ctx.plan.sensor.mode == "existing":
        return ctx.facts("sensor").get("instance_id") or ctx.plan.sensor.instance_id
    record = ctx.state.resource(sensor)
    return record.id if record is not None and record.status == "created" else None


def _reused(ctx: Context, facts: dict) -> list[Action]:
    actions = []
    if ctx.plan.target.gwlb_endpoint_id is not None:
        actions.append(Action(step=STEP, key="gwlb/endpoint", kind="vpc-endpoint", verb="reuse",
                              id=ctx.plan.target.gwlb_endpoint_id, params=facts.get("endpoint", {}),
                              summary=f"use Gateway Load Balancer endpoint {ctx.plan.target.gwlb_endpoint_id} "
                                      f"in {facts.get('endpoint', {}).get('vpc_id')}"))
    arn = facts.get("arn")
    kind = "Network" if ctx.plan.target.type == "nlb" else "Gateway"
    actions += [
        Action(step=STEP, key="lb", kind="load-balancer", verb="reuse", id=arn, service="elbv2",
               params=facts.get("attrs", {}), summary=f"use {kind} Load Balancer {arn}"),
        Action(step=STEP, key="lb/target-group", kind="target-group", verb="reuse", service="elbv2",
               id=facts.get("target_group"), params={},
               summary=f"register the sensors in its listener's target group {facts.get('target_group')}"),
    ]
    return actions


def _created(ctx: Context, facts: dict) -> list[Action]:
    target = ctx.plan.target
    nlb = target.type == "nlb"
    vpc, subnet, _cidr = sensor_network(ctx)
    lb_name, tg_name = ctx.name_tag("lb"), ctx.name_tag("lb/target-group")
    port = VXLAN_PORT if nlb else GENEVE_PORT
    protocol = "UDP" if nlb else "GENEVE"
    lb_params: dict = {"Name": elb_name(ctx.setup, "nlb" if nlb else "gwlb"),
                       "Type": "network" if nlb else "gateway"}
    if nlb:
        lb_params["Scheme"] = "internal"
    lb_params.update(Subnets=[subnet], Tags=_elb_tags(ctx, lb_name))
    listener: dict = {"LoadBalancerArn": Ref("lb"),
                      "DefaultActions": [{"Type": "forward", "TargetGroupArn": Ref("lb/target-group")}]}
    if nlb:
        listener.update(Protocol="UDP", Port=VXLAN_PORT)
    zones = "on: traffic is spread over sensors in every zone" if target.cross_zone else "off"
    what = "internal Network Load Balancer" if nlb else "Gateway Load Balancer"
    actions = [
        Action(step=STEP, key="lb/target-group", kind="target-group", verb="create", name=tg_name,
               service="elbv2", api="CreateTargetGroup",
               params={"Name": elb_name(ctx.setup, "tg"), "Protocol": protocol, "Port": port, "VpcId": vpc,
                       "TargetType": "instance", "HealthCheckProtocol": "TCP",
                       "HealthCheckPort": str(target.health_check_port), "Tags": _elb_tags(ctx, tg_name)},
               summary=f"create the sensors' target group ({protocol} {port}, instance targets, "
                       f"health check TCP {target.health_check_port})"),
        Action(step=STEP, key="lb/target-group/attributes", kind="tg-attributes", verb="create", service="elbv2",
               api="ModifyTargetGroupAttributes",
               params={"TargetGroupArn": Ref("lb/target-group"),
                       "Attributes": [{"Key": STICKINESS, "Value": "true"},
                                      {"Key": STICKINESS_TYPE, "Value": STICKINESS_TYPES[target.type]}]},
               summary=f"keep each flow on one sensor ({STICKINESS_TYPES[target.type]} stickiness: both "
                       "directions of a connection reach the same sensor)"),
        Action(step=STEP, key="lb", kind="load-balancer", verb="create", name=lb_name, service="elbv2",
               api="CreateLoadBalancer", params=lb_params,
               summary=f"create an {what} {lb_params['Name']} in the sensor's subnet"),
        Action(step=STEP, key="lb/attributes", kind="lb-attributes", verb="create", service="elbv2",
               api="ModifyLoadBalancerAttributes",
               params={"LoadBalancerArn": Ref("lb"),
                       "Attributes": [{"Key": CROSS_ZONE, "Value": "true" if target.cross_zone else "false"}]},
               summary=f"cross-zone load balancing {zones} (the load balancer and the sensors share one "
                       "zone, the sensor subnet's, until you add more)"),
        Action(step=STEP, key="lb/listener", kind="listener", verb="create", service="elbv2",
               api="CreateListener", params=listener,
               summary=f"listen on UDP {VXLAN_PORT}, forward to the sensors" if nlb
               else "listen for all traffic (GENEVE), forward to the sensors"),
    ]
    if nlb:
        return actions
    service_name, endpoint_name = ctx.name_tag("gwlb/service"), ctx.name_tag("gwlb/endpoint")
    return actions + [
        Action(step=STEP, key="gwlb/service", kind="endpoint-service", verb="create", name=service_name,
               api="CreateVpcEndpointServiceConfiguration",
               params={"GatewayLoadBalancerArns": [Ref("lb")], "AcceptanceRequired": False,
                       "TagSpecifications": ctx.tag_specs(service_name, "vpc-endpoint-service")},
               summary="create the endpoint service of the Gateway Load Balancer (no acceptance needed)"),
        Action(step=STEP, key="gwlb/endpoint", kind="vpc-endpoint", verb="create", name=endpoint_name,
               api="CreateVpcEndpoint",
               params={"VpcEndpointType": "GatewayLoadBalancer", "VpcId": facts.get("endpoint_vpc"),
                       "ServiceName": Ref("gwlb/service", "service_name"),
                       "SubnetIds": [facts.get("endpoint_subnet")],
                       "TagSpecifications": ctx.tag_specs(endpoint_name, "vpc-endpoint")},
               summary=f"create the Gateway Load Balancer endpoint in {facts.get('endpoint_vpc')} "
                       f"({facts.get('endpoint_subnet')}, {facts.get('endpoint_why')})"),
    ]


async def inspect_load_balancer(ctx: Context) -> None:
    """Read what the load balancer part needs into the step's facts; Refused says what is missing and the fix.

    The sensor_eni step calls this too (its security group admits the load
    balancer's subnets), so it only reads and records.
    """
    target = ctx.plan.target
    facts = lb_facts(ctx)
    facts.clear()
    if target.type == "eni":
        return
    if target.load_balancer_arn is not None:
        facts.update(await ctx.call(guarded(lambda: _existing_nlb(ctx, target.load_balancer_arn),
                                            context="reading the Network Load Balancer")))
    elif target.gwlb_endpoint_id is not None:
        facts.update(await ctx.call(guarded(lambda: _existing_endpoint(ctx, target.gwlb_endpoint_id),
                                            context="reading the Gateway Load Balancer endpoint")))
    elif target.type == "gwlb":
        facts.update(_endpoint_place(ctx))


def _refuse(reason: str) -> Refused:
    return Refused(STEP, [reason])


def _existing_nlb(ctx: Context, arn: str) -> dict:
    """Exists, is a Network Load Balancer, can be reached from the sources, listens on UDP 4789."""
    field = "target.load_balancer_arn"
    try:
        item = ctx.aws.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    except ClientError as exc:
        raise _refuse(f"{field}: {arn} was not found in {ctx.aws.region} ({exc.response['Error']['Code']}); "
                      "give the ARN of a Network Load Balancer from EC2 > Load balancers, or omit it to have one "
                      "created") from None
    if item.get("Type") != "network":
        raise _refuse(f"{field}: {arn} is a {item.get('Type')} load balancer, not a network one; a mirror target "
                      "can only be a Network Load Balancer (or use target.type: gwlb)")
    attrs = load_balancer_attrs(item)
    problems = _unreachable_sources(ctx, field, attrs["vpc_id"])
    group = _forwarded_group(ctx, field, arn, "UDP", VXLAN_PORT)
    problems += _elsewhere_than_the_sensors(ctx, field, group)
    if problems:
        raise Refused(STEP, problems)
    return {"arn": arn, "attrs": attrs, "subnet_cidrs": _subnet_cidrs(ctx, attrs["subnets"]),
            **_group_facts(ctx, group)}


def _unreachable_sources(ctx: Context, field: str, vpc_id: str) -> list[str]:
    elsewhere = {s["vpc_id"] for s in sources_of(ctx)} - {vpc_id}
    if not elsewhere:
        return []
    unreachable = sorted(elsewhere - connected_vpcs(ctx, vpc_id))
    return [f"{field}: the load balancer is in {vpc_id}, which no VPC peering connection or transit gateway "
            f"connects to the sources' {v}; connect the two VPCs or use a load balancer in {v}" for v in unreachable]


def _forwarded_group(ctx: Context, field: str, arn: str, protocol: str | None, port: int | None) -> dict:
    """The instance target group the listener (``protocol``/``port``; None for a GWLB's) forwards to."""
    listeners = ctx.aws.elbv2.describe_listeners(LoadBalancerArn=arn)["Listeners"]
    wanted = [li for li in listeners if protocol is None or (li.get("Protocol") in (protocol, "TCP_UDP")
                                                             and li.get("Port") == port)]
    if not wanted:
        have = ", ".join(f"{li.get('Protocol')} {li.get('Port')}" for li in listeners) or "none"
        raise _refuse(f"{field}: {arn} has no {protocol} {port} listener (it has: {have}); add one in EC2 > Load "
                      f"balancers > Listeners: protocol {protocol}, port {port}, forwarding to a target group of "
                      "instances, the sensors")
    groups = [a["TargetGroupArn"] for a in wanted[0].get("DefaultActions", []) if a.get("TargetGroupArn")]
    if not groups:
        raise _refuse(f"{field}: the listener {wanted[0]['ListenerArn']} does not forward to a target group; make "
                      "its default action forward to a target group of instances")
    group = ctx.aws.elbv2.describe_target_groups(TargetGroupArns=[groups[0]])["TargetGroups"][0]
    if group.get("TargetType") != "instance":
        raise _refuse(f"{field}: the listener forwards to {groups[0]}, whose targets are of type "
                      f"{group.get('TargetType')}; vpc-mirror registers the sensors as instances: forward to a "
                      "target group of type instance, or omit the field to have one created")
    return group


def _elsewhere_than_the_sensors(ctx: Context, field: str, group: dict) -> list[str]:
    """A problem when the reused target group is in another VPC than the sensors, found before anything changes:
    RegisterTargets would fail halfway through the apply (its error InvalidTarget: "The specified target ... is
    not in the same VPC as the target group",
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_RegisterTargets.html)."""
    made = ctx.state.resource("vpc")
    sensors = sensor_vpc_of(ctx) or (made.id if made is not None and made.status == "created" else None)
    if sensors == group.get("VpcId"):
        return []
    where = sensors or "the VPC this setup creates"
    return [(f"{field}: its listener forwards to the target group {group['TargetGroupArn']} in {group.get('VpcId')}, "
             f"but the sensors are in {where}; a target group takes instances of its own VPC only: put the sensors "
             f"in {group.get('VpcId')} (vpc.vpc_id, or sensor.instance_id), use a load balancer whose target group "
             f"is in {where}, or omit {field} to have one created")]


def _group_facts(ctx: Context, group: dict) -> dict:
    """The reused target group's ARN and the instances registered in it now (draining ones are on their way
    out): a sensor among them was registered by the user, not by this setup."""
    health = ctx.aws.elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])
    return {"target_group": group["TargetGroupArn"],
            "registered": sorted(d["Target"]["Id"] for d in health["TargetHealthDescriptions"]
                                 if d.get("TargetHealth", {}).get("State") != "draining")}


def _subnet_cidrs(ctx: Context, subnet_ids: list[str]) -> list[str]:
    if not subnet_ids:
        return []
    return sorted(s["CidrBlock"] for s in ctx.aws.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"])


def _existing_endpoint(ctx: Context, endpoint_id: str) -> dict:
    """A Gateway Load Balancer endpoint, available, whose service's load balancer is in this account."""
    field = "target.gwlb_endpoint_id"
    try:
        endpoints = ctx.aws.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    except ClientError as exc:
        raise _refuse(f"{field}: {endpoint_id} was not found in {ctx.aws.region} "
                      f"({exc.response['Error']['Code']}); give a Gateway Load Balancer endpoint id from VPC > "
                      "Endpoints, or omit it to have one created") from None
    endpoint = endpoints[0]
    if endpoint.get("VpcEndpointType") != "GatewayLoadBalancer":
        raise _refuse(f"{field}: {endpoint_id} is a {endpoint.get('VpcEndpointType')} endpoint; a mirror target "
                      "needs a GatewayLoadBalancer endpoint")
    if (endpoint.get("State") or "").lower() != "available":
        raise _refuse(f"{field}: {endpoint_id} is {endpoint.get('State')}, not available; accept it on its "
                      "endpoint service (VPC > Endpoint services > Endpoint connections) or wait, then apply again")
    services = [s for page in ctx.aws.ec2.get_paginator("describe_vpc_endpoint_service_configurations").paginate()
                for s in page["ServiceConfigurations"] if s.get("ServiceName") == endpoint.get("ServiceName")]
    if not services or not services[0].get("GatewayLoadBalancerArns"):
        raise _refuse(f"{field}: its endpoint service {endpoint.get('ServiceName')} is not in this account, so the "
                      "sensors cannot be registered with the Gateway Load Balancer behind it; run vpc-mirror in the "
                      "service's account, or omit the field to have a load balancer and endpoint created")
    arn = services[0]["GatewayLoadBalancerArns"][0]
    item = ctx.aws.elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]
    attrs = load_balancer_attrs(item)
    group = _forwarded_group(ctx, field, arn, None, None)
    problems = _elsewhere_than_the_sensors(ctx, field, group)
    if problems:
        raise Refused(STEP, problems)
    return {"arn": arn, "attrs": attrs, "subnet_cidrs": _subnet_cidrs(ctx, attrs["subnets"]),
            "endpoint": {"vpc_id": endpoint.get("VpcId"), "subnets": endpoint.get("SubnetIds", []),
                         "state": "available"},
            **_group_facts(ctx, group)}


def _endpoint_place(ctx: Context) -> dict:
    """The subnet for a new GWLB endpoint: a source's, in the sensor's zone when one is (the endpoint service is
    offered only in the load balancer's zones)."""
    sources = sources_of(ctx)
    if not sources:
        raise _refuse("target.type: gwlb puts the Gateway Load Balancer endpoint in a subnet of the sources' VPC, "
                      "but there is no source yet; list one in sources.instances, or give an existing endpoint "
                      "as target.gwlb_endpoint_id")
    zone = sensor_zone(ctx)
    chosen = endpoint_source(ctx, sources)
    same_zone = zone is not None and chosen["az"] == zone
    why = f"{chosen['instance_id']}'s subnet" + (f", in the sensor's zone {zone}" if same_zone else "")
    if zone is not None and not same_zone:
        why += f"; ! no source is in the sensor's zone {zone}, where the load balancer is: AWS offers the service " \
               "only there, so put the sensor in a source's zone"
    return {"endpoint_vpc": chosen["vpc_id"], "endpoint_subnet": chosen["subnet_id"], "endpoint_why": why}
