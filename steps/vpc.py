"""Step 2 — vpc: use an existing VPC and subnet, or create one ready for a sensor [runbook 1].

A created VPC gets an Amazon IPv6 block, one subnet, an internet gateway and
default routes for IPv4 and IPv6. Either way, an SSH security group scoped to
the CIDR the user gives is created when asked for.
"""

from __future__ import annotations

import ipaddress

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.ec2_describe import by_ref
from vpc_mirror.steps.security_group import security_group_actions
from vpc_mirror.steps.engine import Refused, Step, guarded


def first_subnet(cidr: str) -> str:
    net = ipaddress.IPv4Network(cidr)
    return str(next(net.subnets(new_prefix=24))) if net.prefixlen < 24 else str(net)


class VpcStep(Step):
    name = "vpc"
    title = "VPC"

    async def inspect(self, ctx: Context) -> None:
        answers = ctx.plan.vpc
        facts = ctx.facts(self.name)
        if answers.mode == "create":
            facts.update(ipv6=answers.ipv6, cidr=answers.cidr)
            return

        def one(describe, key: str, id_field: str, ref: str, field: str, hint: str) -> dict:
            try:
                items = describe(**by_ref(ref, id_field))[key]
            except ClientError as exc:
                raise Refused(self.name, [f"{field}: {ref} was not found in {ctx.aws.region} "
                                          f"({exc.response['Error']['Code']}); {hint}"]) from None
            if len(items) != 1:
                found = "nothing" if not items else f"{len(items)} of them"
                raise Refused(self.name, [f"{field}: {ref} matches {found} in {ctx.aws.region}; {hint}"])
            return items[0]

        def look():
            vpc = one(ctx.aws.ec2.describe_vpcs, "Vpcs", "VpcIds", answers.vpc_id, "vpc.vpc_id",
                      "pick a VPC of this region by id")
            subnet = one(ctx.aws.ec2.describe_subnets, "Subnets", "SubnetIds", answers.subnet_id, "vpc.subnet_id",
                         f"pick a subnet of {vpc['VpcId']} by id")
            return vpc, subnet

        vpc, subnet = await ctx.call(guarded(look, context="reading the VPC"))
        if subnet["VpcId"] != vpc["VpcId"]:
            raise Refused(self.name, [f"vpc.subnet_id: {answers.subnet_id} is in {subnet['VpcId']}, not in "
                                      f"{vpc['VpcId']}; pick a subnet of that VPC"])
        facts.update(
            vpc_id=vpc["VpcId"],
            subnet_id=subnet["SubnetId"],
            cidr=vpc["CidrBlock"],
            ipv6=bool(subnet.get("Ipv6CidrBlockAssociationSet")),
            subnet_az=subnet["AvailabilityZone"],
            subnet_cidr=subnet["CidrBlock"],
        )

    def plan(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.vpc
        facts = ctx.facts(self.name)
        actions: list[Action] = []
        if answers.mode == "existing":
            actions += [
                Action(step=self.name, key="vpc", kind="vpc", verb="reuse", id=facts.get("vpc_id"),
                       summary=f"use VPC {facts.get('vpc_id')} ({facts.get('cidr', '?')})",
                       params={"cidr": facts.get("cidr")}),
                Action(step=self.name, key="subnet", kind="subnet", verb="reuse", id=facts.get("subnet_id"),
                       summary=f"use subnet {facts.get('subnet_id')} ({facts.get('subnet_cidr', '?')})",
                       params={"az": facts.get("subnet_az"), "cidr": facts.get("subnet_cidr")}),
            ]
        else:
            actions += self._create(ctx)
        if answers.ssh_from:
            actions += self._ssh_group(ctx)
        return actions

    def _create(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.vpc
        name = ctx.name_tag
        vpc_params = {"CidrBlock": answers.cidr, "TagSpecifications": ctx.tag_specs(name("vpc"), "vpc")}
        if answers.ipv6:
            vpc_params["AmazonProvidedIpv6CidrBlock"] = True
        subnet_params = {
            "VpcId": Ref("vpc"),
            "CidrBlock": first_subnet(answers.cidr),
            "TagSpecifications": ctx.tag_specs(name("subnet"), "subnet"),
        }
        if answers.ipv6:
            subnet_params["Ipv6CidrBlock"] = Ref("vpc", "ipv6_subnet_0")
        actions = [
            Action(step=self.name, key="vpc", kind="vpc", verb="create", name=name("vpc"), api="CreateVpc",
                   params=vpc_params,
                   summary=f"create VPC {answers.cidr}" + (" with an Amazon IPv6 block" if answers.ipv6 else "")),
            Action(step=self.name, key="subnet", kind="subnet", verb="create", name=name("subnet"), api="CreateSubnet",
                   params=subnet_params, summary=f"create subnet {first_subnet(answers.cidr)}"),
            Action(step=self.name, key="igw", kind="internet-gateway", verb="create", name=name("igw"),
                   api="CreateInternetGateway",
                   params={"TagSpecifications": ctx.tag_specs(name("igw"), "internet-gateway")},
                   summary="create internet gateway"),
            Action(step=self.name, key="igw-attachment", kind="gateway-attachment", verb="create",
                   api="AttachInternetGateway", params={"InternetGatewayId": Ref("igw"), "VpcId": Ref("vpc")},
                   summary="attach the internet gateway to the VPC"),
            Action(step=self.name, key="route-ipv4", kind="route", verb="create", api="CreateRoute",
                   params={"RouteTableId": Ref("vpc", "main_route_table_id"), "DestinationCidrBlock": "0.0.0.0/0",
                           "GatewayId": Ref("igw")},
                   summary="route 0.0.0.0/0 to the internet gateway"),
        ]
        if answers.ipv6:
            actions.append(
                Action(step=self.name, key="route-ipv6", kind="route", verb="create", api="CreateRoute",
                       params={"RouteTableId": Ref("vpc", "main_route_table_id"), "DestinationIpv6CidrBlock": "::/0",
                               "GatewayId": Ref("igw")},
                       summary="route ::/0 to the internet gateway")
            )
        return actions

    def _ssh_group(self, ctx: Context) -> list[Action]:
        source = ctx.plan.vpc.ssh_from
        ranges = {"Ipv6Ranges": [{"CidrIpv6": source}]} if ":" in source else {"IpRanges": [{"CidrIp": source}]}
        return security_group_actions(
            ctx, self.name, "ssh", description=f"SSH to the sensor from {source}",
            summary=f"create security group allowing SSH from {source}",
            permission={"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **ranges},
            permission_summary=f"allow TCP 22 from {source}")
