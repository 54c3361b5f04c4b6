"""Resource kinds: how to find, create and delete each thing a step needs.

Taggable kinds are found by their ``Name`` tag among resources carrying this
setup's tag, so a create whose answer was lost (crash, Ctrl-C) is adopted on
resume instead of repeated. Relationship kinds (attachments, routes, rules) are
found by reading their parent's live configuration.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action
from vpc_mirror.models.state import Resource
from vpc_mirror.steps.engine import SETUP_TAG, Context, Found


def _tag(tags: list[dict] | None, key: str) -> str | None:
    return next((t["Value"] for t in tags or () if t["Key"] == key), None)


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _gone(exc: ClientError) -> bool:
    code = _code(exc)
    return code.endswith(".NotFound") or code.endswith("NotFound") or code in (
        "InvalidAttachmentID.NotFound",
        "Gateway.NotAttached",
    )


def _wait(check, what: str, timeout: float = 600.0, delay: float = 0.2, max_delay: float = 5.0):
    """Poll ``check()`` until it returns a truthy value; backs off up to ``max_delay``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s; resume to continue")
        time.sleep(delay)
        delay = min(delay * 2, max_delay)


class Kind:
    """How one kind of resource is found, created and deleted."""

    name = ""
    taggable = True

    def existing(self, ctx: Context, actions: list[Action]) -> dict[str, Found]:
        """Key -> Found for each action whose resource already exists."""
        by_name = {a.name: a.key for a in actions}
        return {by_name[name]: found for name, found in self.tagged(ctx).items() if name in by_name}

    def tagged(self, ctx: Context) -> dict[str, Found]:
        """Name tag -> Found for every resource of this kind carrying the setup's tag."""
        raise NotImplementedError

    def create(self, ctx: Context, action: Action, params: dict[str, Any]) -> Found:
        raise NotImplementedError

    def delete(self, ctx: Context, res: Resource) -> None:
        raise NotImplementedError


def _setup_filter(ctx: Context) -> list[dict]:
    return [{"Name": f"tag:{SETUP_TAG}", "Values": [ctx.setup]}]


def _pages(ctx: Context, operation: str, key: str, **params) -> list[dict]:
    out: list[dict] = []
    for page in ctx.aws.ec2.get_paginator(operation).paginate(**params):
        out.extend(page[key])
    return out


class VpcKind(Kind):
    name = "vpc"

    def _found(self, ctx: Context, vpc: dict) -> Found:
        attrs: dict[str, Any] = {"cidr": vpc["CidrBlock"]}
        for assoc in vpc.get("Ipv6CidrBlockAssociationSet", []):
            if assoc.get("Ipv6CidrBlockState", {}).get("State") == "associated":
                block = ipaddress.IPv6Network(assoc["Ipv6CidrBlock"])
                attrs["ipv6_cidr"] = str(block)
                attrs["ipv6_subnet_0"] = str(next(block.subnets(new_prefix=64)))
        tables = ctx.aws.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
        if tables:
            attrs["main_route_table_id"] = tables[0]["RouteTableId"]
        return Found(vpc["VpcId"], attrs)

    def tagged(self, ctx):
        vpcs = ctx.aws.ec2.describe_vpcs(Filters=_setup_filter(ctx))["Vpcs"]
        return {_tag(v.get("Tags"), "Name"): self._found(ctx, v) for v in vpcs}

    def create(self, ctx, action, params):
        vpc = ctx.aws.ec2.create_vpc(**params)["Vpc"]
        vpc_id = vpc["VpcId"]

        def ready():
            current = ctx.aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
            if params.get("AmazonProvidedIpv6CidrBlock"):
                states = [a["Ipv6CidrBlockState"]["State"] for a in current.get("Ipv6CidrBlockAssociationSet", [])]
                if "associated" not in states:
                    return None
            return current

        return self._found(ctx, _wait(ready, f"VPC {vpc_id} IPv6 block"))

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_vpcs, {"VpcIds": [res.id]}, "Vpcs",
                      lambda: ctx.aws.ec2.delete_vpc(VpcId=res.id))


def _delete_owned(ctx: Context, res: Resource, describe, args: dict, key: str, delete) -> None:
    """Delete only when the live resource carries this setup's tag; already gone is fine."""
    try:
        items = describe(**args)[key]
    except ClientError as exc:
        if _gone(exc):
            return
        raise
    if not items:
        return
    if not ctx.owns(items[0].get("Tags")):
        ctx.log(f"! {res.kind} {res.id} does not carry {SETUP_TAG}={ctx.setup}; left alone")
        return
    try:
        delete()
    except ClientError as exc:
        if not _gone(exc):
            raise


class SubnetKind(Kind):
    name = "subnet"

    @staticmethod
    def _found(subnet: dict) -> Found:
        return Found(subnet["SubnetId"], {"az": subnet["AvailabilityZone"], "cidr": subnet["CidrBlock"]})

    def tagged(self, ctx):
        subnets = ctx.aws.ec2.describe_subnets(Filters=_setup_filter(ctx))["Subnets"]
        return {_tag(s.get("Tags"), "Name"): self._found(s) for s in subnets}

    def create(self, ctx, action, params):
        return self._found(ctx.aws.ec2.create_subnet(**params)["Subnet"])

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_subnets, {"SubnetIds": [res.id]}, "Subnets",
                      lambda: ctx.aws.ec2.delete_subnet(SubnetId=res.id))


class InternetGatewayKind(Kind):
    name = "internet-gateway"

    def tagged(self, ctx):
        igws = ctx.aws.ec2.describe_internet_gateways(Filters=_setup_filter(ctx))["InternetGateways"]
        return {_tag(g.get("Tags"), "Name"): Found(g["InternetGatewayId"]) for g in igws}

    def create(self, ctx, action, params):
        return Found(ctx.aws.ec2.create_internet_gateway(**params)["InternetGateway"]["InternetGatewayId"])

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_internet_gateways, {"InternetGatewayIds": [res.id]},
                      "InternetGateways", lambda: ctx.aws.ec2.delete_internet_gateway(InternetGatewayId=res.id))


class GatewayAttachmentKind(Kind):
    name = "gateway-attachment"
    taggable = False

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            params = ctx.resolve(action.params)
            igw = ctx.aws.ec2.describe_internet_gateways(InternetGatewayIds=[params["InternetGatewayId"]])
            attached = {a["VpcId"] for a in igw["InternetGateways"][0].get("Attachments", [])}
            if params["VpcId"] in attached:
                out[action.key] = Found(params["InternetGatewayId"], {"vpc_id": params["VpcId"]})
        return out

    def create(self, ctx, action, params):
        ctx.aws.ec2.attach_internet_gateway(**params)
        return Found(params["InternetGatewayId"], {"vpc_id": params["VpcId"]})

    def delete(self, ctx, res):
        try:
            ctx.aws.ec2.detach_internet_gateway(InternetGatewayId=res.id, VpcId=res.attrs["vpc_id"])
        except ClientError as exc:
            if not _gone(exc):
                raise


def _route_destination(params: dict) -> tuple[str, str]:
    if "DestinationIpv6CidrBlock" in params:
        return "DestinationIpv6CidrBlock", params["DestinationIpv6CidrBlock"]
    return "DestinationCidrBlock", params["DestinationCidrBlock"]


class RouteKind(Kind):
    name = "route"
    taggable = False

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            params = ctx.resolve(action.params)
            field, dest = _route_destination(params)
            table = ctx.aws.ec2.describe_route_tables(RouteTableIds=[params["RouteTableId"]])["RouteTables"][0]
            if any(r.get(field) == dest and r.get("GatewayId") == params["GatewayId"] for r in table["Routes"]):
                out[action.key] = Found(params["RouteTableId"], {field: dest})
        return out

    def create(self, ctx, action, params):
        ctx.aws.ec2.create_route(**params)
        field, dest = _route_destination(params)
        return Found(params["RouteTableId"], {field: dest})

    def delete(self, ctx, res):
        try:
            ctx.aws.ec2.delete_route(RouteTableId=res.id, **res.attrs)
        except ClientError as exc:
            if not _gone(exc):
                raise


class SecurityGroupKind(Kind):
    name = "security-group"

    def tagged(self, ctx):
        groups = ctx.aws.ec2.describe_security_groups(Filters=_setup_filter(ctx))["SecurityGroups"]
        return {_tag(g.get("Tags"), "Name"): Found(g["GroupId"]) for g in groups}

    def create(self, ctx, action, params):
        return Found(ctx.aws.ec2.create_security_group(**params)["GroupId"])

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_security_groups, {"GroupIds": [res.id]}, "SecurityGroups",
                      lambda: ctx.aws.ec2.delete_security_group(GroupId=res.id))


def _permission_keys(permissions: list[dict]) -> set[tuple]:
    keys = set()
    for perm in permissions:
        base = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
        keys.update(base + ("4", r["CidrIp"]) for r in perm.get("IpRanges", []))
        keys.update(base + ("6", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", []))
    return keys


class IngressRuleKind(Kind):
    """Inbound rules of one of our security groups; only the missing ones are added."""

    name = "security-group-ingress"
    taggable = False

    def _missing(self, ctx, params) -> set[tuple]:
        group = ctx.aws.ec2.describe_security_groups(GroupIds=[params["GroupId"]])["SecurityGroups"][0]
        return _permission_keys(params["IpPermissions"]) - _permission_keys(group.get("IpPermissions", []))

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            params = ctx.resolve(action.params)
            if not self._missing(ctx, params):
                out[action.key] = Found(params["GroupId"])
        return out

    def create(self, ctx, action, params):
        missing = self._missing(ctx, params)
        permissions = []
        for proto, from_port, to_port, family, cidr in sorted(missing, key=str):
            perm = {"IpProtocol": proto, "FromPort": from_port, "ToPort": to_port}
            if family == "4":
                perm["IpRanges"] = [{"CidrIp": cidr}]
            else:
                perm["Ipv6Ranges"] = [{"CidrIpv6": cidr}]
            permissions.append(perm)
        if permissions:
            ctx.aws.ec2.authorize_security_group_ingress(GroupId=params["GroupId"], IpPermissions=permissions)
        return Found(params["GroupId"])

    def delete(self, ctx, res):
        """The rules go with their group, which is ours."""


class InstanceKind(Kind):
    name = "instance"
    LIVE = ["pending", "running", "stopping", "stopped"]

    @staticmethod
    def _found(inst: dict) -> Found:
        primary = next(
            (n for n in inst.get("NetworkInterfaces", []) if n.get("Attachment", {}).get("DeviceIndex") == 0), {}
        )
        return Found(
            inst["InstanceId"],
            {
                "instance_type": inst["InstanceType"],
                "private_ip": inst.get("PrivateIpAddress"),
                "public_ip": inst.get("PublicIpAddress"),
                "subnet_id": inst.get("SubnetId"),
                "az": inst.get("Placement", {}).get("AvailabilityZone"),
                "primary_eni": primary.get("NetworkInterfaceId"),
                "image_id": inst.get("ImageId"),
            },
        )

    def tagged(self, ctx):
        found = {}
        filters = _setup_filter(ctx) + [{"Name": "instance-state-name", "Values": self.LIVE}]
        for reservation in _pages(ctx, "describe_instances", "Reservations", Filters=filters):
            for inst in reservation["Instances"]:
                found[_tag(inst.get("Tags"), "Name")] = self._found(inst)
        return found

    def create(self, ctx, action, params):
        inst = ctx.aws.ec2.run_instances(**params)["Instances"][0]
        instance_id = inst["InstanceId"]

        def running():
            current = ctx.aws.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
            return current if current["State"]["Name"] == "running" else None

        return self._found(_wait(running, f"instance {instance_id} to run"))

    def delete(self, ctx, res):
        def terminated():
            try:
                reservations = ctx.aws.ec2.describe_instances(InstanceIds=[res.id])["Reservations"]
            except ClientError as exc:
                if _gone(exc):
                    return True
                raise
            return not reservations or reservations[0]["Instances"][0]["State"]["Name"] == "terminated"

        _delete_owned(
            ctx, res,
            lambda **a: {"Instances": [i for r in ctx.aws.ec2.describe_instances(**a)["Reservations"] for i in r["Instances"]]},
            {"InstanceIds": [res.id]}, "Instances",
            lambda: ctx.aws.ec2.terminate_instances(InstanceIds=[res.id]),
        )
        _wait(terminated, f"instance {res.id} to terminate")


class NetworkInterfaceKind(Kind):
    name = "network-interface"

    @staticmethod
    def _found(eni: dict) -> Found:
        return Found(
            eni["NetworkInterfaceId"],
            {"private_ip": eni.get("PrivateIpAddress"), "mac": eni.get("MacAddress"), "subnet_id": eni.get("SubnetId")},
        )

    def tagged(self, ctx):
        enis = _pages(ctx, "describe_network_interfaces", "NetworkInterfaces", Filters=_setup_filter(ctx))
        return {_tag(e.get("TagSet"), "Name"): self._found(e) for e in enis}

    def create(self, ctx, action, params):
        return self._found(ctx.aws.ec2.create_network_interface(**params)["NetworkInterface"])

    def delete(self, ctx, res):
        def describe(**a):
            return {"Items": [dict(e, Tags=e.get("TagSet")) for e in
                              ctx.aws.ec2.describe_network_interfaces(**a)["NetworkInterfaces"]]}

        _delete_owned(ctx, res, describe, {"NetworkInterfaceIds": [res.id]}, "Items",
                      lambda: ctx.aws.ec2.delete_network_interface(NetworkInterfaceId=res.id))


class EniAttachmentKind(Kind):
    name = "eni-attachment"
    taggable = False

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            params = ctx.resolve(action.params)
            eni = ctx.aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[params["NetworkInterfaceId"]])
            attachment = eni["NetworkInterfaces"][0].get("Attachment") or {}
            if attachment.get("InstanceId") == params["InstanceId"] and attachment.get("Status") in (
                "attaching",
                "attached",
            ):
                out[action.key] = Found(attachment["AttachmentId"], {"eni": params["NetworkInterfaceId"]})
        return out

    def create(self, ctx, action, params):
        attachment_id = ctx.aws.ec2.attach_network_interface(**params)["AttachmentId"]
        return Found(attachment_id, {"eni": params["NetworkInterfaceId"]})

    def delete(self, ctx, res):
        try:
            ctx.aws.ec2.detach_network_interface(AttachmentId=res.id, Force=True)
        except ClientError as exc:
            if not _gone(exc):
                raise

        def detached():
            try:
                eni = ctx.aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[res.attrs["eni"]])
            except ClientError as exc:
                return _gone(exc)
            return eni["NetworkInterfaces"][0].get("Status") == "available"

        _wait(detached, f"ENI {res.attrs['eni']} to detach")


class MirrorTargetKind(Kind):
    name = "mirror-target"

    def tagged(self, ctx):
        targets = _pages(ctx, "describe_traffic_mirror_targets", "TrafficMirrorTargets", Filters=[])
        return {
            _tag(t.get("Tags"), "Name"): Found(t["TrafficMirrorTargetId"])
            for t in targets
            if ctx.owns(t.get("Tags"))
        }

    def create(self, ctx, action, params):
        return Found(ctx.aws.ec2.create_traffic_mirror_target(**params)["TrafficMirrorTarget"]["TrafficMirrorTargetId"])

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_traffic_mirror_targets, {"TrafficMirrorTargetIds": [res.id]},
                      "TrafficMirrorTargets",
                      lambda: ctx.aws.ec2.delete_traffic_mirror_target(TrafficMirrorTargetId=res.id))


class MirrorFilterKind(Kind):
    name = "mirror-filter"

    def tagged(self, ctx):
        filters = _pages(ctx, "describe_traffic_mirror_filters", "TrafficMirrorFilters", Filters=[])
        return {
            _tag(f.get("Tags"), "Name"): Found(f["TrafficMirrorFilterId"])
            for f in filters
            if ctx.owns(f.get("Tags"))
        }

    def create(self, ctx, action, params):
        return Found(ctx.aws.ec2.create_traffic_mirror_filter(**params)["TrafficMirrorFilter"]["TrafficMirrorFilterId"])

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_traffic_mirror_filters, {"TrafficMirrorFilterIds": [res.id]},
                      "TrafficMirrorFilters",
                      lambda: ctx.aws.ec2.delete_traffic_mirror_filter(TrafficMirrorFilterId=res.id))


def _describe_filter(ctx: Context, filter_id: str) -> dict:
    return ctx.aws.ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"][0]


class FilterServicesKind(Kind):
    name = "mirror-filter-services"
    taggable = False

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            params = ctx.resolve(action.params)
            have = set(_describe_filter(ctx, params["TrafficMirrorFilterId"]).get("NetworkServices", []))
            if set(params["AddNetworkServices"]) <= have:
                out[action.key] = Found(params["TrafficMirrorFilterId"])
        return out

    def create(self, ctx, action, params):
        ctx.aws.ec2.modify_traffic_mirror_filter_network_services(**params)
        return Found(params["TrafficMirrorFilterId"])

    def delete(self, ctx, res):
        """Network services go with their filter."""


class FilterRuleKind(Kind):
    name = "mirror-filter-rule"
    taggable = False

    def existing(self, ctx, actions):
        out = {}
        filters: dict[str, dict] = {}
        for action in actions:
            params = ctx.resolve(action.params)
            fid = params["TrafficMirrorFilterId"]
            if fid not in filters:
                filters[fid] = _describe_filter(ctx, fid)
            field = "IngressFilterRules" if params["TrafficDirection"] == "ingress" else "EgressFilterRules"
            for rule in filters[fid].get(field, []):
                if rule["RuleNumber"] == params["RuleNumber"]:
                    out[action.key] = Found(rule["TrafficMirrorFilterRuleId"], {"filter": fid})
        return out

    def create(self, ctx, action, params):
        rule = ctx.aws.ec2.create_traffic_mirror_filter_rule(**params)["TrafficMirrorFilterRule"]
        return Found(rule["TrafficMirrorFilterRuleId"], {"filter": params["TrafficMirrorFilterId"]})

    def delete(self, ctx, res):
        """Rules go with their filter, which is ours."""


class MirrorSessionKind(Kind):
    name = "mirror-session"

    def tagged(self, ctx):
        sessions = _pages(ctx, "describe_traffic_mirror_sessions", "TrafficMirrorSessions", Filters=[])
        return {
            _tag(s.get("Tags"), "Name"): Found(
                s["TrafficMirrorSessionId"],
                {"eni": s["NetworkInterfaceId"], "session_number": s["SessionNumber"], "vni": s.get("VirtualNetworkId")},
            )
            for s in sessions
            if ctx.owns(s.get("Tags"))
        }

    def create(self, ctx, action, params):
        s = ctx.aws.ec2.create_traffic_mirror_session(**params)["TrafficMirrorSession"]
        return Found(
            s["TrafficMirrorSessionId"],
            {"eni": s["NetworkInterfaceId"], "session_number": s["SessionNumber"], "vni": s.get("VirtualNetworkId")},
        )

    def delete(self, ctx, res):
        _delete_owned(ctx, res, ctx.aws.ec2.describe_traffic_mirror_sessions, {"TrafficMirrorSessionIds": [res.id]},
                      "TrafficMirrorSessions",
                      lambda: ctx.aws.ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=res.id))


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        VpcKind(),
        SubnetKind(),
        InternetGatewayKind(),
        GatewayAttachmentKind(),
        RouteKind(),
        SecurityGroupKind(),
        IngressRuleKind(),
        InstanceKind(),
        NetworkInterfaceKind(),
        EniAttachmentKind(),
        MirrorTargetKind(),
        MirrorFilterKind(),
        FilterServicesKind(),
        FilterRuleKind(),
        MirrorSessionKind(),
    )
}
