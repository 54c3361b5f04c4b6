"""Step 8 — target: where mirrored traffic goes [runbook 6].

``eni``: one target per sensor, its capture ENI. ``nlb``: one target, the
Network Load Balancer; ``gwlb``: one target, the Gateway Load Balancer
endpoint (both made or reused first, by this step: steps.load_balancer). An existing load
balancer or endpoint may already be another's mirror target; AWS allows one
target per NLB (NlbInUseByTrafficMirrorTargetException), and a target may serve
any number of sessions, so that target is reused.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step, guarded
from vpc_mirror.steps.fleet import capture_eni_key, sensor_keys, target_key
from vpc_mirror.steps.load_balancer import inspect_load_balancer, load_balancer_actions


class TargetStep(Step):
    name = "target"
    title = "Mirror target"

    async def inspect(self, ctx: Context) -> None:
        """The load balancer's facts, and the existing mirror target of a reused NLB or GWLB endpoint that is not
        this setup's, if any."""
        facts = ctx.facts(self.name)
        facts.clear()
        await inspect_load_balancer(ctx)
        answers = ctx.plan.target
        if answers.load_balancer_arn is None and answers.gwlb_endpoint_id is None:
            return

        def look() -> list[dict]:
            pages = ctx.aws.ec2.get_paginator("describe_traffic_mirror_targets").paginate()
            return [t for page in pages for t in page["TrafficMirrorTargets"]]

        field, value = (("NetworkLoadBalancerArn", answers.load_balancer_arn) if answers.load_balancer_arn
                        else ("GatewayLoadBalancerEndpointId", answers.gwlb_endpoint_id))
        targets = await ctx.call(guarded(look, context="reading the mirror targets"))
        theirs = [t for t in targets if not ctx.owns(t.get("Tags")) and t.get(field) == value]
        if theirs:
            facts["existing"] = theirs[0]["TrafficMirrorTargetId"]

    def plan(self, ctx: Context) -> list[Action]:
        return load_balancer_actions(ctx) + self._targets(ctx)

    def _targets(self, ctx: Context) -> list[Action]:
        kind = ctx.plan.target.type
        existing = ctx.facts(self.name).get("existing")
        if existing is not None:
            what = "Network Load Balancer" if kind == "nlb" else "Gateway Load Balancer endpoint"
            return [Action(step=self.name, key="target", kind="mirror-target", verb="reuse", id=existing,
                           summary=f"use the {what}'s existing mirror target {existing}")]
        if kind == "nlb":
            return [self._target(ctx, "target", {"NetworkLoadBalancerArn": Ref("lb")},
                                 "create the mirror target on the Network Load Balancer")]
        if kind == "gwlb":
            return [self._target(ctx, "target", {"GatewayLoadBalancerEndpointId": Ref("gwlb/endpoint")},
                                 "create the mirror target on the Gateway Load Balancer endpoint")]
        keys = sensor_keys(ctx.plan)
        return [self._target(ctx, target_key(k), {"NetworkInterfaceId": Ref(capture_eni_key(k))},
                             "create the mirror target on the capture ENI" + (f" of {k}" if len(keys) > 1 else ""))
                for k in keys]

    def _target(self, ctx: Context, key: str, where: dict, summary: str) -> Action:
        name = ctx.name_tag(key)
        return Action(step=self.name, key=key, kind="mirror-target", verb="create", name=name,
                      api="CreateTrafficMirrorTarget",
                      params={**where, "Description": ctx.plan.target.description,
                              "TagSpecifications": ctx.tag_specs(name, "traffic-mirror-target")},
                      summary=summary)
