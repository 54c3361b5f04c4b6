"""Behind a Gateway Load Balancer endpoint target the checklist asks about GENEVE (UDP 6081), not VXLAN."""

from __future__ import annotations

from vpc_mirror.steps.diagnostics import AwsView, Source, evaluate

SOURCE = Source("i-0123", "web-1", "m5.large", "eni-0src", "10.0.1.10")


def view(target_type: str, rules: list[dict], acl: list[dict]) -> AwsView:
    port = 6081 if target_type == "gateway-load-balancer-endpoint" else 4789
    return AwsView(
        setup="demo", port=port, sources=[SOURCE], target_id="tmt-1", filter_id="tmf-1", sensor_id="i-sensor",
        target_type=target_type,
        target_eni={"NetworkInterfaceId": "eni-0tgt", "MacAddress": "02:00:00:00:00:aa", "SubnetId": "subnet-1"},
        security_groups=[{"GroupId": "sg-1", "IpPermissions": rules}],
        network_acl={"NetworkAclId": "acl-1", "Entries": acl},
    )  # fmt: skip


def udp(port: int, cidr: str) -> dict:
    return {"IpProtocol": "udp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def acl_rule(number: int, action: str, port: int, cidr: str = "0.0.0.0/0") -> dict:
    return {"RuleNumber": number, "Protocol": "17", "RuleAction": action, "Egress": False, "CidrBlock": cidr,
            "PortRange": {"From": port, "To": port}}


def by_name(checks) -> dict:
    return {c.name: c for c in checks}


GWLB = "gateway-load-balancer-endpoint"


def test_a_load_balancer_target_needs_udp_6081_from_the_load_balancer_not_4789_from_the_sources() -> None:
    # The load balancer's nodes live in the VPC, not at the sources' addresses: a VPC-wide 6081 rule is right.
    checks = by_name(evaluate(view(GWLB, [udp(6081, "10.0.0.0/16")], [acl_rule(100, "allow", 6081)])))
    assert checks["security group allows UDP 6081 (GENEVE) from the load balancer"].status == "ok"
    assert checks["network ACL admits UDP 6081"].status == "ok"
    assert not any("4789" in name for name in checks)


def test_a_load_balancer_target_without_6081_is_told_to_open_it() -> None:
    checks = by_name(evaluate(view(GWLB, [udp(4789, "10.0.1.10/32")],
                                   [acl_rule(50, "deny", 6081), acl_rule(100, "allow", 6081)])))
    sg = checks["security group allows UDP 6081 (GENEVE) from the load balancer"]
    assert sg.status == "failed" and "allow UDP 6081" in sg.fix
    acl = checks["network ACL admits UDP 6081"]
    assert acl.status == "failed" and "GENEVE" in acl.detail


def test_an_eni_target_still_checks_vxlan_from_each_source() -> None:
    checks = by_name(evaluate(view("network-interface", [udp(6081, "0.0.0.0/0")], [acl_rule(100, "allow", 4789)])))
    assert checks["security group allows UDP 4789 from the sources"].status == "failed"
    assert checks["network ACL admits UDP 4789"].status == "ok"
