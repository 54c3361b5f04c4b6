"""The ``vpc-mirror`` command: the wizard by default, headless subcommands for scripts.

Imports of steps/, sandbox/ and the wizard are deferred to the command that
needs them (start-up time): the wizard's first screen must not wait for boto3
or asyncssh. The command modules beside this one share tui/cli_common.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from vpc_mirror import __version__
from vpc_mirror.tui import export_cli, hunt_cli, ship_cli, sync_cli, watch_cli, zeek_cli
from vpc_mirror.tui.cli_common import (
    CommandError,
    ExitCode,
    add_command,
    add_global_options,
    confirm,
    no_setup,
    read_answers,
    say,
    store,
)
from vpc_mirror.tui.cli_sensor import fleet_keys, open_sensor, open_sensors


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vpc-mirror",
        description="Set up AWS VPC Traffic Mirroring into a Zeek sensor, resume it, tear it down.",
    )
    parser.add_argument("--version", action="version", version=f"vpc-mirror {__version__}")
    parser.add_argument("--demo", action="store_true", help="open the wizard on the embedded demo AWS account")
    add_global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help: str) -> argparse.ArgumentParser:
        return add_command(sub, name, help)

    p = command("apply", "apply an answers file headless (plan, confirm, create, save state)")
    p.add_argument("answers", type=Path, help="answers file (YAML, see `vpc-mirror schema`)")
    p.add_argument("--name", help="setup name (default: the answers' setup)")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    p.add_argument("--concurrency", type=int, default=8, help="parallel AWS calls within a step (default 8)")

    p = command("resume", "continue a saved setup where it stopped, using its saved answers")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    p.add_argument("--concurrency", type=int, default=8, help="parallel AWS calls within a step (default 8)")

    p = command("status", "show every saved setup, or one: steps, statuses, resource ids")
    p.add_argument("name", nargs="?")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = command("teardown", "delete, in reverse, exactly what a setup created")
    p.add_argument("name")
    p.add_argument("--yes", action="store_true", help="delete without asking")
    p.add_argument("--concurrency", type=int, default=8, help="parallel AWS calls within a step (default 8)")

    p = command("export", "export a setup as answers, an AWS CLI script, CloudFormation, Terraform or an IAM policy")
    p.add_argument("name")
    p.add_argument("--format", required=True, choices=export_cli.FORMATS, help="what to export")
    p.add_argument("-o", "--output", type=Path, help="write here (mode 0600) instead of standard output")
    p.add_argument("--with-sync", action="store_true",
                   help="cloudformation, terraform: add an EventBridge rule and a Lambda that mirror the instances "
                        "sources.select picks as they start, and drop their sessions as they terminate")

    p = command("preflight", "try every change a setup needs with DryRun: which IAM actions are allowed or denied")
    p.add_argument("target", metavar="NAME|ANSWERS", help="a saved setup's name, or an answers file")

    command("schema", "print the JSON Schema of the answers file")

    p = command("sandbox", "run the embedded AWS sandbox (moto + traffic-mirroring extension) as a server")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--seed", choices=["demo", "empty"], default="demo")
    p.add_argument("--fail-rate", type=float, default=0.0,
                   help="fraction (0-1) of EC2 calls answered RequestLimitExceeded before doing anything")
    p.add_argument("--deny", action="append", default=[], metavar="ACTION",
                   help="answer UnauthorizedOperation for this IAM action, e.g. ec2:CreateTrafficMirrorSession")

    zeek_cli.add_parser(sub)
    watch_cli.add_parser(sub)
    hunt_cli.add_parser(sub)
    ship_cli.add_parser(sub)
    sync_cli.add_parser(sub)
    return parser


def _env(args: argparse.Namespace) -> None:
    args.endpoint_url = args.endpoint_url or os.environ.get("VPC_MIRROR_ENDPOINT_URL")
    state_dir = args.state_dir or os.environ.get("VPC_MIRROR_STATE_DIR")
    if state_dir is None:
        from vpc_mirror.steps.state_dir import default_state_dir

        state_dir = default_state_dir()
    args.state_dir = Path(state_dir)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _env(args)
    try:
        if args.command is None:
            return _wizard(args)
        handler = {
            "apply": _apply,
            "resume": _apply,
            "status": _status,
            "teardown": _teardown,
            "export": export_cli.export,
            "preflight": export_cli.preflight,
            "schema": _schema,
            "sandbox": _sandbox,
            "zeek": zeek_cli.run,
            "watch": watch_cli.run,
            "hunt": hunt_cli.run,
            "ship": ship_cli.run,
            "sync": sync_cli.run,
        }[args.command]
        return handler(args)
    except CommandError as exc:
        print(f"vpc-mirror: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:
        from vpc_mirror.steps.problems import UserProblem  # start-up time: only on this error path

        if not isinstance(exc, UserProblem):
            raise
        print(f"vpc-mirror: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("\nvpc-mirror: interrupted; the state is saved, run the same command again to continue",
              file=sys.stderr)
        return ExitCode.INTERRUPTED






def _open(args, plan):
    from vpc_mirror.steps.setup import open_context

    return open_context(plan, store(args), endpoint_url=args.endpoint_url, profile=args.profile,
                        region=args.region, concurrency=getattr(args, "concurrency", 8), log=say)


def _apply(args) -> int:
    from vpc_mirror.steps.aws_errors import AwsError
    from vpc_mirror.steps.engine import Refused
    from vpc_mirror.steps.setup import apply_setup

    if args.command == "resume":
        plan = store(args).load_answers(args.name)
        if plan is None:
            raise no_setup(args, args.name)
    else:
        plan = read_answers(args.answers, setup=args.name)
    for warning in plan.warnings():
        print(f"warning: {warning}", file=sys.stderr)

    def go_ahead(actions) -> bool:
        say(f"Plan for setup {plan.setup}:")
        for action in actions:
            say(f"  {action.verb:7} {action.summary}")
        return confirm(args, "Apply these changes?")

    try:
        with store(args).lock(plan.setup):
            ctx = _open(args, plan)
            try:
                if not asyncio.run(apply_setup(ctx, go_ahead)):
                    say("Nothing changed.")
                    return ExitCode.OK
            finally:
                ctx.close()
    except Refused as exc:
        lines = "\n".join(f"  {r}" for r in exc.reasons)
        raise CommandError(f"the answers cannot be applied; nothing was changed:\n{lines}", ExitCode.BAD_INPUT) from None
    except AwsError as exc:
        raise CommandError(f"{exc}\nThe state is saved; fix the cause and run `vpc-mirror resume {plan.setup}`.") \
            from None
    say(f"Setup {plan.setup} is applied. `vpc-mirror status {plan.setup}` shows its resources.")
    return ExitCode.OK


def status_document(state) -> dict:
    """The JSON shape of `status --json` for one setup."""
    from vpc_mirror.steps.cost import running_cost

    return {
        "setup": state.setup,
        "account": state.account_id,
        "region": state.region,
        "updated_at": state.updated_at.isoformat(),
        "steps": [
            {
                "name": step.name,
                "status": step.status,
                "error": step.error,
                "resources": {
                    key: res.id for key, res in step.resources.items() if res.status in ("created", "reused")
                },
            }
            for step in state.steps.values()
        ],
        "cost": running_cost(state).document(),
    }


_MARK = {"done": "✓", "failed": "✗", "in-progress": "…", "pending": "·", "skipped": "-"}


def _status(args) -> int:
    from vpc_mirror.steps.cost import running_cost

    saved = store(args)
    unreadable = []
    if args.name:
        state = saved.load(args.name)
        if state is None:
            raise no_setup(args, args.name)
        states = [state]
    else:
        states, unreadable = saved.setups()
    for problem in unreadable:  # said, never skipped silently; the others are still shown
        print(f"vpc-mirror: {problem}", file=sys.stderr)
    done = ExitCode.FAILED if unreadable else ExitCode.OK
    if args.json:
        docs = [status_document(s) for s in states]
        print(json.dumps(docs[0] if args.name else docs, indent=2))
        return done
    if not states and not unreadable:
        say(f"No saved setups in {args.state_dir}.")
    for state in states:
        total = len(state.steps)
        say(f"{state.setup}: account {state.account_id or '?'} in {state.region or '?'}, "
            f"{state.done_count()} of {total} steps, updated {state.updated_at:%Y-%m-%d %H:%M} UTC")
        say(f"  {running_cost(state).line()}")
        for step in state.steps.values():
            ids = ", ".join(f"{k}={r.id}" for k, r in step.resources.items() if r.status in ("created", "reused"))
            say(f"  {_MARK[step.status]} {step.name:12} {step.status:11} {ids}")
            if step.error:
                say(f"      error: {step.error}")
    return done


def _teardown(args) -> int:
    from vpc_mirror.steps.aws_errors import AwsError
    from vpc_mirror.steps.setup import teardown_setup

    saved = store(args)
    plan = saved.load_answers(args.name)
    state = saved.load(args.name)
    if plan is None or state is None:
        raise no_setup(args, args.name)
    shipping_left = False
    if state.step("ship").status not in ("pending", "skipped"):  # first: the sensor may go with the setup
        shipping_left = not _remove_shipping(args)
    created = state.made()
    if not created:
        say(f"Setup {args.name} has nothing left to delete.")
        return _shipping_exit(args, shipping_left)
    say(f"Teardown of {args.name} deletes {len(created)} resources it created:")
    for res in created:
        say(f"  {res.kind:24} {res.id or '(look up by tag)'}")
    if not confirm(args, "Delete them?"):
        say("Nothing deleted.")
        return _shipping_exit(args, shipping_left)
    try:
        with saved.lock(args.name):
            ctx = _open(args, plan)
            try:
                asyncio.run(teardown_setup(ctx))
            finally:
                ctx.close()
    except AwsError as exc:
        raise CommandError(f"{exc}\nThe state is saved; run the teardown again once the cause is fixed.") from None
    say(f"Setup {args.name} is torn down.")
    return _shipping_exit(args, shipping_left)


def _remove_shipping(args) -> bool:
    """Ask, then remove log shipping from the sensor (``steps.ship.remove``) and set the ship step pending.

    False when it could not be removed (the reason is said); True when removed, or left there on purpose.
    """
    from vpc_mirror.steps import ship
    from vpc_mirror.steps import ship_scripts as scripts
    from vpc_mirror.steps.engine import set_status
    from vpc_mirror.steps.setup import change_state
    from vpc_mirror.steps.ssh import SshError

    what = f"{scripts.CRON_FILE}, {scripts.TRANSPORT}, user {scripts.SENSOR_USER} and its key"
    if not confirm(args, f"Remove log shipping from the sensor ({what})?"):
        say(f"Log shipping is left on the sensor ({what}); the ship step stays as it was.")
        return True

    def pending(saved) -> None:
        saved.facts("ship").clear()
        set_status(saved, "ship", "pending")

    async def remove() -> None:
        options = argparse.Namespace(**{**vars(args), **_NO_SSH_OPTIONS})
        if len(fleet_keys(options)) > 1:
            await remove_from_fleet(options)
            return
        conn = await open_sensor(options)
        try:
            await ship.remove(conn.sensor, log=say)
            await asyncio.to_thread(change_state, conn.ctx, pending)
        finally:
            conn.close()

    async def remove_from_fleet(options) -> None:
        """From every sensor; the step stays as it was unless every one is clean (a second teardown retries)."""
        fleet = await open_sensors(options)
        failed = [f"{key}: {why}" for key, why in fleet.missing.items()]
        try:
            for s in fleet.reached:
                try:
                    await ship.remove(s.conn.sensor, log=lambda line, key=s.key: say(f"{key}: {line}"))
                except SshError as exc:
                    failed.append(f"{s.key}: {exc}")
            if not failed:
                await asyncio.to_thread(change_state, fleet.ctx, pending)
        finally:
            fleet.close()
        if failed:
            raise CommandError("; ".join(failed))

    try:
        asyncio.run(remove())
    except (CommandError, SshError) as exc:
        say(f"Log shipping could not be removed from the sensor: {exc}")
        return False
    say("Log shipping is removed from the sensor.")
    return True


#: teardown has none of the sensor commands' SSH options: the setup's answers and state say how to connect
_NO_SSH_OPTIONS = {"host": None, "port": None, "user": None, "identity": None, "known_hosts": None,
                   "accept_host_key": None}


def _shipping_exit(args, shipping_left: bool) -> int:
    if shipping_left:
        raise CommandError(f"log shipping is still on the sensor; run `vpc-mirror teardown {args.name}` again "
                           "once it can be reached")
    return ExitCode.OK


def _schema(args) -> int:
    from vpc_mirror.models.answers import answers_schema

    sys.stdout.write(answers_schema())
    return ExitCode.OK


def _sandbox(args) -> int:
    from vpc_mirror.sandbox.server import run_forever

    if not 0.0 <= args.fail_rate <= 1.0:
        raise CommandError(f"--fail-rate {args.fail_rate} is outside 0-1; use e.g. 0.2", ExitCode.BAD_INPUT)
    run_forever(port=args.port, seed=args.seed, fail_rate=args.fail_rate, deny=args.deny)
    return ExitCode.OK


def _wizard(args) -> int:
    from vpc_mirror.tui.app import run_wizard

    return run_wizard(demo=args.demo, state_dir=args.state_dir, endpoint_url=args.endpoint_url,
                      profile=args.profile, region=args.region)


if __name__ == "__main__":
    sys.exit(main())
