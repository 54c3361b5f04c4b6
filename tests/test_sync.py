"""`vpc-mirror sync`: a setup's sessions follow the instances its sources.select matches, against the sandbox."""

from __future__ import annotations

import asyncio
import json

import pytest
from vpc_mirror.models.plan import SourcesPlan, TestBeaconPlan
from vpc_mirror.models.state import State
from vpc_mirror.steps import sync as sync_step
from vpc_mirror.steps.context import StepFailed
from vpc_mirror.steps.engine import Refused
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.steps.sync import SyncResult, sync_setup
from vpc_mirror.tui import sync_cli
from vpc_mirror.tui.cli import main

from tests.awsfacts import (
    Crash,
    Recorder,
    demo_plan,
    ec2,
    fill_sessions,
    inventory,
    run,
)

SELECT_PROD = demo_plan(sources=SourcesPlan(select=["tag:env=prod"]), test_beacon=TestBeaconPlan(enabled=False))


def launch(sandbox, count: int, instance_type: str, env: str = "prod") -> list[str]:
    """Instances tagged env=ENV in the demo's first subnet, as another team's deploy would start them."""
    c = ec2(sandbox)
    web = c.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-1"]}])["Reservations"][0]["Instances"][0]
    made = c.run_instances(ImageId=web["ImageId"], InstanceType=instance_type, MinCount=count, MaxCount=count,
                           SubnetId=web["SubnetId"],
                           TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "env", "Value": env}]}])
    return [i["InstanceId"] for i in made["Instances"]]


def retag(sandbox, ids: list[str], env: str) -> None:
    ec2(sandbox).create_tags(Resources=ids, Tags=[{"Key": "env", "Value": env}])


def sync(sandbox, state_dir, plan=SELECT_PROD, recorder: Recorder | None = None, concurrency: int = 8):
    """One sync round as `vpc-mirror sync` runs it, with an optional recorder."""
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       concurrency=concurrency)
    if recorder:
        ctx.aws.on_call(recorder.before, recorder.after)
    try:
        return asyncio.run(sync_setup(ctx))
    finally:
        ctx.close()


def mirrored(sandbox, setup: str = "demo") -> dict[str, int]:
    """Instance id -> how many of the setup's sessions mirror its primary ENI."""
    c = ec2(sandbox)
    owner = {n["NetworkInterfaceId"]: i["InstanceId"] for r in c.describe_instances()["Reservations"]
             for i in r["Instances"] for n in i["NetworkInterfaces"]}
    out: dict[str, int] = {}
    for s in c.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]:
        if {"Key": "vpc-mirror:setup", "Value": setup} in s.get("Tags", []):
            iid = owner.get(s["NetworkInterfaceId"], s["NetworkInterfaceId"])
            out[iid] = out.get(iid, 0) + 1
    return out


def admitted(sandbox) -> set[str]:
    """The CIDRs the capture ENI's group admits VXLAN from."""
    c = ec2(sandbox)
    group = c.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["vpc-mirror-demo-vxlan"]}])
    return {r["CidrIp"] for p in group["SecurityGroups"][0]["IpPermissions"] for r in p.get("IpRanges", [])}


def addresses(sandbox, ids) -> set[str]:
    found = ec2(sandbox).describe_instances(InstanceIds=list(ids))["Reservations"]
    return {f"{i['PrivateIpAddress']}/32" for r in found for i in r["Instances"]}


def test_sync_follows_instances_that_come_go_and_change_tags(sandbox, state_dir):
    first = launch(sandbox, 5, "m5.large")
    run(sandbox, state_dir, plan=SELECT_PROD)
    assert mirrored(sandbox) == {i: 1 for i in first}
    assert admitted(sandbox) == addresses(sandbox, first)
    first_addresses = addresses(sandbox, first)
    # Another tool mirrors one of them too: sync must leave its session alone when ours goes.
    c = ec2(sandbox)
    eni = c.describe_instances(InstanceIds=[first[4]])["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
    other_target = c.create_traffic_mirror_target(NetworkInterfaceId=c.create_network_interface(
        SubnetId=eni["SubnetId"])["NetworkInterface"]["NetworkInterfaceId"])["TrafficMirrorTarget"]
    other_filter = c.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    foreign = c.create_traffic_mirror_session(
        NetworkInterfaceId=eni["NetworkInterfaceId"], SessionNumber=2,
        TrafficMirrorTargetId=other_target["TrafficMirrorTargetId"],
        TrafficMirrorFilterId=other_filter["TrafficMirrorFilterId"])["TrafficMirrorSession"]["TrafficMirrorSessionId"]

    # Ten new tagged instances (three AWS cannot mirror), five terminate, two are retagged env=dev.
    new = launch(sandbox, 7, "m5.large")
    xen = launch(sandbox, 2, "t2.micro")
    metal = launch(sandbox, 1, "m5.metal")
    c.terminate_instances(InstanceIds=first[:3] + new[:2])
    retag(sandbox, first[3:], "dev")

    result = sync(sandbox, state_dir)
    assert mirrored(sandbox) == {i: 1 for i in new[2:]}
    assert {a.instance_id for a in result.added} == set(new[2:])
    assert {r.instance_id: r.detail.split(";")[0] for r in result.removed} == \
        {**{i: "terminated" for i in first[:3]}, **{i: "no longer matches sources.select" for i in first[3:]}}
    assert {s.instance_id: s.detail for s in result.skipped} == {
        **{i: "t2.micro is a Xen (non-Nitro) type outside AWS's supported list; use a Nitro type" for i in xen},
        metal[0]: "m5.metal is bare metal; AWS does not mirror bare-metal instances"}
    assert [s["TrafficMirrorSessionId"] for s in c.describe_traffic_mirror_sessions(
        TrafficMirrorSessionIds=[foreign])["TrafficMirrorSessions"]] == [foreign]
    # VXLAN is admitted from exactly the mirrored sources now: the new ones added, the gone ones revoked.
    assert admitted(sandbox) == addresses(sandbox, new[2:])
    assert set(result.admitted) == addresses(sandbox, new[2:])
    assert set(result.revoked) == first_addresses

    # Nothing changed since: a second sync makes no mutating call and says so.
    before = inventory(sandbox)
    recorder = Recorder()
    again = sync(sandbox, state_dir, recorder=recorder)
    assert recorder.mutating_calls() == []
    assert not again.changed and again.added == again.removed == []
    assert inventory(sandbox) == before


def test_stopped_source_keeps_its_session_and_a_retagged_one_comes_back(sandbox, state_dir):
    ids = launch(sandbox, 2, "m5.large")
    run(sandbox, state_dir, plan=SELECT_PROD)
    ec2(sandbox).stop_instances(InstanceIds=[ids[0]])  # AWS keeps sessions on a stopped instance's ENI
    retag(sandbox, [ids[1]], "dev")
    sync(sandbox, state_dir)
    assert mirrored(sandbox) == {ids[0]: 1}
    retag(sandbox, [ids[1]], "prod")
    result = sync(sandbox, state_dir)
    assert mirrored(sandbox) == {ids[0]: 1, ids[1]: 1}
    assert [a.instance_id for a in result.added] == [ids[1]]


def test_sync_killed_at_every_mutating_call_resumes_without_duplicates_or_orphans(sandbox, state_dir):
    first = launch(sandbox, 2, "m5.large")
    run(sandbox, state_dir, plan=SELECT_PROD)
    new = launch(sandbox, 2, "m5.large", env="dev")

    def flip(away: bool) -> None:
        """away: first[0] leaves prod and the two new ones join it (one sync: 5 mutating calls); else back."""
        retag(sandbox, first[:1], "dev" if away else "prod")
        retag(sandbox, new, "prod" if away else "dev")

    flip(away=True)
    recorder = Recorder()
    sync(sandbox, state_dir, recorder=recorder)
    away, away_inventory, calls = (mirrored(sandbox), admitted(sandbox)), inventory(sandbox), recorder.mutating_calls()
    assert sorted(calls) == sorted(["DeleteTrafficMirrorSession", "AuthorizeSecurityGroupIngress",
                                    "CreateTrafficMirrorSession", "CreateTrafficMirrorSession",
                                    "RevokeSecurityGroupIngress"])
    assert mirrored(sandbox) == {first[1]: 1, new[0]: 1, new[1]: 1}
    flip(away=False)
    recorder = Recorder()
    sync(sandbox, state_dir, recorder=recorder)
    back, back_calls = inventory(sandbox), sorted(recorder.mutating_calls())
    assert mirrored(sandbox) == {first[0]: 1, first[1]: 1}
    for k in range(1, len(calls) + 1):
        for where in ("before", "after"):
            flip(away=True)
            with pytest.raises(Crash):
                sync(sandbox, state_dir, recorder=Recorder(**{f"crash_{where}": k}), concurrency=1)
            sync(sandbox, state_dir)
            # What a sync changes (our sessions, the VXLAN rule) as the uncrashed sync left it: no duplicate,
            # no orphan; the whole account is compared once at the end.
            assert (mirrored(sandbox), admitted(sandbox)) == away, f"sync after a crash {where} call {k} differs"
            flip(away=False)  # and back, so the next crash interrupts the same sync; nothing is left to finish
            recorder = Recorder()
            sync(sandbox, state_dir, recorder=recorder)
            assert sorted(recorder.mutating_calls()) == back_calls, f"crash {where} call {k}: going back differs"
    assert inventory(sandbox) == back
    flip(away=True)
    sync(sandbox, state_dir)
    assert inventory(sandbox) == away_inventory
    recorder = Recorder()
    sync(sandbox, state_dir, recorder=recorder)
    assert recorder.mutating_calls() == []


def test_a_selected_instance_whose_eni_has_no_session_left_is_skipped_with_the_reason(sandbox, state_dir):
    ids = launch(sandbox, 1, "m5.large")
    run(sandbox, state_dir, plan=SELECT_PROD)
    full = launch(sandbox, 1, "m5.large")
    ec2(sandbox).create_tags(Resources=full, Tags=[{"Key": "Name", "Value": "full-1"}])
    fill_sessions(sandbox, "full-1")  # another tool's 3 sessions: AWS's limit per source ENI
    result = sync(sandbox, state_dir)
    assert mirrored(sandbox) == {ids[0]: 1}
    assert result.added == result.removed == []
    [skipped] = result.skipped
    assert skipped.instance_id == full[0] and "already has 3 mirror sessions" in skipped.detail


def test_selected_sources_past_the_eni_targets_room_are_skipped_and_those_mirrored_keep_their_sessions(
        sandbox, state_dir):
    # One sensor, a t3a.xlarge: its ENI target takes 10 sources (AWS's limit). Eleven match: one is skipped.
    ids = sorted(launch(sandbox, 11, "m5.large"))
    ctx = run(sandbox, state_dir, plan=SELECT_PROD)
    assert mirrored(sandbox) == {i: 1 for i in ids[:10]}  # which: the sources' order, by instance id
    assert [s["instance_id"] for s in ctx.facts("session")["skipped"]] == ids[10:]
    # The lowest one is retagged and two more come: 12 match, 9 have a session and keep it, one more fits.
    retag(sandbox, ids[:1], "dev")
    new = launch(sandbox, 2, "m5.large")
    waiting = sorted(ids[10:] + new)
    result = sync(sandbox, state_dir)
    assert [r.instance_id for r in result.removed] == ids[:1]
    assert [a.instance_id for a in result.added] == waiting[:1]
    assert mirrored(sandbox) == {i: 1 for i in ids[1:10] + waiting[:1]}
    assert [s.instance_id for s in result.skipped] == waiting[1:]
    reason = result.skipped[0].detail
    assert reason.startswith("no room left on the ENI targets: 12 sources to mirror")
    assert "t3a.xlarge takes at most 10" in reason
    assert "set target.type: nlb" in reason and "or sensor.count: 2" in reason
    # The next round skips the same two and changes nothing.
    recorder = Recorder()
    again = sync(sandbox, state_dir, recorder=recorder)
    assert recorder.mutating_calls() == [] and not again.changed
    assert [s.instance_id for s in again.skipped] == waiting[1:]


def test_a_refused_round_still_removes_the_sources_that_went(cli, sandbox, state_dir):
    listed_and_selected = SELECT_PROD.model_copy(
        update={"sources": SourcesPlan(instances=["name:web-1"], select=["tag:env=prod"])})
    ids = launch(sandbox, 1, "m5.large")
    run(sandbox, state_dir, plan=listed_and_selected)
    web = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": ["web-1"]}])[
        "Reservations"][0]["Instances"][0]["InstanceId"]
    assert mirrored(sandbox) == {web: 1, ids[0]: 1}
    # Another tool replaces our session on the listed web-1 with its own three (AWS's limit): web-1 is refused.
    state = StateStore(state_dir).load("demo")
    ec2(sandbox).delete_traffic_mirror_session(TrafficMirrorSessionId=state.resource(f"session/{web}").id)
    fill_sessions(sandbox, "web-1")
    retag(sandbox, ids, "dev")

    code, out, err = cli("sync", "demo")
    assert code == 2
    assert f"removed  {ids[0]} (no name, m5.large): no longer matches sources.select; session tms-" in out
    assert "nothing new was mirrored; the removals above were made" in err
    assert f"sources.instances: {web}'s ENI" in err and "already has 3 mirror sessions" in err
    assert mirrored(sandbox) == {}
    assert admitted(sandbox) == addresses(sandbox, [web])  # the retagged one's rule revoked, web-1's kept


def test_a_listed_source_that_was_terminated_is_refused_with_nothing_changed(sandbox, state_dir):
    ids = launch(sandbox, 1, "m5.large")
    plan = SELECT_PROD.model_copy(update={"sources": SourcesPlan(instances=ids, select=["tag:env=prod"])})
    run(sandbox, state_dir, plan=plan)
    ec2(sandbox).terminate_instances(InstanceIds=ids)
    recorder = Recorder()
    with pytest.raises(Refused) as err:
        sync(sandbox, state_dir, plan=plan, recorder=recorder)
    assert f"sources.instances: {ids[0]} does not exist (or is terminated)" in "\n".join(err.value.reasons)
    assert recorder.mutating_calls() == []


# -- the command line ----------------------------------------------------


@pytest.fixture
def cli(sandbox, state_dir, capsys):
    def go(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir)])
        out = capsys.readouterr()
        return code, out.out, out.err
    return go


def test_sync_command_prints_changes_then_no_change_and_json(cli, sandbox, state_dir):
    ids = launch(sandbox, 1, "m5.large")
    run(sandbox, state_dir, plan=SELECT_PROD)
    new = launch(sandbox, 1, "m5.large")
    xen = launch(sandbox, 1, "t2.micro")
    retag(sandbox, ids, "dev")

    code, out, err = cli("sync", "demo")
    assert code == 0, err
    assert "sync demo: 1 added, 1 removed" in out
    assert f"added    {new[0]} (no name, m5.large): session 1 (tms-" in out
    assert f"removed  {ids[0]} (no name, m5.large): no longer matches sources.select; session tms-" in out
    assert f"skipped  {xen[0]} (no name, t2.micro): t2.micro is a Xen" in out

    code, out, _ = cli("sync", "demo")
    assert code == 0 and "sync demo: no change" in out and f"skipped  {xen[0]}" in out

    code, out, err = cli("sync", "demo", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["setup"] == "demo" and doc["changed"] is False and doc["added"] == doc["removed"] == []
    assert doc["skipped"] == [{"instance_id": xen[0], "name": None, "instance_type": "t2.micro",
                               "detail": "t2.micro is a Xen (non-Nitro) type outside AWS's supported list; "
                                         "use a Nitro type"}]
    assert doc["admitted"] == doc["revoked"] == []


def test_sync_refuses_a_setup_that_is_not_applied_or_busy(cli, sandbox, state_dir):
    code, _, err = cli("sync", "demo")
    assert code == 2 and "no applied setup named 'demo'" in err and "apply it first" in err

    run(sandbox, state_dir, plan=SELECT_PROD)
    store = StateStore(state_dir)
    with store.lock("demo"):
        code, _, err = cli("sync", "demo")
    assert code == 1 and "setup 'demo' is in use by another vpc-mirror process" in err

    state = store.load("demo")
    state.step("session").status = "failed"
    store.save(state)
    code, _, err = cli("sync", "demo")
    assert code == 2 and "not fully applied (session: failed)" in err and "vpc-mirror resume demo" in err


@pytest.mark.parametrize("every", ["5", "5 m", "0m", "30s", "1.5h", "2d", "soon"])
def test_sync_every_refuses_what_is_not_a_duration_of_a_minute_to_a_week(cli, every):
    code, _, err = cli("sync", "demo", "--every", every)
    assert code == 2 and "--every" in err and every in err


def test_sync_every_repeats_rounds_until_ctrl_c(cli, sandbox, state_dir, monkeypatch):
    run(sandbox, state_dir, plan=SELECT_PROD)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 1:
            launch(sandbox, 1, "m5.large")  # appears between the rounds
            return
        raise KeyboardInterrupt

    monkeypatch.setattr(sync_cli.time, "sleep", sleep)
    code, out, err = cli("sync", "demo", "--every", "5m")
    assert code == 130 and "interrupted; the state is saved" in err
    assert sleeps == [300, 300]
    assert out.count("sync demo: no change") == 1 and out.count("sync demo: 1 added, 0 removed") == 1
    assert out.count("next sync in 5m") == 2


@pytest.mark.parametrize("failure", [StepFailed("target", "the mirror target stayed pending; resume to continue"),
                                     TimeoutError("gave up waiting for the sensor after 600 s; resume to continue")])
def test_a_round_that_fails_is_said_and_the_next_one_runs(cli, sandbox, state_dir, monkeypatch, failure):
    store = StateStore(state_dir)
    store.save_answers(SELECT_PROD)
    store.save(State(setup="demo"))
    fails = [True, True, False]  # the single round; then with --every, one that fails and one that succeeds

    async def sync_setup(ctx):
        if fails.pop(0):
            raise failure
        return SyncResult(setup=ctx.setup)

    monkeypatch.setattr(sync_step, "sync_setup", sync_setup)
    code, out, err = cli("sync", "demo")
    assert code == 1 and f"vpc-mirror: {failure}" in err and "run `vpc-mirror sync demo` again" in err
    assert "Traceback" not in err

    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(sync_cli.time, "sleep", sleep)
    code, out, err = cli("sync", "demo", "--every", "1m")
    assert code == 130 and fails == [] and sleeps == [60, 60]
    assert f"UTC: {failure}" in err and "Traceback" not in err
    assert out.count("sync demo: no change") == 1 and out.count("next sync in 1m") == 2
