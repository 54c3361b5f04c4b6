"""Exports of a setup's plan: answers, AWS CLI script, CloudFormation, Terraform, IAM policy.

Every format but ``answers`` is rendered from the engine's plan (Step.plan()),
so an export says exactly what apply does.
"""

from __future__ import annotations

from vpc_mirror.models.actions import Action
from vpc_mirror.models.answers import dump_answers
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.exports import aws_cli, cloudformation, iam_policy, terraform

FORMATS = ("answers", "aws-cli", "cloudformation", "terraform", "iam-policy")


def render(fmt: str, ctx: Context, actions: list[Action]) -> str:
    """The setup in ``fmt``; ``actions`` is plan_setup's result for ``ctx``."""
    if fmt == "answers":
        return dump_answers(ctx.plan)
    modules = {"aws-cli": aws_cli, "cloudformation": cloudformation, "terraform": terraform, "iam-policy": iam_policy}
    return modules[fmt].render(ctx, actions)
