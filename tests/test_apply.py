"""Apply, resume and teardown against the sandbox over HTTP."""

from __future__ import annotations

import os
import stat

import pytest

from vpc_mirror.models.plan import SessionPlan, SourceEniPlan, SourcesPlan, TestBeaconPlan, VpcPlan
from vpc_mirror.steps.engine import Refused
from vpc_mirror.steps.state_store import StateStore
from tests.awsfacts import Crash, Recorder, demo_plan, ec2, fill_sessions, inventory, run, tagged

#: What the demo answers must create, by the resources' Name tags.
EXPECTED = {
    "sg": {"vpc-mirror-demo-ssh", "vpc-mirror-demo-vxlan"},
    "instance": {"vpc-mirror/demo/sensor", "vpc-mirror/demo/test-beacon"},
    "eni": {"vpc-mirror/demo/sensor-eni"},
    "target": {"vpc-mirror/demo/target"},
    "filter": {"vpc-mirror/demo/filter"},
}


def test_full_apply_creates_exactly_the_expected_resources(sandbox, state_dir):
    before = inventory(sandbox)
    ctx = run(sandbox, state_dir)
    added = inventory(sandbox) - before
    # The two launched instances bring their primary ENIs (tagged by AWS with nothing of ours).
    assert added.pop(("eni", "-", "in-use", "Primary network interface")) == 2
    kinds = {}
    for key, count in added.items():
        assert count == 1, f"duplicate {key}"
        kinds.setdefault(key[0], set()).add(key[1])
    sources = ctx.facts("sources")["sources"]
    # One session per source, and one on the test beacon so its periodic flow shows in the live view.
    assert kinds.pop("session") == {f"vpc-mirror/demo/session/{s['name']}" for s in sources} | \
        {"vpc-mirror/demo/session/test-beacon"}
    assert kinds == EXPECTED
    # The capture ENI's group admits VXLAN from each source's address only, never from everywhere.
    beacon = ctx.state.resource("test-beacon").attrs["private_ip"]
    vxlan = next(k for k in added if k[0] == "sg" and k[1] == "vpc-mirror-demo-vxlan")
    assert set(vxlan[2]) == {("udp", 4789, 4789, f"{a}/32") for a in [s["private_ip"] for s in sources] + [beacon]}
    ssh = next(k for k in added if k[0] == "sg" and k[1] == "vpc-mirror-demo-ssh")
    assert ssh[2] == (("tcp", 22, 22, "198.51.100.7/32"),)
    # The filter mirrors everything, both directions, with amazon-dns.
    filt = next(k for k in added if k[0] == "filter")
    assert {(r[0], r[3]) for r in filt[2]} == {(d, c) for d in ("ingress", "egress") for c in ("0.0.0.0/0", "::/0")}
    assert filt[3] == ("amazon-dns",)
    # Every session: the demo's VNI, each on a different source, numbered 1.
    assert {(k[2], k[3]) for k in added if k[0] == "session"} == {(1, 4242)}
    assert {s["name"] for s in sources} == {"web-1", "api-1", "batch-1"}
    state = StateStore(state_dir).load("demo")
    assert {name: s.status for name, s in state.steps.items() if s.status not in ("done", "skipped")} == \
        {"zeek": "pending", "verify": "pending", "hunt": "pending", "ship": "pending"}  # the sensor's come after apply


def test_every_resource_is_tagged_at_creation(sandbox, state_dir):
    recorder = Recorder()
    calls = []
    recorder_before = recorder.before

    def spy(op, params):
        if not params.get("DryRun"):  # the permission checks before apply
            calls.append((op, params))
        recorder_before(op, params)

    recorder.before = spy
    run(sandbox, state_dir, recorder=recorder)
    creates = [(op, p) for op, p in calls if op.startswith(("Create", "RunInstances"))]
    assert creates
    for op, params in creates:
        specs = params.get("TagSpecifications") or []
        if op in ("CreateRoute", "CreateTrafficMirrorFilterRule"):
            continue
        tags = {t["Key"]: t["Value"] for spec in specs for t in spec["Tags"]}
        assert tags.get("vpc-mirror:setup") == "demo", op
        assert tags.get("Name", "").startswith("vpc-mirror/demo/"), op
    assert not any(op == "CreateTags" for op, _ in calls), "tags must be applied at creation, never afterwards"
    idempotent = {"RunInstances", "CreateNetworkInterface", "CreateTrafficMirrorTarget", "CreateTrafficMirrorFilter",
                  "CreateTrafficMirrorFilterRule", "CreateTrafficMirrorSession"}
    for op, params in calls:
        if op in idempotent:
            assert len(params.get("ClientToken", "")) == 48, op


def test_second_apply_makes_no_mutating_call(sandbox, state_dir):
    run(sandbox, state_dir)
    before = inventory(sandbox)
    recorder = Recorder()
    run(sandbox, state_dir, recorder=recorder)
    assert recorder.mutating_calls() == []
    assert inventory(sandbox) == before


def test_progress_reports_every_created_action_then_all_done_on_resume(sandbox, state_dir):
    import asyncio

    from vpc_mirror.steps.setup import apply_setup, open_context, plan_setup

    events: list[tuple[str, str]] = []
    ctx = open_context(demo_plan(), StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       progress=lambda action, phase, detail: events.append((action.key, phase)))
    try:
        creates = {a.key for a in asyncio.run(plan_setup(ctx)) if a.verb == "create"}
        asyncio.run(apply_setup(ctx))
    finally:
        ctx.close()
    running = [key for key, phase in events if phase == "running"]
    assert sorted(running) == sorted(creates)
    assert {key for key, phase in events if phase == "done"} >= creates

    events.clear()
    # A second apply has nothing to create: every action is reported done, none running.
    ctx = open_context(demo_plan(), StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       progress=lambda action, phase, detail: events.append((action.key, phase)))
    try:
        asyncio.run(apply_setup(ctx))
    finally:
        ctx.close()
    assert {key for key, phase in events} >= creates
    assert {phase for _key, phase in events} == {"done"}


def test_state_file_is_private_and_holds_no_secrets(sandbox, state_dir):
    run(sandbox, state_dir)
    path = StateStore(state_dir).state_path("demo")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    assert "testing" not in text and "SecretAccessKey" not in text and "UserData" not in text


def _uninterrupted(sandbox, tmp_path):
    sandbox.reset("demo")
    recorder = Recorder()
    run(sandbox, tmp_path / "reference", recorder=recorder)
    return inventory(sandbox), len(recorder.mutating_calls())


def test_crash_at_every_mutating_call_then_resume_gives_the_same_resources(sandbox, tmp_path):
    reference, total = _uninterrupted(sandbox, tmp_path)
    assert total >= 15
    for k in range(1, total + 1):
        for where in ("before", "after"):
            sandbox.reset("demo")
            state_dir = tmp_path / f"{where}-{k}"
            recorder = Recorder(**{f"crash_{where}": k})
            with pytest.raises(Crash):
                run(sandbox, state_dir, recorder=recorder, concurrency=1)
            run(sandbox, state_dir)
            assert inventory(sandbox) == reference, f"resume after a crash {where} mutating call {k} differs"


def test_throttled_sandbox_still_completes(sandbox, state_dir):
    sandbox.set_fail_rate(0.2)
    ctx = run(sandbox, state_dir)
    sandbox.set_fail_rate(0.0)
    assert len(ctx.facts("sources")["sources"]) == 3
    assert sum(1 for k in tagged(sandbox, "demo") if k[0] == "session") == 3 + 1  # and the test beacon


def test_teardown_removes_everything_tagged_and_leaves_lookalikes(sandbox, state_dir):
    base = inventory(sandbox)
    c = ec2(sandbox)
    # An untagged look-alike of our capture ENI's group and of our filter, made by someone else.
    vpc = c.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["demo-vpc"]}])["Vpcs"][0]["VpcId"]
    c.create_security_group(GroupName="vpc-mirror-lookalike", Description="not ours", VpcId=vpc)
    c.create_traffic_mirror_filter(
        Description="vpc-mirror filter",
        TagSpecifications=[{"ResourceType": "traffic-mirror-filter",
                            "Tags": [{"Key": "Name", "Value": "vpc-mirror/demo/filter"}]}])
    with_lookalikes = inventory(sandbox)
    run(sandbox, state_dir)
    assert tagged(sandbox, "demo")
    run(sandbox, state_dir, teardown=True)
    assert inventory(sandbox) == with_lookalikes
    assert with_lookalikes - base  # the look-alikes are still there
    recorder = Recorder()
    run(sandbox, state_dir, recorder=recorder, teardown=True)
    assert recorder.mutating_calls() == [], "a second teardown must be a no-op"


def test_unsupported_source_is_refused_with_reason_before_any_change(sandbox, state_dir):
    plan = demo_plan(sources=SourcesPlan(instances=["name:web-1", "name:db-1", "name:legacy-1"]))
    recorder = Recorder()
    before = inventory(sandbox)
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, plan=plan, recorder=recorder)
    reasons = "\n".join(err.value.reasons)
    assert "m6i.large" in reasons and "not supported" in reasons
    assert "t2.micro" in reasons and "Xen" in reasons
    assert "web-1" not in reasons
    assert recorder.mutating_calls() == []
    assert inventory(sandbox) == before


def test_session_number_taken_by_another_setup_is_refused(sandbox, state_dir, tmp_path):
    run(sandbox, state_dir, plan=demo_plan(setup="first", test_beacon=TestBeaconPlan(enabled=False)))
    plan = demo_plan(setup="second", test_beacon=TestBeaconPlan(enabled=False),
                     session=SessionPlan(session_number=1))
    with pytest.raises(Refused) as err:
        run(sandbox, tmp_path / "second", plan=plan)
    assert any("session.session_number: 1 is already used" in r for r in err.value.reasons)
    # Without a number, the second setup picks the next free one.
    run(sandbox, tmp_path / "second", plan=demo_plan(setup="second", test_beacon=TestBeaconPlan(enabled=False)))
    numbers = {k[2] for k in tagged(sandbox, "second") if k[0] == "session"}
    assert numbers == {2}


CREATE_ANSWERS = {
    "vpc": VpcPlan(mode="create", cidr="10.77.0.0/16", ssh_from="203.0.113.9/32"),
    "source_eni": SourceEniPlan(mode="dedicated"),
    "test_beacon": TestBeaconPlan(enabled=False),
    "sources": SourcesPlan(instances=["name:web-1", "name:api-1"]),
}


def test_created_vpc_and_dedicated_enis_apply_and_tear_down(sandbox, state_dir):
    before = inventory(sandbox)
    ctx = run(sandbox, state_dir, plan=demo_plan(**CREATE_ANSWERS))
    added = tagged(sandbox, "demo")
    names = {k[1] for k in added}
    assert {"vpc-mirror/demo/vpc", "vpc-mirror/demo/subnet", "vpc-mirror/demo/igw"} <= names
    assert ("igw", "vpc-mirror/demo/igw", 1) in added  # attached
    everything_added = inventory(sandbox) - before
    assert everything_added[("route", "0.0.0.0/0", "igw-")] == 1
    assert everything_added[("route", "::/0", "igw-")] == 1
    enis = {k[1] for k in added if k[0] == "eni"}
    assert enis == {"vpc-mirror/demo/sensor-eni", "vpc-mirror/demo/source-eni/web-1",
                    "vpc-mirror/demo/source-eni/api-1"}
    # The capture ENI's group admits the dedicated ENIs' addresses, not the instances' primary ones.
    vxlan = next(k for k in everything_added if k[0] == "sg" and k[1] == "vpc-mirror-demo-vxlan")
    dedicated = {ctx.state.resource(f"source-eni/{s['instance_id']}").attrs["private_ip"]
                 for s in ctx.facts("sources")["sources"]}
    assert {rule[3] for rule in vxlan[2]} == {f"{ip}/32" for ip in dedicated}
    run(sandbox, state_dir, plan=demo_plan(**CREATE_ANSWERS), teardown=True)
    assert not tagged(sandbox, "demo")


def test_resource_deleted_behind_our_back_is_recreated_on_resume(sandbox, state_dir):
    run(sandbox, state_dir)
    reference = inventory(sandbox)
    c = ec2(sandbox)
    session = StateStore(state_dir).load("demo").resource(
        next(k for k in StateStore(state_dir).load("demo").steps["session"].resources))
    c.delete_traffic_mirror_session(TrafficMirrorSessionId=session.id)
    recorder = Recorder()
    run(sandbox, state_dir, recorder=recorder)
    assert recorder.mutating_calls() == ["CreateTrafficMirrorSession"]
    assert inventory(sandbox) == reference


def test_reapply_after_teardown_creates_everything_again(sandbox, state_dir):
    run(sandbox, state_dir)
    first = tagged(sandbox, "demo")
    run(sandbox, state_dir, teardown=True)
    assert not tagged(sandbox, "demo")
    run(sandbox, state_dir)
    assert tagged(sandbox, "demo") == first


def test_source_eni_with_three_sessions_is_refused(sandbox, state_dir):
    eni = fill_sessions(sandbox)
    before = inventory(sandbox)
    recorder = Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, recorder=recorder)
    assert any(eni in r and "already has 3 mirror sessions" in r for r in err.value.reasons)
    assert recorder.mutating_calls() == [] and inventory(sandbox) == before
