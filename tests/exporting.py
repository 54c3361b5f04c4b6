"""Test helper: the plan of some answers against the sandbox, as the exports see it."""

from __future__ import annotations

import asyncio
import json
import re

from vpc_mirror.steps.setup import open_context, plan_setup


def planned(sandbox, plan):
    """(context, actions) for ``plan`` against the sandbox, without applying anything."""
    ctx = open_context(plan, None, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        return ctx, asyncio.run(plan_setup(ctx))
    finally:
        ctx.close()


def selecting(plan, *selectors: str):
    """``plan`` whose sources also select instances (``tag:env=prod`` if none is given), as --with-sync needs."""
    sources = plan.sources.model_copy(update={"select": list(selectors or ("tag:env=prod",))})
    return plan.model_copy(update={"sources": sources})


def hcl_object(expression: str) -> dict:
    """The object inside a ``jsonencode({...})`` as python-hcl2 returns it (``${jsonencode({"k" = v})}``), as
    JSON: references to other resources (``aws_x.y.arn``) become their text."""
    body = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expression, re.DOTALL).group(1)
    body = re.sub(r'"\s*=\s*', '": ', body)
    body = re.sub(r"(?<=[\[,:] )((?:aws|data)[\w.]*)|(?<=\[)((?:aws|data)[\w.]*)", r'"\1\2"', body)
    return json.loads(body)
