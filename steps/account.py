"""Step 1 — account: whose credentials, which region, which account."""

from __future__ import annotations

from vpc_mirror.models.actions import Action
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Step, guarded


class AccountStep(Step):
    name = "account"
    title = "AWS account"

    async def inspect(self, ctx: Context) -> None:
        ident = await ctx.call(guarded(ctx.aws.sts.get_caller_identity, context="checking the AWS credentials"))
        facts = ctx.facts(self.name)
        facts.update(account_id=ident["Account"], arn=ident["Arn"], region=ctx.aws.region)
        ctx.state.account_id = ident["Account"]
        ctx.state.region = ctx.aws.region

    def plan(self, ctx: Context) -> list[Action]:
        facts = ctx.facts(self.name)
        return [
            Action(
                step=self.name,
                key="account",
                kind="account",
                verb="check",
                summary=f"use account {facts.get('account_id', '?')} in {ctx.aws.region} as {facts.get('arn', '?')}",
            )
        ]
