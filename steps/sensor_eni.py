"""Step 7 — sensor ENI: the capture interface on the sensor, open to VXLAN from the sources only [runbook 5].

Its security group admits UDP 4789 from each source address as a /32, or from
the sources' subnets when that many /32s would pass AWS's rules-per-group
quota; never from 0.0.0.0/0.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Joined, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step
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

    def plan(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.sensor_eni
        eni_name = ctx.name_tag("sensor-eni")
        cidrs, how = vxlan_sources(ctx)
        port = answers.vxlan_port
        return security_group_actions(
            ctx, self.name, "vxlan", description=f"VXLAN (UDP {port}) from the mirror sources",
            summary="create security group for the capture ENI",
            permission={"IpProtocol": "udp", "FromPort": port, "ToPort": port,
                        "IpRanges": [{"CidrIp": c} for c in cidrs]},
            permission_summary=f"allow UDP {port} from {how}",
        ) + [
            Action(step=self.name, key="sensor-eni", kind="network-interface", verb="create", name=eni_name,
                   api="CreateNetworkInterface",
                   params={"SubnetId": Ref("sensor", "subnet_id"), "Groups": [Ref("vxlan-sg")],
                           "Description": f"vpc-mirror {ctx.setup}: Zeek capture interface",
                           "TagSpecifications": ctx.tag_specs(eni_name, "network-interface")},
                   summary="create the capture ENI in the sensor's subnet"),
            Action(step=self.name, key="sensor-eni/attachment", kind="eni-attachment", verb="create",
                   api="AttachNetworkInterface",
                   params={"NetworkInterfaceId": Ref("sensor-eni"), "InstanceId": Ref("sensor"),
                           "DeviceIndex": answers.device_index},
                   summary=f"attach it to the sensor as device {answers.device_index}"),
        ]
