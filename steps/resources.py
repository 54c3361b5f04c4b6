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
from vpc_mirror.steps.context import SETUP_TAG, Context, Found, StepFailed
from vpc_mirror.steps.ec2_describe import LIVE_INSTANCE_STATES, name_tag


class StaleToken(Exception):
    """A create answered with what an earlier request with the same ClientToken made, which is gone."""


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
    #: found by its tags (TaggedKind), else by its parent's live configuration (RelationKind)
    taggable = True

    def existing(self, ctx: Context, actions: list[Action]) -> dict[str, Found]:
        """Key -> Found for each action whose resource already exists."""
        raise NotImplementedError

    def create(self, ctx: Context, action: Action, params: dict[str, Any]) -> Found:
        raise NotImplementedError

    def delete(self, ctx: Context, res: Resource) -> None:
        raise NotImplementedError

    #: For the kinds whose create waits until the resource can be used (load balancer, endpoint): the
    #: ``attrs["state"]`` it is usable in, and what it is called in messages. None: usable once made.
    ready_state: str | None = None
    what = ""

    def usable(self, attrs: dict[str, Any]) -> bool:
        """Whether a resource recorded with these attrs can be used now. The kinds whose create waits until it
        can say no while it is still being made: one adopted so, because the apply that created it stopped
        while waiting, is waited for (``wait_usable``) before anything uses it."""
        return self.ready_state is None or attrs.get("state") == self.ready_state

    def wait_usable(self, ctx: Context, action: Action, resource_id: str) -> Found:
        """Wait until the resource can be used, as its create does; StepFailed when it never will."""
        def ready() -> Found | None:
            item = self.current_item(ctx, resource_id)
            problem = self.never_ready(item)
            if problem is not None:
                raise StepFailed(action.step, f"{self.what} {resource_id} {problem}")
            found = self.found(ctx, item)
            return found if self.usable(found.attrs) else None

        return _wait(ready, f"{self.what} {resource_id} to become {self.ready_state}")

    def current_item(self, ctx: Context, resource_id: str) -> dict:
        """The resource as its describe call answers now (the kinds with a ``ready_state``)."""
        raise NotImplementedError

    def never_ready(self, item: dict) -> str | None:
        """Why the resource will never become usable (it failed, it is being deleted), or None."""
        return None


def _unless_gone(call) -> None:
    """Make a delete or detach call; what is already gone is fine."""
    try:
        call()
    except ClientError as exc:
        if not _gone(exc):
            raise


class TaggedKind(Kind):
    """A resource that carries our tags: found by them, made by one create call, deleted only while it carries them.

    Subclasses name the EC2 calls and fields; those whose items hold more than
    an id (addresses, attachments) override ``found``.
    """

    describe = ""  # the boto3 call listing them, e.g. describe_subnets
    items = ""  # the list in its answer, e.g. Subnets
    ids_param = ""  # its parameter selecting by id, e.g. SubnetIds
    id_field = ""  # an item's id, e.g. SubnetId; also the delete call's parameter
    tags_field = "Tags"
    #: whether the describe call filters by tag (the traffic-mirroring ones do not: they are filtered here)
    filters_by_tag = True
    create_call = ""  # e.g. create_subnet
    created = ""  # the created item in its answer, e.g. Subnet ("" = the answer itself)
    delete_call = ""  # e.g. delete_subnet, called with the id as id_field

    def existing(self, ctx, actions):
        by_name = {a.name: a.key for a in actions}
        return {by_name[name]: found for name, found in self.tagged(ctx).items() if name in by_name}

    def tagged(self, ctx: Context) -> dict[str, Found]:
        """Name tag -> Found for every resource of this kind carrying the setup's tag."""
        items = self.listed(ctx, Filters=self.setup_filters(ctx))
        return {name_tag(i.get(self.tags_field)): self.found(ctx, i) for i in items if ctx.owns(i.get(self.tags_field))}

    def found(self, ctx: Context, item: dict) -> Found:
        return Found(item[self.id_field])

    def listed(self, ctx: Context, **params) -> list[dict]:
        return _pages(ctx, self.describe, self.items, **params)

    def setup_filters(self, ctx: Context) -> list[dict]:
        """The describe filters that find this setup's resources."""
        return [{"Name": f"tag:{SETUP_TAG}", "Values": [ctx.setup]}] if self.filters_by_tag else []

    def create(self, ctx, action, params):
        answer = getattr(ctx.aws.ec2, self.create_call)(**params)
        return self.found(ctx, answer[self.created] if self.created else answer)

    def delete(self, ctx, res):
        try:
            items = self.listed(ctx, **{self.ids_param: [res.id]})
        except ClientError as exc:
            if _gone(exc):
                return
            raise
        if not items:
            return
        if not ctx.owns(items[0].get(self.tags_field)):
            ctx.log(f"! {res.kind} {res.id} does not carry {SETUP_TAG}={ctx.setup}; left alone")
            return
        _unless_gone(lambda: self.remove(ctx, res.id))

    def remove(self, ctx: Context, resource_id: str) -> None:
        getattr(ctx.aws.ec2, self.delete_call)(**{self.id_field: resource_id})


def _pages(ctx: Context, operation: str, key: str, **params) -> list[dict]:
    out: list[dict] = []
    for page in ctx.aws.ec2.get_paginator(operation).paginate(**params):
        out.extend(page[key])
    return out


class VpcKind(TaggedKind):
    name = "vpc"
    describe, items, ids_param, id_field = "describe_vpcs", "Vpcs", "VpcIds", "VpcId"
    create_call, created, delete_call = "create_vpc", "Vpc", "delete_vpc"

    def found(self, ctx, item):
        attrs: dict[str, Any] = {"cidr": item["CidrBlock"]}
        for assoc in item.get("Ipv6CidrBlockAssociationSet", []):
            if assoc.get("Ipv6CidrBlockState", {}).get("State") == "associated":
                block = ipaddress.IPv6Network(assoc["Ipv6CidrBlock"])
                attrs["ipv6_cidr"] = str(block)
                attrs["ipv6_subnet_0"] = str(next(block.subnets(new_prefix=64)))
        tables = ctx.aws.ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [item["VpcId"]]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
        if tables:
            attrs["main_route_table_id"] = tables[0]["RouteTableId"]
        return Found(item["VpcId"], attrs)

    def create(self, ctx, action, params):
        vpc_id = ctx.aws.ec2.create_vpc(**params)["Vpc"]["VpcId"]

        def ready():
            current = ctx.aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
            if params.get("AmazonProvidedIpv6CidrBlock"):
                states = [a["Ipv6CidrBlockState"]["State"] for a in current.get("Ipv6CidrBlockAssociationSet", [])]
                if "associated" not in states:
                    return None
            return current

        return self.found(ctx, _wait(ready, f"VPC {vpc_id} IPv6 block"))


class SubnetKind(TaggedKind):
    name = "subnet"
    describe, items, ids_param, id_field = "describe_subnets", "Subnets", "SubnetIds", "SubnetId"
    create_call, created, delete_call = "create_subnet", "Subnet", "delete_subnet"

    def found(self, ctx, item):
        return Found(item["SubnetId"], {"az": item["AvailabilityZone"], "cidr": item["CidrBlock"]})


class InternetGatewayKind(TaggedKind):
    name = "internet-gateway"
    describe, items = "describe_internet_gateways", "InternetGateways"
    ids_param, id_field = "InternetGatewayIds", "InternetGatewayId"
    create_call, created, delete_call = "create_internet_gateway", "InternetGateway", "delete_internet_gateway"


class SecurityGroupKind(TaggedKind):
    name = "security-group"
    describe, items, ids_param, id_field = "describe_security_groups", "SecurityGroups", "GroupIds", "GroupId"
    create_call, delete_call = "create_security_group", "delete_security_group"


def instance_attrs(inst: dict) -> dict[str, Any]:
    """What later steps and actions use of an instance, e.g. ``Ref("test-beacon", "primary_eni")``."""
    primary = next(
        (n for n in inst.get("NetworkInterfaces", []) if n.get("Attachment", {}).get("DeviceIndex") == 0), {}
    )
    return {
        "instance_type": inst["InstanceType"],
        "primary_mac": primary.get("MacAddress"),
        "private_ip": inst.get("PrivateIpAddress"),
        "public_ip": inst.get("PublicIpAddress"),
        "subnet_id": inst.get("SubnetId"),
        "vpc_id": inst.get("VpcId"),
        "az": inst.get("Placement", {}).get("AvailabilityZone"),
        "primary_eni": primary.get("NetworkInterfaceId"),
        "image_id": inst.get("ImageId"),
    }


class InstanceKind(TaggedKind):
    name = "instance"
    describe, items, ids_param, id_field = "describe_instances", "Reservations", "InstanceIds", "InstanceId"
    create_call = "run_instances"

    def found(self, ctx, item):
        return Found(item["InstanceId"], instance_attrs(item))

    def listed(self, ctx, **params):
        return [inst for reservation in super().listed(ctx, **params) for inst in reservation["Instances"]]

    def setup_filters(self, ctx):
        return super().setup_filters(ctx) + [{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}]

    def create(self, ctx, action, params):
        launched = ctx.aws.ec2.run_instances(**params)["Instances"][0]
        instance_id = launched["InstanceId"]
        if launched["State"]["Name"] in ("shutting-down", "terminated"):
            raise StaleToken(f"RunInstances answered with {instance_id}, {launched['State']['Name']}, "
                             "launched earlier with this ClientToken")

        def running():
            current = self.listed(ctx, InstanceIds=[instance_id])[0]
            state = current["State"]["Name"]
            if state not in ("pending", "running"):
                reason = current.get("StateReason", {}).get("Message", "no reason given")
                raise StepFailed(action.step, f"{action.key} instance {instance_id} is {state} instead of "
                                              f"running ({reason}); fix that, then resume")
            return current if state == "running" else None

        return self.found(ctx, _wait(running, f"instance {instance_id} to run"))

    def remove(self, ctx, resource_id):
        ctx.aws.ec2.terminate_instances(InstanceIds=[resource_id])

        def terminated():
            try:
                instances = self.listed(ctx, InstanceIds=[resource_id])
            except ClientError as exc:
                if _gone(exc):
                    return True
                raise
            return not instances or instances[0]["State"]["Name"] == "terminated"

        _wait(terminated, f"instance {resource_id} to terminate")


class NetworkInterfaceKind(TaggedKind):
    name = "network-interface"
    describe, items = "describe_network_interfaces", "NetworkInterfaces"
    ids_param, id_field, tags_field = "NetworkInterfaceIds", "NetworkInterfaceId", "TagSet"
    create_call, created, delete_call = "create_network_interface", "NetworkInterface", "delete_network_interface"

    def found(self, ctx, item):
        return Found(item["NetworkInterfaceId"], {"private_ip": item.get("PrivateIpAddress"),
                                                  "mac": item.get("MacAddress"), "subnet_id": item.get("SubnetId")})


class TrafficMirrorKind(TaggedKind):
    """The traffic-mirroring resources: EC2 names their calls and fields alike (TrafficMirror<Thing>), and
    their describe calls take no tag filter."""

    thing = ""  # Target, Filter, Session
    filters_by_tag = False

    def __init__(self) -> None:
        snake = f"traffic_mirror_{self.thing.lower()}"
        self.describe, self.create_call, self.delete_call = f"describe_{snake}s", f"create_{snake}", f"delete_{snake}"
        self.created = f"TrafficMirror{self.thing}"
        self.items, self.ids_param, self.id_field = f"{self.created}s", f"{self.created}Ids", f"{self.created}Id"


class MirrorTargetKind(TrafficMirrorKind):
    name, thing = "mirror-target", "Target"


class MirrorFilterKind(TrafficMirrorKind):
    name, thing = "mirror-filter", "Filter"


class MirrorSessionKind(TrafficMirrorKind):
    name, thing = "mirror-session", "Session"

    def found(self, ctx, item):
        return Found(item["TrafficMirrorSessionId"], {"eni": item["NetworkInterfaceId"],
                                                      "session_number": item["SessionNumber"],
                                                      "vni": item.get("VirtualNetworkId"),
                                                      "target": item.get("TrafficMirrorTargetId")})


class RelationKind(Kind):
    """A relationship (attachment, route, rule): found by reading its parent's live configuration."""

    taggable = False

    def existing(self, ctx, actions):
        out = {}
        for action in actions:
            found = self.find(ctx, ctx.resolve(action.params))
            if found is not None:
                out[action.key] = found
        return out

    def find(self, ctx: Context, params: dict[str, Any]) -> Found | None:
        """The relationship these (resolved) create parameters make, when it already exists."""
        raise NotImplementedError

    def delete(self, ctx, res):
        """It goes with its parent, which is ours (rules with their group or filter)."""


class GatewayAttachmentKind(RelationKind):
    name = "gateway-attachment"

    def find(self, ctx, params):
        igw = ctx.aws.ec2.describe_internet_gateways(InternetGatewayIds=[params["InternetGatewayId"]])
        attached = {a["VpcId"] for a in igw["InternetGateways"][0].get("Attachments", [])}
        return Found(params["InternetGatewayId"], {"vpc_id": params["VpcId"]}) if params["VpcId"] in attached else None

    def create(self, ctx, action, params):
        ctx.aws.ec2.attach_internet_gateway(**params)
        return Found(params["InternetGatewayId"], {"vpc_id": params["VpcId"]})

    def delete(self, ctx, res):
        _unless_gone(lambda: ctx.aws.ec2.detach_internet_gateway(InternetGatewayId=res.id, VpcId=res.attrs["vpc_id"]))


def _route_destination(params: dict) -> tuple[str, str]:
    if "DestinationIpv6CidrBlock" in params:
        return "DestinationIpv6CidrBlock", params["DestinationIpv6CidrBlock"]
    return "DestinationCidrBlock", params["DestinationCidrBlock"]


class RouteKind(RelationKind):
    name = "route"

    def find(self, ctx, params):
        field, dest = _route_destination(params)
        table = ctx.aws.ec2.describe_route_tables(RouteTableIds=[params["RouteTableId"]])["RouteTables"][0]
        if any(r.get(field) == dest and r.get("GatewayId") == params["GatewayId"] for r in table["Routes"]):
            return Found(params["RouteTableId"], {field: dest})
        return None

    def create(self, ctx, action, params):
        ctx.aws.ec2.create_route(**params)
        field, dest = _route_destination(params)
        return Found(params["RouteTableId"], {field: dest})

    def delete(self, ctx, res):
        _unless_gone(lambda: ctx.aws.ec2.delete_route(RouteTableId=res.id, **res.attrs))


def _permission_keys(permissions: list[dict]) -> set[tuple]:
    keys = set()
    for perm in permissions:
        base = (perm["IpProtocol"], perm.get("FromPort"), perm.get("ToPort"))
        keys.update(base + ("4", r["CidrIp"]) for r in perm.get("IpRanges", []))
        keys.update(base + ("6", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", []))
    return keys


class IngressRuleKind(RelationKind):
    """Inbound rules of one of our security groups; only the missing ones are added."""

    name = "security-group-ingress"

    def _missing(self, ctx, params) -> set[tuple]:
        group = ctx.aws.ec2.describe_security_groups(GroupIds=[params["GroupId"]])["SecurityGroups"][0]
        return _permission_keys(params["IpPermissions"]) - _permission_keys(group.get("IpPermissions", []))

    def find(self, ctx, params):
        return None if self._missing(ctx, params) else Found(params["GroupId"])

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


class EniAttachmentKind(RelationKind):
    name = "eni-attachment"

    def find(self, ctx, params):
        eni = ctx.aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[params["NetworkInterfaceId"]])
        attachment = eni["NetworkInterfaces"][0].get("Attachment") or {}
        if attachment.get("InstanceId") == params["InstanceId"] and attachment.get("Status") in ("attaching",
                                                                                                 "attached"):
            return Found(attachment["AttachmentId"], {"eni": params["NetworkInterfaceId"]})
        return None

    def create(self, ctx, action, params):
        attachment_id = ctx.aws.ec2.attach_network_interface(**params)["AttachmentId"]
        return Found(attachment_id, {"eni": params["NetworkInterfaceId"]})

    def delete(self, ctx, res):
        _unless_gone(lambda: ctx.aws.ec2.detach_network_interface(AttachmentId=res.id, Force=True))

        def detached():
            try:
                eni = ctx.aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[res.attrs["eni"]])
            except ClientError as exc:
                return _gone(exc)
            return eni["NetworkInterfaces"][0].get("Status") == "available"

        _wait(detached, f"ENI {res.attrs['eni']} to detach")


def _describe_filter(ctx: Context, filter_id: str) -> dict:
    return ctx.aws.ec2.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[filter_id])["TrafficMirrorFilters"][0]


class FilterServicesKind(RelationKind):
    name = "mirror-filter-services"

    def find(self, ctx, params):
        have = set(_describe_filter(ctx, params["TrafficMirrorFilterId"]).get("NetworkServices", []))
        return Found(params["TrafficMirrorFilterId"]) if set(params["AddNetworkServices"]) <= have else None

    def create(self, ctx, action, params):
        ctx.aws.ec2.modify_traffic_mirror_filter_network_services(**params)
        return Found(params["TrafficMirrorFilterId"])


class FilterRuleKind(RelationKind):
    name = "mirror-filter-rule"

    def existing(self, ctx, actions):
        """One look at each filter for all of its rules."""
        filters: dict[str, dict] = {}

        def find(params):
            fid = params["TrafficMirrorFilterId"]
            if fid not in filters:
                filters[fid] = _describe_filter(ctx, fid)
            field = "IngressFilterRules" if params["TrafficDirection"] == "ingress" else "EgressFilterRules"
            rules = filters[fid].get(field, [])
            return next((Found(rule["TrafficMirrorFilterRuleId"], {"filter": fid}) for rule in rules
                         if rule["RuleNumber"] == params["RuleNumber"]), None)

        found = {a.key: find(ctx.resolve(a.params)) for a in actions}
        return {key: hit for key, hit in found.items() if hit is not None}

    def create(self, ctx, action, params):
        rule = ctx.aws.ec2.create_traffic_mirror_filter_rule(**params)["TrafficMirrorFilterRule"]
        return Found(rule["TrafficMirrorFilterRuleId"], {"filter": params["TrafficMirrorFilterId"]})


class InterfaceGroupsKind(RelationKind):
    """One of our security groups on an ENI that is not ours (a sensor's primary interface): added to the
    groups it has, and taken off again on teardown, before the group itself is deleted."""

    name = "interface-groups"

    def _groups(self, ctx: Context, eni: str) -> list[str]:
        item = ctx.aws.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"][0]
        return [g["GroupId"] for g in item.get("Groups", [])]

    def find(self, ctx, params):
        have = self._groups(ctx, params["NetworkInterfaceId"])
        if set(params["Groups"]) <= set(have):
            return Found(params["NetworkInterfaceId"], {"groups": params["Groups"]})
        return None

    def create(self, ctx, action, params):
        have = self._groups(ctx, params["NetworkInterfaceId"])
        added = [g for g in params["Groups"] if g not in have]
        ctx.aws.ec2.modify_network_interface_attribute(NetworkInterfaceId=params["NetworkInterfaceId"],
                                                       Groups=have + added)
        return Found(params["NetworkInterfaceId"], {"groups": params["Groups"]})

    def delete(self, ctx, res):
        try:
            have = self._groups(ctx, res.id)
        except ClientError as exc:
            if _gone(exc):
                return
            raise
        keep = [g for g in have if g not in res.attrs["groups"]]
        if keep != have and keep:
            ctx.aws.ec2.modify_network_interface_attribute(NetworkInterfaceId=res.id, Groups=keep)


# Elastic Load Balancing (elbv2): load balancers and target groups carry our tags (given at creation, in
# ``Tags``); their describe calls filter by nothing but ARN or name, so ours are found through DescribeTags.

#: DescribeTags takes at most 20 ARNs per call.
ELB_TAGS_PER_CALL = 20


def _elb_owned(ctx: Context, arns: list[str]) -> dict[str, list[dict]]:
    """ARN -> tags, for those of ``arns`` that carry this setup's tag."""
    out = {}
    for start in range(0, len(arns), ELB_TAGS_PER_CALL):
        answer = ctx.aws.elbv2.describe_tags(ResourceArns=arns[start:start + ELB_TAGS_PER_CALL])
        out.update({d["ResourceArn"]: d.get("Tags", []) for d in answer["TagDescriptions"] if ctx.owns(d.get("Tags"))})
    return out


class ElbTaggedKind(Kind):
    """A load balancer or target group of ours: found by its tags, created with them, deleted while it has them."""

    describe = ""  # describe_load_balancers | describe_target_groups
    items = ""  # LoadBalancers | TargetGroups
    arn_field = ""  # LoadBalancerArn | TargetGroupArn
    create_call = ""
    delete_call = ""

    def listed(self, ctx: Context, **params) -> list[dict]:
        out: list[dict] = []
        for page in ctx.aws.elbv2.get_paginator(self.describe).paginate(**params):
            out.extend(page[self.items])
        return out

    def existing(self, ctx, actions):
        by_name = {a.name: a.key for a in actions}
        items = {i[self.arn_field]: i for i in self.listed(ctx)}
        owned = _elb_owned(ctx, list(items))
        return {by_name[name_tag(tags)]: self.found(ctx, items[arn]) for arn, tags in owned.items()
                if name_tag(tags) in by_name}

    def found(self, ctx: Context, item: dict) -> Found:
        return Found(item[self.arn_field])

    def create(self, ctx, action, params):
        answer = getattr(ctx.aws.elbv2, self.create_call)(**params)
        return self.found(ctx, answer[self.items][0])

    def delete(self, ctx, res):
        try:
            items = self.listed(ctx, **{f"{self.arn_field}s": [res.id]})
        except ClientError as exc:
            if _gone(exc):
                return
            raise
        if not items:
            return
        if res.id not in _elb_owned(ctx, [res.id]):
            ctx.log(f"! {res.kind} {res.id} does not carry {SETUP_TAG}={ctx.setup}; left alone")
            return
        _unless_gone(lambda: self.remove(ctx, res.id))

    def remove(self, ctx: Context, arn: str) -> None:
        getattr(ctx.aws.elbv2, self.delete_call)(**{self.arn_field: arn})


def load_balancer_attrs(item: dict) -> dict[str, Any]:
    """What later steps use of a load balancer: its type, VPC, subnets and zones, and its state."""
    zones = item.get("AvailabilityZones", [])
    return {"type": item.get("Type"), "vpc_id": item.get("VpcId"), "scheme": item.get("Scheme"),
            "subnets": [z["SubnetId"] for z in zones], "zones": [z["ZoneName"] for z in zones],
            "state": item.get("State", {}).get("Code")}


class LoadBalancerKind(ElbTaggedKind):
    name = "load-balancer"
    describe, items, arn_field = "describe_load_balancers", "LoadBalancers", "LoadBalancerArn"
    create_call, delete_call = "create_load_balancer", "delete_load_balancer"

    def found(self, ctx, item):
        return Found(item["LoadBalancerArn"], load_balancer_attrs(item))

    ready_state, what = "active", "load balancer"

    def create(self, ctx, action, params):
        """Waits until it is active: an endpoint service or mirror target needs a provisioned load balancer."""
        return self.wait_usable(ctx, action, super().create(ctx, action, params).id)

    def current_item(self, ctx, arn):
        return self.listed(ctx, LoadBalancerArns=[arn])[0]

    def never_ready(self, item):
        if item["State"]["Code"] == "failed":
            return f"failed to provision ({item['State'].get('Reason', 'no reason given')}); resume to retry"
        return None


class TargetGroupKind(ElbTaggedKind):
    name = "target-group"
    describe, items, arn_field = "describe_target_groups", "TargetGroups", "TargetGroupArn"
    create_call, delete_call = "create_target_group", "delete_target_group"

    def remove(self, ctx, arn):
        """AWS refuses while a listener still forwards to it; the load balancer's deletion takes a moment."""
        def deleted():
            try:
                ctx.aws.elbv2.delete_target_group(TargetGroupArn=arn)
            except ClientError as exc:
                if _code(exc) == "ResourceInUse":
                    return False
                raise
            return True

        _wait(deleted, f"target group {arn} to be free of listeners", timeout=300)


class ListenerKind(RelationKind):
    """The load balancer's listener forwarding to our target group: found among the load balancer's listeners."""

    name = "listener"

    def find(self, ctx, params):
        for listener in ctx.aws.elbv2.describe_listeners(LoadBalancerArn=params["LoadBalancerArn"])["Listeners"]:
            forwards = {a.get("TargetGroupArn") for a in listener.get("DefaultActions", [])}
            if params["DefaultActions"][0]["TargetGroupArn"] in forwards and listener.get("Port") == params.get("Port"):
                return Found(listener["ListenerArn"])
        return None

    def create(self, ctx, action, params):
        return Found(ctx.aws.elbv2.create_listener(**params)["Listeners"][0]["ListenerArn"])

    def delete(self, ctx, res):
        _unless_gone(lambda: ctx.aws.elbv2.delete_listener(ListenerArn=res.id))


class ElbAttributesKind(RelationKind):
    """Attributes we set on a load balancer or target group: found by reading them; they go with their owner."""

    arn_param = ""  # LoadBalancerArn | TargetGroupArn
    describe_call = ""  # describe_load_balancer_attributes | describe_target_group_attributes
    modify_call = ""

    def find(self, ctx, params):
        have = getattr(ctx.aws.elbv2, self.describe_call)(**{self.arn_param: params[self.arn_param]})
        current = {a["Key"]: a["Value"] for a in have["Attributes"]}
        if all(current.get(a["Key"]) == a["Value"] for a in params["Attributes"]):
            return self._found(params)
        return None

    def create(self, ctx, action, params):
        getattr(ctx.aws.elbv2, self.modify_call)(**params)
        return self._found(params)

    def _found(self, params: dict) -> Found:
        return Found(params[self.arn_param], {a["Key"]: a["Value"] for a in params["Attributes"]})


class LbAttributesKind(ElbAttributesKind):
    """Cross-zone load balancing."""

    name = "lb-attributes"
    arn_param, describe_call = "LoadBalancerArn", "describe_load_balancer_attributes"
    modify_call = "modify_load_balancer_attributes"


class TgAttributesKind(ElbAttributesKind):
    """Flow stickiness on our target group."""

    name = "tg-attributes"
    arn_param, describe_call = "TargetGroupArn", "describe_target_group_attributes"
    modify_call = "modify_target_group_attributes"


class TargetRegistrationKind(RelationKind):
    """A sensor registered in a target group: found among the group's registered targets (draining ones are
    on their way out); teardown deregisters it, the group's deletion does not need it gone."""

    name = "target-registration"

    def find(self, ctx, params):
        instance_id = params["Targets"][0]["Id"]
        health = ctx.aws.elbv2.describe_target_health(TargetGroupArn=params["TargetGroupArn"])
        registered = {d["Target"]["Id"] for d in health["TargetHealthDescriptions"]
                      if d.get("TargetHealth", {}).get("State") != "draining"}
        return Found(instance_id, {"target_group": params["TargetGroupArn"]}) if instance_id in registered else None

    def create(self, ctx, action, params):
        ctx.aws.elbv2.register_targets(**params)
        return Found(params["Targets"][0]["Id"], {"target_group": params["TargetGroupArn"]})

    def delete(self, ctx, res):
        try:
            ctx.aws.elbv2.deregister_targets(TargetGroupArn=res.attrs["target_group"], Targets=[{"Id": res.id}])
        except ClientError as exc:
            if not (_gone(exc) or _code(exc) == "InvalidTarget"):
                raise


def _unsuccessful(answer: dict, what: str) -> None:
    """The VPC endpoint deletes answer failures in a list, not as an error."""
    for item in answer.get("Unsuccessful", []):
        error = item.get("Error", {})
        if not error.get("Code", "").endswith("NotFound"):
            raise StepFailed("teardown", f"could not delete {what} {item.get('ResourceId')}: "
                                         f"{error.get('Code')}: {error.get('Message')}")


class EndpointServiceKind(TaggedKind):
    """The endpoint service in front of our Gateway Load Balancer."""

    name = "endpoint-service"
    describe, items = "describe_vpc_endpoint_service_configurations", "ServiceConfigurations"
    ids_param, id_field = "ServiceIds", "ServiceId"
    create_call, created = "create_vpc_endpoint_service_configuration", "ServiceConfiguration"

    def tagged(self, ctx):
        return {name: f for name, f in super().tagged(ctx).items()
                if f.attrs["state"] not in ("Deleting", "Deleted", "Failed")}

    def found(self, ctx, item):
        return Found(item["ServiceId"], {"service_name": item["ServiceName"], "state": item.get("ServiceState")})

    def remove(self, ctx, resource_id):
        """AWS refuses while an endpoint is connected; our endpoint's deletion (before this) takes a moment."""
        def deleted():
            answer = ctx.aws.ec2.delete_vpc_endpoint_service_configurations(ServiceIds=[resource_id])
            if any("connection" in (i.get("Error", {}).get("Message") or "").lower()
                   for i in answer.get("Unsuccessful", [])):
                return False
            _unsuccessful(answer, "endpoint service")
            return True

        _wait(deleted, f"endpoint service {resource_id} to be free of endpoints", timeout=300)


class VpcEndpointKind(TaggedKind):
    """A Gateway Load Balancer endpoint: the mirror target's address in the sources' VPC."""

    name = "vpc-endpoint"
    describe, items, ids_param, id_field = "describe_vpc_endpoints", "VpcEndpoints", "VpcEndpointIds", "VpcEndpointId"
    create_call, created = "create_vpc_endpoint", "VpcEndpoint"
    GONE_STATES = ("deleting", "deleted", "rejected", "failed", "expired")

    def tagged(self, ctx):
        return {name: f for name, f in super().tagged(ctx).items() if f.attrs["state"] not in self.GONE_STATES}

    def found(self, ctx, item):
        return Found(item["VpcEndpointId"], {"vpc_id": item.get("VpcId"), "state": (item.get("State") or "").lower(),
                                             "subnets": item.get("SubnetIds", [])})

    ready_state, what = "available", "endpoint"

    def create(self, ctx, action, params):
        """Waits until it is available: a mirror target needs a usable endpoint."""
        return self.wait_usable(ctx, action, super().create(ctx, action, params).id)

    def current_item(self, ctx, endpoint_id):
        return self.listed(ctx, VpcEndpointIds=[endpoint_id])[0]

    def never_ready(self, item):
        if item["State"].lower() in self.GONE_STATES:
            return f"is {item['State']} instead of available; check the endpoint service, then resume"
        return None

    def remove(self, ctx, resource_id):
        _unsuccessful(ctx.aws.ec2.delete_vpc_endpoints(VpcEndpointIds=[resource_id]), "endpoint")

        def deleted():
            try:
                items = self.listed(ctx, VpcEndpointIds=[resource_id])
            except ClientError as exc:
                return _gone(exc)
            return not items or items[0]["State"].lower() == "deleted"

        _wait(deleted, f"endpoint {resource_id} to be deleted")


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
        InterfaceGroupsKind(),
        LoadBalancerKind(),
        LbAttributesKind(),
        TargetGroupKind(),
        TgAttributesKind(),
        ListenerKind(),
        TargetRegistrationKind(),
        EndpointServiceKind(),
        VpcEndpointKind(),
    )
}
