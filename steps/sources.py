"""Step 5 — sources: the instances to monitor, each checked for mirroring support.

Refuses, before anything is created, every source AWS would refuse, with the
reason (DescribeInstanceTypes' hypervisor and bare-metal flags plus the
documented exceptions in models.mirroring_support), and every source the
sensor cannot be reached from: "The traffic mirror source and the traffic
mirror target (monitoring appliance) can be in the same VPC. Or they can be in
a different VPCs that are connected through intra-Region VPC peering, a transit
gateway, ..." (Traffic Mirroring Guide, "How Traffic Mirroring works",
https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-how-it-works.html).
An instance listed twice (by id and by ``name:``) is mirrored once.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action
from vpc_mirror.models.mirroring_support import support_of
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.ec2_describe import find_instances, name_tag
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
        refs = list(ctx.plan.sources.instances)

        def look():
            found, problems = find_instances(ctx.aws, refs)
            types = instance_type_info(ctx, {i["InstanceType"] for i in found.values()}) if found else {}
            subnet_ids = sorted({i["SubnetId"] for i in found.values() if i.get("SubnetId")})
            subnets = ctx.aws.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"] if subnet_ids else []
            return found, problems, types, {s["SubnetId"]: s["CidrBlock"] for s in subnets}

        found, problems, types, subnet_cidrs = await ctx.call(guarded(look, context="reading the source instances"))
        sources: dict[str, dict] = {}
        sensor_id = ctx.facts("sensor").get("instance_id") or ctx.plan.sensor.instance_id
        for ref in refs:
            inst = found.get(ref)
            if inst is None:
                continue
            if inst["InstanceId"] in sources:  # the same instance by id and by name
                sources[inst["InstanceId"]]["refs"].append(ref)
                continue
            itype = inst["InstanceType"]
            name = name_tag(inst.get("Tags"))
            info = types.get(itype, {})
            support = support_of(itype, info.get("Hypervisor"), bool(info.get("BareMetal")))
            label = f"{inst['InstanceId']} ({name or 'no name'}, {itype})"
            if not support.supported:
                problems.append(f"sources.instances: {label} cannot be mirrored: {support.reason}")
            if inst["InstanceId"] == sensor_id:
                problems.append(f"sources.instances: {label} is the sensor; a mirror target cannot be a source")
            primary = next(n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
            sources[inst["InstanceId"]] = {
                "ref": ref,
                "refs": [ref],
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
                "label": label,
            }
        for s in sources.values():
            if len(s["refs"]) > 1:
                ctx.log(f"sources.instances: {' and '.join(s['refs'])} are the same instance {s['instance_id']}; "
                        "it is mirrored once")
        problems += await self._reachable(ctx, list(sources.values()))
        if problems:
            raise Refused(self.name, problems)
        ctx.facts(self.name)["sources"] = list(sources.values())

    async def _reachable(self, ctx: Context, sources: list[dict]) -> list[str]:
        """A problem for each source in a VPC that no peering or transit gateway connects to the sensor's;
        a note on each source when the sensor's VPC is one this setup creates (nothing can connect it yet)."""
        sensor_vpc = sensor_vpc_of(ctx)
        elsewhere = [s for s in sources if s["vpc_id"] != sensor_vpc]
        if not elsewhere:
            return []
        if sensor_vpc is None:
            if ctx.plan.sensor.mode == "launch" and ctx.plan.vpc.mode == "create":
                for s in elsewhere:
                    s["note"] = (f"{s['vpc_id']} is not connected to the VPC this setup creates; peer them or "
                                 "attach both to a transit gateway, or no mirrored traffic arrives")
            return []
        connected = await ctx.call(guarded(lambda: connected_vpcs(ctx, sensor_vpc),
                                           context="reading VPC peering connections and transit gateways"))
        return [f"sources.instances: {s['label']} is in {s['vpc_id']} and the sensor in {sensor_vpc}, which no "
                "VPC peering connection or transit gateway connects; AWS mirrors only within a VPC or between "
                f"VPCs so connected: peer {s['vpc_id']} with {sensor_vpc}, attach both to a transit gateway, or "
                f"use a sensor in {s['vpc_id']}"
                for s in elsewhere if s["vpc_id"] not in connected]

    def plan(self, ctx: Context) -> list[Action]:
        return [
            Action(step=self.name, key=f"source/{s['instance_id']}", kind="source", verb="check",
                   summary=f"monitor {s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']}, "
                           f"{s['private_ip']}): {s['reason']}" + _listed(s)
                           + (f"; ! {s['note']}" if "note" in s else ""))
            for s in ctx.facts(self.name).get("sources", [])
        ]


def _listed(source: dict) -> str:
    refs = source.get("refs", [])
    return f" (listed {len(refs)} times, as {' and '.join(refs)}: mirrored once)" if len(refs) > 1 else ""


def sensor_vpc_of(ctx: Context) -> str | None:
    """The sensor's VPC; None when this setup creates it (or it could not be read)."""
    if ctx.plan.sensor.mode == "existing":
        return ctx.facts("sensor").get("vpc_id")
    return ctx.facts("vpc").get("vpc_id") if ctx.plan.vpc.mode == "existing" else None


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
