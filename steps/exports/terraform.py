"""The plan as Terraform (HCL, hashicorp/aws provider): resources for what the setup creates,
variables for what it reuses, and ``import`` blocks for created resources that already exist,
so that Terraform adopts a setup the wizard applied instead of making it twice.

A load balancer's cross-zone attribute is an argument of its ``aws_lb``, a
target group's stickiness a block of its ``aws_lb_target_group``; each
registered sensor is an ``aws_lb_target_group_attachment``. With
``--with-sync`` (steps.exports.with_sync) the configuration also holds the
sync Lambda: its code is inline too, as an ``archive_file``'s
``source_content`` (so the export stays one file, on standard output as with
``-o``); Terraform zips it next to the configuration at plan time.
"""

from __future__ import annotations

import json
from typing import Any

from vpc_mirror.models.actions import Action, Joined, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.exports import with_sync
from vpc_mirror.steps.exports.common import in_apply_order, ident, tags

#: api -> Terraform resource type.
TYPES = {
    "CreateVpc": "aws_vpc", "CreateSubnet": "aws_subnet", "CreateInternetGateway": "aws_internet_gateway",
    "AttachInternetGateway": "aws_internet_gateway_attachment", "CreateRoute": "aws_route",
    "CreateSecurityGroup": "aws_security_group", "AuthorizeSecurityGroupIngress": "aws_vpc_security_group_ingress_rule",
    "RunInstances": "aws_instance", "CreateNetworkInterface": "aws_network_interface",
    "AttachNetworkInterface": "aws_network_interface_attachment",
    "CreateTrafficMirrorTarget": "aws_ec2_traffic_mirror_target",
    "CreateTrafficMirrorFilter": "aws_ec2_traffic_mirror_filter",
    "CreateTrafficMirrorFilterRule": "aws_ec2_traffic_mirror_filter_rule",
    "CreateTrafficMirrorSession": "aws_ec2_traffic_mirror_session",
    "ModifyNetworkInterfaceAttribute": "aws_network_interface_sg_attachment",
    "CreateLoadBalancer": "aws_lb", "CreateTargetGroup": "aws_lb_target_group", "CreateListener": "aws_lb_listener",
    "ModifyTargetGroupAttributes": "aws_lb_target_group",
    "RegisterTargets": "aws_lb_target_group_attachment",
    "CreateVpcEndpointServiceConfiguration": "aws_vpc_endpoint_service", "CreateVpcEndpoint": "aws_vpc_endpoint",
}
#: (kind, attr) -> the provider's attribute.
ATTRIBUTES = {("vpc", "main_route_table_id"): "main_route_table_id", ("instance", "subnet_id"): "subnet_id",
              ("instance", "private_ip"): "private_ip", ("instance", "primary_eni"): "primary_network_interface_id",
              ("network-interface", "private_ip"): "private_ip",
              ("subnet", "az"): "availability_zone", ("vpc", "cidr"): "cidr_block",
              ("endpoint-service", "service_name"): "service_name"}


class Expr(str):
    """A Terraform expression, written as is (not quoted)."""


def _hcl(value: Any, indent: int = 1) -> str:
    pad = "  " * indent
    if value is None:
        return "null"
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + _hcl_text(value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_hcl(v, indent) for v in value) + "]"
    inner = "".join(f"{pad}  {json.dumps(k)} = {_hcl(v, indent + 1)}\n" for k, v in value.items())
    return "{\n" + inner + pad + "}"


#: HCL's string escapes (other control characters as \\uNNNN).
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _hcl_text(text: str) -> str:
    """``text`` for inside an HCL quoted string: read back by Terraform exactly as it is.

    ``${`` and ``%{`` would start a template sequence; their ``$`` / ``%`` is written as a ``\\u`` escape,
    which HCL decodes only after finding the sequences (``$${`` would do for Terraform, but python-hcl2,
    which the tests parse with, reads ``$${`` only when a ``}`` follows).
    """
    out = "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or c == "\x7f" else c) for c in text)
    return out.replace("${", "\\u0024{").replace("%{", "\\u0025{")


def _block(header: str, body: dict[str, Any], indent: int = 0) -> str:
    """A block; dict values whose key starts with ``+`` are nested blocks."""
    pad = "  " * indent
    lines = [f"{pad}{header} {{"]
    for key, value in body.items():
        if value is None:
            continue
        if key.startswith("+"):
            lines.append(_block(key[1:], value, indent + 1))
        else:
            lines.append(f"{pad}  {key} = {_hcl(value, indent + 1)}")
    lines.append(pad + "}")
    return "\n".join(lines)


class _Config:
    def __init__(self, ctx: Context, actions: list[Action]):
        self.ctx = ctx
        self.actions = in_apply_order(actions)
        self.by_key = {a.key: a for a in self.actions}
        self.blocks: list[str] = []

    def address(self, action: Action) -> str:
        return f"{TYPES[action.api]}.{ident(action.key, 'snake')}"

    def ref(self, key: str, attr: str | None) -> str:
        action = self.by_key[key]
        if action.verb == "reuse":
            return f"var.{ident(key, 'snake')}" if attr is None else _hcl(str(action.params[attr]))
        if (action.kind, attr) == ("vpc", "ipv6_subnet_0"):
            return f"cidrsubnet({self.address(action)}.ipv6_cidr_block, 8, 0)"
        return f"{self.address(action)}.{'id' if attr is None else ATTRIBUTES[(action.kind, attr)]}"

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, Ref):
            return Expr(self.ref(value.key, value.attr))
        if isinstance(value, Joined):
            text = "".join(_hcl_text(p) if isinstance(p, str) else "${" + self.ref(p.key, p.attr) + "}"
                           for p in value.parts)
            return Expr(f'"{text}"')
        return value

    def build(self, with_sync: bool = False) -> str:
        for action in self.actions:
            if action.verb == "reuse":
                self.blocks.append(_block(f'variable "{ident(action.key, "snake")}"', {
                    "description": action.summary, "type": Expr("string"), "default": action.id}))
            elif action.verb == "create" and action.api in TYPES:
                p = self.value(action.params)
                body = getattr(self, f"_{action.api}")(action, p)
                if body is None:  # an argument of another resource here
                    continue
                name = ident(action.key, "snake")
                if isinstance(body, list):  # one resource per ingress range; for_each cannot take unknown values
                    self.blocks += [_block(f'resource "{TYPES[action.api]}" "{name}_{n}"', b)
                                    for n, b in enumerate(body, 1)]
                    continue
                self.blocks.append(_block(f'resource "{TYPES[action.api]}" "{name}"', body))
                self._import(action)
        if with_sync:
            self._sync()
        return "\n\n".join(self.blocks) + "\n"

    def _import(self, action: Action) -> None:
        res = self.ctx.state.resource(action.key)
        if res is None or res.status != "created" or not res.id:
            return
        ids = {"aws_internet_gateway_attachment": f"{res.id}:{res.attrs.get('vpc_id')}",
               "aws_route": f"{res.id}_{next(iter(res.attrs.values()), '')}",
               "aws_ec2_traffic_mirror_filter_rule": f"{res.attrs.get('filter')}:{res.id}",
               "aws_network_interface_attachment": None, "aws_lb_target_group_attachment": None,
               "aws_network_interface_sg_attachment": None}
        import_id = ids.get(TYPES[action.api], res.id)
        if import_id is not None:
            self.blocks.append(_block("import", {"to": Expr(self.address(action)), "id": import_id}))

    # -- one body per create call -----------------------------------------
    def _CreateVpc(self, a, p):
        return {"cidr_block": p["CidrBlock"], "assign_generated_ipv6_cidr_block": p.get("AmazonProvidedIpv6CidrBlock"),
                "tags": _tags(p)}

    def _CreateSubnet(self, a, p):
        return {"vpc_id": p["VpcId"], "cidr_block": p["CidrBlock"], "ipv6_cidr_block": p.get("Ipv6CidrBlock"),
                "tags": _tags(p)}

    def _CreateInternetGateway(self, a, p):
        return {"tags": _tags(p)}

    def _AttachInternetGateway(self, a, p):
        return {"internet_gateway_id": p["InternetGatewayId"], "vpc_id": p["VpcId"]}

    def _CreateRoute(self, a, p):
        attachments = [self.address(x) for x in self.actions if x.api == "AttachInternetGateway"]
        return {"route_table_id": p["RouteTableId"], "destination_cidr_block": p.get("DestinationCidrBlock"),
                "destination_ipv6_cidr_block": p.get("DestinationIpv6CidrBlock"), "gateway_id": p["GatewayId"],
                "depends_on": Expr("[" + ", ".join(attachments) + "]") if attachments else None}

    def _CreateSecurityGroup(self, a, p):
        # Terraform drops AWS's default allow-all egress rule unless it is written out; apply keeps it.
        return {"name": p["GroupName"], "description": p["Description"], "vpc_id": p["VpcId"],
                "+egress": {"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"]},
                "tags": _tags(p)}

    def _AuthorizeSecurityGroupIngress(self, a, p):
        """Rule ids are not recorded, so these are not imported: import their group's rules by hand if needed."""
        out = []
        for perm in p["IpPermissions"]:
            ranges = [("cidr_ipv4", r["CidrIp"]) for r in perm.get("IpRanges", [])]
            ranges += [("cidr_ipv6", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])]
            out += [{"security_group_id": p["GroupId"], "ip_protocol": perm["IpProtocol"],
                     "from_port": perm["FromPort"], "to_port": perm["ToPort"], field: cidr} for field, cidr in ranges]
        return out

    def _RunInstances(self, a, p):
        nic, disk = p["NetworkInterfaces"][0], p["BlockDeviceMappings"][0]["Ebs"]
        added = [g for x in self.actions if x.kind == "interface-groups"
                 and x.params["NetworkInterfaceId"] == Ref(a.key, "primary_eni")
                 for g in self.value(x.params["Groups"])]
        return {"ami": p["ImageId"], "instance_type": p["InstanceType"], "key_name": p.get("KeyName"),
                "subnet_id": nic["SubnetId"], "associate_public_ip_address": nic.get("AssociatePublicIpAddress"),
                "vpc_security_group_ids": (nic.get("Groups") or []) + added or None,
                "ipv6_address_count": nic.get("Ipv6AddressCount"),
                "user_data": p.get("UserData"),
                "+root_block_device": {"volume_size": disk["VolumeSize"], "volume_type": disk["VolumeType"],
                                       "delete_on_termination": disk["DeleteOnTermination"],
                                       "encrypted": disk["Encrypted"]},
                "+metadata_options": {"http_tokens": p["MetadataOptions"]["HttpTokens"],
                                      "http_endpoint": p["MetadataOptions"]["HttpEndpoint"]},
                "tags": _tags(p), "volume_tags": _tags(p)}

    def _ModifyNetworkInterfaceAttribute(self, a, p):
        """A group added to an instance's primary interface: the instance's own argument when it is created
        here (Terraform would otherwise take the two for a change to undo), else an attachment of each group."""
        eni = a.params["NetworkInterfaceId"]
        if self.by_key[eni.key].verb == "create":
            return None
        bodies = [{"security_group_id": g, "network_interface_id": p["NetworkInterfaceId"]} for g in p["Groups"]]
        return bodies[0] if len(bodies) == 1 else bodies

    def _CreateNetworkInterface(self, a, p):
        return {"subnet_id": p["SubnetId"], "security_groups": p.get("Groups"), "description": p.get("Description"),
                "tags": _tags(p)}

    def _AttachNetworkInterface(self, a, p):
        return {"network_interface_id": p["NetworkInterfaceId"], "instance_id": p["InstanceId"],
                "device_index": p["DeviceIndex"]}

    def _CreateTrafficMirrorTarget(self, a, p):
        return {"network_interface_id": p.get("NetworkInterfaceId"),
                "network_load_balancer_arn": p.get("NetworkLoadBalancerArn"),
                "gateway_load_balancer_endpoint_id": p.get("GatewayLoadBalancerEndpointId"),
                "description": p.get("Description"), "tags": _tags(p)}

    # -- load balancers (Elastic Load Balancing v2) and the GWLB endpoint ----
    def _CreateLoadBalancer(self, a, p):
        attributes = {item["Key"]: item["Value"] for x in self.actions if x.api == "ModifyLoadBalancerAttributes"
                      and x.params["LoadBalancerArn"] == Ref(a.key) for item in x.params["Attributes"]}
        cross_zone = attributes.get("load_balancing.cross_zone.enabled")
        return {"name": p["Name"], "load_balancer_type": p["Type"],
                "internal": p["Scheme"] == "internal" if "Scheme" in p else None, "subnets": p["Subnets"],
                "enable_cross_zone_load_balancing": None if cross_zone is None else cross_zone == "true",
                "tags": _key_values(p.get("Tags", []))}

    def _CreateTargetGroup(self, a, p):
        attributes = {item["Key"]: item["Value"] for x in self.actions if x.api == "ModifyTargetGroupAttributes"
                      and x.params["TargetGroupArn"] == Ref(a.key) for item in x.params["Attributes"]}
        return {"name": p["Name"], "protocol": p["Protocol"], "port": p["Port"], "vpc_id": p["VpcId"],
                "target_type": p["TargetType"],
                "+health_check": {"protocol": p["HealthCheckProtocol"], "port": p["HealthCheckPort"]},
                "+stickiness": _stickiness(attributes), "tags": _key_values(p.get("Tags", []))}

    def _ModifyTargetGroupAttributes(self, a, p):
        """None: the target group's ``stickiness`` block here (see _CreateTargetGroup)."""

    def _CreateListener(self, a, p):
        (action,) = p["DefaultActions"]
        return {"load_balancer_arn": p["LoadBalancerArn"], "protocol": p.get("Protocol"), "port": p.get("Port"),
                "+default_action": {"type": action["Type"], "target_group_arn": action["TargetGroupArn"]}}

    def _RegisterTargets(self, a, p):
        bodies = [{"target_group_arn": p["TargetGroupArn"], "target_id": t["Id"]} for t in p["Targets"]]
        return bodies[0] if len(bodies) == 1 else bodies

    def _CreateVpcEndpointServiceConfiguration(self, a, p):
        return {"acceptance_required": p["AcceptanceRequired"],
                "gateway_load_balancer_arns": p["GatewayLoadBalancerArns"],
                "tags": _tags(p)}

    def _CreateVpcEndpoint(self, a, p):
        return {"vpc_id": p["VpcId"], "service_name": p["ServiceName"], "vpc_endpoint_type": p["VpcEndpointType"],
                "subnet_ids": p["SubnetIds"], "tags": _tags(p)}

    def _CreateTrafficMirrorFilter(self, a, p):
        services = [x.params["AddNetworkServices"] for x in self.actions
                    if x.api == "ModifyTrafficMirrorFilterNetworkServices"
                    and x.params["TrafficMirrorFilterId"] == Ref(a.key)]
        return {"description": p.get("Description"), "network_services": services[0] if services else None,
                "tags": _tags(p)}

    def _CreateTrafficMirrorFilterRule(self, a, p):
        body = {"traffic_mirror_filter_id": p["TrafficMirrorFilterId"], "traffic_direction": p["TrafficDirection"],
                "rule_number": p["RuleNumber"], "rule_action": p["RuleAction"],
                "source_cidr_block": p["SourceCidrBlock"], "destination_cidr_block": p["DestinationCidrBlock"],
                "protocol": p.get("Protocol"), "description": p.get("Description")}
        for field, block in (("SourcePortRange", "+source_port_range"),
                             ("DestinationPortRange", "+destination_port_range")):
            if field in p:
                body[block] = {"from_port": p[field]["FromPort"], "to_port": p[field]["ToPort"]}
        return body

    def _CreateTrafficMirrorSession(self, a, p):
        return {"network_interface_id": p["NetworkInterfaceId"], "traffic_mirror_target_id": p["TrafficMirrorTargetId"],
                "traffic_mirror_filter_id": p["TrafficMirrorFilterId"], "session_number": p["SessionNumber"],
                "virtual_network_id": p.get("VirtualNetworkId"), "packet_length": p.get("PacketLength"),
                "description": p.get("Description"), "tags": _tags(p)}


    # -- --with-sync ------------------------------------------------------------
    def _sync(self) -> None:
        ctx = self.ctx
        function = with_sync.function_name(ctx)
        setup_tags = _key_values(ctx.tag_specs(ctx.name_tag("sync"), "-")[0]["Tags"])
        account = "${data.aws_partition.current.partition}:ec2:" + ctx.aws.region \
            + ":${data.aws_caller_identity.current.account_id}"
        mirrors = [Expr(f"{self.address(self.by_key[k])}.arn")
                   for k in (*with_sync.target_keys(self.actions), "filter")]
        statements = with_sync.role_statements(ctx, lambda resource: Expr(f'"arn:{account}:{resource}"'), mirrors,
                                               Expr('"${aws_cloudwatch_log_group.sync.arn}:*"'))
        self.blocks += [
            _block('data "aws_partition" "current"', {}),
            _block('data "aws_caller_identity" "current"', {}),
            _block('data "archive_file" "sync"', {
                "type": "zip", "source_content": with_sync.SOURCE, "source_content_filename": "index.py",
                "output_path": Expr(f'"${{path.module}}/{function}.zip"')}),
            _block('resource "aws_cloudwatch_log_group" "sync"', {
                "name": f"/aws/lambda/{function}", "retention_in_days": with_sync.LOG_RETENTION_DAYS,
                "tags": setup_tags}),
            _block('resource "aws_iam_role" "sync"', {
                "name": function, "description": f"vpc-mirror setup {ctx.setup}: the sync Lambda's role",
                "assume_role_policy": _json_encode(with_sync.ASSUME_ROLE), "tags": setup_tags}),
            _block('resource "aws_iam_role_policy" "sync"', {
                "name": "vpc-mirror-sync", "role": Expr("aws_iam_role.sync.id"),
                "policy": _json_encode({"Version": "2012-10-17", "Statement": statements})}),
            _block('resource "aws_lambda_function" "sync"', {
                "function_name": function,
                "description": f"vpc-mirror setup {ctx.setup}: mirror instances as they start and stop",
                "role": Expr("aws_iam_role.sync.arn"), "runtime": with_sync.RUNTIME, "handler": with_sync.HANDLER,
                "timeout": with_sync.TIMEOUT_SECONDS, "filename": Expr("data.archive_file.sync.output_path"),
                "source_code_hash": Expr("data.archive_file.sync.output_base64sha256"),
                "+environment": {"variables": {with_sync.SETTINGS_VARIABLE: _json_encode(
                    self.value(with_sync.sync_settings(ctx, self.actions)), indent=3)}},
                "+logging_config": {"log_format": "Text", "log_group": Expr("aws_cloudwatch_log_group.sync.name")},
                "tags": setup_tags}),
            _block('resource "aws_cloudwatch_event_rule" "sync"', {
                "name": function,
                "description": f"vpc-mirror setup {ctx.setup}: EC2 instance state changes to the sync Lambda",
                "event_pattern": _json_encode(with_sync.EVENT_PATTERN), "tags": setup_tags}),
            _block('resource "aws_cloudwatch_event_target" "sync"', {
                "rule": Expr("aws_cloudwatch_event_rule.sync.name"), "target_id": "vpc-mirror-sync",
                "arn": Expr("aws_lambda_function.sync.arn")}),
            _block('resource "aws_lambda_permission" "sync"', {
                "statement_id": "vpc-mirror-sync", "action": "lambda:InvokeFunction",
                "function_name": Expr("aws_lambda_function.sync.function_name"), "principal": "events.amazonaws.com",
                "source_arn": Expr("aws_cloudwatch_event_rule.sync.arn")}),
        ]


#: Target group attributes -> the argument of aws_lb_target_group's ``stickiness`` block that holds each.
STICKINESS = {"stickiness.enabled": "enabled", "stickiness.type": "type"}


def _stickiness(attributes: dict[str, str]) -> dict | None:
    """The ``stickiness`` block of a target group's attributes (None without any): "source_ip" for an NLB's,
    "source_ip_dest_ip" for a GWLB's (hashicorp/aws, aws_lb_target_group, "stickiness")."""
    unknown = set(attributes) - set(STICKINESS)
    if unknown:  # never dropped in silence: a new attribute needs its argument here
        raise ValueError(f"the Terraform export has no argument for target group attributes {sorted(unknown)}")
    if not attributes:
        return None
    block = {STICKINESS[k]: v for k, v in attributes.items()}
    if "enabled" in block:
        block["enabled"] = block["enabled"] == "true"
    return block


def _json_encode(value: Any, indent: int = 1) -> Expr:
    return Expr(f"jsonencode({_hcl(value, indent)})")


def _tags(params: dict) -> dict:
    return _key_values(tags(params))


def _key_values(items: list[dict]) -> dict:
    """[{"Key": k, "Value": v}, ...] as Terraform's tags map."""
    return {t["Key"]: t["Value"] for t in items}


def render(ctx: Context, actions: list[Action], with_sync: bool = False) -> str:
    header = (f"# vpc-mirror setup {ctx.setup!r} for Terraform's hashicorp/aws provider "
              f"(`vpc-mirror export --format terraform{' --with-sync' * with_sync}`); region {ctx.aws.region}.\n\n")
    provider = _block('provider "aws"', {"region": ctx.aws.region}) + "\n\n"
    return header + provider + _Config(ctx, actions).build(with_sync)
