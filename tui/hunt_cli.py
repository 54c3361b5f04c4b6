"""``vpc-mirror hunt``: which pairs in Zeek's logs beacon, scored as RITA v5 will score them.

The logs come from a setup's sensor (NAME; every sensor of a fleet, scored
together), any sensor (--host and the SSH options `zeek` takes) or local files
and folders (--logs). Internal networks
are RITA's defaults, the setup's VPC ranges (with NAME) and --internal.
Prints the pairs at or above --min-score, best first, and what could not be
read. Exit 0 when the logs were read and scored, 1 when no conn.log row could
be read or a fleet's sensor could not be, 2 on bad input. steps/ is imported inside the functions (start-up time:
the wizard imports the command line before its first screen).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from vpc_mirror.tui.cli_common import CommandError, ExitCode, add_sensor_command
from vpc_mirror.tui.cli_sensor import fleet_keys, open_sensor, open_sensors

DEFAULT_WINDOW = "24h"
DEFAULT_MIN_SCORE = 0.5
MAX_WINDOW_DAYS = 90
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``hunt`` subcommand."""
    p = add_sensor_command(sub, "hunt", "score beacons in the sensor's Zeek logs (or local ones) as RITA v5 does",
                           name_help="a saved setup: read its sensor's logs; its VPC ranges are internal")
    p.add_argument("--zeek-prefix", help="where Zeek is installed on the sensor (default: the setup's, or found)")
    p.add_argument("--logs", nargs="+", type=Path, metavar="PATH",
                   help="read these logs here instead: files, or folders such as zeekctl's logs/")
    p.add_argument("--window", default=DEFAULT_WINDOW, metavar="DURATION",
                   help=f"how far back from the last connection to score, e.g. 24h, 90m, 2d (default {DEFAULT_WINDOW}, "
                        "as RITA)")
    p.add_argument("--internal", action="append", default=[], metavar="CIDR",
                   help="also internal (repeatable); RITA's defaults and the setup's VPC ranges always are")
    p.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE,
                   help=f"show pairs scoring at least this, 0-1 (default {DEFAULT_MIN_SCORE}: RITA's lowest band)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def run(args) -> int:
    _check(args)
    return asyncio.run(_run(args))


def window_seconds(text: str) -> int:
    """``24h``, ``90m``, ``2d``, ``3600s`` or plain seconds -> seconds (whole, at least 1, at most 90 days)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        raise CommandError(f"--window {text!r} is not a duration; use e.g. 24h, 90m or 2d", ExitCode.BAD_INPUT)
    seconds = int(float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if not 1 <= seconds <= MAX_WINDOW_DAYS * 86400:
        raise CommandError(f"--window {text} is outside 1 s to {MAX_WINDOW_DAYS} days; RITA uses 24h",
                           ExitCode.BAD_INPUT)
    return seconds


def _check(args) -> None:
    given = [what for what, value in (("NAME", args.name), ("--host", args.host), ("--logs", args.logs)) if value]
    if len(given) != 1:
        raise CommandError("give one of: a setup NAME, --host H, or --logs PATH..."
                           + (f" (not {' and '.join(given)})" if given else ""), ExitCode.BAD_INPUT)
    args.window_seconds = window_seconds(args.window)
    for cidr in args.internal:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise CommandError(f"--internal {cidr!r} is not a CIDR block; use e.g. 10.20.0.0/16 or "
                               "2600:1f18:abcd:1200::/56", ExitCode.BAD_INPUT) from None
    if not 0 <= args.min_score <= 1:
        raise CommandError(f"--min-score {args.min_score:g} is outside 0-1", ExitCode.BAD_INPUT)


async def _run(args) -> int:
    from vpc_mirror.steps.hunt.pairs import Networks, find_beacons
    from vpc_mirror.steps.hunt.zeeklogs import LogReader, local_files, read_local

    extra = list(args.internal)
    unread: list[str] = []
    if args.logs:
        files, problems = local_files(args.logs)
        if problems:
            raise CommandError("--logs: " + "; ".join(map(str, problems)), ExitCode.BAD_INPUT)
        networks = Networks.with_defaults(extra)
        logs = read_local(files, LogReader(networks, args.window_seconds))
        result = find_beacons(logs.conns, logs.names, networks, args.window_seconds)
    elif len(fleet_keys(args)) > 1:
        logs, networks, result, unread = await _hunt_fleet(args, extra)
    else:
        conn = await open_sensor(args)
        try:
            try:
                logs, networks, folder = await _read_sensor(conn, args, extra)
            except CommandError as exc:
                if conn.ctx is not None:
                    await asyncio.to_thread(_record, conn.ctx, None, None, "", str(exc))
                raise
            result = find_beacons(logs.conns, logs.names, networks, args.window_seconds)
            if conn.ctx is not None:
                await asyncio.to_thread(_record, conn.ctx, result, logs.report,
                                        f"{folder} on {conn.sensor.target.label}")
        finally:
            conn.close()
    doc = hunt_document(result, logs.report, networks, args.window_seconds, args.min_score)
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        _print(doc)
    if not logs.report.complete:
        read = doc["read"]
        print(f"vpc-mirror: incomplete: {read['unreadable_lines']} line(s) and {len(read['unreadable_files'])} "
              "file(s) could not be read; the scores leave them out", file=sys.stderr)
    if not logs.conns:
        raise CommandError("no conn.log row could be read, so there is nothing to score")
    if unread:
        raise CommandError(f"the logs of {', '.join(unread)} could not be read (see above): the scores leave out "
                           "every connection those sensors logged")
    return ExitCode.OK


async def _hunt_fleet(args, extra: list[str]):
    """(logs, networks, result, sensors not read) from every sensor of a fleet, scored together: behind a load balancer each
    sensor logs only the flows hashed to it, so a beacon's connections are spread over the sensors. A sensor
    that cannot be reached or read is an unreadable file of the report (the scores may be short), never
    dropped silently."""
    from vpc_mirror.steps.ec2_describe import VpcUnreadable, vpc_blocks
    from vpc_mirror.steps.hunt.pairs import Networks, find_beacons
    from vpc_mirror.steps.hunt.remote import log_dir, read_remote, remote_files
    from vpc_mirror.steps.hunt.zeeklogs import LogReader
    from vpc_mirror.steps.ssh import SshError

    fleet = await open_sensors(args)
    try:
        try:
            extra += await asyncio.to_thread(vpc_blocks, fleet.ctx)
        except VpcUnreadable as exc:
            raise CommandError(str(exc)) from None
        networks = Networks.with_defaults(extra)
        reader = LogReader(networks, args.window_seconds)
        unread = list(fleet.missing)
        for key, why in fleet.missing.items():
            reader.bad_file(key, None, f"sensor not reached, its logs are not scored: {why}")
        prefixes = fleet.ctx.facts("zeek").get("sensors", {})
        read = []
        for s in fleet.reached:
            prefix = args.zeek_prefix or prefixes.get(s.key, {}).get("prefix") or s.conn.answers.zeek_prefix
            try:
                folder = await log_dir(s.conn.sensor, prefix)
                files, problems = await remote_files(s.conn.sensor, folder, where=s.key)
                for problem in problems:
                    reader.bad_file(problem.file, problem.line, problem.message)
                if not files and not problems:
                    reader.bad_file(f"{s.key}:{folder}", None, "no conn, ssl or http log there")
                print(f"hunt: reading Zeek's logs in {folder} on {s.key} ({s.conn.sensor.target.label})",
                      file=sys.stderr)
                await read_remote(s.conn.sensor, files, reader)
                read.append(s.key)
            except SshError as exc:
                unread.append(s.key)
                reader.bad_file(s.key, None, f"its logs could not be read: {exc}")
        logs = reader.result()
        result = find_beacons(logs.conns, logs.names, networks, args.window_seconds)
        await asyncio.to_thread(_record, fleet.ctx, result, logs.report,
                                f"the logs of {', '.join(read) or 'no sensor'} ({len(read)} of "
                                f"{len(fleet.sensors)} sensors)")
    finally:
        fleet.close()
    return logs, networks, result, unread


def _record(ctx, result, report, logs: str, error: str | None = None) -> None:
    """The hunt step's result in the setup's state (blocking: it takes the state's lock)."""
    from vpc_mirror.steps.hunt.beacon import hunt_facts, verdict
    from vpc_mirror.steps.hunt.record import record_result, setup_beacon

    if result is None:
        record_result(ctx, {}, error)
        return
    beacon = setup_beacon(ctx)
    facts = hunt_facts(result, report, beacon, logs)
    record_result(ctx, facts, verdict(result, facts, beacon))


async def _read_sensor(conn, args, extra: list[str]):
    """(logs, networks, the log folder read) from the connected sensor; CommandError when they cannot be read."""
    from vpc_mirror.steps.hunt.pairs import Networks
    from vpc_mirror.steps.ec2_describe import VpcUnreadable, vpc_blocks
    from vpc_mirror.steps.hunt.remote import log_dir, read_remote, remote_files
    from vpc_mirror.steps.hunt.zeeklogs import LogReader
    from vpc_mirror.steps.ssh import SshError

    prefix = args.zeek_prefix
    if conn.ctx is not None:
        try:
            extra += await asyncio.to_thread(vpc_blocks, conn.ctx)
        except VpcUnreadable as exc:
            raise CommandError(str(exc)) from None
        prefix = prefix or conn.ctx.facts("zeek").get("prefix") or conn.answers.zeek_prefix
    networks = Networks.with_defaults(extra)
    try:
        folder = await log_dir(conn.sensor, prefix)
        files, problems = await remote_files(conn.sensor, folder)
        if not files:
            detail = "; ".join(map(str, problems)) or "nothing there"
            raise CommandError(f"no conn, ssl or http log under {folder} on the sensor ({detail})")
        print(f"hunt: reading Zeek's logs in {folder} on {conn.sensor.target.label}", file=sys.stderr)
        reader = LogReader(networks, args.window_seconds)
        for problem in problems:
            reader.bad_file(problem.file, problem.line, problem.message)
        logs = await read_remote(conn.sensor, files, reader)
    except SshError as exc:
        raise CommandError(str(exc)) from None
    return logs, networks, folder


def _time(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hunt_document(result, report, networks, window_seconds: int, min_score: float) -> dict:
    """The JSON of ``hunt --json`` (documented in the README), from the pure result and the read report."""
    window = result.window
    return {
        "window": None if window is None else {"start": _time(window.start), "end": _time(window.end),
                                               "seconds": window_seconds},
        "internal_subnets": [str(net) for net in networks.internal],
        "connections": result.connections,
        "unscorable_pairs": result.unscorable,
        "strobes": [{"type": strobe.kind, "src": strobe.src, "dst": strobe.dst, "connections": strobe.connections}
                    for strobe in result.strobes],
        "pairs": [{
            "type": pair.kind, "src": pair.src, "dst": pair.dst,
            "score": pair.score.score, "severity": pair.score.severity.value,
            "timestamp_score": pair.score.timestamp, "datasize_score": pair.score.datasize,
            "histogram_score": pair.score.histogram, "duration_score": pair.score.duration,
            "connections": pair.connections, "unique_seconds": pair.unique_seconds,
            "first_seen": _time(pair.first_seen), "last_seen": _time(pair.last_seen),
        } for pair in result.pairs if pair.score.score >= min_score],
        "read": {
            "files": report.files_read,
            "skipped_files": report.files_skipped,
            "records": report.records,
            "unreadable_lines": report.bad_lines,
            "unreadable_files": report.bad_files,
            "problems": [{"file": p.file, "line": p.line, "message": p.message} for p in report.problems],
        },
    }


def _print(doc: dict) -> None:
    window, read = doc["window"], doc["read"]
    if window is None:
        print("No internal -> external connection in the logs: nothing to score.")
    else:
        print(f"Window {window['start']} to {window['end']}: {doc['connections']} internal -> external "
              f"connections; internal: {', '.join(doc['internal_subnets'])}")
        if doc["pairs"]:
            print(f"{'score':>6} {'band':<7}{'ts':>6}{'size':>7}{'hist':>7}{'dur':>7}{'conns':>7}  pair")
            for p in doc["pairs"]:
                print(f"{p['score']:>6.3f} {p['severity']:<7}{p['timestamp_score']:>6.3f}{p['datasize_score']:>7.3f}"
                      f"{p['histogram_score']:>7.3f}{p['duration_score']:>7.3f}{p['connections']:>7}  "
                      f"{p['src']} -> {p['dst']}" + (" (domain)" if p["type"] == "domain" else ""))
        else:
            print("No pair scores at or above --min-score.")
        if doc["strobes"]:
            print(f"{len(doc['strobes'])} pair(s) with too many connections to score as beacons "
                  "(RITA's strobes, listed apart as RITA lists them):")
            for strobe in doc["strobes"]:
                print(f"  {strobe['connections']:>7}  {strobe['src']} -> {strobe['dst']}"
                      + (" (domain)" if strobe["type"] == "domain" else ""))
    skipped = f", {len(read['skipped_files'])} older than the window not needed" if read["skipped_files"] else ""
    print(f"Read {len(read['files'])} file(s){skipped}: {read['records']} rows.")
    if read["unreadable_lines"] or read["unreadable_files"] or read["problems"]:
        print(f"Could not read {read['unreadable_lines']} line(s) and {len(read['unreadable_files'])} file(s):")
        for p in read["problems"]:
            print(f"  {p['file']}" + (f":{p['line']}" if p["line"] else "") + f": {p['message']}")
