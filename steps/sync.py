"""sync: an applied setup's mirror sessions follow its sources as instances come, go and change tags.

A sync round is the apply engine run again over the current sources: the
steps from ``sources`` on are inspected and planned anew; first, the records
that only sources which went needed (their sessions, dedicated ENIs) are
deleted through the engine's kinds, which delete only what carries this
setup's tag, and marked deleted (first, so AWS's per-ENI and per-target limits
have room); then the plan is executed, so what exists is found (by id and by
tag) and only what is missing is made, each create's ClientToken saved before
the call; last, the VXLAN rules that only the sources which went needed are
revoked. State is saved after every call, so a round killed anywhere is finished by the
next; on an unchanged VPC a round makes no mutating call.

When a step refuses the new plan (a listed source cannot be mirrored, the
targets have no room for a listed one), nothing new is made, but the sources
that went are still removed and their rules revoked: a refusal never keeps
mirroring what is gone. Only when the sources themselves cannot be read as
they are now is nothing changed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import asdict, dataclass, field

from vpc_mirror.models.actions import Action
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, execute, guarded, is_live, undo_step
from vpc_mirror.steps.problems import UserProblem
from vpc_mirror.steps.setup import STEPS, open_context
from vpc_mirror.steps.sources import SourcesStep, sources_of
from vpc_mirror.steps.state_store import StateStore

#: The steps a sync plans again: the sources and every step after them (sessions, ENIs, rules follow them).
SYNCED_STEPS = STEPS[next(i for i, s in enumerate(STEPS) if s.name == SourcesStep.name):]
_INSTANCE = re.compile(r"\bi-[0-9a-f]{8,17}\b")
#: Where the ingress rules this setup added are remembered (the capture ENI's group is the sensor_eni step's).
_LEDGER_STEP, _LEDGER = "sensor_eni", "admitted"


class NotApplied(UserProblem):
    """sync was asked for a setup that is not (fully) applied: there is nothing to follow yet."""


@dataclass(frozen=True)
class SourceChange:
    """One source that got or lost its session, or was skipped: ``detail`` says the session or the reason."""

    instance_id: str
    name: str | None
    instance_type: str | None
    detail: str


@dataclass
class SyncResult:
    """What one sync round changed."""

    setup: str
    added: list[SourceChange] = field(default_factory=list)
    removed: list[SourceChange] = field(default_factory=list)
    skipped: list[SourceChange] = field(default_factory=list)
    #: source CIDRs newly admitted to, and revoked from, the capture ENI's security group
    admitted: list[str] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    #: why the new plan was refused (then nothing was added; the removals above were still made)
    refused: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.admitted or self.revoked)

    def document(self) -> dict:
        """The `sync --json` document."""
        return {"setup": self.setup, "changed": self.changed,
                **{what: [asdict(c) for c in getattr(self, what)] for what in ("added", "removed", "skipped")},
                "admitted": self.admitted, "revoked": self.revoked, "refused": self.refused}


class SyncRefused(Refused):
    """The round's new plan was refused; ``result`` says what it did all the same (the removals, if any)."""

    def __init__(self, result: SyncResult):
        super().__init__("sync", result.refused)
        self.result = result


def sync_saved(store: StateStore, name: str, **options) -> SyncResult:
    """One sync round of a saved setup, under its lock (SetupBusy while an apply or another sync runs);
    ``options`` are open_context's."""
    with store.lock(name):
        plan, state = store.load_answers(name), store.load(name)
        if plan is None or state is None:
            raise NotApplied(f"no applied setup named {name!r} in {store.root}; apply it first "
                             "(vpc-mirror apply ANSWERS.yaml), then sync it")
        ctx = open_context(plan, store, **options)
        try:
            return asyncio.run(sync_setup(ctx))
        finally:
            ctx.close()


async def sync_setup(ctx: Context) -> SyncResult:
    """Reconcile the setup's sessions with its sources now. SyncRefused when the new plan cannot be applied
    (e.g. a listed source was terminated): nothing was added, and its ``result`` lists the removals made."""
    _check_applied(ctx)
    before = {s["instance_id"]: s for s in sources_of(ctx)}
    live_before = _live_sessions(ctx)
    ledger = _ledger(ctx)
    known = set(ledger)
    actions: list[Action] = []
    refused: list[str] = []
    planned_steps: set[str] = set()
    for step in SYNCED_STEPS:
        try:
            await step.inspect(ctx)
        except Refused as exc:
            refused += exc.reasons
            continue
        planned_steps.add(step.name)
        actions += step.plan(ctx)
    if SourcesStep.name not in planned_steps:  # which sources went is not known: nothing is changed
        raise SyncRefused(SyncResult(setup=ctx.setup, refused=refused))
    current = {s["instance_id"] for s in sources_of(ctx)}
    planned = {a.key for a in actions}
    for step in reversed(SYNCED_STEPS[1:]):  # first, so that AWS's per-ENI and per-target limits have room
        await _remove_stale(ctx, step.name, planned, current)
    if not refused:
        for step in SYNCED_STEPS[1:]:
            step_actions = [a for a in actions if a.step == step.name]
            admits = _entries(ctx, [a for a in step_actions if a.kind == "security-group-ingress"])
            if admits - ledger:  # remembered before the rules are added: a crash cannot leave one unknown
                ledger |= admits
                _save_ledger(ctx, ledger)
            await execute(ctx, step_actions)
    revoked: list[str] = []
    wanted = _entries(ctx, [a for a in actions if a.kind == "security-group-ingress"])
    if _LEDGER_STEP in planned_steps:  # else what the sources still need is not known: nothing is revoked
        revoked = await _revoke(ctx, ledger - wanted)
        _save_ledger(ctx, ledger & wanted if refused else wanted)
    admitted = [] if refused else sorted({e[4] for e in wanted - known})
    result = await _result(ctx, before, live_before, admitted, revoked)
    if refused:
        result.refused = refused
        raise SyncRefused(result)
    return result


def _check_applied(ctx: Context) -> None:
    unfinished = [f"{s.name.replace('_', '-')}: {ctx.state.step(s.name).status}" for s in STEPS
                  if ctx.state.step(s.name).status not in ("done", "skipped")]
    if unfinished:
        raise NotApplied(f"setup {ctx.setup!r} is not fully applied ({', '.join(unfinished)}); run "
                         f"`vpc-mirror resume {ctx.setup}` first, then sync it")


def _live_sessions(ctx: Context) -> dict[str, str]:
    """Session key -> id of the sources' sessions the setup has now (as its state says)."""
    return {key: res.id for key, res in ctx.state.step("session").resources.items()
            if is_live(res) and _INSTANCE.search(key)}


async def _remove_stale(ctx: Context, step: str, planned: set[str], current: set[str]) -> None:
    """Delete (ours only) what the step made for an instance that is no longer a source; forget reused records
    (a source's primary ENI) of such instances."""
    resources = ctx.state.step(step).resources
    stale = {key for key, res in resources.items()
             if key not in planned and res.status != "deleted"
             and any(iid not in current for iid in _INSTANCE.findall(key))}
    if not stale:
        return
    await undo_step(ctx, step, {k for k in stale if resources[k].status in ("created", "intended")})
    with ctx.changing():
        for key in stale:
            if resources[key].status == "reused":
                del resources[key]


def _entries(ctx: Context, ingress: list[Action]) -> set[tuple]:
    """(group id, protocol, from port, to port, CIDR) of each IPv4/IPv6 range the ingress actions admit."""
    out = set()
    for action in ingress:
        params = ctx.resolve(action.params)
        for perm in params["IpPermissions"]:
            base = (params["GroupId"], perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
            out |= {base + (r["CidrIp"],) for r in perm.get("IpRanges", [])}
            out |= {base + (r["CidrIpv6"],) for r in perm.get("Ipv6Ranges", [])}
    return out


def _ledger(ctx: Context) -> set[tuple]:
    """The ingress rules this setup added; a setup that has not synced yet added what its last plan admits."""
    saved = ctx.facts(_LEDGER_STEP).get(_LEDGER)
    if saved is not None:
        return {tuple(e) for e in saved}
    actions = [a for step in SYNCED_STEPS[1:] for a in step.plan(ctx) if a.kind == "security-group-ingress"]
    return _entries(ctx, actions)


def _save_ledger(ctx: Context, entries: set[tuple]) -> None:
    with ctx.changing():
        ctx.facts(_LEDGER_STEP)[_LEDGER] = sorted((list(e) for e in entries), key=str)


def _is_host(cidr: str) -> bool:
    return cidr.endswith(("/32", "/128"))


async def _revoke(ctx: Context, stale: set[tuple]) -> list[str]:
    """Revoke the single-address rules in ``stale`` that the groups still have; returns their CIDRs."""
    stale = {e for e in stale if _is_host(e[4])}
    groups = sorted({e[0] for e in stale})
    if not groups:
        return []

    def revoke() -> list[str]:
        done = []
        for group in ctx.aws.ec2.describe_security_groups(GroupIds=groups)["SecurityGroups"]:
            present = {(group["GroupId"], p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
                        r.get("CidrIp") or r.get("CidrIpv6"))
                       for p in group.get("IpPermissions", []) for r in p.get("IpRanges", []) + p.get("Ipv6Ranges", [])}
            gone = sorted(stale & present, key=str)
            if not gone:
                continue
            perms = [{"IpProtocol": e[1], "FromPort": e[2], "ToPort": e[3],
                      **({"Ipv6Ranges": [{"CidrIpv6": e[4]}]} if ":" in e[4] else {"IpRanges": [{"CidrIp": e[4]}]})}
                     for e in gone]
            ctx.aws.ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=perms)
            done += [e[4] for e in gone]
            ctx.log(f"✓ revoked {', '.join(e[4] for e in gone)} from {group['GroupId']}")
        return done

    return await ctx.call(guarded(revoke, context="revoking the VXLAN rules of removed sources"))


async def _result(ctx: Context, before: dict[str, dict], live_before: dict[str, str], admitted: list[str],
                  revoked: list[str]) -> SyncResult:
    facts = ctx.facts(SourcesStep.name)
    now = {s["instance_id"]: s for s in sources_of(ctx)}
    live_after = _live_sessions(ctx)
    result = SyncResult(setup=ctx.setup, admitted=admitted, revoked=revoked)
    sessions = ctx.state.step("session").resources
    for key in sorted(live_after.keys() - live_before.keys()):
        iid = key.rpartition("/")[2]
        source = now.get(iid, {})
        number = sessions[key].attrs.get("session_number")
        result.added.append(SourceChange(iid, source.get("name"), source.get("instance_type"),
                                         f"session {number} ({live_after[key]})"))
    gone = sorted(live_before.keys() - live_after.keys())
    states = await _instance_states(ctx, [k.rpartition("/")[2] for k in gone])
    for key in gone:
        iid = key.rpartition("/")[2]
        source = before.get(iid, {})
        state = states.get(iid, "terminated")
        why = ("terminated" if state in ("shutting-down", "terminated")
               else "no longer a source" if not source
               else "no longer matches sources.select" if source.get("selected") else "no longer listed")
        result.removed.append(SourceChange(iid, source.get("name"), source.get("instance_type"),
                                           f"{why}; session {live_before[key]} deleted"))
    result.skipped = [SourceChange(s["instance_id"], s["name"], s["instance_type"], s["reason"])
                      for s in facts.get("skipped", [])]
    for s in ctx.facts("session").get("skipped", []):  # selected, but its ENI has no room for our session
        source = now.get(s["instance_id"], {})
        result.skipped.append(SourceChange(s["instance_id"], source.get("name"), source.get("instance_type"),
                                           s["reason"]))
    return result


async def _instance_states(ctx: Context, ids: list[str]) -> dict[str, str]:
    """Instance id -> state name of those that AWS still knows (a filter: an unknown id is no error)."""
    if not ids:
        return {}

    def look() -> dict[str, str]:
        out = {}
        for page in ctx.aws.ec2.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-id", "Values": ids}]):
            for reservation in page["Reservations"]:
                out |= {i["InstanceId"]: i["State"]["Name"] for i in reservation["Instances"]}
        return out

    return await ctx.call(guarded(look, context="reading the removed sources"))
