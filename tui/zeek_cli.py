"""``vpc-mirror zeek``: set Zeek up on the sensor over SSH, headless.

For a setup NAME the sensor's address, login user and capture MAC come from
its saved state (and host key fingerprints from the instance's console);
otherwise from the flags. Prints what it found and each change (diffs,
commands), applies them unless --dry-run, and ends with ``zeekctl status``.
Exit 0 on success, 2 on bad input, 1 on failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path

from vpc_mirror.tui.cli import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, CommandError


def add_parser(sub, common) -> argparse.ArgumentParser:
    """Add the ``zeek`` subcommand; ``common`` adds the global options to a parser (tui.cli._common)."""
    help = "install, configure and start Zeek on the sensor over SSH"
    p = sub.add_parser("zeek", help=help, description=help)
    common(p, suppress=True)
    p.add_argument("name", nargs="?", help="a saved setup: the sensor comes from its state")
    add_ssh_options(p)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--interface", help="capture interface name")
    which.add_argument("--mac", help="capture interface MAC (default: the capture ENI's)")
    p.add_argument("--zeek-prefix", help="where Zeek is installed (default: detected)")
    p.add_argument("--package", help="Zeek package to install when missing (default zeek-8.0)")
    p.add_argument("--workers", type=int, help="1 = standalone (default); more = AF_PACKET workers")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    return p


def add_ssh_options(p: argparse.ArgumentParser) -> None:
    """How to reach a sensor without a saved setup; shared with `vpc-mirror watch`."""
    p.add_argument("--host", help="the sensor's address (instead of NAME)")
    p.add_argument("--port", type=int, help="SSH port (default: ~/.ssh/config or 22)")
    p.add_argument("--user", help="login user (default: the image's, e.g. ubuntu)")
    p.add_argument("--identity", type=Path, help="private key file (default: ~/.ssh/config and the agent)")
    p.add_argument("--known-hosts", type=Path, help="known_hosts file (default: STATE_DIR/known_hosts)")
    p.add_argument("--accept-host-key", metavar="SHA256:...", help="trust this host key fingerprint on first contact")


def run(args) -> int:
    try:
        return asyncio.run(_run(args))
    except CommandError as exc:
        print(f"vpc-mirror: {exc}", file=sys.stderr)
        return exc.code


def _answers(args, base):
    from pydantic import ValidationError

    from vpc_mirror.models.zeek import ZeekPlan

    names = ("host", "port", "user", "interface", "mac", "zeek_prefix", "package", "workers")
    flags = {name: getattr(args, name, None) for name in names}
    flags["identity"] = str(args.identity) if args.identity else None
    values = base.model_dump() if base is not None else {}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return ZeekPlan.model_validate(values)
    except ValidationError as exc:
        lines = "\n".join(f"  --{'-'.join(map(str, e['loc'])).replace('_', '-') or 'options'}: "
                          f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())
        raise CommandError(f"invalid option(s):\n{lines}", EXIT_BAD_INPUT) from None


def _fingerprint(args):
    if args.accept_host_key is None:
        return None
    from vpc_mirror.models.zeek import check_fingerprint

    try:
        return check_fingerprint(args.accept_host_key)
    except ValueError as exc:
        raise CommandError(f"--accept-host-key: {exc}", EXIT_BAD_INPUT) from None


def _from_setup(args):
    """(answers base, host, user, mac, console fingerprints, store, ctx) for a saved setup."""
    from vpc_mirror.steps.setup import open_context
    from vpc_mirror.steps.state_store import StateStore
    from vpc_mirror.steps.zeek_target import image_user, instance_fingerprints, sensor_target

    store = StateStore(args.state_dir)
    plan = store.load_answers(args.name)
    if plan is None or store.load(args.name) is None:
        raise CommandError(f"no saved setup named {args.name!r} in {args.state_dir}", EXIT_BAD_INPUT)
    ctx = open_context(plan, store, endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    target = sensor_target(ctx)
    if target.instance_id is None:
        raise CommandError(f"setup {args.name} has no sensor yet; run `vpc-mirror resume {args.name}` first", EXIT_BAD_INPUT)
    user = target.user or (image_user(ctx, ctx.facts("sensor").get("image_id") or plan.sensor.image)
                           if plan.sensor.image.startswith("ami-") else None)
    fingerprints = instance_fingerprints(ctx, target.instance_id)
    return plan.zeek, target.host, user, target.mac, fingerprints, ctx


async def _ask_yes(question: str) -> bool:
    answer = await asyncio.to_thread(input, f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def _ask_password(prompt: str) -> str | None:
    return await asyncio.to_thread(getpass.getpass, prompt)


@dataclass
class Connected:
    """An open sensor connection and what is known of it (answers, capture MAC, the setup's context)."""

    sensor: object
    answers: object
    mac: str | None
    ctx: object | None

    def close(self) -> None:
        self.sensor.close()
        if self.ctx is not None:
            self.ctx.close()


async def open_sensor(args) -> Connected:
    """Connect to the sensor of setup ``args.name`` or to ``args.host``, host key verified; CommandError if not."""
    from vpc_mirror.steps.ssh import HostKeyPolicy, SshError, SshTarget, connect

    if (args.name is None) == (args.host is None):
        raise CommandError("give a setup NAME or --host (not both)", EXIT_BAD_INPUT)
    accept = _fingerprint(args)
    ctx = None
    base = host = user = mac = fingerprints = None
    if args.name:
        base, host, user, mac, fingerprints, ctx = _from_setup(args)
    try:
        answers = _answers(args, base)
        host = answers.host or host
        user = answers.user or user
        if host is None:
            raise CommandError("the sensor has no public address in the saved state; pass --host", EXIT_BAD_INPUT)
        interactive = sys.stdin.isatty() and not getattr(args, "yes", False)
        target = SshTarget(host=host, port=answers.port, user=user,
                           identity=Path(answers.identity).expanduser() if answers.identity else None,
                           known_hosts=args.known_hosts or args.state_dir / "known_hosts")
        policy = HostKeyPolicy(accept=accept, console_fingerprints=fingerprints,
                               ask=_ask_yes if interactive else None)
        try:
            sensor = await connect(target, policy, ask_password=_ask_password if sys.stdin.isatty() else None,
                                   log=lambda line: print(line, file=sys.stderr))
        except SshError as exc:
            raise CommandError(str(exc)) from None
    except BaseException:
        if ctx is not None:
            ctx.close()
        raise
    return Connected(sensor, answers, mac, ctx)


async def _run(args) -> int:
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import ZeekRefused, carry_out, survey, zeekctl_status

    conn = await open_sensor(args)
    sensor, answers, mac, ctx = conn.sensor, conn.answers, conn.mac, conn.ctx
    try:
        work = await survey(sensor, answers, mac)
        _show(work)
        if not work.changes_anything:
            print(f"Nothing to change: Zeek {work.zeek_version} already runs on {work.interface}.")
            status = None
        elif args.dry_run:
            print("Dry run: nothing was changed.")
            return EXIT_OK
        else:
            if sys.stdin.isatty() and not args.yes and not await _ask_yes("Apply these changes?"):
                print("Nothing changed.")
                return EXIT_OK
            status = await carry_out(sensor, work, answers, mac, log=print)
        status = status or await zeekctl_status(sensor, work.prefix)
        print(status.output.rstrip())
        print(f"Zeek: {status.summary()}")
        if ctx is not None:
            from vpc_mirror.steps.zeek import record_result

            record_result(ctx, work.facts(), status)
    except ZeekRefused as exc:
        raise CommandError(f"{exc}\nNothing was changed.", EXIT_BAD_INPUT) from None
    except SshError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()
    return EXIT_OK if status.running else EXIT_FAILED


def _show(work) -> None:
    print(f"Sensor: {work.os.pretty or work.os.key}, "
          f"{'systemd' if work.systemd else 'no systemd (cron)'}")
    print(f"Zeek: {work.zeek_version + ' in ' + work.prefix if work.zeek_version else 'not installed'}")
    print(f"Capture interface: {work.interface}"
          + (f" ({'; '.join(work.interface_fixes)})" if work.interface_fixes else " (ready)"))
    for change in work.files:
        print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    if work.install:
        print(work.install)
    for command in work.commands():
        print(f"  run: {command}")
