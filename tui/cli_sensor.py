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


#: Sensors of a fleet reached at once: enough to make a fleet of 20 quick, few enough for one laptop's SSH.
PARALLEL_SENSORS = 8


@dataclass
class FleetSensor:
    """One sensor of a setup: its state key, and its open connection or why there is none."""

    key: str
    conn: Connected | None = None
    problem: str | None = None


@dataclass
class Fleet:
    """Every sensor of a saved setup, each connected or not; the setup's context, closed with them."""

    sensors: list[FleetSensor]
    answers: object
    ctx: object

    @property
    def reached(self) -> list[FleetSensor]:
        return [s for s in self.sensors if s.conn is not None]

    @property
    def missing(self) -> dict[str, str]:
        return {s.key: s.problem for s in self.sensors if s.conn is None}

    def close(self) -> None:
        for s in self.reached:
            s.conn.close()
        self.ctx.close()


def _fleet_flags(args, count: int, base) -> None:
    """A fleet's sensors each have their own address, host key and capture MAC: options naming one are refused."""
    one_host = [flag for flag, given in (("--accept-host-key", args.accept_host_key),
                                         ("--mac", getattr(args, "mac", None)),
                                         ("zeek.host", base.host), ("zeek.mac", base.mac)) if given]
    if one_host:
        raise CommandError(f"{', '.join(one_host)}: setup {args.name} has {count} sensors, each with its own address, "
                           "host key and capture MAC; leave these out (host keys are checked against each "
                           "instance's console output, or record them in --known-hosts) or use --host for one "
                           "sensor", ExitCode.BAD_INPUT)


def fleet_keys(args) -> list[str]:
    """The state keys of setup ``args.name``'s sensors (none for --host or no such setup); more than one: a fleet,
    for ``open_sensors``."""
    if args.name is None:
        return []
    from vpc_mirror.steps.fleet import sensor_keys
    from vpc_mirror.steps.state_store import StateStore

    plan = StateStore(args.state_dir).load_answers(args.name)
    return sensor_keys(plan) if plan is not None else []


async def open_sensors(args, terminal: bool = True) -> Fleet:
    """Connect to every sensor of setup ``args.name`` at once (at most PARALLEL_SENSORS at a time), host keys
    verified; a sensor that cannot be reached is kept with why, never dropped. CommandError for bad input.
    ``terminal``: a host key or sudo password may be asked on the terminal (not under a full-screen view)."""
    from vpc_mirror.steps.setup import open_context
    from vpc_mirror.steps.state_store import StateStore
    from vpc_mirror.steps.zeek_target import image_user, instance_fingerprints, sensor_targets

    store = StateStore(args.state_dir)
    plan = store.load_answers(args.name)
    if plan is None or store.load(args.name) is None:
        raise no_setup(args, args.name)
    ctx = open_context(plan, store, endpoint_url=args.endpoint_url, profile=args.profile, region=args.region)
    try:
        targets = {target.key: target for target in sensor_targets(ctx)}
        _fleet_flags(args, len(targets), plan.zeek)
        answers = _answers(args, plan.zeek)
        image = plan.sensor.image
        default_user = (await asyncio.to_thread(image_user, ctx, ctx.facts("sensor").get("image_id") or image)
                        if image.startswith("ami-") and any(t.user is None for t in targets.values()) else None)
        accept = _fingerprint(args)
        limit = asyncio.Semaphore(PARALLEL_SENSORS)
        asking = asyncio.Lock()  # one host key question on the terminal at a time

        async def ask(question: str) -> bool:
            async with asking:
                return await ask_yes(question)

        async def reach(key: str, target) -> FleetSensor:
            from vpc_mirror.steps.ssh import BadKeyFile, HostKeyPolicy, HostKeyRefused, SshError, SshTarget, connect

            if target.instance_id is None:
                return FleetSensor(key, problem=f"no instance in the saved state; run `vpc-mirror resume {args.name}`")
            host = answers.host or target.host
            if host is None:
                return FleetSensor(key, problem=f"{target.instance_id} has no address in the saved state")
            async with limit:
                fingerprints = await asyncio.to_thread(instance_fingerprints, ctx, target.instance_id)
                ssh = SshTarget(host=host, port=answers.port, user=answers.user or target.user or default_user,
                                identity=Path(answers.identity).expanduser() if answers.identity else None,
                                known_hosts=args.known_hosts or args.state_dir / "known_hosts")
                asks = terminal and sys.stdin.isatty()
                policy = HostKeyPolicy(accept=accept, console_fingerprints=fingerprints,
                                       ask=ask if asks and not getattr(args, "yes", False) else None)
                try:
                    sensor = await connect(ssh, policy, ask_password=ask_password if asks else None,
                                           log=lambda line: print(f"{key}: {line}", file=sys.stderr) if terminal
                                           else None)
                except (BadKeyFile, HostKeyRefused, SshError) as exc:
                    return FleetSensor(key, problem=f"{target.instance_id} at {host}: {exc}")
            return FleetSensor(key, conn=Connected(sensor, answers, answers.mac or target.mac, None))

        sensors = list(await asyncio.gather(*(reach(key, target) for key, target in targets.items())))
    except BaseException:
        ctx.close()
        raise
    return Fleet(sensors, answers, ctx)


def capture_options(args) -> dict:
    """RemoteSource's (and tcpdump_command's) keywords for `watch`'s capture options given."""
    options = {"vni": args.vni, "source": args.source}
    return options if args.snaplen is None else options | {"snaplen": args.snaplen}
