"""The plan as a CloudFormation template: one resource per created thing, a parameter per reused one.

Things CloudFormation does its own way: the VPC's Amazon IPv6 block is an
AWS::EC2::VPCCidrBlock, and since a template cannot name a VPC's main route
table, a created VPC's default routes go into a route table of its own that is
associated with the created subnet. Instances get IMDSv2 through a launch
template (AWS::EC2::Instance has no metadata options). An instance has no
attribute for its primary network interface, so when a session mirrors one
(the test beacon's), that interface is declared as an AWS::EC2::NetworkInterface
and given to the instance as device 0; AWS gives an existing interface no
automatic public IPv4 address, so the one apply's launch gets is an Elastic IP
on it (AWS::EC2::EIP and AWS::EC2::EIPAssociation). A load balancer's
attributes, the target group's (stickiness), and the sensors registered in
it are properties of the load balancer and of the target group. A template cannot read a
Gateway Load Balancer endpoint service's name, so the endpoint's is made of
the region and the service's id, as AWS names it.

With ``--with-sync`` (steps.exports.with_sync) the template also holds the
sync Lambda, its code inline (``Code.ZipFile``: "This zip file cannot exceed
4MB", AWS::Lambda::Function Code,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-function-code.html;
the page said 4096 characters until 2022), its role, log group and
EventBridge rule.
"""

from __future__ import annotations

from typing import Any

import yaml

from vpc_mirror.models.actions import Action, Joined, Ref, refs_in
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.exports import with_sync
from vpc_mirror.steps.exports.common import in_apply_order, ident, json_pieces, pieces, tags

PARAMETER_TYPES = {"vpc": "AWS::EC2::VPC::Id", "subnet": "AWS::EC2::Subnet::Id", "instance": "AWS::EC2::Instance::Id"}
ATTRIBUTES = {("instance", "private_ip"): "PrivateIp", ("network-interface", "private_ip"): "PrimaryPrivateIpAddress",
              ("subnet", "az"): "AvailabilityZone", ("vpc", "cidr"): "CidrBlock"}


class _Template:
    def __init__(self, ctx: Context, actions: list[Action]):
        self.ctx = ctx
        self.actions = in_apply_order(actions)
        self.by_key = {a.key: a for a in self.actions}
        #: instances whose primary interface a session names (``Ref(key, "primary_eni")``): the template declares
        #: it; a security group added to it (interface-groups) goes in the instance's own GroupSet instead
        self.named_primary_enis = {r.key for a in self.actions if a.kind != "interface-groups"
                                   for r in refs_in(a.params) if r.attr == "primary_eni"}
        self.parameters: dict[str, dict] = {}
        self.resources: dict[str, dict] = {}
        #: what the template cannot do to existing resources, for the user to do: shown as Outputs
        self.by_hand: dict[str, dict] = {}

    # -- values -----------------------------------------------------------
    def value(self, value: Any, deps: set[str]) -> Any:
        """Params -> template values: refs become Ref / Fn::GetAtt / Fn::Join."""
        if isinstance(value, dict):
            return {k: self.value(v, deps) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, deps) for v in value]
        if not isinstance(value, (Ref, Joined)):
            return value
        parts = [p if isinstance(p, str) else self.ref(p.key, p.attr, deps) for p in pieces(value)]
        if len(parts) == 1:
            return parts[0]
        return {"Fn::Join": ["", parts]}

    def ref(self, key: str, attr: str | None, deps: set[str]) -> Any:
        action = self.by_key[key]
        name = ident(key, "camel")
        if action.verb == "reuse":
            return {"Ref": name} if attr is None else action.params[attr]
        if attr is None:
            return {"Fn::GetAtt": [name, "GroupId"]} if action.kind == "security-group" else {"Ref": name}
        if (action.kind, attr) == ("vpc", "ipv6_subnet_0"):
            deps.add(f"{name}Ipv6Block")
            block = {"Fn::Select": [0, {"Fn::GetAtt": [name, "Ipv6CidrBlocks"]}]}
            return {"Fn::Select": [0, {"Fn::Cidr": [block, 1, 64]}]}
        if (action.kind, attr) == ("vpc", "main_route_table_id"):
            return {"Ref": f"{name}RouteTable"}
        if (action.kind, attr) == ("instance", "subnet_id"):
            return self.value(action.params["NetworkInterfaces"][0]["SubnetId"], deps)
        if (action.kind, attr) == ("endpoint-service", "service_name"):
            return {"Fn::Join": ["", ["com.amazonaws.vpce.", {"Ref": "AWS::Region"}, ".", {"Ref": name}]]}
        if (action.kind, attr) == ("instance", "primary_eni"):
            deps.add(name)  # mirrored once its instance runs, as apply does (AWS checks the instance's type)
            return {"Ref": f"{name}PrimaryEni"}
        return {"Fn::GetAtt": [name, ATTRIBUTES[(action.kind, attr)]]}

    def add(self, name: str, rtype: str, props: dict, deps: set[str]) -> None:
        resource: dict = {"Type": rtype, "Properties": {k: v for k, v in props.items() if v is not None}}
        if deps:
            resource["DependsOn"] = sorted(deps)
        self.resources[name] = resource

    # -- actions ----------------------------------------------------------
    def build(self, with_sync: bool = False) -> dict:
        for action in self.actions:
            if action.verb == "reuse":
                self.parameters[ident(action.key, "camel")] = {
                    "Type": PARAMETER_TYPES.get(action.kind, "String"), "Default": action.id,
                    "Description": action.summary}
            elif action.verb == "create":
                deps: set[str] = set()
                params = self.value(action.params, deps)
                getattr(self, f"_{action.api}")(action, ident(action.key, "camel"), params, deps)
        if with_sync:
            self._sync()
        return {"AWSTemplateFormatVersion": "2010-09-09",
                "Description": f"vpc-mirror setup {self.ctx.setup}: VPC Traffic Mirroring into a Zeek sensor",
                **({"Parameters": self.parameters} if self.parameters else {}),
                "Resources": self.resources,
                **({"Outputs": self.by_hand} if self.by_hand else {})}

    def _CreateVpc(self, action, name, p, deps):
        self.add(name, "AWS::EC2::VPC", {"CidrBlock": p["CidrBlock"], "Tags": tags(p)}, deps)
        if p.get("AmazonProvidedIpv6CidrBlock"):
            self.add(f"{name}Ipv6Block", "AWS::EC2::VPCCidrBlock",
                     {"VpcId": {"Ref": name}, "AmazonProvidedIpv6CidrBlock": True}, set())
        if any(a.kind == "route" and Ref(action.key, "main_route_table_id") in a.params.values()
               for a in self.actions):
            table_tags = [dict(t, Value=self.ctx.name_tag("route-table")) if t["Key"] == "Name" else t for t in tags(p)]
            self.add(f"{name}RouteTable", "AWS::EC2::RouteTable", {"VpcId": {"Ref": name}, "Tags": table_tags},
                     set())

    def _CreateSubnet(self, action, name, p, deps):
        self.add(name, "AWS::EC2::Subnet", {"VpcId": p["VpcId"], "CidrBlock": p["CidrBlock"],
                                            "Ipv6CidrBlock": p.get("Ipv6CidrBlock"), "Tags": tags(p)}, deps)
        table = f"{ident(action.params['VpcId'].key, 'camel')}RouteTable"
        if table in self.resources:
            self.add(f"{name}RouteTableAssociation", "AWS::EC2::SubnetRouteTableAssociation",
                     {"SubnetId": {"Ref": name}, "RouteTableId": {"Ref": table}}, set())

    def _CreateInternetGateway(self, action, name, p, deps):
        self.add(name, "AWS::EC2::InternetGateway", {"Tags": tags(p)}, deps)

    def _AttachInternetGateway(self, action, name, p, deps):
        self.add(name, "AWS::EC2::VPCGatewayAttachment",
                 {"VpcId": p["VpcId"], "InternetGatewayId": p["InternetGatewayId"]}, deps)

    def _CreateRoute(self, action, name, p, deps):
        # A route to an internet gateway needs the gateway attached first.
        deps |= {ident(a.key, "camel") for a in self.actions if a.kind == "gateway-attachment"}
        self.add(name, "AWS::EC2::Route", dict(p), deps)

    def _CreateSecurityGroup(self, action, name, p, deps):
        self.add(name, "AWS::EC2::SecurityGroup", {"GroupName": p["GroupName"], "GroupDescription": p["Description"],
                                                   "VpcId": p["VpcId"], "Tags": tags(p)}, deps)

    def _AuthorizeSecurityGroupIngress(self, action, name, p, deps):
        n = 0
        for perm in p["IpPermissions"]:
            ranges = [("CidrIp", r["CidrIp"]) for r in perm.get("IpRanges", [])]
            ranges += [("CidrIpv6", r["CidrIpv6"]) for r in perm.get("Ipv6Ranges", [])]
            for field, cidr in ranges:
                n += 1
                self.add(f"{name}{n}", "AWS::EC2::SecurityGroupIngress",
                         {"GroupId": p["GroupId"], "IpProtocol": perm["IpProtocol"], "FromPort": perm["FromPort"],
                          "ToPort": perm["ToPort"], field: cidr}, deps)

    def _RunInstances(self, action, name, p, deps):
        nic = p["NetworkInterfaces"][0]
        self.add(f"{name}LaunchTemplate", "AWS::EC2::LaunchTemplate",
                 {"LaunchTemplateData": {"MetadataOptions": p["MetadataOptions"]}}, set())
        interface = {"DeviceIndex": str(nic["DeviceIndex"]), "SubnetId": nic["SubnetId"],
                     "AssociatePublicIpAddress": nic.get("AssociatePublicIpAddress"), "GroupSet": nic.get("Groups"),
                     "Ipv6AddressCount": nic.get("Ipv6AddressCount")}
        if action.key in self.named_primary_enis:
            interface = self._primary_eni(name, interface, p)
        user_data = p.get("UserData")
        self.add(name, "AWS::EC2::Instance", {
            "ImageId": p["ImageId"], "InstanceType": p["InstanceType"], "KeyName": p.get("KeyName"),
            "LaunchTemplate": {"LaunchTemplateId": {"Ref": f"{name}LaunchTemplate"},
                               "Version": {"Fn::GetAtt": [f"{name}LaunchTemplate", "LatestVersionNumber"]}},
            "NetworkInterfaces": [{k: v for k, v in interface.items() if v is not None}],
            "BlockDeviceMappings": p["BlockDeviceMappings"],
            "UserData": {"Fn::Base64": user_data} if user_data else None,
            "PropagateTagsToVolumeOnCreation": True,
            "Tags": tags(p)}, deps)

    def _primary_eni(self, name: str, interface: dict, p: dict) -> dict:
        """Declare the instance's primary interface, which a mirror session names; the instance gets it as device 0."""
        eni = f"{name}PrimaryEni"
        self.add(eni, "AWS::EC2::NetworkInterface",
                 {"SubnetId": interface["SubnetId"], "GroupSet": interface["GroupSet"],
                  "Ipv6AddressCount": interface["Ipv6AddressCount"], "Tags": tags(p)}, set())
        if interface["AssociatePublicIpAddress"]:
            # An Elastic IP needs the VPC's internet gateway attached first.
            attached = {ident(a.key, "camel") for a in self.actions if a.kind == "gateway-attachment"}
            self.add(f"{eni}PublicIp", "AWS::EC2::EIP", {"Domain": "vpc", "Tags": tags(p)}, attached)
            self.add(f"{eni}PublicIpAssociation", "AWS::EC2::EIPAssociation",
                     {"AllocationId": {"Fn::GetAtt": [f"{eni}PublicIp", "AllocationId"]},
                      "NetworkInterfaceId": {"Ref": eni}}, set())
        return {"NetworkInterfaceId": {"Ref": eni}, "DeviceIndex": interface["DeviceIndex"]}

    def _CreateNetworkInterface(self, action, name, p, deps):
        self.add(name, "AWS::EC2::NetworkInterface", {"SubnetId": p["SubnetId"], "GroupSet": p.get("Groups"),
                                                      "Description": p.get("Description"), "Tags": tags(p)}, deps)

    def _AttachNetworkInterface(self, action, name, p, deps):
        self.add(name, "AWS::EC2::NetworkInterfaceAttachment",
                 {"NetworkInterfaceId": p["NetworkInterfaceId"], "InstanceId": p["InstanceId"],
                  "DeviceIndex": str(p["DeviceIndex"])}, deps)

    def _ModifyNetworkInterfaceAttribute(self, action, name, p, deps):
        """A security group added to an instance's primary interface: in the GroupSet the template gives it."""
        eni = action.params["NetworkInterfaceId"]
        instance = self.by_key[eni.key]
        if instance.verb == "create":
            interface = self.resources[ident(eni.key, "camel")]["Properties"]["NetworkInterfaces"][0]
            declared = self.resources.get(f"{ident(eni.key, 'camel')}PrimaryEni")
            groups = declared["Properties"] if declared else interface
            groups["GroupSet"] = groups.get("GroupSet", []) + p["Groups"]
            return
        self.by_hand[f"{name}ByHand"] = {
            "Description": f"{action.summary}: CloudFormation cannot change the groups of {instance.id}'s existing "
                           f"interface {p['NetworkInterfaceId']}; add this group to them (EC2 > Network interfaces > "
                           "Change security groups)",
            "Value": p["Groups"][0] if len(p["Groups"]) == 1 else {"Fn::Join": [",", p["Groups"]]}}

    def _CreateTrafficMirrorTarget(self, action, name, p, deps):
        self.add(name, "AWS::EC2::TrafficMirrorTarget",
                 {"NetworkInterfaceId": p.get("NetworkInterfaceId"),
                  "NetworkLoadBalancerArn": p.get("NetworkLoadBalancerArn"),
                  "GatewayLoadBalancerEndpointId": p.get("GatewayLoadBalancerEndpointId"),
                  "Description": p.get("Description"), "Tags": tags(p)}, deps)

    # -- load balancers (Elastic Load Balancing v2) and the GWLB endpoint ----
    def _CreateLoadBalancer(self, action, name, p, deps):
        self.add(name, "AWS::ElasticLoadBalancingV2::LoadBalancer",
                 {"Name": p["Name"], "Type": p["Type"], "Scheme": p.get("Scheme"), "Subnets": p["Subnets"],
                  "Tags": p.get("Tags")}, deps)

    def _ModifyLoadBalancerAttributes(self, action, name, p, deps):
        """A property of the load balancer in CloudFormation."""
        self.resources[ident(action.params["LoadBalancerArn"].key, "camel")]["Properties"][
            "LoadBalancerAttributes"] = p["Attributes"]

    def _CreateTargetGroup(self, action, name, p, deps):
        self.add(name, "AWS::ElasticLoadBalancingV2::TargetGroup",
                 {k: p.get(k) for k in ("Name", "Protocol", "Port", "VpcId", "TargetType", "HealthCheckProtocol",
                                        "HealthCheckPort", "Tags")}, deps)

    def _ModifyTargetGroupAttributes(self, action, name, p, deps):
        """A property of the target group in CloudFormation (the setup changes only a group it creates)."""
        self.resources[ident(action.params["TargetGroupArn"].key, "camel")]["Properties"][
            "TargetGroupAttributes"] = p["Attributes"]

    def _RegisterTargets(self, action, name, p, deps):
        """The target group's Targets property in CloudFormation; none can be added to an existing group."""
        group = action.params["TargetGroupArn"]
        if self.by_key[group.key].verb == "create":
            self.resources[ident(group.key, "camel")]["Properties"].setdefault("Targets", []).extend(p["Targets"])
            return
        self.by_hand[f"{name}ByHand"] = {
            "Description": f"{action.summary}: CloudFormation cannot register targets in an existing target group; "
                           "run this command once the stack is created",
            "Value": {"Fn::Join": [" ", ["aws elbv2 register-targets --target-group-arn", p["TargetGroupArn"],
                                         "--targets", *({"Fn::Join": ["", ["Id=", t["Id"]]]} for t in p["Targets"])]]}}

    def _CreateListener(self, action, name, p, deps):
        self.add(name, "AWS::ElasticLoadBalancingV2::Listener",
                 {"LoadBalancerArn": p["LoadBalancerArn"], "DefaultActions": p["DefaultActions"],
                  "Protocol": p.get("Protocol"), "Port": p.get("Port")}, deps)

    def _CreateVpcEndpointServiceConfiguration(self, action, name, p, deps):
        self.add(name, "AWS::EC2::VPCEndpointService",
                 {"GatewayLoadBalancerArns": p["GatewayLoadBalancerArns"],
                  "AcceptanceRequired": p["AcceptanceRequired"], "Tags": tags(p)}, deps)

    def _CreateVpcEndpoint(self, action, name, p, deps):
        self.add(name, "AWS::EC2::VPCEndpoint",
                 {"VpcEndpointType": p["VpcEndpointType"], "VpcId": p["VpcId"], "ServiceName": p["ServiceName"],
                  "SubnetIds": p["SubnetIds"], "Tags": tags(p)}, deps)

    def _CreateTrafficMirrorFilter(self, action, name, p, deps):
        self.add(name, "AWS::EC2::TrafficMirrorFilter",
                 {"Description": p.get("Description"), "Tags": tags(p)}, deps)

    def _ModifyTrafficMirrorFilterNetworkServices(self, action, name, p, deps):
        """A property of the filter in CloudFormation."""
        filter_name = ident(action.params["TrafficMirrorFilterId"].key, "camel")
        self.resources[filter_name]["Properties"]["NetworkServices"] = p["AddNetworkServices"]

    def _CreateTrafficMirrorFilterRule(self, action, name, p, deps):
        self.add(name, "AWS::EC2::TrafficMirrorFilterRule", dict(p), deps)
        if ":" in p["SourceCidrBlock"]:
            # EC2 takes IPv6 rules; cfn-lint's own schema patch marks these CIDRs IPv4-only (E3002).
            self.resources[name]["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": ["E3002"]}}}

    def _CreateTrafficMirrorSession(self, action, name, p, deps):
        props = {k: v for k, v in p.items() if k != "TagSpecifications"}
        self.add(name, "AWS::EC2::TrafficMirrorSession", {**props, "Tags": tags(p)}, deps)


    # -- --with-sync ------------------------------------------------------------
    def _sync(self) -> None:
        function = with_sync.function_name(self.ctx)
        setup_tags = self.ctx.tag_specs(self.ctx.name_tag("sync"), "-")[0]["Tags"]
        deps: set[str] = set()
        settings = [p if isinstance(p, str) else self.ref(p.key, p.attr, deps)
                    for p in json_pieces(with_sync.sync_settings(self.ctx, self.actions))]
        mirrors = [f"traffic-mirror-target/${{{ident(k, 'camel')}}}" for k in with_sync.target_keys(self.actions)]
        mirrors.append(f"traffic-mirror-filter/${{{ident('filter', 'camel')}}}")
        self.add("SyncLogGroup", "AWS::Logs::LogGroup",
                 {"LogGroupName": f"/aws/lambda/{function}", "RetentionInDays": with_sync.LOG_RETENTION_DAYS,
                  "Tags": setup_tags}, set())
        statements = with_sync.role_statements(
            self.ctx, lambda resource: {"Fn::Sub": f"{_ARN}:{resource}"},
            [{"Fn::Sub": f"{_ARN}:{m}"} for m in mirrors],
            {"Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${SyncLogGroup}:*"})
        self.add("SyncRole", "AWS::IAM::Role",
                 {"Description": f"vpc-mirror setup {self.ctx.setup}: the sync Lambda's role",
                  "AssumeRolePolicyDocument": with_sync.ASSUME_ROLE,
                  "Policies": [{"PolicyName": "vpc-mirror-sync",
                                "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
                  "Tags": setup_tags}, set())
        self.add("SyncFunction", "AWS::Lambda::Function", {
            "FunctionName": function,
            "Description": f"vpc-mirror setup {self.ctx.setup}: mirror instances as they start and stop",
            "Runtime": with_sync.RUNTIME, "Handler": with_sync.HANDLER, "Timeout": with_sync.TIMEOUT_SECONDS,
            "Role": {"Fn::GetAtt": ["SyncRole", "Arn"]},
            "Code": {"ZipFile": with_sync.SOURCE},
            "Environment": {"Variables": {with_sync.SETTINGS_VARIABLE: {"Fn::Join": ["", settings]}}},
            "LoggingConfig": {"LogGroup": {"Ref": "SyncLogGroup"}},
            "Tags": setup_tags}, deps)
        self.add("SyncRule", "AWS::Events::Rule", {
            "Description": f"vpc-mirror setup {self.ctx.setup}: EC2 instance state changes to the sync Lambda",
            "EventPattern": with_sync.EVENT_PATTERN, "State": "ENABLED",
            "Targets": [{"Id": "vpc-mirror-sync", "Arn": {"Fn::GetAtt": ["SyncFunction", "Arn"]}}]}, set())
        self.add("SyncPermission", "AWS::Lambda::Permission", {
            "Action": "lambda:InvokeFunction", "FunctionName": {"Ref": "SyncFunction"},
            "Principal": "events.amazonaws.com", "SourceArn": {"Fn::GetAtt": ["SyncRule", "Arn"]}}, set())


#: An EC2 ARN in the stack's partition, region and account (for Fn::Sub).
_ARN = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"


class _Dumper(yaml.SafeDumper):
    """Writes repeated values (the tags) out in full: no YAML anchors in a template people read."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    """Lines of text (the Lambda's code, user data) as a literal block, readable as they are."""
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text)


def render(ctx: Context, actions: list[Action], with_sync: bool = False) -> str:
    header = (f"# vpc-mirror setup {ctx.setup!r} as a CloudFormation template "
              f"(`vpc-mirror export --format cloudformation{' --with-sync' * with_sync}`).\n")
    return header + yaml.dump(_Template(ctx, actions).build(with_sync), Dumper=_Dumper, sort_keys=False, width=120)
