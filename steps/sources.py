"""Step 5 — sources: the instances to monitor, each checked for mirroring support.

Refuses, before anything is created, every source AWS would refuse, with the
reason (DescribeInstanceTypes' hypervisor and bare-metal flags plus the
documented exceptions in models.mirroring_support).
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
        sources = []
        sensor_id = ctx.facts("sensor").get("instance_id") or ctx.plan.sensor.instance_id
        for ref in refs:
            inst = found.get(ref)
            if inst is None:
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
            sources.append({
                "ref": ref,
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
            })
        if problems:
            raise Refused(self.name, problems)
        ctx.facts(self.name)["sources"] = sources

    def plan(self, ctx: Context) -> list[Action]:
        return [
            Action(step=self.name, key=f"source/{s['instance_id']}", kind="source", verb="check",
                   summary=f"monitor {s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']}, "
                           f"{s['private_ip']}): {s['reason']}")
            for s in ctx.facts(self.name).get("sources", [])
        ]


def sources_of(ctx: Context) -> list[dict]:
    """The inspected sources (facts of the sources step)."""
    return ctx.facts(SourcesStep.name).get("sources", [])
