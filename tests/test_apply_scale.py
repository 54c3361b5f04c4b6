"""Scale-out against the sandbox over HTTP: NLB and GWLB targets, an existing NLB, fleets of sensors."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends

from vpc_mirror.models.plan import SensorPlan, SourcesPlan, TestBeaconPlan
from vpc_mirror.steps.cost import planned_cost, running_cost
from vpc_mirror.steps.engine import Refused
from vpc_mirror.steps.load_balancer import ELB_NAME_MAX, elb_name
from vpc_mirror.steps.permissions import permission_checks
from vpc_mirror.steps.session import share_sources
from tests.awsfacts import Crash, Recorder, demo_plan, ec2, fill_sessions, run
from tests.exporting import planned
from tests.scale_answers import (
    SETUP_TAG,
    elb,
    everything,
    fleet_plan,
    gwlb_plan,
    lookalike_nlb,
    more_sources,
    nlb_plan,
    other_vpc_subnet,
    registered,
    setup_tagged_elb,
    stickiness,
    target_group_of,
    users_gwlb_endpoint,
    users_nlb,
)

PRIMARY_ENI = ("eni", "-", "in-use", "Primary network interface")
SENSOR_SUBNET = "10.0.1.0/24"  # demo-public-a, where the sensors and the load balancer go


def _added(sandbox, state_dir, plan):
    """Apply ``plan``; what it added to the account, and the run's context."""
    before = everything(sandbox)
    ctx = run(sandbox, state_dir, plan=plan)
    return everything(sandbox) - before, ctx


def _by_kind(added) -> dict[str, set]:
    kinds: dict[str, set] = {}
    for key, count in added.items():
        assert count == 1, f"duplicate {key}"
        kinds.setdefault(key[0], set()).add(key[1])
    return kinds


def _source_hosts(ctx) -> set[str]:
    addresses = [s["private_ip"] for s in ctx.facts("sources")["sources"]]
    return {f"{a}/32" for a in addresses + [ctx.state.resource("test-beacon").attrs["private_ip"]]}


def _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, plan, before_apply):
    recorder = Recorder()
    run(sandbox, state_dir, plan=plan, recorder=recorder)
    assert recorder.mutating_calls() == []
    run(sandbox, state_dir, plan=plan, teardown=True)
    assert everything(sandbox) == before_apply


def test_nlb_target_creates_exactly_its_resources_and_teardown_leaves_a_lookalike(sandbox, state_dir):
    lookalike_nlb(sandbox)
    with_lookalike = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, nlb_plan())
    assert added.pop(PRIMARY_ENI) == 2
    sessions = {k for k in added if k[0] == "session"}
    assert len(sessions) == 4
    kinds = _by_kind({k: n for k, n in added.items() if k[0] != "session"})
    assert kinds == {
        "sg": {"vpc-mirror-demo-ssh", "vpc-mirror-demo-vxlan"},
        "instance": {"vpc-mirror/demo/sensor", "vpc-mirror/demo/test-beacon"},
        "target": {"vpc-mirror/demo/target"},
        "filter": {"vpc-mirror/demo/filter"},
        "lb": {"vpc-mirror/demo/lb"}, "tg": {"vpc-mirror/demo/lb/target-group"}, "listener": {"vpc-mirror/demo/lb"},
    }  # no capture ENI: the NLB sends to the sensor's primary interface
    assert ("target", "vpc-mirror/demo/target", "network-load-balancer") in added
    assert ("lb", "vpc-mirror/demo/lb", "network", "internal", "false") in added
    assert ("tg", "vpc-mirror/demo/lb/target-group", "UDP", 4789, "22", ("vpc-mirror/demo/sensor",)) in added
    assert ("listener", "vpc-mirror/demo/lb", "UDP", 4789, ("vpc-mirror/demo/lb/target-group",)) in added
    # The sensor's group: VXLAN from each source's own address (the NLB keeps it), health checks from the
    # load balancer's subnet; never from everywhere. It is on the sensor's primary interface.
    group = next(k for k in added if k[0] == "sg" and k[1] == "vpc-mirror-demo-vxlan")
    assert set(group[2]) == {("udp", 4789, 4789, h) for h in _source_hosts(ctx)} | {("tcp", 22, 22, SENSOR_SUBNET)}
    sensor = ec2(sandbox).describe_instances(InstanceIds=[ctx.state.resource("sensor").id])["Reservations"][0]
    primary = sensor["Instances"][0]["NetworkInterfaces"][0]
    assert ctx.state.resource("vxlan-sg").id in {g["GroupId"] for g in primary["Groups"]}
    # Every load balancer and target group of ours carries the setup tag (given at creation).
    ours = {arn: tags for arn, tags in setup_tagged_elb(sandbox, "demo").items()
            if any(t["Value"].startswith("vpc-mirror/demo/") for t in tags if t["Key"] == "Name")}
    assert sum(1 for tags in ours.values() if {"Key": SETUP_TAG, "Value": "demo"} in tags) == 2
    # Sessions to an NLB mirror 8500 bytes of each packet, as AWS does.
    lengths = {s.get("PacketLength") for s in ec2(sandbox).describe_traffic_mirror_sessions()["TrafficMirrorSessions"]}
    assert lengths == {8500}
    # Each source's packets, both directions of its connections, go to one sensor.
    assert stickiness(sandbox, "vpc-mirror/demo/lb/target-group") == ("true", "source_ip")
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, nlb_plan(), with_lookalike)
    assert ("lb", "vpc-mirror/demo/lb", "network", "internal", "false") in with_lookalike  # the look-alike stayed


def test_gwlb_target_creates_load_balancer_service_and_endpoint_and_tears_them_down(sandbox, state_dir):
    before = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, gwlb_plan(cross_zone=True))
    assert added.pop(PRIMARY_ENI) == 2
    assert ("lb", "vpc-mirror/demo/lb", "gateway", None, "true") in added
    assert ("tg", "vpc-mirror/demo/lb/target-group", "GENEVE", 6081, "22", ("vpc-mirror/demo/sensor",)) in added
    assert ("endpoint-service", "vpc-mirror/demo/gwlb/service", False) in added
    assert ("endpoint", "vpc-mirror/demo/gwlb/endpoint", "GatewayLoadBalancer") in added
    assert ("target", "vpc-mirror/demo/target", "gateway-load-balancer-endpoint") in added
    assert not any(k[0] == "eni" for k in added)
    # GENEVE and health checks only from the load balancer's subnet.
    group = next(k for k in added if k[0] == "sg" and k[1] == "vpc-mirror-demo-geneve")
    assert set(group[2]) == {("udp", 6081, 6081, SENSOR_SUBNET), ("tcp", 22, 22, SENSOR_SUBNET)}
    endpoint = ec2(sandbox).describe_vpc_endpoints(VpcEndpointIds=[ctx.state.resource("gwlb/endpoint").id])
    first = ctx.facts("sources")["sources"][0]
    assert endpoint["VpcEndpoints"][0]["VpcId"] == first["vpc_id"]
    assert stickiness(sandbox, "vpc-mirror/demo/lb/target-group") == ("true", "source_ip_dest_ip")
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, gwlb_plan(cross_zone=True), before)


def test_existing_nlb_is_reused_its_target_group_gets_the_sensor_and_teardown_leaves_it(sandbox, state_dir):
    arn = users_nlb(sandbox)
    plan = nlb_plan(load_balancer_arn=arn)
    with_users = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, plan)
    assert not any(k[0] in ("lb", "listener") for k in added)  # nothing of ours but the registration
    users_group = next(k for k in everything(sandbox) if k[0] == "tg" and k[1] == "-")
    assert users_group[5] == ("vpc-mirror/demo/sensor",)
    target = ec2(sandbox).describe_traffic_mirror_targets(
        TrafficMirrorTargetIds=[ctx.state.resource("target").id])["TrafficMirrorTargets"][0]
    assert target["NetworkLoadBalancerArn"] == arn
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, plan, with_users)
    assert elb(sandbox).describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]


def test_existing_nlb_that_is_already_a_mirror_target_has_that_target_reused(sandbox, state_dir):
    arn = users_nlb(sandbox)
    theirs = ec2(sandbox).create_traffic_mirror_target(NetworkLoadBalancerArn=arn)["TrafficMirrorTarget"]
    recorder = Recorder()
    run(sandbox, state_dir, plan=nlb_plan(load_balancer_arn=arn), recorder=recorder)
    assert "CreateTrafficMirrorTarget" not in recorder.mutating_calls()  # AWS allows one target per NLB
    sessions = ec2(sandbox).describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    assert {s["TrafficMirrorTargetId"] for s in sessions} == {theirs["TrafficMirrorTargetId"]}
    run(sandbox, state_dir, plan=nlb_plan(load_balancer_arn=arn), teardown=True)
    assert ec2(sandbox).describe_traffic_mirror_targets(
        TrafficMirrorTargetIds=[theirs["TrafficMirrorTargetId"]])["TrafficMirrorTargets"]


def test_existing_gwlb_endpoint_is_reused_and_the_sensor_registered_behind_it(sandbox, state_dir):
    endpoint = users_gwlb_endpoint(sandbox)
    plan = gwlb_plan(gwlb_endpoint_id=endpoint)
    with_users = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, plan)
    assert not any(k[0] in ("lb", "listener", "endpoint", "endpoint-service") for k in added)
    users_group = next(k for k in everything(sandbox) if k[0] == "tg" and k[1] == "-")
    assert users_group[2:] == ("GENEVE", 6081, "22", ("vpc-mirror/demo/sensor",))
    target = ec2(sandbox).describe_traffic_mirror_targets(
        TrafficMirrorTargetIds=[ctx.state.resource("target").id])["TrafficMirrorTargets"][0]
    assert target["GatewayLoadBalancerEndpointId"] == endpoint
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, plan, with_users)


def test_existing_nlb_without_a_vxlan_listener_is_refused_saying_what_to_add(sandbox, state_dir):
    arn = users_nlb(sandbox, listener=False)
    before, recorder = everything(sandbox), Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, plan=nlb_plan(load_balancer_arn=arn), recorder=recorder)
    reasons = "\n".join(err.value.reasons)
    assert "target.load_balancer_arn" in reasons and "no UDP 4789 listener" in reasons
    assert "protocol UDP, port 4789" in reasons
    assert len(err.value.reasons) == 1  # said once, by the target step
    assert recorder.mutating_calls() == [] and everything(sandbox) == before


def test_unknown_nlb_arn_is_refused_before_any_change(sandbox, state_dir):
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/nothere/0123456789abcdef"
    recorder = Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, plan=nlb_plan(load_balancer_arn=arn), recorder=recorder)
    assert any("target.load_balancer_arn" in r and "was not found" in r for r in err.value.reasons)
    assert recorder.mutating_calls() == []


def test_fleet_of_three_with_eni_targets_shares_the_sources_out(sandbox, state_dir):
    before = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, fleet_plan(3))
    kinds = _by_kind({k: v for k, v in added.items() if k != PRIMARY_ENI and k[0] != "session"})
    assert kinds["instance"] == {"vpc-mirror/demo/sensor", "vpc-mirror/demo/sensor-2", "vpc-mirror/demo/sensor-3",
                                 "vpc-mirror/demo/test-beacon"}
    assert kinds["eni"] == {"vpc-mirror/demo/sensor-eni", "vpc-mirror/demo/sensor-2-eni",
                            "vpc-mirror/demo/sensor-3-eni"}
    assert kinds["target"] == {"vpc-mirror/demo/target", "vpc-mirror/demo/target/sensor-2",
                               "vpc-mirror/demo/target/sensor-3"}
    # Four sessions (three sources and the beacon) over three targets: 2, 1, 1, each ENI target used.
    sessions = ec2(sandbox).describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    per_target = sorted(sum(1 for s in sessions if s["TrafficMirrorTargetId"] == t)
                        for t in {ctx.state.resource(k).id for k in ("target", "target/sensor-2", "target/sensor-3")})
    assert per_target == [1, 1, 2]
    assert all("PacketLength" not in s for s in sessions)  # whole packets to ENI targets
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, fleet_plan(3), before)


def test_fleet_of_three_behind_an_nlb_registers_each_sensor(sandbox, state_dir):
    before = everything(sandbox)
    added, ctx = _added(sandbox, state_dir, fleet_plan(3, "nlb"))
    assert ("tg", "vpc-mirror/demo/lb/target-group", "UDP", 4789, "22",
            ("vpc-mirror/demo/sensor", "vpc-mirror/demo/sensor-2", "vpc-mirror/demo/sensor-3")) in added
    assert sum(1 for k in added if k[0] == "target") == 1 and not any(k[0] == "eni" and k[1] != "-" for k in added)
    group = ctx.state.resource("vxlan-sg").id
    for key in ("sensor", "sensor-2", "sensor-3"):
        inst = ec2(sandbox).describe_instances(InstanceIds=[ctx.state.resource(key).id])["Reservations"][0]
        assert group in {g["GroupId"] for g in inst["Instances"][0]["NetworkInterfaces"][0]["Groups"]}
    _no_mutation_on_second_apply_and_clean_teardown(sandbox, state_dir, fleet_plan(3, "nlb"), before)


def test_sources_past_the_eni_target_limit_are_refused_proposing_an_nlb_before_any_change(sandbox, state_dir):
    extra = more_sources(sandbox, 8)  # 3 demo sources + 8 + the test beacon = 12 > 10 on a t3a.xlarge
    plan = demo_plan(sources=SourcesPlan(instances=["name:web-1", "name:api-1", "name:batch-1", *extra]))
    before, recorder = everything(sandbox), Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, plan=plan, recorder=recorder)
    reason = next(r for r in err.value.reasons if r.startswith("target.type"))
    assert "12 sources" in reason and "t3a.xlarge takes at most 10" in reason
    assert "set target.type: nlb" in reason and "sensor.count: 2" in reason
    assert recorder.mutating_calls() == [] and everything(sandbox) == before
    # The same sources behind an NLB: no such limit.
    run(sandbox, state_dir, plan=plan.model_copy(update={"target": nlb_plan().target}))


def test_a_source_keeps_its_sensor_and_new_ones_go_to_the_least_loaded():
    sensors = ["sensor", "sensor-2", "sensor-3"]
    first = share_sources(["a", "b", "c", "d"], sensors, {})
    assert first == {"a": "sensor", "b": "sensor-2", "c": "sensor-3", "d": "sensor"}
    # b's instance went; two new ones: the saved ones stay put, the new fill the least loaded.
    again = share_sources(["a", "c", "d", "e", "f"], sensors, {k: v for k, v in first.items() if k != "b"})
    assert {k: again[k] for k in ("a", "c", "d")} == {"a": "sensor", "c": "sensor-3", "d": "sensor"}
    assert again["e"] == "sensor-2" and again["f"] in ("sensor-2", "sensor-3")


def test_load_balancer_names_fit_aws_rules_and_differ_per_setup():
    assert elb_name("demo", "nlb") == "vpcm-demo-nlb"
    long_a, long_b = "a" * 38 + "-x", "a" * 38 + "-y"
    names = {elb_name(s, role) for s in (long_a, long_b) for role in ("nlb", "gwlb", "tg")}
    assert len(names) == 6
    for name in names:
        assert len(name) <= ELB_NAME_MAX and name[0] != "-" and name[-1] != "-"
        assert all(ch.isalnum() or ch == "-" for ch in name)


#: One source and no test beacon keep each crash-and-resume round short.
SMALL = {"test_beacon": TestBeaconPlan(enabled=False), "sources": SourcesPlan(instances=["name:web-1"])}


def _crash_at_each(sandbox, tmp_path, plan, calls: set[str], later_only: bool = False):
    """Crash before, then after, each mutating call named in ``calls`` (``later_only``: all but the first of
    each, the second sensor's), resume, and compare with an uninterrupted run. Returns the calls crashed at."""
    sandbox.reset("demo")
    recorder = Recorder()
    run(sandbox, tmp_path / "reference", plan=plan, recorder=recorder, concurrency=1)  # the order crashes see
    reference = everything(sandbox)
    ops = recorder.mutating_calls()
    points = [k for k, op in enumerate(ops, start=1)
              if op in calls and not (later_only and op not in ops[:k - 1])]
    for k in points:
        for where in ("before", "after"):
            sandbox.reset("demo")
            state_dir = tmp_path / f"{where}-{k}"
            with pytest.raises(Crash):
                run(sandbox, state_dir, plan=plan, recorder=Recorder(**{f"crash_{where}": k}), concurrency=1)
            run(sandbox, state_dir, plan=plan)
            assert everything(sandbox) == reference, f"resume after a crash {where} {ops[k - 1]} ({k}) differs"
    return [ops[k - 1] for k in points]


def test_nlb_crash_before_and_after_each_load_balancer_call_then_resume(sandbox, tmp_path):
    plan = nlb_plan(cross_zone=True).model_copy(update=SMALL)
    crashed = _crash_at_each(sandbox, tmp_path, plan, {
        "CreateTargetGroup", "CreateLoadBalancer", "ModifyLoadBalancerAttributes", "CreateListener",
        "RegisterTargets", "ModifyNetworkInterfaceAttribute"})
    assert sorted(crashed) == sorted(["CreateTargetGroup", "CreateLoadBalancer", "ModifyLoadBalancerAttributes",
                                      "CreateListener", "RegisterTargets", "ModifyNetworkInterfaceAttribute"])


def test_gwlb_crash_before_and_after_each_endpoint_call_then_resume(sandbox, tmp_path):
    plan = gwlb_plan().model_copy(update=SMALL)
    crashed = _crash_at_each(sandbox, tmp_path, plan, {
        "CreateVpcEndpointServiceConfiguration", "CreateVpcEndpoint", "CreateTrafficMirrorTarget"})
    assert sorted(crashed) == ["CreateTrafficMirrorTarget", "CreateVpcEndpoint",
                               "CreateVpcEndpointServiceConfiguration"]


def test_fleet_crash_before_and_after_each_second_sensor_call_then_resume(sandbox, tmp_path):
    plan = fleet_plan(2).model_copy(update=SMALL)
    crashed = _crash_at_each(sandbox, tmp_path, plan, {
        "RunInstances", "CreateNetworkInterface", "AttachNetworkInterface", "CreateTrafficMirrorTarget"},
        later_only=True)
    assert sorted(crashed) == ["AttachNetworkInterface", "CreateNetworkInterface", "CreateTrafficMirrorTarget",
                               "RunInstances"]


def test_selected_source_with_three_sessions_is_skipped_with_its_reason_not_refused(sandbox, state_dir):
    eni = fill_sessions(sandbox, "web-1")
    plan = demo_plan(sources=SourcesPlan(instances=["name:api-1"], select=["tag:Name=web-1"]),
                     test_beacon=TestBeaconPlan(enabled=False))
    ctx = run(sandbox, state_dir, plan=plan)
    skipped = ctx.facts("session")["skipped"]
    assert [s["instance_id"] for s in skipped] == [ec2(sandbox).describe_network_interfaces(
        NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]["Attachment"]["InstanceId"]]
    assert "already has 3 mirror sessions" in skipped[0]["reason"]
    ours = [s for s in ec2(sandbox).describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
            if any(t["Key"] == SETUP_TAG for t in s.get("Tags", []))]
    assert [s["NetworkInterfaceId"] for s in ours] != [eni] and len(ours) == 1  # api-1's only


def test_load_balancer_calls_are_never_passed_by_the_permission_check(sandbox, state_dir):
    ctx, actions = planned(sandbox, nlb_plan())
    try:
        checks = asyncio.run(permission_checks(ctx, actions))
    finally:
        ctx.close()
    elb_checks = {c.what: c for c in checks if c.what.startswith("elasticloadbalancing:")}
    assert set(elb_checks) == {"elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:CreateLoadBalancer",
                               "elasticloadbalancing:ModifyLoadBalancerAttributes",
                               "elasticloadbalancing:ModifyTargetGroupAttributes",
                               "elasticloadbalancing:CreateListener", "elasticloadbalancing:RegisterTargets"}
    assert all(c.ok is None and "could not tell" in c.detail for c in elb_checks.values())
    assert any(c.what == "ec2:ModifyNetworkInterfaceAttribute" and c.ok for c in checks)


def test_review_cost_shows_the_load_balancer_and_cross_zone_and_matches_the_applied_setup(sandbox, state_dir):
    _, actions = planned(sandbox, nlb_plan(cross_zone=True))
    cost = planned_cost(actions)
    line = cost.line()
    assert "Network Load Balancer: USD 0.0225/hour plus USD 0.006 per capacity-unit hour" in line
    assert "cross-zone on" in line and "USD 0.01/GB each way" in line
    assert cost.hourly == pytest.approx(4 * 0.015 + 0.0225)
    ctx = run(sandbox, state_dir, plan=nlb_plan(cross_zone=True))
    assert running_cost(ctx.state) == cost
    ctx = run(sandbox, state_dir, plan=nlb_plan(cross_zone=True), teardown=True)
    assert running_cost(ctx.state).hourly == 0


def _instance_id(sandbox, ref: str) -> str:
    found = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": [ref.removeprefix("name:")]}])
    return found["Reservations"][0]["Instances"][0]["InstanceId"]


def test_a_sensor_the_user_registered_in_a_reused_nlb_is_left_registered_by_teardown(sandbox, state_dir):
    arn = users_nlb(sandbox)
    group = target_group_of(sandbox, arn)
    sensor = _instance_id(sandbox, more_sources(sandbox, 1, prefix="users-sensor")[0])
    elb(sandbox).register_targets(TargetGroupArn=group, Targets=[{"Id": sensor}])
    plan = nlb_plan(load_balancer_arn=arn).model_copy(
        update={"sensor": SensorPlan(mode="existing", instance_id=sensor), **SMALL})
    recorder = Recorder()
    ctx = run(sandbox, state_dir, plan=plan, recorder=recorder)
    assert "RegisterTargets" not in recorder.mutating_calls()
    assert ctx.state.resource("lb/targets/sensor").status == "reused"
    recorder = Recorder()
    run(sandbox, state_dir, plan=plan, teardown=True, recorder=recorder)
    assert "DeregisterTargets" not in recorder.mutating_calls()
    assert registered(sandbox, group) == [sensor]


def test_gwlb_sources_need_only_reach_the_endpoints_vpc_not_the_sensors(sandbox, state_dir):
    """Sensors in the demo VPC, sources in the default VPC, peered with nothing: the endpoint connects them. A
    source in a third VPC cannot reach the endpoint and is refused, naming the endpoint's VPC."""
    workload = other_vpc_subnet(sandbox)
    sources = more_sources(sandbox, 2, subnet=workload, prefix="workload")
    third = more_sources(sandbox, 1, subnet=other_vpc_subnet(sandbox, "10.99.0.0/24"), prefix="third")
    no_beacon = {"test_beacon": TestBeaconPlan(enabled=False)}
    before, recorder = everything(sandbox), Recorder()
    with pytest.raises(Refused) as err:
        run(sandbox, state_dir, recorder=recorder,
            plan=gwlb_plan().model_copy(update={"sources": SourcesPlan(instances=sources + third), **no_beacon}))
    far = ec2(sandbox).describe_instances(InstanceIds=[_instance_id(sandbox, third[0])])["Reservations"][0][
        "Instances"][0]
    assert [r for r in err.value.reasons if r.startswith("sources.")] == [(
        f"sources.instances: {far['InstanceId']} (third-1, m5.large) is in {far['VpcId']} and the Gateway Load "
        f"Balancer endpoint in {workload['VpcId']}, which no VPC peering connection or transit gateway connects; "
        f"AWS mirrors only within a VPC or between VPCs so connected: peer {far['VpcId']} with {workload['VpcId']}, "
        "attach both to a transit gateway, or mirror it with a second setup, whose endpoint goes in its VPC")]
    assert recorder.mutating_calls() == [] and everything(sandbox) == before

    ctx = run(sandbox, state_dir, plan=gwlb_plan().model_copy(
        update={"sources": SourcesPlan(instances=sources), **no_beacon}))
    endpoint = ec2(sandbox).describe_vpc_endpoints(VpcEndpointIds=[ctx.state.resource("gwlb/endpoint").id])
    assert endpoint["VpcEndpoints"][0]["VpcId"] == workload["VpcId"]
    assert ctx.state.resource("sensor").attrs["vpc_id"] != workload["VpcId"]
    sessions = ec2(sandbox).describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    mirrored = {s["NetworkInterfaceId"] for s in sessions}
    assert mirrored == {s["primary_eni"] for s in ctx.facts("sources")["sources"]} and len(mirrored) == 2


def test_a_reused_load_balancer_whose_target_group_is_not_in_the_sensors_vpc_is_refused_before_any_change(
        sandbox, state_dir):
    elsewhere = other_vpc_subnet(sandbox)
    for plan, field in ((nlb_plan(load_balancer_arn=users_nlb(sandbox, subnet=elsewhere)),
                         "target.load_balancer_arn"),
                        (gwlb_plan(gwlb_endpoint_id=users_gwlb_endpoint(sandbox, lb_subnet=elsewhere)),
                         "target.gwlb_endpoint_id")):
        recorder = Recorder()
        with pytest.raises(Refused) as err:
            run(sandbox, state_dir, plan=plan.model_copy(update=SMALL), recorder=recorder)
        [reason] = [r for r in err.value.reasons if "target group" in r]
        assert reason.startswith(f"{field}: its listener forwards to the target group")
        assert f"in {elsewhere['VpcId']}, but the sensors are in " in reason
        assert f"omit {field} to have one created" in reason
        assert recorder.mutating_calls() == []


class _CrashAfter(Recorder):
    """Stops the run (like a crash) right after the first ``op`` call (not its permission check); for a run of
    one call at a time."""

    def __init__(self, op: str):
        super().__init__()
        self.op = op

    def before(self, op, params):
        if op == self.op and not params.get("DryRun") and self.crash_after is None:
            self.crash_after = self.mutating + 1
        super().before(op, params)


def test_resume_waits_for_an_adopted_endpoint_that_is_not_available_yet(sandbox, tmp_path):
    """An apply stopped while waiting for its endpoint adopts it on resume while it is still pending: the mirror
    target is made only once it is available. (The sandbox makes endpoints available at once; the test sets
    ours pending, as AWS shows it for a while, until it has been asked twice how it is.)"""
    plan = gwlb_plan().model_copy(update=SMALL)
    with pytest.raises(Crash):
        run(sandbox, tmp_path, plan=plan, recorder=_CrashAfter("CreateVpcEndpoint"), concurrency=1)
    backend = ec2_backends[DEFAULT_ACCOUNT_ID][sandbox.region]
    [endpoint] = [e for e in backend.vpc_end_points.values() if e.vpc_endpoint_type == "GatewayLoadBalancer"]
    endpoint.state = "pending"
    polls, seen = [], []

    class Watching(Recorder):
        def before(self, op, params):
            if op == "DescribeVpcEndpoints" and params.get("VpcEndpointIds") == [endpoint.id]:
                polls.append(endpoint.state)
                if len(polls) == 2:
                    endpoint.state = "available"
            if op == "CreateTrafficMirrorTarget" and not params.get("DryRun"):
                seen.append(endpoint.state)
            super().before(op, params)

    ctx = run(sandbox, tmp_path, plan=plan, recorder=Watching())
    assert polls == ["pending", "pending"] and seen == ["available"]
    assert ctx.state.resource("gwlb/endpoint").attrs["state"] == "available"


def test_the_cost_module_reads_no_aws_library():
    """`vpc-mirror status` and the review import steps.cost at start-up: it imports neither boto3 nor botocore."""
    code = ("import sys, vpc_mirror.steps.cost; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
