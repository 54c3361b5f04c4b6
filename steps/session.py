"""Step 10 — session: one mirror session per source ENI [runbook 8].

Picks the lowest session number free on every ENI (other setups' sessions
count), and refuses an ENI that already has AWS's 3 sessions or is a target.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.models.mirroring_support import (
    MAX_SESSIONS_PER_SOURCE_ENI,
    MAX_SOURCES_PER_ENI_TARGET,
    family_of,
    sources_per_eni_target,
)
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step, guarded
from vpc_mirror.steps.source_eni import source_eni_key
from vpc_mirror.steps.sources import sources_of
from vpc_mirror.steps.test_beacon import mirrors_beacon


class SourceEniUse(BaseModel):
    """One source ENI as inspected: others' sessions on it, the session number picked, what is wrong with it.

    Kept in the step's facts (saved with the state, so a model rather than a
    dataclass) for preflight, which lists one check per source ENI.
    """

    model_config = ConfigDict(frozen=True)

    instance_id: str
    eni: str
    #: session numbers other setups use on this ENI
    in_use: tuple[int, ...]
    number: int
    problems: tuple[str, ...]


class SessionStep(Step):
    name = "session"
    title = "Mirror sessions"

    async def inspect(self, ctx: Context) -> None:
        """Per source ENI: sessions of others on it, and whether it is a target; pick a free number."""
        enis = {s["instance_id"]: s["primary_eni"] for s in sources_of(ctx)}
        if ctx.plan.source_eni.mode == "dedicated":
            enis = {iid: ctx.state.resource(source_eni_key(iid)) for iid in enis}
            enis = {iid: r.id for iid, r in enis.items() if r is not None and r.id and r.status == "created"}
        eni_ids = sorted(set(enis.values()))

        def look():
            sessions, targets = [], []
            if eni_ids:
                for page in ctx.aws.ec2.get_paginator("describe_traffic_mirror_sessions").paginate(
                        Filters=[{"Name": "network-interface-id", "Values": eni_ids}]):
                    sessions += page["TrafficMirrorSessions"]
                for page in ctx.aws.ec2.get_paginator("describe_traffic_mirror_targets").paginate(
                        Filters=[{"Name": "network-interface-id", "Values": eni_ids}]):
                    targets += page["TrafficMirrorTargets"]
            return sessions, targets

        sessions, targets = await ctx.call(guarded(look, context="reading existing mirror sessions"))
        problems = await self._target_capacity(ctx, len(enis) + mirrors_beacon(ctx))
        others: dict[str, list[int]] = {}
        for s in sessions:
            if s["NetworkInterfaceId"] in eni_ids and not ctx.owns(s.get("Tags")):
                others.setdefault(s["NetworkInterfaceId"], []).append(s["SessionNumber"])
        target_enis = {t.get("NetworkInterfaceId") for t in targets}
        wanted = ctx.plan.session.session_number
        numbers = {}
        checked: list[SourceEniUse] = []
        for iid, eni in enis.items():
            used = sorted(others.get(eni, []))
            eni_problems = []
            if eni in target_enis:
                eni_problems.append(f"sources.instances: {iid}'s ENI {eni} is a mirror target; "
                                    "it cannot also be a source")
            if len(used) >= MAX_SESSIONS_PER_SOURCE_ENI:
                eni_problems.append(f"sources.instances: {iid}'s ENI {eni} already has {len(used)} mirror sessions "
                                    f"(numbers {used}), AWS's limit; delete one or drop this source")
            if wanted is not None and wanted in used:
                eni_problems.append(f"session.session_number: {wanted} is already used on {eni} ({iid}); "
                                    "choose another number or omit it to pick the lowest free one")
            numbers[iid] = wanted if wanted is not None else next(n for n in range(1, 32767) if n not in used)
            checked.append(SourceEniUse(instance_id=iid, eni=eni, in_use=tuple(used), number=numbers[iid],
                                        problems=tuple(eni_problems)))
            problems += eni_problems
        ctx.facts(self.name)["source_enis"] = checked
        if problems:
            raise Refused(self.name, problems)
        ctx.facts(self.name)["session_numbers"] = numbers

    async def _target_capacity(self, ctx: Context, sources: int) -> list[str]:
        """AWS's sources-per-ENI-target limit, checked before anything is created."""
        if sources <= MAX_SOURCES_PER_ENI_TARGET:
            return []
        sensor_type = ctx.facts("sensor").get("instance_type") or ctx.plan.sensor.instance_type
        family = family_of(sensor_type)

        def look() -> dict[str, int]:
            sizes = {}
            for page in ctx.aws.ec2.get_paginator("describe_instance_types").paginate(
                    Filters=[{"Name": "instance-type", "Values": [f"{family}.*"]}]):
                for item in page["InstanceTypes"]:
                    if not item.get("BareMetal"):
                        sizes[item["InstanceType"]] = item["VCpuInfo"]["DefaultVCpus"]
            return sizes

        limit = sources_per_eni_target(sensor_type, await ctx.call(guarded(look, context="reading instance types")))
        if sources <= limit:
            return []
        return [f"sources.instances: {sources} sources, but an ENI target on a {sensor_type} takes at most {limit} "
                f"(AWS's limit; 100 on the largest size of a family, e.g. m5.24xlarge); "
                "use a larger sensor.instance_type or fewer sources"]

    def plan(self, ctx: Context) -> list[Action]:
        numbers = ctx.facts(self.name).get("session_numbers", {})
        wanted = ctx.plan.session.session_number
        actions = [
            self._session(ctx, f"session/{s['instance_id']}", Ref(source_eni_key(s["instance_id"])),
                          numbers.get(s["instance_id"], wanted or 1),
                          f"{s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']})")
            for s in sources_of(ctx)
        ]
        if mirrors_beacon(ctx):  # a new instance: no other session on its ENI yet
            actions.append(self._session(ctx, "session/test-beacon", Ref("test-beacon", "primary_eni"), wanted or 1,
                                         f"the test beacon ({ctx.plan.test_beacon.instance_type})"))
        return actions

    def _session(self, ctx: Context, key: str, eni: Ref, number: int, what: str) -> Action:
        answers = ctx.plan.session
        name = ctx.name_tag(key)
        params: dict = {
            "NetworkInterfaceId": eni,
            "TrafficMirrorTargetId": Ref("target"),
            "TrafficMirrorFilterId": Ref("filter"),
            "SessionNumber": number,
            "Description": answers.description,
            "TagSpecifications": ctx.tag_specs(name, "traffic-mirror-session"),
        }
        if answers.vni is not None:
            params["VirtualNetworkId"] = answers.vni
        if answers.packet_length is not None:
            params["PacketLength"] = answers.packet_length
        vni = answers.vni if answers.vni is not None else "chosen by AWS"
        return Action(step=self.name, key=key, kind="mirror-session", verb="create", name=name,
                      api="CreateTrafficMirrorSession", params=params,
                      summary=f"mirror {what}: session {number}, VNI {vni}")


def source_eni_uses(ctx: Context) -> list[SourceEniUse]:
    """The source ENIs the session step inspected last (read back as models after a reload)."""
    return [SourceEniUse.model_validate(use) for use in ctx.facts(SessionStep.name).get("source_enis", [])]
