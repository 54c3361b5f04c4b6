"""What ``export --with-sync`` adds to a CloudFormation or Terraform export, in terms both formats render.

An EventBridge rule on "EC2 Instance State-change Notification" (running,
shutting-down, terminated) invokes a Lambda function whose code is
steps/exports/sync_lambda.py, embedded as text; the function's settings are
one JSON environment variable (``sync_settings``). Its role may read
instances and sessions, create a session only tagged with the setup and only
towards the setup's target(s) and filter, tag a session only as it is
created, delete only sessions tagged with the setup, and write its own log
group.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vpc_mirror.models.actions import Action, Ref
from vpc_mirror.steps.context import SETUP_TAG, Context
from vpc_mirror.steps.exports import sync_lambda

#: The Lambda's code, exactly as the module's file holds it.
SOURCE = Path(sync_lambda.__file__).read_text()
#: The environment variable the code reads its settings from.
SETTINGS_VARIABLE = "VPC_MIRROR_SYNC"
RUNTIME = "python3.13"
#: CloudFormation writes inline code to index.py; Terraform's archive names it the same, so both say index.handler.
HANDLER = "index.handler"
TIMEOUT_SECONDS = 60
LOG_RETENTION_DAYS = 30
STATES = ["running", *sync_lambda.REMOVED_STATES]
EVENT_PATTERN = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                 "detail": {"state": STATES}}


class SyncRefused(ValueError):
    """The setup cannot be exported with --with-sync; the message names the fix."""


def check(ctx: Context, fmt: str) -> None:
    if fmt not in ("cloudformation", "terraform"):
        raise SyncRefused(f"--with-sync is for --format cloudformation or terraform, not {fmt}; drop --with-sync "
                          "or choose one of those formats")
    if not ctx.plan.sources.select:
        raise SyncRefused(f"--with-sync follows the instances sources.select picks, and setup {ctx.setup} has "
                          "no sources.select; add one (e.g. select: [tag:env=prod]) or drop --with-sync")
    if ctx.plan.source_eni.mode != "primary":
        raise SyncRefused(f"--with-sync mirrors a new instance's primary interface, and setup {ctx.setup} mirrors "
                          f"an interface of its own on each source (source_eni.mode: {ctx.plan.source_eni.mode}); "
                          "set source_eni.mode: primary, or drop --with-sync and run `vpc-mirror sync` on a "
                          "schedule")


def function_name(ctx: Context) -> str:
    return f"vpc-mirror-sync-{ctx.setup}"


def target_keys(actions: list[Action]) -> list[str]:
    """The setup's mirror targets (one per sensor with ENI targets, one in all with a load balancer)."""
    return [a.key for a in actions if a.kind == "mirror-target"]


def own_instances(ctx: Context) -> list[str]:
    """The setup's instances by id, never sources: each instance record of its state, and a reused sensor (which
    carries no tag of the setup, so the function could not tell it by its tags)."""
    ids = {r.id for step in ctx.state.steps.values() for r in step.resources.values()
           if r.kind == "instance" and r.id}
    sensor = ctx.facts("sensor").get("instance_id") or ctx.plan.sensor.instance_id
    if ctx.plan.sensor.mode == "existing" and sensor:
        ids.add(sensor)
    return sorted(ids)


def sync_settings(ctx: Context, actions: list[Action]) -> dict[str, Any]:
    """The function's settings, with Refs for the target(s) and filter the export creates."""
    session = ctx.plan.session
    return {"setup": ctx.setup, "instances": list(ctx.plan.sources.instances), "select": list(ctx.plan.sources.select),
            "exclude": own_instances(ctx), "targets": [Ref(k) for k in target_keys(actions)], "filter": Ref("filter"),
            "vni": session.vni, "packet_length": session.packet_length, "description": session.description}


def role_statements(ctx: Context, ec2_arn: Callable[[str], Any], mirror_arns: list[Any],
                    log_group_arn: Any) -> list[dict]:
    """The Lambda role's policy; ``ec2_arn("traffic-mirror-session/*")`` is an ARN in this account and region,
    ``mirror_arns`` those of the setup's target(s) and filter."""
    ours = {"StringEquals": {f"aws:ResourceTag/{SETUP_TAG}": ctx.setup}}
    return [
        {"Sid": "ReadInstancesAndSessions", "Effect": "Allow",  # Describe* take no resource-level permissions
         "Action": ["ec2:DescribeInstances", "ec2:DescribeTrafficMirrorSessions"], "Resource": "*"},
        {"Sid": "CreateSessionsTaggedWithTheSetup", "Effect": "Allow", "Action": ["ec2:CreateTrafficMirrorSession"],
         "Resource": ec2_arn("traffic-mirror-session/*"),
         "Condition": {"StringEquals": {f"aws:RequestTag/{SETUP_TAG}": ctx.setup}}},
        {"Sid": "FromAnyInterfaceToTheSetupsTargetAndFilter", "Effect": "Allow",
         "Action": ["ec2:CreateTrafficMirrorSession"], "Resource": [ec2_arn("network-interface/*"), *mirror_arns]},
        {"Sid": "TagSessionsOnlyAsTheyAreCreated", "Effect": "Allow", "Action": ["ec2:CreateTags"],
         "Resource": ec2_arn("traffic-mirror-session/*"),
         "Condition": {"StringEquals": {"ec2:CreateAction": "CreateTrafficMirrorSession"}}},
        {"Sid": "DeleteOnlyTheSetupsSessions", "Effect": "Allow", "Action": ["ec2:DeleteTrafficMirrorSession"],
         "Resource": ec2_arn("traffic-mirror-session/*"), "Condition": ours},
        {"Sid": "WriteItsOwnLog", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": log_group_arn},
    ]


ASSUME_ROLE = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
