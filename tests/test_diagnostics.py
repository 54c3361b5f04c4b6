"""The 'nothing arrives' checklist: each failure is found against live (sandbox) AWS state."""

from __future__ import annotations

import asyncio

import pytest

from vpc_mirror.models.answers import parse_answers
from vpc_mirror.models.plan import SessionPlan
from vpc_mirror.sandbox import demo_answers_text
from vpc_mirror.steps.diagnostics import CaptureView, Interface, SensorView, diagnose, evaluate, gather
from vpc_mirror.steps.setup import open_context
from vpc_mirror.steps.state_store import StateStore
from tests.awsfacts import ec2, run


@pytest.fixture
def applied(sandbox, state_dir):
    """The demo setup applied; returns a function giving the checks by name."""
    run(sandbox, state_dir)
    store = StateStore(state_dir)

    def checks(sensor=None, capture=None):
        ctx = open_context(parse_answers(demo_answers_text()), store, endpoint_url=sandbox.endpoint_url,
                           region=sandbox.region)
        try:
            return {c.name: c for c in asyncio.run(diagnose(ctx, sensor, capture))}
        finally:
            ctx.close()

    checks.state = store.load("demo")
    return checks


def good_sensor(state, **changes):
    mac = state.resource("sensor-eni").attrs["mac"]
    iface = dict(name="ens6", mac=mac, up=True, mtu=9001) | changes
    return SensorView(interfaces=[Interface("ens5", "02:00:00:00:00:01", True, 9001), Interface(**iface)],
                      capture_interface="ens6")


def failed(checks) -> dict:
    return {name: c for name, c in checks.items() if c.status == "failed"}


def test_a_healthy_setup_passes_every_check(applied):
    vni = 4242
    checks = applied(good_sensor(applied.state), CaptureView(seconds=5, vxlan_packets=10, vnis={vni: 10}))
    assert {c.status for c in checks.values()} == {"ok"}, [c for c in checks.values() if c.status != "ok"]


def test_without_sensor_or_capture_those_checks_are_unknown(applied):
    checks = applied()
    assert not failed(checks)
    unknown = {n for n, c in checks.items() if c.status == "unknown"}
    assert unknown == {"capture interface is up on the sensor", "capture runs on the target ENI's interface",
                       "packets carry this setup's VNI", "target MTU fits mirrored packets"}


def test_deleted_session_is_found(applied, sandbox):
    session = next(iter(applied.state.steps["session"].resources.values()))
    ec2(sandbox).delete_traffic_mirror_session(TrafficMirrorSessionId=session.id)
    bad = failed(applied())
    assert list(bad) == ["a mirror session per source"]
    assert "no session on" in bad["a mirror session per source"].detail
    assert "vpc-mirror resume demo" in bad["a mirror session per source"].fix


def test_filter_without_egress_rules_is_found(applied, sandbox):
    c = ec2(sandbox)
    for key, res in applied.state.steps["filter"].resources.items():
        if key.startswith("filter-rule/egress/"):
            c.delete_traffic_mirror_filter_rule(TrafficMirrorFilterRuleId=res.id)
    bad = failed(applied())
    assert list(bad) == ["filter accepts both directions"]
    assert "no accept rule for egress" in bad["filter accepts both directions"].detail


def test_removed_security_group_rule_is_found(applied, sandbox):
    c = ec2(sandbox)
    group = applied.state.resource("vxlan-sg").id
    perms = c.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissions"]
    web = next(s for s in applied.state.steps["sources"].facts["sources"] if s["name"] == "web-1")
    perm = dict(perms[0], IpRanges=[{"CidrIp": f"{web['private_ip']}/32"}])
    c.revoke_security_group_ingress(GroupId=group, IpPermissions=[perm])
    bad = failed(applied())
    assert list(bad) == ["security group allows UDP 4789 from the sources"]
    assert "web-1" in bad["security group allows UDP 4789 from the sources"].detail
    assert "api-1" not in bad["security group allows UDP 4789 from the sources"].detail


def test_network_acl_deny_is_found(applied, sandbox):
    c = ec2(sandbox)
    subnet = ec2(sandbox).describe_network_interfaces(
        NetworkInterfaceIds=[applied.state.resource("sensor-eni").id])["NetworkInterfaces"][0]["SubnetId"]
    acl = c.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["NetworkAcls"][0]
    c.create_network_acl_entry(NetworkAclId=acl["NetworkAclId"], RuleNumber=50, Protocol="17", RuleAction="deny",
                               Egress=False, CidrBlock="10.0.0.0/16", PortRange={"From": 4789, "To": 4789})
    bad = failed(applied())
    assert list(bad) == ["network ACL admits UDP 4789"]
    assert "add an inbound allow rule" in bad["network ACL admits UDP 4789"].fix


def test_detached_target_eni_is_found(applied, sandbox):
    ec2(sandbox).detach_network_interface(AttachmentId=applied.state.resource("sensor-eni/attachment").id)
    bad = failed(applied())
    assert "target ENI attached to the sensor" in bad


def test_sensor_side_failures(applied):
    state = applied.state
    down = failed(applied(good_sensor(state, up=False)))
    assert list(down) == ["capture interface is up on the sensor"]
    assert "sudo ip link set ens6 up" in down["capture interface is up on the sensor"].fix
    missing = failed(applied(good_sensor(state, mac="02:aa:aa:aa:aa:aa")))
    assert "no interface on the sensor has the capture ENI's MAC" in \
        missing["capture interface is up on the sensor"].detail
    wrong = SensorView(interfaces=good_sensor(state).interfaces, capture_interface="ens5")
    bad = failed(applied(wrong))
    assert bad["capture runs on the target ENI's interface"].fix == "capture on ens6 (--interface ens6)"


def test_other_sessions_vni_and_small_mtu(applied):
    checks = applied(good_sensor(applied.state, mtu=1500), CaptureView(seconds=5, vxlan_packets=3, vnis={77: 3}))
    assert checks["packets carry this setup's VNI"].status == "failed"
    assert "VNI 77" in checks["packets carry this setup's VNI"].detail
    assert checks["target MTU fits mirrored packets"].status == "warning"
    assert "1500" in checks["target MTU fits mirrored packets"].detail


def test_unsupported_source_type_is_found(applied, sandbox, state_dir):
    ctx = open_context(parse_answers(demo_answers_text()), StateStore(state_dir), endpoint_url=sandbox.endpoint_url,
                       region=sandbox.region)
    try:
        view = gather(ctx)
    finally:
        ctx.close()
    view.sources[0].instance_type = "t2.micro"
    view.type_info["t2.micro"] = {"Hypervisor": "xen", "BareMetal": False}
    checks = {c.name: c for c in evaluate(view)}
    assert checks["source instance types support mirroring"].status == "failed"
    assert "t2.micro" in checks["source instance types support mirroring"].detail


def test_session_of_the_mirrored_test_beacon_is_checked_too(applied, sandbox):
    session = applied.state.resource("session/test-beacon")
    ec2(sandbox).delete_traffic_mirror_session(TrafficMirrorSessionId=session.id)
    bad = failed(applied())
    assert list(bad) == ["a mirror session per source"]
    assert "test-beacon" in bad["a mirror session per source"].detail


def test_sessions_with_the_vnis_aws_picked_are_this_setups(sandbox, state_dir):
    """Without session.vni AWS picks one per session: any of them is this setup's, none is another session's."""
    plan = parse_answers(demo_answers_text()).model_copy(update={"session": SessionPlan()})
    run(sandbox, state_dir, plan=plan)
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        view = gather(ctx)
    finally:
        ctx.close()
    picked = sorted(s["VirtualNetworkId"] for s in view.sessions)
    assert len(set(picked)) == len(picked) == 4
    name = "packets carry this setup's VNI"
    ok = {c.name: c for c in evaluate(view, capture=CaptureView(seconds=5, vxlan_packets=3, vnis={picked[0]: 3}))}
    assert ok[name].status == "ok" and str(picked[0]) in ok[name].detail
    other = next(v for v in range(1, 100) if v not in picked)
    bad = {c.name: c for c in evaluate(view, capture=CaptureView(seconds=5, vxlan_packets=3, vnis={other: 3}))}
    assert bad[name].status == "failed" and all(str(v) in bad[name].detail for v in picked)
