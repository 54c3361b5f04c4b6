"""Step 5 — sources: the instances to monitor, each checked for mirroring support.

Refuses, before anything is created, every source AWS would refuse, with the
reason (DescribeInstanceTypes' hypervisor and bare-metal flags plus the
documented exceptions in models.mirroring_support), and every source the
sensor cannot be reached from: "The traffic mirror source and the traffic
mirror target (monitoring appliance) can be in the same VPC. Or they can be in
a different VPCs that are connected through intra-Region VPC peering, a transit
gateway, or by a Gateway Load Balancer endpoint to connect to a Gateway Load
Balancer in a different VPC" (Traffic Mirroring Guide, "How Traffic Mirroring
works", https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-how-it-works.html).
So with a gwlb target the sources need only reach the endpoint's VPC (the
mirror target is the endpoint), not the sensors'.
An instance listed twice (by id and by ``name:``) is mirrored once.

``sources.select`` adds the live instances matching a tag, subnet or VPC
selector (``vpc-mirror sync`` follows them as they come and go). A selected
instance AWS cannot mirror, or cannot reach the sensor from, is skipped with
its reason (never fatal: a VPC always has some); the setup's own instances
(sensors, test beacon) are never selected.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action
from vpc_mirror.models.mirroring_support import support_of
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.ec2_describe import find_instances, name_tag, select_instances
from vpc_mirror.steps.engine import Refused, Step, guarded


def instance_type_info(ctx: Context, types: set[str]) -> dict[str, dict]:
    info: dict[str, dict] = {}
    paginator = ctx.aws.ec2.get_paginator("describe_instance_types")
    for page in paginator.paginate(InstanceTypes=sorted(types)):
        for item in page["InstanceTypes"]:
            info[item["InstanceType"]] = item
    return info


class SourcesStep(Step):
    name = "sources"
    title = "Sources"

    async def inspect(self, ctx: Context) -> None:
        """``facts["sources"]``: the instances to mirror (listed, then selected); ``facts["skipped"]``: the
        selected ones that cannot be, each with its reason. A listed one that cannot be is refused."""
        refs = list(ctx.plan.sources.instances)
        selectors = list(ctx.plan.sources.select)

        def look():
            found, problems = find_instances(ctx.aws, refs)
            selected = select_instances(ctx.aws, selectors) if selectors else {}
            every = list(found.values()) + [inst for inst, _ in selected.values()]
            types = instance_type_info(ctx, {i["InstanceType"] for i in every}) if every else {}
            subnet_ids = sorted({i["SubnetId"] for i in every if i.get("SubnetId")})
            subnets = ctx.aws.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"] if subnet_ids else []
            return found, selected, problems, types, {s["SubnetId"]: s["CidrBlock"] for s in subnets}

        found, selected, problems, types, subnet_cidrs = await ctx.call(
            guarded(look, context="reading the source instances"))
        sources: dict[str, dict] = {}
        skipped: list[dict] = []
        sensor_id = ctx.facts("sensor").get("instance_id") or ctx.plan.sensor.instance_id
        for ref in refs:
            inst = found.get(ref)
            if inst is None:
                continue
            if inst["InstanceId"] in sources:  # the same instance by id and by name
                sources[inst["InstanceId"]]["refs"].append(ref)
                continue
            source = _source(inst, [ref], False, types, subnet_cidrs)
            if not source["supported"]:
                problems.append(f"sources.instances: {source['label']} cannot be mirrored: {source['reason']}")
            if inst["InstanceId"] == sensor_id:
                problems.append(f"sources.instances: {source['label']} is the sensor; a mirror target cannot be "
                                "a source")
            sources[inst["InstanceId"]] = source
        ours = _own_instances(ctx) | {sensor_id}
        for iid in sorted(selected):
            inst, matched = selected[iid]
            if iid in sources or iid in ours or _made_here(ctx, inst):
                continue  # listed too (mirrored once), or the sensor, the test beacon, another of this setup's
            source = _source(inst, matched, True, types, subnet_cidrs)
            if source["supported"]:
                sources[iid] = source
            else:
                skipped.append(_skip(source, source["reason"]))
        for s in sources.values():
            if len(s["refs"]) > 1 and not s["selected"]:
                ctx.log(f"sources.instances: {' and '.join(s['refs'])} are the same instance {s['instance_id']}; "
                        "it is mirrored once")
        (what, vpc), unreachable = await self._unreachable(ctx, list(sources.values()))
        for s in unreachable:
            apart = (f"in {s['vpc_id']} and {what} in {vpc}, which no VPC peering connection or transit gateway "
                     "connects; AWS mirrors only within a VPC or between VPCs so connected")
            if s["selected"]:
                del sources[s["instance_id"]]
                skipped.append(_skip(s, f"it is {apart}"))
            else:
                other = ("mirror it with a second setup, whose endpoint goes in its VPC"
                         if ctx.plan.target.type == "gwlb" else f"use a sensor in {s['vpc_id']}")
                problems.append(f"sources.instances: {s['label']} is {apart}: peer {s['vpc_id']} with {vpc}, "
                                f"attach both to a transit gateway, or {other}")
        if problems:
            raise Refused(self.name, problems)
        ctx.facts(self.name)["sources"] = list(sources.values())
        ctx.facts(self.name)["skipped"] = skipped

    async def _unreachable(self, ctx: Context, sources: list[dict]) -> tuple[tuple[str, str | None], list[dict]]:
        """Where mirrored traffic goes (what, its VPC) and the sources in a VPC that no peering or transit gateway
        connects to that one; a note on each source when it is a VPC this setup creates (nothing can connect it
        yet). The sensor's VPC, or with a gwlb target its endpoint's."""
        if ctx.plan.target.type == "gwlb":
            what = "the Gateway Load Balancer endpoint"
            vpc = await ctx.call(guarded(lambda: gwlb_endpoint_vpc(ctx, sources),
                                         context="reading the Gateway Load Balancer endpoint"))
        else:
            what, vpc = "the sensor", sensor_vpc_of(ctx)
        elsewhere = [s for s in sources if s["vpc_id"] != vpc]
        if not elsewhere:
            return (what, vpc), []
        if vpc is None:
            if ctx.plan.target.type != "gwlb" and ctx.plan.sensor.mode == "launch" and ctx.plan.vpc.mode == "create":
                for s in elsewhere:
                    s["note"] = (f"{s['vpc_id']} is not connected to the VPC this setup creates; peer them or "
                                 "attach both to a transit gateway, or no mirrored traffic arrives")
            return (what, vpc), []
        connected = await ctx.call(guarded(lambda: connected_vpcs(ctx, vpc),
                                           context="reading VPC peering connections and transit gateways"))
        return (what, vpc), [s for s in elsewhere if s["vpc_id"] not in connected]

    def plan(self, ctx: Context) -> list[Action]:
        facts = ctx.facts(self.name)
        return [
            Action(step=self.name, key=f"source/{s['instance_id']}", kind="source", verb="check",
                   summary=f"monitor {s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']}, "
                           f"{s['private_ip']}): {s['reason']}"
                           + (f"; selected by {' and '.join(s['refs'])}" if s.get("selected") else _listed(s))
                           + (f"; ! {s['note']}" if "note" in s else ""))
            for s in facts.get("sources", [])
        ] + [
            Action(step=self.name, key=f"source/{s['instance_id']}", kind="source", verb="check",
                   summary=f"skip {s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']}), selected "
                           f"by {' and '.join(s['refs'])}: {s['reason']}")
            for s in facts.get("skipped", [])
        ]


def _source(inst: dict, refs: list[str], selected: bool, types: dict[str, dict], subnet_cidrs: dict) -> dict:
    """The facts of one source instance; ``selected``: it came only from ``sources.select`` (``refs``: the
    selectors it matched), not from ``sources.instances`` (``refs``: how it was listed)."""
    itype = inst["InstanceType"]
    name = name_tag(inst.get("Tags"))
    info = types.get(itype, {})
    support = support_of(itype, info.get("Hypervisor"), bool(info.get("BareMetal")))
    primary = next(n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
    return {
        "ref": refs[0],
        "refs": refs,
        "selected": selected,
        "instance_id": inst["InstanceId"],
        "name": name,
        "instance_type": itype,
        "state": inst["State"]["Name"],
        "private_ip": inst.get("PrivateIpAddress"),
        "subnet_id": inst.get("SubnetId"),
        "subnet_cidr": subnet_cidrs.get(inst.get("SubnetId")),
        "az": inst["Placement"]["AvailabilityZone"],
        "vpc_id": inst.get("VpcId"),
        "primary_eni": primary["NetworkInterfaceId"],
        "security_groups": [g["GroupId"] for g in inst.get("SecurityGroups", [])],
        "device_indexes": sorted(n["Attachment"]["DeviceIndex"] for n in inst["NetworkInterfaces"]),
        "supported": support.supported,
        "reason": support.reason,
        "label": f"{inst['InstanceId']} ({name or 'no name'}, {itype})",
    }


def _skip(source: dict, reason: str) -> dict:
    """A selected instance that is not mirrored, and why (``facts["skipped"]``)."""
    return {"instance_id": source["instance_id"], "name": source["name"], "instance_type": source["instance_type"],
            "refs": source["refs"], "reason": reason}


def _own_instances(ctx: Context) -> set[str]:
    """Instances this setup made or uses (its sensors, the test beacon): never selected as sources."""
    return {r.id for step in ctx.state.steps.values() for r in step.resources.values()
            if r.kind == "instance" and r.id}


def _made_here(ctx: Context, inst: dict) -> bool:
    """An instance carrying this setup's tags, though its record has no id yet (a launch whose answer was lost)."""
    return ctx.owns(inst.get("Tags")) and (name_tag(inst.get("Tags")) or "").startswith(ctx.name_tag(""))


def _listed(source: dict) -> str:
    refs = source.get("refs", [])
    return f" (listed {len(refs)} times, as {' and '.join(refs)}: mirrored once)" if len(refs) > 1 else ""


def sensor_vpc_of(ctx: Context) -> str | None:
    """The sensor's VPC; None when this setup creates it (or it could not be read)."""
    if ctx.plan.sensor.mode == "existing":
        return ctx.facts("sensor").get("vpc_id")
    return ctx.facts("vpc").get("vpc_id") if ctx.plan.vpc.mode == "existing" else None


def sensor_zone(ctx: Context) -> str | None:
    """The sensor subnet's Availability Zone, where a load balancer this setup creates goes."""
    return ctx.facts("vpc").get("subnet_az") or ctx.facts("sensor").get("az")


def endpoint_source(ctx: Context, sources: list[dict]) -> dict:
    """The source in whose subnet a new Gateway Load Balancer endpoint goes: the first in the sensor's zone when
    one is (AWS offers the endpoint service only in the load balancer's zones), else the first."""
    zone = sensor_zone(ctx)
    return next((s for s in sources if zone is not None and s["az"] == zone), sources[0])


def gwlb_endpoint_vpc(ctx: Context, sources: list[dict]) -> str | None:
    """The VPC of the Gateway Load Balancer endpoint the sources mirror to: the given one's
    (``target.gwlb_endpoint_id``; None when it cannot be read: the target step says why), the one this setup
    made, or where it makes one (``endpoint_source``); None without a source."""
    endpoint_id = ctx.plan.target.gwlb_endpoint_id
    if endpoint_id is not None:
        try:
            found = ctx.aws.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
        except ClientError:
            return None
        return found[0].get("VpcId") if found else None
    made = ctx.state.resource("gwlb/endpoint")
    if made is not None and made.status == "created" and made.attrs.get("vpc_id"):
        return made.attrs["vpc_id"]
    return endpoint_source(ctx, sources)["vpc_id"] if sources else None


def connected_vpcs(ctx: Context, vpc_id: str) -> set[str]:
    """VPCs of this region joined to ``vpc_id`` by an active peering connection or a shared transit gateway.

    Routes are not read: a connection that exists is taken as one the user routes through.
    """
    region = ctx.aws.region
    out: set[str] = set()
    for page in ctx.aws.ec2.get_paginator("describe_vpc_peering_connections").paginate():
        for pcx in page["VpcPeeringConnections"]:
            ends = [pcx.get("RequesterVpcInfo", {}), pcx.get("AccepterVpcInfo", {})]
            if pcx.get("Status", {}).get("Code") != "active" or any(e.get("Region", region) != region for e in ends):
                continue
            ids = {e.get("VpcId") for e in ends}
            if vpc_id in ids:
                out |= ids
    attachments = [a for page in ctx.aws.ec2.get_paginator("describe_transit_gateway_attachments").paginate(
                       Filters=[{"Name": "resource-type", "Values": ["vpc"]}])
                   for a in page["TransitGatewayAttachments"] if a.get("State") == "available"]
    gateways = {a["TransitGatewayId"] for a in attachments if a.get("ResourceId") == vpc_id}
    out |= {a["ResourceId"] for a in attachments if a["TransitGatewayId"] in gateways}
    return out - {vpc_id}


def sources_of(ctx: Context) -> list[dict]:
    """The inspected sources (facts of the sources step)."""
    return ctx.facts(SourcesStep.name).get("sources", [])
