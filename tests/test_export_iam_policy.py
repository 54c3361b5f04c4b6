"""The IAM policy export, checked against every call the engine really makes."""

from __future__ import annotations

import json

import pytest

from vpc_mirror.steps.exports import iam_policy
from tests.awsfacts import Recorder, demo_plan, run
from tests.exporting import planned
from tests.test_apply import CREATE_ANSWERS
from vpc_mirror.tui.cli import status_document

SERVICE = {"GetCallerIdentity": "sts", "GetParameter": "ssm"}


def _allowed(policy: dict) -> set[str]:
    return {action for s in policy["Statement"] if s["Effect"] == "Allow" for action in s["Action"]}


@pytest.mark.parametrize("answers", [{}, CREATE_ANSWERS], ids=["demo", "created-vpc-dedicated-enis"])
def test_policy_allows_exactly_what_apply_status_and_teardown_call(sandbox, state_dir, answers):
    plan = demo_plan(**answers)
    ctx, actions = planned(sandbox, plan)
    policy = json.loads(iam_policy.render(ctx, actions))
    recorder = Recorder()
    ctx = run(sandbox, state_dir, plan=plan, recorder=recorder)
    status_document(ctx.state)  # status reads the state file only
    run(sandbox, state_dir, plan=plan, recorder=recorder, teardown=True)
    called = {f"{SERVICE.get(op, 'ec2')}:{op}" for op in recorder.calls}
    # CreateTags is never called: it is the permission AWS checks for tags given at creation.
    assert _allowed(policy) - {"ec2:CreateTags"} == called


def test_deletes_need_the_setup_tag_and_tags_only_go_on_at_creation(sandbox):
    ctx, actions = planned(sandbox, demo_plan(**CREATE_ANSWERS))
    statements = iam_policy.policy(ctx, actions)["Statement"]
    deleting = [s for s in statements if any(a.split(":")[1].startswith(("Delete", "Detach", "Terminate"))
                                             for a in s["Action"])]
    untagged = set()
    for s in deleting:
        assert s["Resource"] != "*"
        if "Condition" in s:
            assert s["Condition"] == {"StringEquals": {"aws:ResourceTag/vpc-mirror:setup": "demo"}}
        else:
            untagged.update(s["Action"])
    # Only what AWS makes for us untagged: the main route table's routes, the instance an ENI detaches from.
    assert untagged == {"ec2:DeleteRoute", "ec2:DetachNetworkInterface"}
    tagging = next(s for s in statements if s["Action"] == ["ec2:CreateTags"])
    assert "CreateTrafficMirrorSession" in tagging["Condition"]["StringEquals"]["ec2:CreateAction"]
    account = ctx.state.account_id
    assert all(r.startswith(("arn:aws:ec2:us-east-1:" + account, "arn:aws:ec2:us-east-1::image/"))
               for s in statements if s["Sid"] == "Create" for r in s["Resource"])


def test_export_command_writes_the_policy_of_a_saved_setup(sandbox, state_dir, tmp_path):
    from argparse import Namespace

    from vpc_mirror.tui.export_cli import export

    run(sandbox, state_dir)
    out = tmp_path / "policy.json"
    args = Namespace(name="demo", format="iam-policy", output=out, endpoint_url=sandbox.endpoint_url,
                     profile=None, region=None, state_dir=state_dir)
    assert export(args) == 0
    assert "ec2:CreateTrafficMirrorSession" in _allowed(json.loads(out.read_text()))
