"""`vpc-mirror export` and `vpc-mirror preflight`.

Handlers take the parsed arguments (tui/cli.py builds them) and share
tui/cli_common.py's conventions. steps/ is imported inside the handlers
(start-up time: the wizard never needs it before its first screen).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from vpc_mirror.tui.cli_common import CommandError, ExitCode, no_setup, read_answers, say, store

#: What ``export --format`` takes: steps.exports.FORMATS, written out because importing steps.exports
#: loads boto3 (start-up time); tests/test_cli.py keeps the two equal.
FORMATS = ["answers", "aws-cli", "cloudformation", "terraform", "iam-policy"]
_MARK = {True: "✓", False: "✗", None: "?"}


def _aws_options(args) -> dict:
    return {"endpoint_url": args.endpoint_url, "profile": args.profile, "region": args.region}


def _planned(ctx, run):
    """Run ``run(ctx)`` (a coroutine function), mapping engine failures to CommandError."""
    from vpc_mirror.steps.aws_errors import AwsError
    from vpc_mirror.steps.engine import Refused

    try:
        return asyncio.run(run(ctx))
    except Refused as exc:
        lines = "\n".join(f"  {r}" for r in exc.reasons)
        raise CommandError(f"the setup's answers no longer fit the account:\n{lines}", ExitCode.BAD_INPUT) from None
    except AwsError as exc:
        raise CommandError(str(exc)) from None
    finally:
        ctx.close()


def export(args) -> int:
    from vpc_mirror.steps.exports import render
    from vpc_mirror.steps.exports.with_sync import SyncRefused, check
    from vpc_mirror.steps.setup import plan_setup, saved_context

    ctx = saved_context(store(args), args.name, **_aws_options(args))
    if ctx is None:
        raise no_setup(args, args.name)
    if args.with_sync:  # refused before the plan is inspected in AWS
        try:
            check(ctx, args.format)
        except SyncRefused as exc:
            ctx.close()
            raise CommandError(str(exc), ExitCode.BAD_INPUT) from None
    if args.format == "answers":
        ctx.close()
        actions = []
    else:  # read-only: the plan is inspected in AWS, nothing is changed or saved
        actions = _planned(ctx, plan_setup)
    text = render(args.format, ctx, actions, with_sync=args.with_sync)
    if args.output:
        from vpc_mirror.steps.state_dir import write_private

        try:
            write_private(args.output, text)
        except OSError as exc:
            raise CommandError(f"-o {args.output}: cannot write it ({exc.strerror}); give a file in a folder "
                               "you can write", ExitCode.BAD_INPUT) from None
    else:
        sys.stdout.write(text)
    return ExitCode.OK


def preflight(args) -> int:
    """Exit 0 when every check passed, 1 when one failed or could not tell."""
    from vpc_mirror.steps.preflight import preflight as run_preflight
    from vpc_mirror.steps.setup import open_context, saved_context

    target = args.target
    if Path(target).is_file():
        ctx = open_context(read_answers(Path(target)), None, **_aws_options(args))
    else:
        ctx = saved_context(store(args), target, **_aws_options(args))
        if ctx is None:
            raise CommandError(f"no saved setup named {target!r} in {args.state_dir}, and no answers file; "
                               "give a setup name or an ANSWERS.yaml path", ExitCode.BAD_INPUT)
    checks = _planned(ctx, run_preflight)
    for check in checks:
        say(f"  {_MARK[check.ok]} {check.what}: {check.detail}")
    failed = [c for c in checks if c.ok is not True]
    say(f"Preflight of {ctx.setup}: {len(checks) - len(failed)} of {len(checks)} checks passed.")
    return ExitCode.OK if not failed else ExitCode.FAILED

