"""Preflight: would the plan go through? The plan's problems, the session limits, every create tried with DryRun.

Changes nothing in AWS or in the state. The DryRun part is steps.permissions,
which apply also runs before its first change.
"""

from __future__ import annotations

from vpc_mirror.models.mirroring_support import MAX_SESSIONS_PER_SOURCE_ENI
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.permissions import PreflightCheck, permission_checks
from vpc_mirror.steps.session import SourceEniUse, source_eni_uses
from vpc_mirror.steps.setup import inspect_setup


async def preflight(ctx: Context) -> list[PreflightCheck]:
    """All checks for the context's answers: one per source ENI, one per other plan problem, one per create."""
    actions, problems = await inspect_setup(ctx)
    enis = source_eni_uses(ctx)
    checks = [_session_check(use) for use in enis]
    shown = {p for use in enis for p in use.problems}
    checks += [PreflightCheck(f"plan ({step})", False, reason) for step, reason in problems if reason not in shown]
    return checks + await permission_checks(ctx, actions)


def _session_check(use: SourceEniUse) -> PreflightCheck:
    what = f"sessions on {use.eni} ({use.instance_id})"
    if use.problems:
        return PreflightCheck(what, False, "; ".join(use.problems))
    return PreflightCheck(what, True, f"{len(use.in_use)} of AWS's {MAX_SESSIONS_PER_SOURCE_ENI} sessions used by "
                                      f"others; session number {use.number} is free")
