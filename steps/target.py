"""Step 8 — target: where mirrored traffic goes, here the sensor's capture ENI [runbook 6]."""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step

class TargetStep(Step):
    name = "target"
    title = "Mirror target"

    def plan(self, ctx: Context) -> list[Action]:
        name = ctx.name_tag("target")
        return [Action(step=self.name, key="target", kind="mirror-target", verb="create", name=name,
                       api="CreateTrafficMirrorTarget",
                       params={"NetworkInterfaceId": Ref("sensor-eni"), "Description": ctx.plan.target.description,
                               "TagSpecifications": ctx.tag_specs(name, "traffic-mirror-target")},
                       summary="create the mirror target on the capture ENI")]
