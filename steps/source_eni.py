"""Step 6 — source ENIs: mirror each source's primary ENI, or a dedicated one [runbook 4]."""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step
from vpc_mirror.steps.sources import sources_of


def source_eni_key(instance_id: str) -> str:
    return f"source-eni/{instance_id}"


class SourceEniStep(Step):
    name = "source_eni"
    title = "Source ENIs"

    def plan(self, ctx: Context) -> list[Action]:
        if ctx.plan.source_eni.mode == "primary":
            return [
                Action(step=self.name, key=source_eni_key(s["instance_id"]), kind="network-interface", verb="reuse",
                       id=s["primary_eni"],
                       params={"private_ip": s["private_ip"], "subnet_id": s["subnet_id"]},
                       summary=f"mirror {s['instance_id']}'s primary ENI {s['primary_eni']}")
                for s in sources_of(ctx)
            ]
        actions = []
        for s in sources_of(ctx):
            key = source_eni_key(s["instance_id"])
            name = ctx.name_tag(key)
            index = max(s["device_indexes"]) + 1
            actions += [
                Action(step=self.name, key=key, kind="network-interface", verb="create", name=name,
                       api="CreateNetworkInterface",
                       params={"SubnetId": s["subnet_id"], "Groups": s["security_groups"],
                               "Description": f"vpc-mirror {ctx.setup}: mirrored ENI of {s['instance_id']}",
                               "TagSpecifications": ctx.tag_specs(name, "network-interface")},
                       summary=f"create a dedicated ENI for {s['instance_id']} in {s['subnet_id']}"),
                Action(step=self.name, key=f"{key}/attachment", kind="eni-attachment", verb="create",
                       api="AttachNetworkInterface",
                       params={"NetworkInterfaceId": Ref(key), "InstanceId": s["instance_id"],
                               "DeviceIndex": index},
                       summary=f"attach it to {s['instance_id']} as device {index}"),
            ]
        return actions
