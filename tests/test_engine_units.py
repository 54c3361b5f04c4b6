"""Engine pieces a user meets directly: error messages, the VXLAN rule quota, action ordering."""

from __future__ import annotations

from types import SimpleNamespace

from botocore.exceptions import ClientError, NoCredentialsError

from vpc_mirror.models.actions import Action, Joined, Ref
from vpc_mirror.steps.aws_errors import explain
from vpc_mirror.steps.engine import waves
from vpc_mirror.steps.sensor_eni import RULES_PER_GROUP, vxlan_sources


def client_error(code: str, message: str, op: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, op)


def test_unauthorized_names_the_iam_action_to_grant():
    err = explain(client_error("UnauthorizedOperation", "You are not authorized", "CreateTrafficMirrorSession"))
    assert "grant the IAM action ec2:CreateTrafficMirrorSession" in str(err)
    sts = explain(client_error("AccessDenied", "no", "GetCallerIdentity"))
    assert "sts:GetCallerIdentity" in str(sts)


def test_unsupported_interface_names_the_instance_and_type():
    err = explain(client_error("NetworkInterfaceNotSupported", "eni-1 is not supported", "CreateTrafficMirrorSession"),
                  context="mirror i-0123456789abcdef0 (db-1, m6i.large): session 1")
    text = str(err)
    assert "m6i.large" in text and "db-1" in text and "Nitro" in text and err.code == "NetworkInterfaceNotSupported"


def test_missing_credentials_say_how_to_provide_them():
    assert "--profile" in str(explain(NoCredentialsError()))


def _ctx(n: int, mode: str = "primary"):
    sources = [{"instance_id": f"i-{i:017x}", "private_ip": f"10.0.{i // 200}.{i % 200 + 4}",
                "subnet_cidr": f"10.0.{i // 200}.0/24"} for i in range(n)]
    facts = {"sources": {"sources": sources}}
    plan = SimpleNamespace(source_eni=SimpleNamespace(mode=mode), test_beacon=SimpleNamespace(enabled=False))
    return SimpleNamespace(facts=lambda step: facts.get(step, {}), plan=plan)


def test_vxlan_rule_uses_host_addresses_within_the_quota():
    cidrs, how = vxlan_sources(_ctx(RULES_PER_GROUP))
    assert len(cidrs) == RULES_PER_GROUP and all(c.endswith("/32") for c in cidrs)
    assert how == "each source address"


def test_vxlan_rule_falls_back_to_subnets_past_the_quota():
    cidrs, how = vxlan_sources(_ctx(RULES_PER_GROUP + 250))
    assert cidrs == ["10.0.0.0/24", "10.0.1.0/24"]
    assert "310 addresses" in how
    assert "0.0.0.0/0" not in cidrs


def test_waves_order_actions_by_their_references():
    a = Action(step="s", key="filter", kind="mirror-filter", verb="create", summary="f")
    b = Action(step="s", key="rule", kind="mirror-filter-rule", verb="create", summary="r",
               params={"TrafficMirrorFilterId": Ref("filter")})
    c = Action(step="s", key="other", kind="mirror-filter-rule", verb="create", summary="o",
               params={"Cidr": Joined((Ref("elsewhere", "private_ip"), "/32"))})
    assert [[x.key for x in w] for w in waves([b, a, c])] == [["filter", "other"], ["rule"]]


def test_mirrored_test_beacon_is_admitted_by_its_own_address():
    ctx = _ctx(3)
    ctx.plan.test_beacon = SimpleNamespace(enabled=True, mirror=True)
    cidrs, _ = vxlan_sources(ctx)
    assert cidrs[-1] == Joined((Ref("test-beacon", "private_ip"), "/32")) and len(cidrs) == 4
    many = _ctx(RULES_PER_GROUP + 250)
    many.plan.test_beacon = ctx.plan.test_beacon
    cidrs, _ = vxlan_sources(many)
    assert cidrs == ["10.0.0.0/24", "10.0.1.0/24", Joined((Ref("test-beacon", "private_ip"), "/32"))]
