"""Step 5 — sources: the instances to monitor, each checked for mirroring support.

Refuses, before anything is created, every source AWS would refuse, with the
reason (DescribeInstanceTypes' hypervisor and bare-metal flags plus the
documented exceptions in models.mirroring_support).
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action
from vpc_mirror.models.mirroring_support import support_of
from vpc_mirror.steps.engine import Context, Refused, Step, guarded


def _name(inst: dict) -> str | None:
    return next((t["Value"] for t in inst.get("Tags", []) if t["Key"] == "Name"), None)


def find_instances(aws, refs: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Resolve ``i-…`` / ``name:…`` refs to live instances; returns (ref -> instance, problems)."""
    ids = [r for r in refs if not r.startswith("name:")]
    names = [r[5:] for r in refs if r.startswith("name:")]
    found: dict[str, dict] = {}
    problems: list[str] = []
    live = {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}
    if ids:
        paginator = aws.ec2.get_paginator("describe_instances")
        by_id = {}
        for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": ids}, live]):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    by_id[inst["InstanceId"]] = inst
        for ref in ids:
            if ref in by_id:
                found[ref] = by_id[ref]
            else:
                problems.append(f"sources.instances: {ref} does not exist (or is terminated) in {aws.region}")
    if names:
        by_name: dict[str, list[dict]] = {}
        paginator = aws.ec2.get_paginator("describe_instances")
        for page in paginator.paginate(Filters=[{"Name": "tag:Name", "Values": names}, live]):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    by_name.setdefault(_name(inst), []).append(inst)
        for name in names:
            matches = by_name.get(name, [])
            if len(matches) == 1:
                found[f"name:{name}"] = matches[0]
            elif not matches:
                problems.append(f"sources.instances: no instance is named {name!r}; check the Name tag or use its i- id")
            else:
                ids_text = ", ".join(m["InstanceId"] for m in matches)
                problems.append(f"sources.instances: {len(matches)} instances are named {name!r} ({ids_text}); "
                                "use the i- id of the one to monitor")
    return found, problems


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
            info = types.get(itype, {})
            support = support_of(itype, info.get("Hypervisor"), bool(info.get("BareMetal")))
            label = f"{inst['InstanceId']} ({_name(inst) or 'no name'}, {itype})"
            if not support.supported:
                problems.append(f"sources.instances: {label} cannot be mirrored: {support.reason}")
            if inst["InstanceId"] == sensor_id:
                problems.append(f"sources.instances: {label} is the sensor; a mirror target cannot be a source")
            primary = next(n for n in inst["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)
            sources.append({
                "ref": ref,
                "instance_id": inst["InstanceId"],
                "name": _name(inst),
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
