"""Step 3 — sensor: the Zeek instance, existing or launched [runbook 2]; ``sensor.count`` launches a fleet.

Every sensor of a fleet is launched alike, in the setup's subnet, under the
state keys steps.fleet names ("sensor", "sensor-2", ...).
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from vpc_mirror.models.actions import Action
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step, guarded
from vpc_mirror.steps.fleet import sensor_keys
from vpc_mirror.steps.launch import check_instance_type, check_key_pair, resolve_image, run_instances_params
from vpc_mirror.steps.resources import instance_attrs


class SensorStep(Step):
    name = "sensor"
    title = "Zeek sensor"

    async def inspect(self, ctx: Context) -> None:
        answers = ctx.plan.sensor
        facts = ctx.facts(self.name)
        if answers.mode == "existing":
            def look():
                try:
                    reservations = ctx.aws.ec2.describe_instances(InstanceIds=[answers.instance_id])["Reservations"]
                except ClientError as exc:
                    raise Refused(self.name, [f"sensor.instance_id: {answers.instance_id} was not found "
                                              f"({exc.response['Error']['Code']}); pick a running instance"]) from None
                return reservations[0]["Instances"][0]

            inst = await ctx.call(guarded(look, context="reading the sensor instance"))
            if inst["State"]["Name"] in ("shutting-down", "terminated"):
                raise Refused(self.name, [f"sensor.instance_id: {answers.instance_id} is "
                                          f"{inst['State']['Name']}; pick a running instance"])
            facts.update(instance_attrs(inst))
            if ctx.plan.target.type != "eni":  # its security group admits the load balancer's subnet
                subnets = await ctx.call(guarded(
                    lambda: ctx.aws.ec2.describe_subnets(SubnetIds=[inst["SubnetId"]])["Subnets"],
                    context="reading the sensor's subnet"))
                facts["subnet_cidr"] = subnets[0]["CidrBlock"]
            return
        facts.update(await ctx.call(guarded(
            lambda: resolve_image(ctx, self.name, "sensor.image", answers.image), context="looking up the image")))
        await ctx.call(guarded(lambda: check_key_pair(ctx, self.name, answers.key_name), context="checking the key"))
        await ctx.call(guarded(
            lambda: check_instance_type(ctx, self.name, "sensor.instance_type", answers.instance_type,
                                        type(answers).model_fields["instance_type"].default),
            context="checking the instance type"))

    def plan(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.sensor
        facts = ctx.facts(self.name)
        if answers.mode == "existing":
            return [Action(step=self.name, key="sensor", kind="instance", verb="reuse", id=answers.instance_id,
                           params=dict(facts),
                           summary=f"use sensor {answers.instance_id} ({facts.get('instance_type')}, "
                                   f"{facts.get('private_ip')})")]
        keys = sensor_keys(ctx.plan)
        return [
            Action(step=self.name, key=key, kind="instance", verb="create", name=ctx.name_tag(key),
                   api="RunInstances",
                   params=run_instances_params(
                       ctx, step=self.name, role=key, image=facts, instance_type=answers.instance_type,
                       root_gib=answers.root_volume_gib, key_name=answers.key_name,
                       ipv6=ctx.facts("vpc").get("ipv6", False)),
                   summary=f"launch {'sensor' if len(keys) == 1 else key} {answers.instance_type} from "
                           f"{answers.image} ({facts.get('image_id')}), {answers.root_volume_gib} GiB root")
            for key in keys
        ]
