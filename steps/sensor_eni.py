"""Step 7 — sensor ENI: the capture interface on each sensor, open to VXLAN from the sources only [runbook 5].

With an nlb or gwlb target there is no capture ENI: the load balancer sends to
each sensor's primary interface, whose new group admits the mirrored traffic
and the health checks (never from 0.0.0.0/0).

Its security group admits UDP 4789 from each source address as a /32, or from
the sources' subnets when that many /32s would pass AWS's rules-per-group
quota; never from 0.0.0.0/0.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Joined, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step
from vpc_mirror.steps.fleet import attachment_key, capture_eni_key, sensor_keys
from vpc_mirror.steps.load_balancer import GENEVE_PORT, inspect_load_balancer, load_balancer_cidrs
from vpc_mirror.steps.security_group import security_group_actions
from vpc_mirror.steps.source_eni import source_eni_key
from vpc_mirror.steps.sources import sources_of
from vpc_mirror.steps.test_beacon import mirrors_beacon

#: AWS's default "inbound rules per security group" quota (each CIDR is one rule).
RULES_PER_GROUP = 60


def vxlan_sources(ctx: Context) -> tuple[list[str | Joined], str]:
    """The CIDRs allowed to send VXLAN, and how they were chosen (the mirrored test beacon always by address)."""
    sources = sources_of(ctx)
    beacon = [Joined((Ref("test-beacon", "private_ip"), "/32"))] if mirrors_beacon(ctx) else []
    if ctx.plan.source_eni.mode == "primary":
        hosts = sorted({f"{s['private_ip']}/32" for s in sources})
    else:
        hosts = [Joined((Ref(source_eni_key(s["instance_id"]), "private_ip"), "/32")) for s in sources]
    if len(hosts) + len(beacon) <= RULES_PER_GROUP:
        return hosts + beacon, "each source address"
    subnets = sorted({s["subnet_cidr"] for s in sources})
    return subnets + beacon, (f"the sources' {len(subnets)} subnets ({len(hosts)} addresses pass the "
                              f"{RULES_PER_GROUP}-rule quota)")


class SensorEniStep(Step):
    name = "sensor_eni"
    title = "Sensor capture ENI"

    async def inspect(self, ctx: Context) -> None:
        """Behind an existing load balancer, its subnets are read here too (the target step, which reads it
        again, reports what is wrong with it; its problems are not repeated here)."""
        if ctx.plan.target.type != "eni":
            try:
                await inspect_load_balancer(ctx)
            except Refused:
                pass

    def plan(self, ctx: Context) -> list[Action]:
        if ctx.plan.target.type != "eni":
            return self._behind_load_balancer(ctx)
        answers = ctx.plan.sensor_eni
        cidrs, how = vxlan_sources(ctx)
        port = answers.vxlan_port
        keys = sensor_keys(ctx.plan)
        actions = security_group_actions(
            ctx, self.name, "vxlan", description=f"VXLAN (UDP {port}) from the mirror sources",
            summary="create security group for the capture ENI" + ("s" if len(keys) > 1 else ""),
            permission={"IpProtocol": "udp", "FromPort": port, "ToPort": port,
                        "IpRanges": [{"CidrIp": c} for c in cidrs]},
            permission_summary=f"allow UDP {port} from {how}",
        )
        for key in keys:
            eni_key = capture_eni_key(key)
            eni_name = ctx.name_tag(eni_key)
            of = "" if len(keys) == 1 else f" of {key}"
            actions += [
                Action(step=self.name, key=eni_key, kind="network-interface", verb="create", name=eni_name,
                       api="CreateNetworkInterface",
                       params={"SubnetId": Ref(key, "subnet_id"), "Groups": [Ref("vxlan-sg")],
                               "Description": f"vpc-mirror {ctx.setup}: Zeek capture interface{of}",
                               "TagSpecifications": ctx.tag_specs(eni_name, "network-interface")},
                       summary=f"create the capture ENI in the sensor's subnet{of}"),
                Action(step=self.name, key=attachment_key(key), kind="eni-attachment", verb="create",
                       api="AttachNetworkInterface",
                       params={"NetworkInterfaceId": Ref(eni_key), "InstanceId": Ref(key),
                               "DeviceIndex": answers.device_index},
                       summary=f"attach it to {key if of else 'the sensor'} as device {answers.device_index}"),
            ]
        return actions

    def _behind_load_balancer(self, ctx: Context) -> list[Action]:
        """No capture ENI: the load balancer delivers to each sensor's primary interface (instance targets), so
        a group admitting the mirrored traffic and the health checks goes on that interface.

        An NLB keeps the sender's address for UDP to instance targets, and this
        cannot be turned off ("Client IP preservation",
        https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html),
        so the sensors see VXLAN from the sources themselves; a GWLB sends
        GENEVE (UDP 6081) from its own addresses in its subnet. Health checks come
        from the load balancer's subnet in both cases.
        """
        target = ctx.plan.target
        nlb = target.type == "nlb"
        lb_cidrs = load_balancer_cidrs(ctx)
        lb_where = "the load balancer's subnet" + ("s" if len(lb_cidrs) > 1 else "")
        if nlb:
            port = ctx.plan.sensor_eni.vxlan_port
            cidrs, how = vxlan_sources(ctx)
            purpose, what = "vxlan", f"VXLAN (UDP {port}) from the mirror sources through the load balancer"
        else:
            port, cidrs, how = GENEVE_PORT, lb_cidrs, lb_where
            purpose, what = "geneve", f"GENEVE (UDP {port}) from the Gateway Load Balancer"
        group = f"{purpose}-sg"
        check = target.health_check_port
        actions = security_group_actions(
            ctx, self.name, purpose, description=f"{what}, and its health checks",
            summary="create the sensors' security group for the load balancer's traffic",
            permission={"IpProtocol": "udp", "FromPort": port, "ToPort": port,
                        "IpRanges": [{"CidrIp": c} for c in cidrs]},
            permission_summary=f"allow UDP {port} from {how}",
        ) + [
            Action(step=self.name, key=f"{group}-health-ingress", kind="security-group-ingress", verb="create",
                   api="AuthorizeSecurityGroupIngress",
                   params={"GroupId": Ref(group), "IpPermissions": [
                       {"IpProtocol": "tcp", "FromPort": check, "ToPort": check,
                        "IpRanges": [{"CidrIp": c} for c in lb_cidrs]}]},
                   summary=f"allow the health check, TCP {check}, from {lb_where}"),
        ]
        return actions + [
            Action(step=self.name, key=f"{key}/{group}", kind="interface-groups", verb="create",
                   api="ModifyNetworkInterfaceAttribute",
                   params={"NetworkInterfaceId": Ref(key, "primary_eni"), "Groups": [Ref(group)]},
                   summary=f"add the group to {key}'s primary interface, which receives the traffic")
            for key in sensor_keys(ctx.plan)
        ]
