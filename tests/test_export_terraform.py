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
from tests.exporting import planned
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
}
NESTED = {("aws_instance", "root_block_device"): {"volume_size", "volume_type", "delete_on_termination", "encrypted"},
          ("aws_instance", "metadata_options"): {"http_tokens", "http_endpoint"},
          ("aws_security_group", "egress"): {"from_port", "to_port", "protocol", "cidr_blocks", "ipv6_cidr_blocks"}}


def _resources(doc: dict):
    for block in doc.get("resource", []):
        for rtype, named in block.items():
            for name, body in named.items():
                yield rtype.strip('"'), name.strip('"'), body


@pytest.mark.parametrize("answers", [{}, CREATE_ANSWERS], ids=["demo", "created-vpc-dedicated-enis"])
def test_every_argument_is_documented(sandbox, answers):
    ctx, actions = planned(sandbox, demo_plan(**answers))
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions)))
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
            "aws_ec2_traffic_mirror_session", "aws_network_interface", "aws_security_group"} <= types


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
