"""Reaching a sensor from the command line: a saved setup's, or any host's, host key verified.

Shared by ``zeek``, ``watch`` and the commands that read from or configure the
sensor. steps/ is imported inside the functions (start-up time: the wizard
imports the command line before its first screen).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from dataclasses import dataclass
from pathlib import Path

from vpc_mirror.tui.cli_common import CommandError, ExitCode, no_setup


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
        raise CommandError(f"invalid option(s):\n{lines}", ExitCode.BAD_INPUT) from None


def _fingerprint(args):
    if args.accept_host_key is None:
        return None
    from vpc_mirror.models.zeek import check_fingerprint

    try:
        return check_fingerprint(args.accept_host_key)
    except ValueError as exc:
        raise CommandError(f"--accept-host-key: {exc}", ExitCode.BAD_INPUT) from None


def _from_setup(args):
    """(answers base, host, user, mac, console fingerprints, store, ctx) for a saved setup."""
    from vpc_mirror.steps.setup import open_context
    from vpc_mirror.steps.state_store import StateStore
    from vpc_mirror.steps.zeek_target import image_user, instance_fingerprints, sensor_target

    store = StateStore(args.state_dir)
    plan = store.load_answers(args.name)
    if plan is None or store.load(args.name) is None:
        raise no_setup(args, args.name)
    ctx = open_context(plan, store, endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    target = sensor_target(ctx)
    if target.instance_id is None:
        raise CommandError(f"setup {args.name} has no sensor yet; run `vpc-mirror resume {args.name}` first", ExitCode.BAD_INPUT)
    user = target.user or (image_user(ctx, ctx.facts("sensor").get("image_id") or plan.sensor.image)
                           if plan.sensor.image.startswith("ami-") else None)
    fingerprints = instance_fingerprints(ctx, target.instance_id)
    return plan.zeek, target.host, user, target.mac, fingerprints, ctx


async def ask_yes(question: str) -> bool:
    """A yes/no question on the terminal, off the event loop."""
    answer = await asyncio.to_thread(input, f"{question} [y/N] ")
    return answer.strip().lower() in ("y", "yes")


async def ask_password(prompt: str) -> str | None:
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
    from vpc_mirror.steps.ssh import BadKeyFile, HostKeyPolicy, HostKeyRefused, SshError, SshTarget, connect

    if (args.name is None) == (args.host is None):
        raise CommandError("give a setup NAME or --host (not both)", ExitCode.BAD_INPUT)
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
            raise CommandError("the sensor has no public address in the saved state; pass --host", ExitCode.BAD_INPUT)
        interactive = sys.stdin.isatty() and not getattr(args, "yes", False)
        target = SshTarget(host=host, port=answers.port, user=user,
                           identity=Path(answers.identity).expanduser() if answers.identity else None,
                           known_hosts=args.known_hosts or args.state_dir / "known_hosts")
        policy = HostKeyPolicy(accept=accept, console_fingerprints=fingerprints,
                               ask=ask_yes if interactive else None)
        try:
            sensor = await connect(target, policy, ask_password=ask_password if sys.stdin.isatty() else None,
                                   log=lambda line: print(line, file=sys.stderr))
        except (BadKeyFile, HostKeyRefused) as exc:  # the user's to fix: a key file, a host key to trust
            raise CommandError(str(exc), ExitCode.BAD_INPUT) from None
        except SshError as exc:
            raise CommandError(str(exc)) from None
    except BaseException:
        if ctx is not None:
            ctx.close()
        raise
    return Connected(sensor, answers, mac, ctx)
