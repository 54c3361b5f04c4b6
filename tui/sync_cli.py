"""``vpc-mirror sync NAME [--every DURATION] [--json]``: an applied setup's sessions follow its sources.

One round (steps.sync) under the setup's lock, so a sync and an apply never
run at once; with --every, rounds until Ctrl-C, each printed as it ends. Exit
0 when the (last) round succeeded, 1 on an AWS failure, a step that could not
finish or a busy setup, 2 when the setup is not applied or its sources cannot
be mirrored as they are (the removals of gone sources are made all the same),
130 on Ctrl-C. steps/ is imported inside the functions (start-up time: the wizard
imports the command line before its first screen).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime

from vpc_mirror.tui.cli_common import CommandError, ExitCode, add_command, say, store

_DURATION = re.compile(r"^(\d+)([smh])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
#: Shortest --every: each round reads every selected instance and session, so faster only burns API quota.
MIN_EVERY_SECONDS = 60
MAX_EVERY_SECONDS = 7 * 86400


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``sync`` subcommand."""
    p = add_command(sub, "sync", "mirror new matching instances and stop mirroring gone ones (sources.select)")
    p.add_argument("name", help="an applied setup")
    p.add_argument("--every", metavar="DURATION",
                   help="repeat every DURATION (e.g. 5m, 1h; at least 1m) until Ctrl-C")
    p.add_argument("--json", action="store_true", help="print each round as a JSON document (one per line)")
    return p


def every_seconds(text: str) -> int:
    """``90s``, ``5m``, ``1h`` -> seconds, between a minute and a week."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise CommandError(f"--every {text!r} is not a duration; use a whole number of s, m or h, e.g. 5m or 1h",
                           ExitCode.BAD_INPUT)
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not MIN_EVERY_SECONDS <= seconds <= MAX_EVERY_SECONDS:
        raise CommandError(f"--every {text} is outside 1m to 7 days (168h); use e.g. 5m or 1h", ExitCode.BAD_INPUT)
    return seconds


def run(args) -> int:
    interval = every_seconds(args.every) if args.every is not None else None
    if interval is None:
        return _round(args)
    while True:  # Ctrl-C ends it (cli.main says the state is saved); an interrupted round is finished by the next
        _round(args, keep_going=True)
        if not args.json:
            say(f"next sync in {args.every} (Ctrl-C stops)")
        time.sleep(interval)


def _round(args, keep_going: bool = False) -> int:
    """One sync round, printed; with ``keep_going`` (--every) a failed round is said on standard error and the
    next round tries again."""
    from vpc_mirror.steps.aws_errors import AwsError
    from vpc_mirror.steps.context import StepFailed
    from vpc_mirror.steps.problems import UserProblem
    from vpc_mirror.steps.sync import SyncRefused, sync_saved

    log = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else say
    try:
        try:
            result = sync_saved(store(args), args.name, endpoint_url=args.endpoint_url, profile=args.profile,
                                region=args.region, log=log)
        except SyncRefused as exc:
            done = "nothing was changed"
            if exc.result.changed:
                _show(args, exc.result)
                done = "nothing new was mirrored; the removals above were made"
            lines = "\n".join(f"  {r}" for r in exc.reasons)
            raise CommandError(f"setup {args.name} cannot follow its sources as they are; {done}:\n{lines}",
                               ExitCode.BAD_INPUT) from None
        except (AwsError, StepFailed, TimeoutError) as exc:
            raise CommandError(f"{exc}\nThe state is saved; run `vpc-mirror sync {args.name}` again once the "
                               "cause is fixed.", ExitCode.FAILED) from None
    except (CommandError, UserProblem) as exc:
        if not keep_going:
            raise
        print(f"vpc-mirror: {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC: {exc}", file=sys.stderr, flush=True)
        return exc.code
    _show(args, result)
    return ExitCode.OK


def _show(args, result) -> None:
    if args.json:
        print(json.dumps(result.document()), flush=True)
    else:
        _print(result)


def _print(result) -> None:
    when = f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC"
    if not result.changed:
        say(f"{when} sync {result.setup}: no change")
    else:
        say(f"{when} sync {result.setup}: {len(result.added)} added, {len(result.removed)} removed")
    for what, changes in (("added", result.added), ("removed", result.removed), ("skipped", result.skipped)):
        for c in changes:
            say(f"  {what:8} {c.instance_id} ({c.name or 'no name'}, {c.instance_type or '?'}): {c.detail}")
    if result.admitted:
        say(f"  VXLAN now admitted from {', '.join(result.admitted)}")
    if result.revoked:
        say(f"  VXLAN no longer admitted from {', '.join(result.revoked)}")
