"""``vpc-mirror zeek``: set Zeek up on the sensor over SSH, headless.

For a setup NAME the sensor's address, login user and capture MAC come from
its saved state (and host key fingerprints from the instance's console);
otherwise from the flags. Prints what it found and each change (diffs,
commands), applies them unless --dry-run, and ends with ``zeekctl status``.
Exit 0 on success, 2 on bad input, 1 on failure. steps/ is imported inside the
functions (start-up time: the command line is imported before any command runs).
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from vpc_mirror.tui.cli_common import CommandError, ExitCode, add_sensor_command
from vpc_mirror.tui.cli_sensor import PARALLEL_SENSORS, ask_yes, fleet_keys, open_sensor, open_sensors


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``zeek`` subcommand."""
    p = add_sensor_command(sub, "zeek", "install, configure and start Zeek on the sensor over SSH",
                           name_help="a saved setup: the sensor comes from its state",
                           interface_help="capture interface name",
                           mac_help="capture interface MAC (default: the capture ENI's)")
    p.add_argument("--zeek-prefix", help="where Zeek is installed (default: detected)")
    p.add_argument("--package", help="Zeek package to install when missing (default zeek-8.0)")
    p.add_argument("--workers", type=int, help="1 = standalone (default); more = AF_PACKET workers")
    p.add_argument("--dry-run", action="store_true", help="show what would change, change nothing")
    p.add_argument("--yes", action="store_true", help="apply without asking")
    return p


def run(args) -> int:
    return asyncio.run(_run(args))


async def _run(args) -> int:
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import ZeekRefused, behind_load_balancer, carry_out, survey, zeekctl_status

    if len(fleet_keys(args)) > 1:
        return await _run_fleet(args)
    conn = await open_sensor(args)
    sensor, answers, mac, ctx = conn.sensor, conn.answers, conn.mac, conn.ctx
    try:
        work = await survey(sensor, answers, mac, ctx is not None and behind_load_balancer(ctx.plan))
        _show(work)
        if not work.changes_anything:
            print(f"Nothing to change: Zeek {work.zeek_version} already runs on {work.interface}.")
            status = None
        elif args.dry_run:
            print(work.logs)
            print("Dry run: nothing was changed.")
            return ExitCode.OK
        else:
            if sys.stdin.isatty() and not args.yes and not await ask_yes("Apply these changes?"):
                print("Nothing changed.")
                return ExitCode.OK
            status = await carry_out(sensor, work, answers, mac, log=print)
        status = status or await zeekctl_status(sensor, work.prefix)
        print(status.output.rstrip())
        print(f"Zeek: {status.summary()}")
        if not work.changes_anything:  # carry_out said it otherwise
            print(work.logs)
        if ctx is not None:
            from vpc_mirror.steps.zeek import record_result

            record_result(ctx, work.facts(), status)
    except ZeekRefused as exc:
        raise CommandError(f"{exc}\nNothing was changed.", ExitCode.BAD_INPUT) from None
    except SshError as exc:
        raise CommandError(str(exc)) from None
    finally:
        conn.close()
    return ExitCode.OK if status.running else ExitCode.FAILED


def _show(work) -> None:
    print(f"Sensor: {work.os.pretty or work.os.key}, "
          f"{'systemd' if work.systemd else 'no systemd (cron)'}")
    print(f"Zeek: {work.zeek_version + ' in ' + work.prefix if work.zeek_version else 'not installed'}")
    print(f"Capture interface: {work.interface}"
          + (f" ({'; '.join(work.interface_fixes)})" if work.interface_fixes else " (ready)"))
    if work.load_balanced:
        print(f"  {work.interface} is also the sensor's own interface (the load balancer sends to its address): it "
              "keeps its addresses, and Zeek reads only the mirrored packets (UDP 4789 and 6081) there")
    for change in work.files:
        print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    if work.install:
        print(work.install)
    for command in work.commands():
        print(f"  run: {command}")



async def _run_fleet(args) -> int:
    """Every sensor of the setup at once: survey all, show each, ask once, configure all; one failing stops no
    other. Exit 0 when Zeek runs on every sensor, 2 when every sensor refused the answers, else 1."""
    from vpc_mirror.steps.zeek import SensorOutcome, behind_load_balancer, record_fleet_result

    fleet = await open_sensors(args)
    try:
        outcomes = {key: SensorOutcome(error=f"not reached: {why}") for key, why in fleet.missing.items()}
        behind_lb = behind_load_balancer(fleet.ctx.plan)
        surveys = await _each(fleet.reached, lambda s: _survey_one(s, behind_lb))
        for s in fleet.reached:
            if isinstance(surveys[s.key], SensorOutcome):
                outcomes[s.key] = surveys[s.key]
                continue
            print(f"== {s.key} ==")
            _show(surveys[s.key])
        ready = [s for s in fleet.reached if s.key not in outcomes]
        if args.dry_run:
            for s in ready:
                print(f"{s.key}: {surveys[s.key].logs}")
            print("Dry run: nothing was changed." + _failures(outcomes))
            return ExitCode.FAILED if outcomes else ExitCode.OK
        todo = [s.key for s in ready if surveys[s.key].changes_anything]
        if todo and sys.stdin.isatty() and not args.yes and not await ask_yes(f"Apply these changes on {', '.join(todo)}?"):
            print("Nothing changed." + _failures(outcomes))
            return ExitCode.FAILED if outcomes else ExitCode.OK
        outcomes |= await _each(ready, lambda s: _apply_one(s, surveys[s.key]))
        outcomes = {s.key: outcomes[s.key] for s in fleet.sensors}
        for key, outcome in outcomes.items():
            print(f"{key}: " + (f"Zeek: {outcome.status.summary()}" if outcome.running else f"FAILED: {outcome.why()}"))
        record_fleet_result(fleet.ctx, outcomes)
    finally:
        fleet.close()
    if all(o.running for o in outcomes.values()):
        return ExitCode.OK
    print(f"Zeek is not running on every sensor:{_failures(outcomes)}", file=sys.stderr)
    return ExitCode.BAD_INPUT if all(o.refused for o in outcomes.values() if not o.running) else ExitCode.FAILED


def _failures(outcomes) -> str:
    return "".join(f"\n  {key}: {o.why()}" for key, o in outcomes.items() if not o.running)


async def _each(sensors, work) -> dict:
    """``work(sensor)`` on every one of ``sensors``, at most PARALLEL_SENSORS at a time (as many SSH sessions as
    connections were opened at once); results by sensor key."""
    limit = asyncio.Semaphore(PARALLEL_SENSORS)

    async def bounded(s):
        async with limit:
            return await work(s)

    results = await asyncio.gather(*(bounded(s) for s in sensors))
    return {s.key: result for s, result in zip(sensors, results)}


async def _survey_one(s, behind_lb: bool):
    """The sensor's survey, or its failed outcome saying why it cannot be set up."""
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import SensorOutcome, ZeekRefused, survey

    try:
        return await survey(s.conn.sensor, s.conn.answers, s.conn.mac, behind_lb)
    except ZeekRefused as exc:
        return SensorOutcome(error=f"{exc} (nothing was changed)", refused=True)
    except SshError as exc:
        return SensorOutcome(error=str(exc))


async def _apply_one(s, work):
    """Configure one sensor (its log lines prefixed with its key, as they happen); its outcome."""
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import SensorOutcome, carry_out, zeekctl_status

    def log(text: str) -> None:
        print("\n".join(f"{s.key}: {line}" for line in text.splitlines()), flush=True)

    try:
        if work.changes_anything:
            status = await carry_out(s.conn.sensor, work, s.conn.answers, s.conn.mac, log=log)
        else:
            log(f"Nothing to change: Zeek {work.zeek_version} already runs on {work.interface}.")
            status = await zeekctl_status(s.conn.sensor, work.prefix)
    except SshError as exc:
        return SensorOutcome(facts=work.facts(), error=str(exc))
    return SensorOutcome(facts=work.facts(), status=status)
