"""Test helpers: what the (sandbox) account holds, independent of ids, and call recording."""

from __future__ import annotations

import asyncio
import functools
import re
from collections import Counter
from pathlib import Path

import boto3

from vpc_mirror.models.answers import parse_answers
from vpc_mirror.sandbox import demo_answers_text
from vpc_mirror.steps.aws import is_mutating
from vpc_mirror.steps.setup import apply_setup, open_context, teardown_setup
from vpc_mirror.steps.state_store import StateStore


def ec2(sandbox):
    return _client(sandbox.endpoint_url, sandbox.region)


@functools.lru_cache
def _client(endpoint_url: str, region: str):
    """One client per sandbox: making one loads the EC2 service model, which took most of each inventory."""
    return boto3.client("ec2", endpoint_url=endpoint_url, region_name=region)


def _tag_name(tags) -> str:
    return next((t["Value"] for t in tags or () if t["Key"] == "Name"), "-")


def inventory(sandbox) -> Counter:
    """Everything in the account, described without ids, counted: equal inventories = same resources."""
    c = ec2(sandbox)
    names = {i["InstanceId"]: _tag_name(i.get("Tags")) for r in c.describe_instances()["Reservations"]
             for i in r["Instances"]}

    def _name(tags) -> str:  # instance ids inside names (sessions) become the instances' names
        return re.sub(r"i-[0-9a-f]+", lambda m: names.get(m.group(0), m.group(0)), _tag_name(tags))

    items: Counter = Counter()
    for v in c.describe_vpcs()["Vpcs"]:
        items[("vpc", _name(v.get("Tags")), v["CidrBlock"])] += 1
    for s in c.describe_subnets()["Subnets"]:
        items[("subnet", _name(s.get("Tags")), s["CidrBlock"])] += 1
    for g in c.describe_internet_gateways()["InternetGateways"]:
        items[("igw", _name(g.get("Tags")), len(g.get("Attachments", [])))] += 1
    for t in c.describe_route_tables()["RouteTables"]:
        for r in t["Routes"]:
            dest = r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock")
            gateway = (r.get("GatewayId") or "")[:4]
            items[("route", dest if gateway != "loca" else "local", gateway)] += 1
    for g in c.describe_security_groups()["SecurityGroups"]:
        perms = sorted(
            (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), r.get("CidrIp") or r.get("CidrIpv6"))
            for p in g.get("IpPermissions", []) for r in p.get("IpRanges", []) + p.get("Ipv6Ranges", [])
        )
        items[("sg", g["GroupName"], tuple(perms))] += 1
    for r in c.describe_instances()["Reservations"]:
        for i in r["Instances"]:
            if i["State"]["Name"] != "terminated":
                items[("instance", _name(i.get("Tags")), i["InstanceType"], len(i["NetworkInterfaces"]))] += 1
    for e in c.describe_network_interfaces()["NetworkInterfaces"]:
        items[("eni", _name(e.get("TagSet")), e["Status"], e.get("Description", ""))] += 1
    for t in c.describe_traffic_mirror_targets()["TrafficMirrorTargets"]:
        items[("target", _name(t.get("Tags")), t.get("Type"))] += 1
    for f in c.describe_traffic_mirror_filters()["TrafficMirrorFilters"]:
        rules = sorted(
            (r["TrafficDirection"], r["RuleNumber"], r["RuleAction"], r["SourceCidrBlock"], r["DestinationCidrBlock"])
            for r in f.get("IngressFilterRules", []) + f.get("EgressFilterRules", [])
        )
        items[("filter", _name(f.get("Tags")), tuple(rules), tuple(f.get("NetworkServices", [])))] += 1
    for s in c.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]:
        items[("session", _name(s.get("Tags")), s["SessionNumber"], s.get("VirtualNetworkId"))] += 1
    return items


def tagged(sandbox, setup: str) -> Counter:
    """Only what carries the setup's tag (by Name prefix)."""
    prefix = f"vpc-mirror/{setup}/"
    return Counter({k: n for k, n in inventory(sandbox).items() if str(k[1]).startswith(prefix)})


class Recorder:
    """Counts API calls; can stop the run (like a crash) before or after the k-th mutating call."""

    def __init__(self, crash_before: int | None = None, crash_after: int | None = None):
        self.calls: list[str] = []
        self.dry_runs: list[str] = []  # permission checks: they change nothing
        self.mutating = 0
        self.crash_before, self.crash_after = crash_before, crash_after

    def before(self, op: str, params: dict) -> None:
        if params.get("DryRun"):
            self.dry_runs.append(op)
            return
        if is_mutating(op):
            if self.crash_before is not None and self.mutating + 1 == self.crash_before:
                raise Crash(f"crash before mutating call {self.crash_before} ({op})")
            self.mutating += 1
        self.calls.append(op)

    def after(self, op: str, params: dict) -> None:
        if params.get("DryRun"):
            return
        if is_mutating(op) and self.crash_after is not None and self.mutating == self.crash_after:
            self.crash_after = None
            raise Crash(f"crash after mutating call {self.mutating} ({op})")

    def mutating_calls(self) -> list[str]:
        return [op for op in self.calls if is_mutating(op)]


def fill_sessions(sandbox, instance: str = "web-1", numbers=(1, 2, 3)) -> str:
    """Another tool's mirror sessions on an instance's primary ENI (AWS allows 3); returns the ENI id."""
    c = ec2(sandbox)
    found = c.describe_instances(Filters=[{"Name": "tag:Name", "Values": [instance]}])["Reservations"][0]["Instances"][0]
    eni = found["NetworkInterfaces"][0]["NetworkInterfaceId"]
    target_eni = c.create_network_interface(SubnetId=found["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"]
    target = c.create_traffic_mirror_target(NetworkInterfaceId=target_eni)["TrafficMirrorTarget"]
    filt = c.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    for number in numbers:
        c.create_traffic_mirror_session(NetworkInterfaceId=eni, SessionNumber=number,
                                        TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
                                        TrafficMirrorFilterId=filt["TrafficMirrorFilterId"])
    return eni


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so nothing in the engine handles it."""


def demo_plan(**changes):
    plan = parse_answers(demo_answers_text())
    return plan.model_copy(update=changes) if changes else plan


def run(sandbox, state_dir: Path, plan=None, recorder: Recorder | None = None, teardown: bool = False,
        concurrency: int = 8):
    """Apply (or tear down) a plan against the sandbox as the CLI would, with an optional recorder."""
    plan = plan or demo_plan()
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       concurrency=concurrency)
    if recorder:
        ctx.aws.on_call(recorder.before, recorder.after)
    try:
        asyncio.run(teardown_setup(ctx) if teardown else apply_setup(ctx))
    finally:
        ctx.close()
    return ctx
