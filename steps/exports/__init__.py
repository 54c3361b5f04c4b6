"""Exports of a setup's plan: answers, AWS CLI script, CloudFormation, Terraform, IAM policy.

Every format but ``answers`` is rendered from the engine's plan (Step.plan()),
so an export says exactly what apply does.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action
from vpc_mirror.models.answers import dump_answers
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.exports import aws_cli, cloudformation, iam_policy, terraform
from vpc_mirror.steps.exports.with_sync import check as check_with_sync

FORMATS = ("answers", "aws-cli", "cloudformation", "terraform", "iam-policy")


def render(fmt: str, ctx: Context, actions: list[Action], with_sync: bool = False) -> str:
    """The setup in ``fmt``; ``actions`` is plan_setup's result for ``ctx``. ``with_sync`` (cloudformation and
    terraform only, see with_sync.check) adds the Lambda that mirrors instances as they come and go."""
    if with_sync:
        check_with_sync(ctx, fmt)
    if fmt == "answers":
        return dump_answers(ctx.plan)
    if fmt in ("cloudformation", "terraform"):
        return {"cloudformation": cloudformation, "terraform": terraform}[fmt].render(ctx, actions, with_sync)
    return {"aws-cli": aws_cli, "iam-policy": iam_policy}[fmt].render(ctx, actions)
