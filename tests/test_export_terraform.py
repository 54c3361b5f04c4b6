"""The Terraform export: parses as HCL, uses only documented arguments, imports what exists."""

from __future__ import annotations

import asyncio
import io

import hcl2
import pytest

from vpc_mirror.steps.exports import terraform
from vpc_mirror.steps.setup import plan_setup, saved_context
from vpc_mirror.steps.state_store import StateStore
from tests.awsfacts import demo_plan, run
from tests.exporting import planned, selecting
from tests.scale_answers import gwlb_plan, nlb_plan, users_nlb
from tests.test_export_cloudformation import nlb_fleet
from tests.test_apply import CREATE_ANSWERS

_R = "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/"
#: Arguments (and nested blocks) each resource type documents, from the hashicorp/aws provider docs:
#: the "Argument Reference" of the page named beside it.
DOCUMENTED = {
    "aws_vpc": (_R + "vpc", {"cidr_block", "assign_generated_ipv6_cidr_block", "instance_tenancy",
                             "enable_dns_support", "enable_dns_hostnames", "ipv4_ipam_pool_id", "tags"}),
    "aws_subnet": (_R + "subnet", {"vpc_id", "cidr_block", "ipv6_cidr_block", "availability_zone",
                                   "map_public_ip_on_launch", "assign_ipv6_address_on_creation", "tags"}),
    "aws_internet_gateway": (_R + "internet_gateway", {"vpc_id", "tags"}),
    "aws_internet_gateway_attachment": (_R + "internet_gateway_attachment", {"internet_gateway_id", "vpc_id"}),
    "aws_route": (_R + "route", {"route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block",
                                 "gateway_id", "nat_gateway_id", "network_interface_id", "depends_on"}),
    "aws_security_group": (_R + "security_group", {"name", "name_prefix", "description", "vpc_id", "ingress",
                                                   "egress", "revoke_rules_on_delete", "tags"}),
    "aws_vpc_security_group_ingress_rule": (_R + "vpc_security_group_ingress_rule", {
        "security_group_id", "ip_protocol", "from_port", "to_port", "cidr_ipv4", "cidr_ipv6", "description",
        "prefix_list_id", "referenced_security_group_id", "tags"}),
    "aws_instance": (_R + "instance", {"ami", "instance_type", "key_name", "subnet_id",
                                       "associate_public_ip_address", "vpc_security_group_ids",
                                       "ipv6_address_count", "user_data", "root_block_device",
                                       "metadata_options", "tags", "volume_tags"}),
    "aws_network_interface": (_R + "network_interface", {"subnet_id", "security_groups", "description",
                                                         "private_ips", "source_dest_check", "tags"}),
    "aws_network_interface_attachment": (_R + "network_interface_attachment", {
        "instance_id", "network_interface_id", "device_index", "network_card_index"}),
    "aws_ec2_traffic_mirror_target": (_R + "ec2_traffic_mirror_target", {
        "network_interface_id", "network_load_balancer_arn", "gateway_load_balancer_endpoint_id",
        "description", "tags"}),
    "aws_ec2_traffic_mirror_filter": (_R + "ec2_traffic_mirror_filter", {"description", "network_services", "tags"}),
    "aws_ec2_traffic_mirror_filter_rule": (_R + "ec2_traffic_mirror_filter_rule", {
        "traffic_mirror_filter_id", "traffic_direction", "rule_number", "rule_action", "source_cidr_block",
        "destination_cidr_block", "protocol", "source_port_range", "destination_port_range", "description"}),
    "aws_ec2_traffic_mirror_session": (_R + "ec2_traffic_mirror_session", {
        "network_interface_id", "traffic_mirror_target_id", "traffic_mirror_filter_id", "session_number",
        "virtual_network_id", "packet_length", "description", "tags"}),
    "aws_network_interface_sg_attachment": (_R + "network_interface_sg_attachment", {
        "security_group_id", "network_interface_id"}),
    "aws_lb": (_R + "lb", {"name", "internal", "load_balancer_type", "subnets", "enable_cross_zone_load_balancing",
                           "security_groups", "tags"}),
    "aws_lb_target_group": (_R + "lb_target_group", {"name", "protocol", "port", "vpc_id", "target_type",
                                                     "health_check", "stickiness", "tags"}),
    "aws_lb_listener": (_R + "lb_listener", {"load_balancer_arn", "protocol", "port", "default_action", "tags"}),
    "aws_lb_target_group_attachment": (_R + "lb_target_group_attachment", {"target_group_arn", "target_id",
                                                                           "port"}),
    "aws_vpc_endpoint_service": (_R + "vpc_endpoint_service", {
        "acceptance_required", "gateway_load_balancer_arns", "network_load_balancer_arns", "tags"}),
    "aws_vpc_endpoint": (_R + "vpc_endpoint", {"vpc_id", "service_name", "vpc_endpoint_type", "subnet_ids",
                                               "tags"}),
    # --with-sync
    "aws_cloudwatch_log_group": (_R + "cloudwatch_log_group", {"name", "retention_in_days", "tags"}),
    "aws_iam_role": (_R + "iam_role", {"name", "description", "assume_role_policy", "tags"}),
    "aws_iam_role_policy": (_R + "iam_role_policy", {"name", "role", "policy"}),
    "aws_lambda_function": (_R + "lambda_function", {
        "function_name", "description", "role", "runtime", "handler", "timeout", "filename", "source_code_hash",
        "environment", "logging_config", "tags"}),
    "aws_cloudwatch_event_rule": (_R + "cloudwatch_event_rule", {"name", "description", "event_pattern", "tags"}),
    "aws_cloudwatch_event_target": (_R + "cloudwatch_event_target", {"rule", "target_id", "arn"}),
    "aws_lambda_permission": (_R + "lambda_permission", {"statement_id", "action", "function_name", "principal",
                                                         "source_arn"}),
}
_D = "https://registry.terraform.io/providers/hashicorp/"
#: The same for data sources ("Argument Reference" of their pages).
DOCUMENTED_DATA = {
    "aws_partition": (_D + "aws/latest/docs/data-sources/partition", set()),
    "aws_caller_identity": (_D + "aws/latest/docs/data-sources/caller_identity", set()),
    "archive_file": (_D + "archive/latest/docs/data-sources/file", {
        "type", "source_content", "source_content_filename", "output_path"}),
}
NESTED = {("aws_instance", "root_block_device"): {"volume_size", "volume_type", "delete_on_termination", "encrypted"},
          ("aws_instance", "metadata_options"): {"http_tokens", "http_endpoint"},
          ("aws_security_group", "egress"): {"from_port", "to_port", "protocol", "cidr_blocks", "ipv6_cidr_blocks"},
          ("aws_lb_target_group", "health_check"): {"protocol", "port"},
          ("aws_lb_target_group", "stickiness"): {"enabled", "type"},
          ("aws_lb_listener", "default_action"): {"type", "target_group_arn"},
          ("aws_lambda_function", "environment"): {"variables"},
          ("aws_lambda_function", "logging_config"): {"log_format", "log_group"}}


def _resources(doc: dict):
    for block in doc.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                yield rtype.strip('"'), name.strip('"'), body


PLANS = {"demo": demo_plan, "created-vpc-dedicated-enis": lambda: demo_plan(**CREATE_ANSWERS),
         "nlb-cross-zone-fleet-of-3-with-sync": lambda: selecting(nlb_fleet()), "gwlb": gwlb_plan}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_every_argument_is_documented(sandbox, plan):
    plan = plan()
    ctx, actions = planned(sandbox, plan)
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions, with_sync=bool(plan.sources.select))))
    for block in doc.get("data", []):
        for dtype, named in block.items():
            for body in named.values():
                assert {k for k in body if not k.startswith("__")} <= DOCUMENTED_DATA[dtype.strip('"')][1]
    types = set()
    for rtype, name, body in _resources(doc):
        types.add(rtype)
        _, documented = DOCUMENTED[rtype]
        arguments = {k for k in body if not k.startswith("__")}
        assert arguments <= documented, (rtype, name, arguments - documented)
        for (nested_type, block), allowed in NESTED.items():
            if nested_type == rtype and block in body:
                for item in body[block]:
                    assert {k for k in item if not k.startswith("__")} <= allowed
    assert {"aws_ec2_traffic_mirror_filter", "aws_ec2_traffic_mirror_filter_rule", "aws_ec2_traffic_mirror_target",
            "aws_ec2_traffic_mirror_session", "aws_security_group"} <= types
    # the sensor's capture interface, or the load balancer the sensors are attached to
    assert ("aws_network_interface" if plan.target.type == "eni" else "aws_lb_target_group_attachment") in types


def test_applied_setup_exports_import_blocks_for_what_it_created(sandbox, state_dir):
    run(sandbox, state_dir)
    ctx = saved_context(StateStore(state_dir), "demo", endpoint_url=sandbox.endpoint_url)
    try:
        actions = asyncio.run(plan_setup(ctx))
    finally:
        ctx.close()
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions)))
    imports = {i["to"].strip("${}"): i["id"].strip('"') for i in doc["import"]}
    state = ctx.state
    target = state.resource("target").id
    assert imports["aws_ec2_traffic_mirror_target.target"] == target
    sessions = {k: v for k, v in imports.items() if k.startswith("aws_ec2_traffic_mirror_session.")}
    assert set(sessions.values()) == {r.id for r in state.steps["session"].resources.values()}
    rule = state.resource("filter-rule/ingress/100")
    assert imports["aws_ec2_traffic_mirror_filter_rule.filter_rule_ingress_100"] == f"{rule.attrs['filter']}:{rule.id}"
    # The reused VPC is a variable, never imported (Terraform must not manage, or destroy, it).
    variables = {k.strip('"') for v in doc["variable"] for k in v}
    assert "vpc" in variables and not any(k.startswith("aws_vpc.") for k in imports)


def _by_address(doc: dict) -> dict[str, dict]:
    return {f"{rtype}.{name}": body for rtype, name, body in _resources(doc)}


def test_nlb_fleet_is_a_load_balancer_listener_and_an_attachment_per_sensor(sandbox):
    ctx, actions = planned(sandbox, nlb_fleet())
    resources = _by_address(hcl2.load(io.StringIO(terraform.render(ctx, actions))))
    lb = resources["aws_lb.lb"]
    assert (lb["load_balancer_type"], lb["internal"], lb["enable_cross_zone_load_balancing"]) \
        == ('"network"', True, True)
    assert resources["aws_lb_listener.lb_listener"]["default_action"][0]["target_group_arn"] \
        == "${aws_lb_target_group.lb_target_group.id}"
    attached = sorted(b["target_id"] for a, b in resources.items() if a.startswith("aws_lb_target_group_attachment."))
    assert attached == ["${aws_instance.sensor.id}", "${aws_instance.sensor_2.id}", "${aws_instance.sensor_3.id}"]
    assert resources["aws_ec2_traffic_mirror_target.target"]["network_load_balancer_arn"] == "${aws_lb.lb.id}"
    # each sensor's primary interface carries the VXLAN group, as an argument of the instance it is made with
    for sensor in ("sensor", "sensor_2", "sensor_3"):
        assert "${aws_security_group.vxlan_sg.id}" in resources[f"aws_instance.{sensor}"]["vpc_security_group_ids"]


def test_gwlb_endpoint_takes_its_service_name_from_the_endpoint_service(sandbox):
    ctx, actions = planned(sandbox, gwlb_plan())
    resources = _by_address(hcl2.load(io.StringIO(terraform.render(ctx, actions))))
    assert resources["aws_vpc_endpoint.gwlb_endpoint"]["service_name"] \
        == "${aws_vpc_endpoint_service.gwlb_service.service_name}"
    assert resources["aws_ec2_traffic_mirror_target.target"]["gateway_load_balancer_endpoint_id"] \
        == "${aws_vpc_endpoint.gwlb_endpoint.id}"


def test_existing_nlb_and_its_target_group_are_variables_the_sensor_is_attached_to(sandbox):
    arn = users_nlb(sandbox)
    ctx, actions = planned(sandbox, nlb_plan(load_balancer_arn=arn))
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions)))
    variables = {k.strip('"'): v for block in doc["variable"] for k, v in block.items()}
    assert variables["lb"]["default"].strip('"') == arn
    resources = _by_address(doc)
    assert not any(a.startswith(("aws_lb.", "aws_lb_target_group.")) for a in resources)
    assert resources["aws_lb_target_group_attachment.lb_targets_sensor"]["target_group_arn"] \
        == "${var.lb_target_group}"


@pytest.mark.parametrize("plan, kind", [(nlb_fleet, "source_ip"), (gwlb_plan, "source_ip_dest_ip")],
                         ids=["nlb", "gwlb"])
def test_target_group_keeps_each_flow_on_one_sensor(sandbox, plan, kind):
    ctx, actions = planned(sandbox, plan())
    resources = _by_address(hcl2.load(io.StringIO(terraform.render(ctx, actions))))
    group = resources["aws_lb_target_group.lb_target_group"]
    assert [{k: v for k, v in b.items() if not k.startswith("__")} for b in group["stickiness"]] \
        == [{"enabled": True, "type": f'"{kind}"'}]
    assert not any(a.startswith("aws_lb_target_group.lb_target_group_") for a in resources)
