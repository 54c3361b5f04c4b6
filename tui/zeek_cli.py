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
from vpc_mirror.tui.cli_sensor import ask_yes, open_sensor


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
    for change in work.files:
        print(change.diff, end="" if change.diff.endswith("\n") else "\n")
    if work.install:
        print(work.install)
    for command in work.commands():
        print(f"  run: {command}")
