"""Step 9 — filter: which traffic is mirrored; by default everything, both ways [runbook 7]."""

from __future__ import annotations

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step

def rule_key(direction: str, number: int) -> str:
    return f"filter-rule/{direction}/{number}"


class FilterStep(Step):
    name = "filter"
    title = "Mirror filter"

    def plan(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.filter
        name = ctx.name_tag("filter")
        actions = [Action(step=self.name, key="filter", kind="mirror-filter", verb="create", name=name,
                          api="CreateTrafficMirrorFilter",
                          params={"Description": answers.description,
                                  "TagSpecifications": ctx.tag_specs(name, "traffic-mirror-filter")},
                          summary=f"create the mirror filter with {len(answers.rules)} rules")]
        if answers.mirror_amazon_dns:
            actions.append(Action(step=self.name, key="filter-services", kind="mirror-filter-services",
                                  verb="create", api="ModifyTrafficMirrorFilterNetworkServices",
                                  params={"TrafficMirrorFilterId": Ref("filter"), "AddNetworkServices": ["amazon-dns"]},
                                  summary="also mirror traffic to the Amazon DNS server (amazon-dns)"))
        for rule in answers.rules:
            key = rule_key(rule.direction, rule.number)
            params: dict = {
                "TrafficMirrorFilterId": Ref("filter"),
                "TrafficDirection": rule.direction,
                "RuleNumber": rule.number,
                "RuleAction": rule.action,
                "SourceCidrBlock": rule.source_cidr,
                "DestinationCidrBlock": rule.destination_cidr,
            }
            if rule.protocol is not None:
                params["Protocol"] = rule.protocol
            for field, ports in (("SourcePortRange", rule.source_ports), ("DestinationPortRange", rule.destination_ports)):
                if ports:
                    params[field] = {"FromPort": ports.from_port, "ToPort": ports.to_port}
            if rule.description:
                params["Description"] = rule.description
            proto = "all protocols" if rule.protocol is None else f"protocol {rule.protocol}"
            actions.append(Action(step=self.name, key=key, kind="mirror-filter-rule", verb="create",
                                  api="CreateTrafficMirrorFilterRule", params=params,
                                  summary=f"{rule.direction} rule {rule.number}: {rule.action} {proto} "
                                          f"{rule.source_cidr} -> {rule.destination_cidr}"))
        return actions
