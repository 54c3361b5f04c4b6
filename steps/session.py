"""Step 10 — session: one mirror session per source ENI [runbook 8].

Picks the lowest session number free on every ENI (other setups' sessions
count), and refuses an ENI that already has AWS's 3 sessions or is a target
(skips it, with the reason, when it was selected by ``sources.select``). With
ENI targets each source goes to one sensor's target, counted against the
sensor type's sources-per-target limit: selected sources past it are skipped
with the reason, listed ones refused; an NLB target mirrors 8500-byte
packets unless ``session.packet_length`` says otherwise, as AWS does.
"""

from __future__ import annotations

from annotated_types import Le
from pydantic import BaseModel, ConfigDict
from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.models.mirroring_support import (
    MAX_SESSIONS_PER_SOURCE_ENI,
    sources_per_eni_target,
)
from vpc_mirror.models.plan import SensorPlan
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step, guarded
from vpc_mirror.steps.fleet import FIRST, sensor_keys, target_key
from vpc_mirror.steps.source_eni import source_eni_key
from vpc_mirror.steps.sources import sources_of
from vpc_mirror.steps.test_beacon import mirrors_beacon

#: "For sessions with Network Load Balancer (NLB) Traffic Mirror targets the default PacketLength will be
#: set to 8500" (EC2 API Reference, CreateTrafficMirrorSession, PacketLength,
#: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateTrafficMirrorSession.html).
NLB_PACKET_LENGTH = 8500
#: The most sensors a setup launches (``sensor.count``'s upper bound in the answers model).
MAX_SENSORS = next(m.le for m in SensorPlan.model_fields["count"].metadata if isinstance(m, Le))


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
        """Per source ENI: sessions of others on it, and whether it is a target; pick a free number.

        A listed source with such a problem is refused; a selected one (sources.select) is skipped with its
        reason (``facts["skipped"]``). With ENI targets, the sources are counted against the targets' limit
        (selected ones past it skipped too) and shared out over the sensors (``facts["targets"]``).
        """
        sources = sources_of(ctx)
        selected = {s["instance_id"] for s in sources if s.get("selected", False)}
        enis = {s["instance_id"]: s["primary_eni"] for s in sources}
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
        others: dict[str, list[int]] = {}
        for s in sessions:
            if s["NetworkInterfaceId"] in eni_ids and not ctx.owns(s.get("Tags")):
                others.setdefault(s["NetworkInterfaceId"], []).append(s["SessionNumber"])
        target_enis = {t.get("NetworkInterfaceId") for t in targets}
        wanted = ctx.plan.session.session_number
        numbers = {}
        checked: list[SourceEniUse] = []
        problems: list[str] = []
        skipped: list[dict] = []
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
            number = wanted if wanted is not None else next(n for n in range(1, 32767) if n not in used)
            checked.append(SourceEniUse(instance_id=iid, eni=eni, in_use=tuple(used), number=number,
                                        problems=tuple(eni_problems)))
            if eni_problems and iid in selected:
                skipped.append({"instance_id": iid, "reason": "; ".join(p.split(": ", 1)[1] for p in eni_problems)})
                continue
            numbers[iid] = number
            problems += eni_problems
        # a dedicated ENI not created yet has no sessions: its source is mirrored all the same
        mirrored = ([s["instance_id"] for s in sources if s["instance_id"] in numbers or s["instance_id"] not in enis]
                    + (["test-beacon"] if mirrors_beacon(ctx) else []))
        targets_of: dict[str, str] = {}
        if ctx.plan.target.type == "eni":
            past, refusal = self._target_capacity(ctx, mirrored, selected)
            problems += refusal
            skipped += [{"instance_id": iid, "reason": reason} for iid, reason in past.items()]
            mirrored = [iid for iid in mirrored if iid not in past]
            numbers = {iid: n for iid, n in numbers.items() if iid not in past}
            targets_of = share_sources(mirrored, sensor_keys(ctx.plan), self._saved_targets(ctx))
        facts = ctx.facts(self.name)
        facts["source_enis"] = checked
        facts["skipped"] = skipped
        for skip in skipped:
            ctx.log(f"sources.select: {skip['instance_id']} skipped: {skip['reason']}")
        if problems:
            raise Refused(self.name, problems)
        facts["session_numbers"] = numbers
        facts["targets"] = targets_of

    def _saved_targets(self, ctx: Context) -> dict[str, str]:
        """Source (instance id, or "test-beacon") -> sensor key, for the sessions this setup has live."""
        sensor_of = {}
        for key in sensor_keys(ctx.plan):
            res = ctx.state.resource(target_key(key))
            if res is not None and res.id and res.status == "created":
                sensor_of[res.id] = key
        out = {}
        for res in ctx.state.step(self.name).resources.values():
            if res.status == "created" and res.attrs.get("target") in sensor_of:
                out[res.key.removeprefix("session/")] = sensor_of[res.attrs["target"]]
        return out

    def _target_capacity(self, ctx: Context, mirrored: list[str], selected: set[str]) -> tuple[dict[str, str],
                                                                                              list[str]]:
        """AWS's sources-per-ENI-target limit for the sensors' type, checked before anything is created: the
        selected sources past it (source -> reason: skipped), or the refusal when the listed ones, the test
        beacon and the sources that already have a session of this setup's (they keep it) do not fit. Which
        are skipped follows the sources' order (selected ones by instance id), so every run skips the same;
        the reason proposes a load balancer (no such limit) or more sensors."""
        sensor_type = ctx.facts("sensor").get("instance_type") or ctx.plan.sensor.instance_type
        limit = sources_per_eni_target(sensor_type)
        count = len(sensor_keys(ctx.plan))
        room = limit * count
        if len(mirrored) <= room:
            return {}, []
        needed = -(-len(mirrored) // limit)
        more = (f", or sensor.count: {needed} (one ENI target each)"
                if ctx.plan.sensor.mode == "launch" and needed <= MAX_SENSORS else "")
        sensors = "a sensor takes" if count == 1 else f"{count} sensors take"
        why = (f"{len(mirrored)} sources to mirror, but an ENI target on a {sensor_type} takes at most {limit} "
               f"(AWS's limit; 100 only on the types AWS's Traffic Mirroring quotas page lists, e.g. m5.24xlarge), "
               f"so {sensors} {room}; set target.type: nlb to put a Network Load Balancer in front of the "
               f"sensors, which has no such limit{more}")
        live = {key.removeprefix("session/") for key, res in ctx.state.step(self.name).resources.items()
                if res.status == "created"}
        optional = [iid for iid in mirrored if iid in selected and iid not in live]
        spare = room - (len(mirrored) - len(optional))
        if spare < 0:
            return {}, [f"target.type: {why}"]
        return dict.fromkeys(optional[spare:], f"no room left on the ENI targets: {why}"), []

    def plan(self, ctx: Context) -> list[Action]:
        facts = ctx.facts(self.name)
        numbers = facts.get("session_numbers", {})
        skipped = {s["instance_id"] for s in facts.get("skipped", [])}
        wanted = ctx.plan.session.session_number
        actions = [
            self._session(ctx, s["instance_id"], Ref(source_eni_key(s["instance_id"])),
                          numbers.get(s["instance_id"], wanted or 1),
                          f"{s['instance_id']} ({s['name'] or 'no name'}, {s['instance_type']})")
            for s in sources_of(ctx) if s["instance_id"] not in skipped
        ]
        if mirrors_beacon(ctx):  # a new instance: no other session on its ENI yet
            actions.append(self._session(ctx, "test-beacon", Ref("test-beacon", "primary_eni"), wanted or 1,
                                         f"the test beacon ({ctx.plan.test_beacon.instance_type})"))
        return actions

    def _session(self, ctx: Context, source: str, eni: Ref, number: int, what: str) -> Action:
        """The session of ``source`` (an instance id, or "test-beacon") to its sensor's target."""
        answers = ctx.plan.session
        key = f"session/{source}"
        name = ctx.name_tag(key)
        sensor = ctx.facts(self.name).get("targets", {}).get(source, FIRST)
        target = target_key(sensor) if ctx.plan.target.type == "eni" else "target"
        params: dict = {
            "NetworkInterfaceId": eni,
            "TrafficMirrorTargetId": Ref(target),
            "TrafficMirrorFilterId": Ref("filter"),
            "SessionNumber": number,
            "Description": answers.description,
            "TagSpecifications": ctx.tag_specs(name, "traffic-mirror-session"),
        }
        if answers.vni is not None:
            params["VirtualNetworkId"] = answers.vni
        length = answers.packet_length
        if length is None and ctx.plan.target.type == "nlb":
            length = NLB_PACKET_LENGTH
        if length is not None:
            params["PacketLength"] = length
        vni = answers.vni if answers.vni is not None else "chosen by AWS"
        to = f" to {sensor}" if target != "target" else ""
        cut = (f", packets cut at {length} bytes" + (" (AWS's default for an NLB target)"
                                                      if answers.packet_length is None else "")
               if length is not None else "")
        return Action(step=self.name, key=key, kind="mirror-session", verb="create", name=name,
                      api="CreateTrafficMirrorSession", params=params,
                      summary=f"mirror {what}{to}: session {number}, VNI {vni}{cut}")


def share_sources(sources: list[str], sensors: list[str], saved: dict[str, str]) -> dict[str, str]:
    """Source -> sensor for ENI targets: a source keeps the sensor its live session goes to (sync relies on
    this: nothing moves), each new one goes to the least loaded sensor (the first of those in fleet order)."""
    load = dict.fromkeys(sensors, 0)
    out: dict[str, str] = {}
    for source in sources:
        if saved.get(source) in load:
            out[source] = saved[source]
            load[saved[source]] += 1
    for source in sources:
        if source not in out:
            sensor = min(sensors, key=lambda k: (load[k], sensors.index(k)))
            out[source] = sensor
            load[sensor] += 1
    return out


def source_eni_uses(ctx: Context) -> list[SourceEniUse]:
    """The source ENIs the session step inspected last (read back as models after a reload)."""
    return [SourceEniUse.model_validate(use) for use in ctx.facts(SessionStep.name).get("source_enis", [])]
