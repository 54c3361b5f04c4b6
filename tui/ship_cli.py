"""``vpc-mirror ship``: carry Zeek's logs to AI-Hunter / RITA, as activecm's zeek_log_transport does.

The sensor (a setup NAME, each sensor of a fleet in turn, or --host and the
SSH options `zeek` takes) gets a non-root user with its own ed25519 key, the hunter's verified host key, a
transport script and an hourly cron.d entry. With --hunter-user vpc-mirror
also prepares the hunter (the receiving user, DEST, a restricted
authorized_keys line); without it, it prints what the hunter's admin runs.
Every diff and command is shown first; --dry-run stops there. Then the
transport runs once and what arrived is listed. Exit 0 when the logs were
shipped, 1 on failure, 2 on bad input or an untrusted host key. steps/ is
imported inside the functions (start-up time: the wizard imports the command
line before its first screen).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from vpc_mirror.tui.cli_common import CommandError, ExitCode, add_sensor_command, say
from vpc_mirror.tui.cli_sensor import ask_password, ask_yes, fleet_keys, open_sensor, open_sensors


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``ship`` subcommand."""
    p = add_sensor_command(sub, "ship", "ship Zeek's rotated logs from the sensor to AI-Hunter / RITA every hour",
                           name_help="a saved setup: the sensor comes from its state")
    p.add_argument("--to", required=True, metavar="HUNTER", help="the AI-Hunter / RITA host, as the sensor reaches it")
    p.add_argument("--hunter-port", type=int, default=22, help="the hunter's SSH port (default 22)")
    p.add_argument("--hunter-user", help="a login with sudo on the hunter: vpc-mirror prepares it itself")
    p.add_argument("--hunter-identity", type=Path, help="private key for --hunter-user")
    p.add_argument("--accept-hunter-key", metavar="SHA256:...", help="the hunter's host key fingerprint")
    p.add_argument("--ship-user", default="dataimport", help="the receiving user on the hunter (default dataimport)")
    p.add_argument("--dest-dir", default="/opt/zeek/remotelogs",
                   help="where the logs land on the hunter, per sensor (default /opt/zeek/remotelogs)")
    p.add_argument("--rita", action="store_true", help="also a RITA config snippet and an hourly rolling import")
    p.add_argument("--dry-run", action="store_true", help="show every file and command, change nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    return p


def run(args) -> int:
    return asyncio.run(_run(args))


def _plan(args):
    from pydantic import ValidationError
    from vpc_mirror.steps.ship import ShipPlan

    try:
        return ShipPlan(hunter=args.to, port=args.hunter_port, ship_user=args.ship_user, dest_dir=args.dest_dir,
                        rita=args.rita)
    except ValidationError as exc:
        flags = {"hunter": "to", "port": "hunter-port"}
        lines = "\n".join(f"  --{flags.get(str(e['loc'][0]), str(e['loc'][0])).replace('_', '-')}: "
                          f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise CommandError(f"invalid option(s):\n{lines}", ExitCode.BAD_INPUT) from None


def _check_hunter_user(args) -> None:
    from pydantic import TypeAdapter, ValidationError
    from vpc_mirror.models.zeek import LoginUser

    if args.hunter_user is None:
        if args.hunter_identity is not None:
            raise CommandError("--hunter-identity needs --hunter-user", ExitCode.BAD_INPUT)
        return
    try:
        TypeAdapter(LoginUser).validate_python(args.hunter_user)
    except ValidationError:
        raise CommandError(f"--hunter-user: {args.hunter_user!r} is not a login name", ExitCode.BAD_INPUT) from None


def _hunter_policy(args):
    from vpc_mirror.models.zeek import check_fingerprint
    from vpc_mirror.steps.ssh import HostKeyPolicy

    accept = None
    if args.accept_hunter_key is not None:
        try:
            accept = check_fingerprint(args.accept_hunter_key)
        except ValueError as exc:
            raise CommandError(f"--accept-hunter-key: {exc}", ExitCode.BAD_INPUT) from None
    interactive = sys.stdin.isatty() and not args.yes
    return HostKeyPolicy(accept=accept, ask=ask_yes if interactive else None)


async def _open_hunter(args, plan, keys: list[str]):
    """The admin's connection to the hunter, trusting only the keys verified from the sensor's side.

    They are given in a throw-away known_hosts, so that a dry run records nothing in vpc-mirror's own.
    """
    from vpc_mirror.steps import ship_scripts as scripts
    from vpc_mirror.steps.ssh import HostKeyPolicy, SshTarget, connect

    with tempfile.TemporaryDirectory(prefix="vpc-mirror-hunter-") as folder:
        pinned = Path(folder) / "known_hosts"
        pinned.write_text(scripts.known_hosts(plan.hunter, plan.port, keys), encoding="utf-8")
        target = SshTarget(host=plan.hunter, port=plan.port, user=args.hunter_user, identity=args.hunter_identity,
                           known_hosts=pinned)
        return await connect(target, HostKeyPolicy(), ask_password=ask_password if sys.stdin.isatty() else None,
                             log=lambda line: print(line, file=sys.stderr))


async def _run(args) -> int:
    _check_hunter_user(args)
    plan = _plan(args)
    policy = _hunter_policy(args)
    known_hosts = args.known_hosts or args.state_dir / "known_hosts"
    if len(fleet_keys(args)) > 1:
        return await _run_fleet(args, plan, policy, known_hosts)
    from vpc_mirror.steps import ship

    conn = await open_sensor(args)
    ctx = conn.ctx
    try:
        error = await _ship_one(args, plan, policy, known_hosts, conn.sensor, ctx,
                                (lambda facts, status, why: ship.record_result(ctx, facts, status, why)) if ctx else None)
    finally:
        conn.close()
    if error:
        raise CommandError(error)
    return ExitCode.OK


async def _run_fleet(args, plan, policy, known_hosts) -> int:
    """Every sensor of the setup in turn, each with its own key and folder on the hunter; one failing stops no
    other. Exit 0 when every sensor ships, 2 when every failure was bad input, else 1."""
    from vpc_mirror.steps import ship

    fleet = await open_sensors(args)
    outcomes = {key: ship.SensorShipping(status="failed", error=f"not reached: {why}")
                for key, why in fleet.missing.items()}
    bad_input: set[str] = set()
    try:
        for s in fleet.reached:
            say(f"== {s.key} ==")
            outcome = ship.SensorShipping()

            def record(facts, status, why, outcome=outcome) -> None:
                outcome.facts, outcome.status, outcome.error = facts, status, why

            try:
                outcome.error = await _ship_one(args, plan, policy, known_hosts, s.conn.sensor, fleet.ctx, record)
            except CommandError as exc:
                outcome.status, outcome.error = "failed", str(exc)
                if exc.code == ExitCode.BAD_INPUT:
                    bad_input.add(s.key)
            if outcome.error and outcome.status != "in-progress":
                outcome.status = "failed"
            outcomes[s.key] = outcome
        outcomes = {s.key: outcomes[s.key] for s in fleet.sensors}
        if not args.dry_run:
            ship.record_fleet_result(fleet.ctx, outcomes)
    finally:
        fleet.close()
    for key, outcome in outcomes.items():
        say(f"{key}: " + ("dry run" if args.dry_run and outcome.status == "pending" else outcome.status)
            + (f": {outcome.error}" if outcome.error else ""))
    failed = [key for key, outcome in outcomes.items() if outcome.status == "failed"]
    if not failed:
        return ExitCode.OK
    raise CommandError(f"log shipping is not set up on {', '.join(failed)} (see above)",
                       ExitCode.BAD_INPUT if set(failed) <= bad_input else ExitCode.FAILED)


async def _ship_one(args, plan, policy, known_hosts, sensor, ctx, record) -> str | None:
    """Set shipping up from one sensor (``ctx``: the setup's, for its VPC blocks and Zeek prefix; ``record``:
    how the step's result is saved, None without a setup). The error that left it unfinished, or None;
    CommandError for bad input or an untrusted host key (nothing changed)."""
    from vpc_mirror.steps import ship
    from vpc_mirror.steps import ship_scripts as scripts
    from vpc_mirror.steps.ec2_describe import VpcUnreadable, vpc_blocks
    from vpc_mirror.steps.ssh import HostKeyRefused, SshError

    hunter = None
    try:
        keys = await ship.verify_hunter_keys(await ship.scan_hunter_keys(sensor, plan), plan, known_hosts, policy,
                                             log=say)
        if args.hunter_user:
            hunter = await _open_hunter(args, plan, keys)
        prefix = ctx.facts("zeek").get("prefix") if ctx is not None else None
        work = await ship.survey_sensor(sensor, plan, keys, prefix)
        sid = work.transport.sensor_id
        hunter_work = await ship.survey_hunter(hunter, plan, work.public_key, sid, source=work.address) if hunter else None
        _show(plan, work, hunter_work)
        if plan.rita:
            cidrs = await asyncio.to_thread(vpc_blocks, ctx) if ctx is not None else []
            say(f"RITA (config.hjson; {'the VPC: ' + ', '.join(cidrs) if cidrs else 'no setup, so no VPC blocks'}):")
            say(scripts.rita_config(cidrs).rstrip())
        changes = work.changes_anything or (hunter_work is not None and hunter_work.changes_anything)
        if args.dry_run:
            if hunter is None:
                say(ship.admin_instructions(plan, work.public_key, sid, source=work.address).rstrip())
            say("Dry run: nothing was changed.")
            return None
        if not changes:
            say("Nothing to change: shipping is already set up.")
        elif sys.stdin.isatty() and not args.yes and not await ask_yes("Apply these changes?"):
            say("Nothing changed.")
            return None
        ship.record_hunter_key(known_hosts, plan, keys, log=say)
        public_key = await ship.prepare_sensor(sensor, work, log=say)
        facts = {**work.facts(), "ship_user": plan.ship_user, "dest_dir": plan.dest_dir, "rita": plan.rita}
        if hunter is not None:
            await ship.prepare_hunter(hunter, plan, hunter_work, public_key, sid, source=work.address, log=say)
        elif work.public_key is None:
            say(f"The hunter's admin must now run, as root on {plan.hunter}:")
            say(ship.admin_instructions(plan, public_key, sid, source=work.address).rstrip())
            say("Then run this command again: it runs the transport once and shows what was sent.")
            if record is not None:
                record(facts, "in-progress", "waiting for the hunter's admin to authorize the key")
            return None
        say(f"… running the transport once: runuser -u {scripts.SENSOR_USER} -- {scripts.TRANSPORT}")
        result = await ship.run_transport(sensor)
        say(result.output)
        error = None if result.exit_status == 0 else f"the transport failed (exit {result.exit_status})"
        if error and hunter is None:
            say(f"If the hunter's admin has not yet run this as root on {plan.hunter}, they must:")
            say(ship.admin_instructions(plan, public_key, sid, source=work.address).rstrip())
        files = await ship.arrived(hunter, plan, sid) if hunter else ship.sent(result)
        where = f"{plan.hunter}:{plan.dest_dir}/{sid}/"
        say(f"On the hunter in {where}: {len(files)} log file(s)" if hunter else f"Sent to {where}: {len(files)}")
        for name in files:
            say(f"  {name}")
        say(f"Hourly at 5 past, {scripts.CRON_FILE} runs {scripts.TRANSPORT} as {scripts.SENSOR_USER} "
            "(output in syslog, tag vpc-mirror-ship).")
        if record is not None:
            record(facts, "failed" if error else "done", error)
        return error
    except HostKeyRefused as exc:
        raise CommandError(str(exc), ExitCode.BAD_INPUT) from None
    except ship.ShipRefused as exc:
        raise CommandError(f"{exc}\nNothing was changed.", ExitCode.BAD_INPUT) from None
    except VpcUnreadable as exc:
        raise CommandError(f"{exc}\nNothing was changed.") from None
    except SshError as exc:
        raise CommandError(str(exc)) from None
    finally:
        if hunter is not None:
            hunter.close()


def _show(plan, work, hunter_work) -> None:
    from vpc_mirror.steps.ship_scripts import hunter_account_script

    t = work.transport
    say(f"Sensor id: {t.sensor_id}; logs from {t.log_dir} to {t.destination}:{plan.dest_dir}/{t.sensor_id}/")
    for change in work.files + (hunter_work.files if hunter_work else []):
        say(change.diff.rstrip("\n"))
    for command in work.commands():
        say(f"  run on the sensor: {command}")
    if hunter_work is not None:
        if hunter_work.rrsync is None:
            say("  run on the hunter: install rsync (for rrsync)")
        if hunter_work.account_missing:
            say(f"  run on the hunter:\n{hunter_account_script(plan.ship_user, plan.dest_dir).rstrip()}")
        for command in hunter_work.ownership:
            say(f"  run on the hunter: {command}")
