"""``vpc-mirror watch``: is mirrored traffic arriving? The live view, or one summary for scripts.

Sources: a setup's sensor (NAME: address, user, capture MAC from its state),
any sensor (--host, --interface or --mac), or a pcap file (--pcap). Headless,
it captures for --seconds (a pcap file: to its end) and prints a summary; when
a live capture saw no VXLAN packet it runs the diagnostics checklist (for a
setup) and exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from vpc_mirror.tui.cli_common import CommandError, ExitCode, add_sensor_command
from vpc_mirror.tui.cli_sensor import capture_options, fleet_keys, open_sensor, open_sensors

DEFAULT_SECONDS = 10.0
SHOWN_FLOWS = 10  # busiest first; the rest are counted, never dropped silently
_MARK = {"ok": "✓", "failed": "✗", "unknown": "?", "warning": "!"}


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the ``watch`` subcommand."""
    p = add_sensor_command(
        sub, "watch",
        "watch mirrored VXLAN traffic arrive on the sensor (or in a pcap file), and say why when it does not",
        name_help="a saved setup: capture on its sensor's capture interface",
        interface_help="capture interface (default: the one with the capture ENI's MAC)",
        mac_help="find the capture interface by this MAC")
    p.add_argument("--pcap", type=Path, help="read this capture file instead of capturing")
    p.add_argument("--vxlan-port", type=int, default=4789, help="UDP port of the mirrored traffic (default 4789)")
    p.add_argument("--headless", action="store_true", help="no screen: capture, then print one summary")
    p.add_argument("--seconds", type=float, help=f"how long to capture headless (default {DEFAULT_SECONDS:g})")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--snaplen", type=int,
                   help="bytes tcpdump keeps of each packet (default: just every header the view decodes)")
    p.add_argument("--vni", type=int, help="capture only this VNI (a filter run by tcpdump on the sensor)")
    p.add_argument("--source", metavar="ADDR",
                   help="capture only packets mirrored from this address (a filter run by tcpdump on the sensor)")
    return p


def run(args) -> int:
    _check(args)
    if not args.headless:
        keys = fleet_keys(args) if args.pcap is None else []
        if len(keys) > 1:
            from vpc_mirror.tui.screens.fleet_watch import FleetWatchApp  # start-up time: Textual only here

            FleetWatchApp(args, keys).run()
            return ExitCode.OK
        from vpc_mirror.tui.screens.troubleshoot import run_troubleshoot  # start-up time: Textual only here

        return run_troubleshoot(args)
    return asyncio.run(_headless(args))


def _check(args) -> None:
    if args.pcap is not None and (args.name or args.host):
        raise CommandError("give --pcap FILE, or a setup NAME, or --host, not several", ExitCode.BAD_INPUT)
    if args.pcap is None and (args.name is None) == (args.host is None):
        raise CommandError("give a setup NAME, --host H (with --interface or --mac), or --pcap FILE", ExitCode.BAD_INPUT)
    if args.pcap is not None and not args.pcap.is_file():
        raise CommandError(f"--pcap: {args.pcap} is not a file", ExitCode.BAD_INPUT)
    if args.seconds is not None and not 0 < args.seconds <= 86400:
        raise CommandError(f"--seconds {args.seconds:g} is outside 0-86400; use e.g. 10", ExitCode.BAD_INPUT)
    if not 1 <= args.vxlan_port <= 65535:
        raise CommandError(f"--vxlan-port {args.vxlan_port} is outside 1-65535; AWS mirrors to 4789", ExitCode.BAD_INPUT)
    _checkcapture_options(args)


def _checkcapture_options(args) -> None:
    """--snaplen, --vni and --source shape the capture on the sensor, so they need one (headless, for now)."""
    from vpc_mirror.steps.capture.remote import BadCaptureInput, tcpdump_command

    given = [f"--{name}" for name in ("snaplen", "vni", "source") if getattr(args, name) is not None]
    if not given:
        return
    if args.pcap is not None or not args.headless:
        raise CommandError(f"{', '.join(given)}: for a capture on the sensor; add --headless and give a setup NAME "
                           "or --host", ExitCode.BAD_INPUT)
    try:
        tcpdump_command("eth1", args.vxlan_port, **capture_options(args))
    except BadCaptureInput as exc:
        raise CommandError(str(exc), ExitCode.BAD_INPUT) from None


async def _headless(args) -> int:
    from vpc_mirror.steps.capture.live import LiveCapture, PcapFileSource
    from vpc_mirror.steps.capture.summary import summary

    live = LiveCapture(port=args.vxlan_port, raw_capacity=0,
                       on_status=lambda status: print(f"capture: {status.message}", file=sys.stderr))
    if args.pcap is not None:
        status = await _capture(live, PcapFileSource(args.pcap), args.seconds)
        if status.state == "failed":  # not a capture at all: the file is the bad input
            raise CommandError(status.message, ExitCode.BAD_INPUT)
        if status.state == "truncated":  # what it held is reported; the cut is said, never hidden
            print(f"warning: {status.message}", file=sys.stderr)
        doc = summary(live.snapshot())
        _report(args, doc, [])
        return ExitCode.OK if doc["vxlan_packets"] else ExitCode.FAILED
    if len(fleet_keys(args)) > 1:
        return await _headless_fleet(args)
    conn = await open_sensor(args)
    try:
        status, why, checks, link_name = await _remote(args, conn, live)
    finally:
        conn.close()
    snap = live.snapshot()
    loss = live.loss(snap)
    doc = summary(snap, loss)
    _report(args, doc, checks, why)
    _report_loss(args, loss, link_name)
    if status.state not in ("stopped", "listening"):
        raise CommandError(f"the capture failed: {status.message}")
    return ExitCode.FAILED if why else ExitCode.OK


async def _headless_fleet(args) -> int:
    """Capture on every sensor of the setup at once; one summary with a column per sensor (exit 1 when a sensor
    could not be read, as the totals are then short, or when the setup's mirroring is not seen working)."""
    from vpc_mirror.steps.capture.fleet_summary import fleet_summary
    from vpc_mirror.steps.capture.live import LiveCapture
    from vpc_mirror.steps.capture.merge import merge_snapshots
    from vpc_mirror.steps.watch import explain_silence, record_verdict

    fleet = await open_sensors(args)
    try:
        lives = {s.key: LiveCapture(port=args.vxlan_port, raw_capacity=0,
                                    on_status=lambda status, key=s.key: print(f"{key}: capture: {status.message}",
                                                                              file=sys.stderr))
                 for s in fleet.reached}
        outcomes = await asyncio.gather(*(_capture_one(args, s.conn, lives[s.key]) for s in fleet.reached))
        missing = dict(fleet.missing)
        links = {}
        for s, (link_name, problem) in zip(fleet.reached, outcomes):
            if problem:
                missing[s.key] = problem
            if link_name:
                links[s.key] = link_name
        per_sensor = {key: live.snapshot() for key, live in lives.items() if key in links}
        losses = {key: lives[key].loss(snap) for key, snap in per_sensor.items()}
        doc = fleet_summary(per_sensor, {key: missing[key] for key in sorted(missing)}, losses)
        _, why = record_verdict(fleet.ctx, merge_snapshots(per_sensor.values()))
        checks = []
        if why:  # the checklist, with the first sensor read as its sensor-side view
            first = next((s for s in fleet.reached if s.key in links), None)
            checks = await (explain_silence(fleet.ctx, first.conn.sensor, links[first.key], lives[first.key])
                            if first else explain_silence(fleet.ctx))
    finally:
        fleet.close()
    _report_fleet(args, doc, checks, why)
    for key, loss in losses.items():
        _report_loss(args, loss, f"{links[key]} ({key})")
    return ExitCode.FAILED if why or missing else ExitCode.OK


async def _capture_one(args, conn, live) -> tuple[str | None, str | None]:
    """One sensor's part of a fleet capture: (its capture interface or None, what went wrong or None)."""
    from vpc_mirror.steps.capture.live import RemoteSource
    from vpc_mirror.steps.capture.remote import BadCaptureInput
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import ZeekRefused, capture_link

    try:
        link = await capture_link(conn.sensor, conn.answers, conn.mac)
        source = RemoteSource(conn.sensor, link.name, port=args.vxlan_port, **capture_options(args))
        status = await _capture(live, source, args.seconds or DEFAULT_SECONDS)
    except (ZeekRefused, SshError, BadCaptureInput) as exc:
        return None, str(exc)
    return link.name, None if status.state in ("stopped", "listening") else f"the capture failed: {status.message}"


async def _remote(args, conn, live):
    """Capture on the sensor: (status, why mirroring is not seen working or None, the checklist, the interface).

    For a setup, working is its verdict (packets with its VNI, from its sources), and the checklist says
    what to look at when it fails; for any host, that mirrored packets arrived at all.
    """
    from vpc_mirror.steps.capture.live import RemoteSource
    from vpc_mirror.steps.capture.remote import BadCaptureInput
    from vpc_mirror.steps.ssh import SshError
    from vpc_mirror.steps.zeek import ZeekRefused, capture_link

    try:
        link = await capture_link(conn.sensor, conn.answers, conn.mac)
    except (ZeekRefused, SshError) as exc:
        raise CommandError(str(exc), ExitCode.BAD_INPUT) from None
    try:
        source = RemoteSource(conn.sensor, link.name, port=args.vxlan_port, **capture_options(args))
        status = await _capture(live, source, args.seconds or DEFAULT_SECONDS)
    except BadCaptureInput as exc:
        raise CommandError(str(exc), ExitCode.BAD_INPUT) from None
    checks = []
    why = None if live.snapshot().vxlan_packets else "no mirrored packet arrived"
    if conn.ctx is not None:
        from vpc_mirror.steps.watch import explain_silence, record_verdict

        _, why = record_verdict(conn.ctx, live.snapshot())
        if why:
            checks = await explain_silence(conn.ctx, conn.sensor, link.name, live)
    return status, why, checks, link.name


async def _capture(live, source, seconds: float | None):
    stop = asyncio.Event()
    task = asyncio.create_task(live.run(source, stop))
    if seconds is not None:
        try:
            await asyncio.wait_for(asyncio.shield(task), seconds)
        except asyncio.TimeoutError:
            stop.set()
    return await task


def _report_loss(args, loss, interface: str) -> None:
    """Where the packets went (standard error under --json); a warning when any were lost or could not be told."""
    from vpc_mirror.steps.capture.loss import describe, severity

    out = sys.stderr if args.json else sys.stdout
    print(f"loss: on {interface}, {describe(loss)}", file=out)
    if severity(loss) != "ok":
        unknown = f"; could not tell: {', '.join(loss.unknown)}" if loss.unknown else ""
        print(f"warning: {loss.lost:,} packets were lost before they were counted{unknown}", file=sys.stderr)


def _report(args, doc: dict, checks, why: str | None = None) -> None:
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        geneve = f" ({doc['geneve_packets']} inside GENEVE)" if doc["geneve_packets"] else ""
        print(f"{doc['packets']} packets: {doc['vxlan_packets']} VXLAN{geneve}, {doc['non_vxlan']} other, "
              f"{doc['malformed']} malformed, {doc['truncated']} truncated by the snap length")
        for vni, packets in sorted(doc["vnis"].items()):
            print(f"  VNI {vni}: {packets} packets")
        for source, packets in sorted(doc["sources"].items(), key=lambda kv: -kv[1]):
            print(f"  from {source}: {packets} packets")
        for flow in doc["flows"][:SHOWN_FLOWS]:
            ports = (f":{flow['sport']} > " if flow["sport"] is not None else " > ")
            dport = f":{flow['dport']}" if flow["dport"] is not None else ""
            print(f"  vni {flow['vni']} proto {flow['proto']} {flow['src']}{ports}{flow['dst']}{dport}: "
                  f"{flow['packets']} packets, {flow['bytes']} bytes")
        more = len(doc["flows"]) - SHOWN_FLOWS
        if more > 0 or doc["evicted_flows"]:
            print(f"  … {max(more, 0)} more flows (--json lists them)"
                  + (f"; {doc['evicted_flows']} evicted from the flow table, counted in the totals above only"
                     if doc["evicted_flows"] else ""))
    _print_checks(args, checks, why)


def _print_checks(args, checks, why: str | None) -> None:
    """The diagnostics checklist, after why it ran (standard error under --json)."""
    out = sys.stderr if args.json else sys.stdout
    if checks:
        print(f"{why[:1].upper()}{why[1:]}. Checklist:", file=out)
        for check in checks:
            print(f"  {_MARK[check.status]} {check.name}: {check.detail}", file=out)
            if check.fix and check.status != "ok":
                print(f"      fix: {check.fix}", file=out)


def _report_fleet(args, doc: dict, checks, why: str | None) -> None:
    """The fleet summary: JSON, or a table with a column per sensor and the total; then its warnings."""
    from vpc_mirror.steps.capture.fleet_summary import fleet_rows

    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        head, rows = fleet_rows(doc, SHOWN_FLOWS)
        first = max(len(r[0]) for r in [head, *rows])
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(1, len(head))]
        for row in [head, *rows]:
            print(f"{row[0]:<{first}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(row[1:], widths)))
        more = len(doc["flows"]) - SHOWN_FLOWS
        if more > 0:
            print(f"… {more} more flows (--json lists them)")
        for key in doc["missing_sensors"]:
            print(f"{key}: not read")
    for warning in doc["warnings"]:
        print(f"warning: {warning}", file=sys.stderr if args.json else sys.stdout)
    _print_checks(args, checks, why)
