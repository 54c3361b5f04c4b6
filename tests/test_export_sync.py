"""``export --with-sync``: the EventBridge rule, the sync Lambda and its least-privilege role, in CloudFormation and
Terraform; refused where it cannot work."""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
from argparse import Namespace
from pathlib import Path

import hcl2
import pytest
import yaml

from vpc_mirror.models.plan import SensorPlan
from vpc_mirror.steps.exports import cloudformation, render, sync_lambda, terraform
from vpc_mirror.steps.exports.with_sync import SyncRefused
from vpc_mirror.steps.setup import plan_setup, saved_context
from vpc_mirror.steps.state_store import StateStore
from vpc_mirror.tui.cli_common import CommandError, ExitCode
from vpc_mirror.tui.export_cli import export
from tests.awsfacts import demo_plan, ec2, run
from tests.exporting import hcl_object, planned, selecting
from tests.scale_answers import fleet_plan, more_sources
from tests.test_apply import CREATE_ANSWERS
from tests.test_export_cloudformation import nlb_fleet
from tests.test_user_text import _hcl_string

#: The Lambda's code as the exports must embed it: the module's file, byte for byte.
CODE = Path(sync_lambda.__file__).read_text()
PLANS = {"eni-fleet-of-3": lambda: fleet_plan(3), "nlb-cross-zone-fleet-of-3": nlb_fleet}
MUTATING = {"ec2:CreateTrafficMirrorSession", "ec2:DeleteTrafficMirrorSession", "ec2:CreateTags"}


def _statements(policy: dict) -> dict[str, dict]:
    return {s["Sid"]: s for s in policy["Statement"]}


def _check_least_privilege(statements: dict[str, dict], targets: list, filter_arn) -> None:
    """Reads on *; a session is created only tagged with the setup and only towards its target(s) and filter,
    tagged only as it is created, deleted only when it carries the setup's tag; nothing else mutates."""
    assert {a for s in statements.values() for a in s["Action"]} == {
        "ec2:DescribeInstances", "ec2:DescribeTrafficMirrorSessions", *MUTATING,
        "logs:CreateLogStream", "logs:PutLogEvents"}
    for s in statements.values():
        if set(s["Action"]) & MUTATING:
            assert "*" not in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    create = statements["CreateSessionsTaggedWithTheSetup"]
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/vpc-mirror:setup": "demo"}}
    towards = statements["FromAnyInterfaceToTheSetupsTargetAndFilter"]["Resource"]
    assert towards[1:] == [*targets, filter_arn]
    assert statements["TagSessionsOnlyAsTheyAreCreated"]["Condition"] == {
        "StringEquals": {"ec2:CreateAction": "CreateTrafficMirrorSession"}}
    assert statements["DeleteOnlyTheSetupsSessions"]["Condition"] == {
        "StringEquals": {"aws:ResourceTag/vpc-mirror:setup": "demo"}}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_cloudformation_with_sync_passes_cfn_lint_and_holds_rule_lambda_and_role(sandbox, tmp_path, plan):
    ctx, actions = planned(sandbox, selecting(plan()))
    path = tmp_path / "setup.yaml"
    path.write_text(cloudformation.render(ctx, actions, with_sync=True))
    result = subprocess.run(["cfn-lint", "--regions", "us-east-1", "--", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr

    resources = yaml.safe_load(path.read_text())["Resources"]
    rule = resources["SyncRule"]["Properties"]
    assert rule["EventPattern"] == {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
                                    "detail": {"state": ["running", "shutting-down", "terminated"]}}
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["SyncFunction", "Arn"]}
    assert resources["SyncPermission"]["Properties"]["SourceArn"] == {"Fn::GetAtt": ["SyncRule", "Arn"]}
    function = resources["SyncFunction"]["Properties"]
    assert function["Code"]["ZipFile"] == CODE and function["Handler"] == "index.handler"
    targets = sorted(name for name, r in resources.items() if r["Type"] == "AWS::EC2::TrafficMirrorTarget")
    assert len(targets) == (3 if plan is PLANS["eni-fleet-of-3"] else 1)
    settings = function["Environment"]["Variables"]["VPC_MIRROR_SYNC"]["Fn::Join"][1]
    assert [p for p in settings if isinstance(p, dict)] == [{"Ref": t} for t in targets] + [{"Ref": "Filter"}]
    assert '"select":["tag:env=prod"]' in settings[0]
    arn = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}"
    (policy,) = resources["SyncRole"]["Properties"]["Policies"]
    _check_least_privilege(_statements(policy["PolicyDocument"]),
                           [{"Fn::Sub": f"{arn}:traffic-mirror-target/${{{t}}}"} for t in targets],
                           {"Fn::Sub": f"{arn}:traffic-mirror-filter/${{Filter}}"})


def test_terraform_with_sync_parses_and_holds_rule_lambda_and_role(sandbox):
    ctx, actions = planned(sandbox, selecting(fleet_plan(3)))
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions, with_sync=True)))
    resources = {(t.strip('"'), n.strip('"')): body for block in doc["resource"] for t, named in block.items()
                 for n, body in named.items()}
    data = {t.strip('"'): body for block in doc["data"] for t, named in block.items() for body in named.values()}
    assert _hcl_string(data["archive_file"]["source_content"]) == CODE
    function = resources[("aws_lambda_function", "sync")]
    assert function["filename"] == "${data.archive_file.sync.output_path}"
    assert function["source_code_hash"] == "${data.archive_file.sync.output_base64sha256}"
    settings = hcl_object(function["environment"][0]["variables"]['"VPC_MIRROR_SYNC"'])
    targets = ["aws_ec2_traffic_mirror_target.target", "aws_ec2_traffic_mirror_target.target_sensor_2",
               "aws_ec2_traffic_mirror_target.target_sensor_3"]
    assert settings["targets"] == [f"{t}.id" for t in targets] and settings["select"] == ["tag:env=prod"]
    assert hcl_object(resources[("aws_cloudwatch_event_rule", "sync")]["event_pattern"])["detail"] == {
        "state": ["running", "shutting-down", "terminated"]}
    assert resources[("aws_cloudwatch_event_target", "sync")]["arn"] == "${aws_lambda_function.sync.arn}"
    assert resources[("aws_lambda_permission", "sync")]["source_arn"] == "${aws_cloudwatch_event_rule.sync.arn}"
    policy = hcl_object(resources[("aws_iam_role_policy", "sync")]["policy"])
    _check_least_privilege(_statements(policy), [f"{t}.arn" for t in targets],
                           "aws_ec2_traffic_mirror_filter.filter.arn")


def test_with_sync_is_refused_for_other_formats_and_without_sources_select(sandbox):
    ctx, actions = planned(sandbox, selecting(demo_plan()))
    for fmt in ("aws-cli", "iam-policy", "answers"):
        with pytest.raises(SyncRefused, match=f"--with-sync is for --format cloudformation or terraform, not {fmt}"):
            render(fmt, ctx, actions, with_sync=True)
    ctx, actions = planned(sandbox, demo_plan())
    with pytest.raises(SyncRefused, match=r"has no sources.select; add one \(e.g. select: \[tag:env=prod\]\) "
                                          "or drop --with-sync"):
        render("terraform", ctx, actions, with_sync=True)
    ctx, actions = planned(sandbox, selecting(demo_plan(**CREATE_ANSWERS)))
    with pytest.raises(SyncRefused, match="source_eni.mode: dedicated\\); set source_eni.mode: primary, or drop "
                                          "--with-sync and run `vpc-mirror sync` on a schedule"):
        render("cloudformation", ctx, actions, with_sync=True)


def _args(state_dir: Path, sandbox, fmt: str, output: Path | None = None) -> Namespace:
    return Namespace(name="demo", format=fmt, output=output, with_sync=True, endpoint_url=sandbox.endpoint_url,
                     profile=None, region=None, state_dir=state_dir)


def test_export_command_refuses_with_sync_before_reading_aws(sandbox, state_dir):
    StateStore(state_dir).save_answers(demo_plan())  # listed sources only
    sandbox.set_fail_rate(1.0)  # any AWS call would fail: the refusal comes first
    with pytest.raises(CommandError, match="setup demo has no sources.select") as refused:
        export(_args(state_dir, sandbox, "cloudformation"))
    assert refused.value.code == ExitCode.BAD_INPUT
    with pytest.raises(CommandError, match="--with-sync is for --format cloudformation or terraform, not aws-cli"):
        export(_args(state_dir, sandbox, "aws-cli"))


def test_export_command_writes_the_sync_lambda(sandbox, state_dir, tmp_path):
    StateStore(state_dir).save_answers(selecting(demo_plan()))
    out = tmp_path / "setup.tf"
    assert export(_args(state_dir, sandbox, "terraform", out)) == ExitCode.OK
    assert 'resource "aws_lambda_function" "sync"' in out.read_text()


def test_the_lambda_is_told_the_setups_own_untagged_instances(sandbox, state_dir):
    """An applied setup's sensor and test beacon by id, and a reused sensor, which carries no tag of the setup."""
    run(sandbox, state_dir, plan=selecting(demo_plan()))
    ctx = saved_context(StateStore(state_dir), "demo", endpoint_url=sandbox.endpoint_url)
    try:
        actions = asyncio.run(plan_setup(ctx))
    finally:
        ctx.close()
    made = {ctx.state.resource("sensor").id, ctx.state.resource("test-beacon").id}
    template = yaml.safe_load(cloudformation.render(ctx, actions, with_sync=True))
    settings = template["Resources"]["SyncFunction"]["Properties"]["Environment"]["Variables"]["VPC_MIRROR_SYNC"]
    assert f'"exclude":{json.dumps(sorted(made), separators=(",", ":"))}' in settings["Fn::Join"][1][0]

    (ref,) = more_sources(sandbox, 1)
    sensor = ec2(sandbox).describe_instances(Filters=[{"Name": "tag:Name", "Values": [ref[5:]]}])[
        "Reservations"][0]["Instances"][0]["InstanceId"]
    ctx, actions = planned(sandbox, selecting(demo_plan(sensor=SensorPlan(mode="existing", instance_id=sensor))))
    doc = hcl2.load(io.StringIO(terraform.render(ctx, actions, with_sync=True)))
    function = next(b for block in doc["resource"] for t, named in block.items() if t.strip('"') ==
                    "aws_lambda_function" for b in named.values())
    assert hcl_object(function["environment"][0]["variables"]['"VPC_MIRROR_SYNC"'])["exclude"] == [sensor]
