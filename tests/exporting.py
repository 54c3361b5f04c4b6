"""Test helper: the plan of some answers against the sandbox, as the exports see it."""

from __future__ import annotations

import asyncio

from vpc_mirror.steps.setup import open_context, plan_setup


def planned(sandbox, plan):
    """(context, actions) for ``plan`` against the sandbox, without applying anything."""
    ctx = open_context(plan, None, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    try:
        return ctx, asyncio.run(plan_setup(ctx))
    finally:
        ctx.close()
