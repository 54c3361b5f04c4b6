"""The sensor's Zeek logs over SSH (steps.ssh.Sensor), and a setup's VPC ranges from AWS.

Only the logs that can overlap the window are read: the sensor lists its log
folder with each file's last write time, the newest files are streamed first
(``cat``, decoded and gunzipped here as the bytes arrive), and reading stops
at the first file written before the window's hour begins. Files are read as
the login user: Zeek writes its logs world-readable, and a file that is not
is reported by name rather than skipped.
"""

from __future__ import annotations

import asyncio
import shlex

import asyncssh
from botocore.exceptions import BotoCoreError, ClientError
from vpc_mirror.steps.ssh import Sensor, SshError
from vpc_mirror.steps.zeek import ZEEK_PREFIXES

from .zeeklogs import (
    LOG_NAME,
    READ_BLOCK,
    LogFile,
    LogReader,
    Problem,
    ZeekLogs,
    newest_first,
)


class SetupUnreadable(Exception):
    """What the hunt needs from the setup's AWS account could not be read; the message says what to do."""


# zeekctl's own answer wins (its LogDir may be anywhere); else PREFIX/logs, as zeekctl defaults
_LOG_DIR = ('for p do if [ -x "$p/bin/zeekctl" ]; then '
            'd=$("$p/bin/zeekctl" config 2>/dev/null | sed -n "s/^logdir = //p"); '
            'printf "%s\\n" "${d:-$p/logs}"; exit 0; fi; done; exit 3')
# current/ is a symlink into the spool (hence -L); archives are one level down, in YYYY-MM-DD/
_LIST = ("find -L \"$1\" -maxdepth 2 -type f \\( -name '*.log' -o -name '*.log.gz' \\) "
         "-printf '%T@\\t%p\\n'")


async def log_dir(sensor: Sensor, prefix: str | None) -> str:
    """Where zeekctl keeps the logs (``zeekctl config``'s logdir), under ``prefix`` or a usual one."""
    candidates = [prefix] if prefix else list(ZEEK_PREFIXES)
    found = await sensor.script(_LOG_DIR, *candidates, root=True, check=False)
    if found.exit_status != 0 or not found.stdout.strip():
        where = prefix or " or ".join(ZEEK_PREFIXES)
        raise SshError(f"there is no zeekctl under {where} on {sensor.target.label}; pass --zeek-prefix DIR "
                       "(the folder with bin/zeekctl), or copy the logs here and use --logs")
    return found.stdout.strip().splitlines()[-1]


async def remote_files(sensor: Sensor, folder: str) -> tuple[list[LogFile], list[Problem]]:
    """The conn/ssl/http logs under ``folder`` (current/ and the dated archives), newest first."""
    listed = await sensor.script(_LIST, folder, root=False, check=False)
    files = []
    for line in listed.stdout.splitlines():
        mtime, _, path = line.partition("\t")
        if LOG_NAME.match(path.rsplit("/", 1)[-1]):
            files.append(LogFile(path, float(mtime)))
    problems = [Problem(folder, None, line.strip()) for line in listed.stderr.splitlines() if line.strip()]
    if listed.exit_status != 0 and not files and not problems:
        problems.append(Problem(folder, None, f"cannot be listed (find exited {listed.exit_status})"))
    return newest_first(files), problems


async def read_remote(sensor: Sensor, files: list[LogFile], reader: LogReader) -> ZeekLogs:
    """Stream each needed file through the reader; SshError if the connection drops."""
    for file in newest_first(files):
        if not reader.needed(file):
            reader.skip(file)
            continue
        feed = reader.open(file)
        # Under the heartbeat guard, so a dead connection cannot leave the read running on the sensor.
        heartbeat = sensor.target.liveness.heartbeat
        command = shlex.join(heartbeat.guarded(["cat", "--", file.path]))
        beating = None
        try:
            process = await sensor.conn.create_process(command, encoding=None)
            beating = asyncio.create_task(heartbeat.beat(process.stdin))
            errors = asyncio.create_task(process.stderr.read())
            while chunk := await process.stdout.read(READ_BLOCK):
                feed.feed(chunk)
            await process.wait_closed()
            message = (await errors).decode("utf-8", "replace").strip()
        except (asyncssh.Error, OSError) as exc:
            raise SshError(f"the connection to {sensor.target.label} dropped while reading {file.path} "
                           f"({exc}); run the hunt again") from None
        finally:
            if beating is not None:
                beating.cancel()
        if process.exit_status != 0:
            feed.fail(f"cannot be read on the sensor: {message or f'cat exited {process.exit_status}'}",
                      feed.number or None)
        feed.close()
    return reader.result()


def vpc_networks(ctx) -> list[str]:
    """The setup's VPC CIDR blocks, IPv4 and IPv6 (AWS gives a VPC a /56); blocking (AWS)."""
    vpc = ctx.state.resource("vpc")
    vpc_id = (vpc.id if vpc is not None else None) or ctx.facts("vpc").get("vpc_id")
    if not vpc_id:
        return []
    try:
        found = ctx.aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except (ClientError, BotoCoreError) as exc:
        raise SetupUnreadable(f"cannot read VPC {vpc_id} to know its address ranges ({exc}); "
                       "pass them with --internal CIDR") from None
    blocks = []
    for item in found:
        blocks += [a["CidrBlock"] for a in item.get("CidrBlockAssociationSet", [])
                   if a.get("CidrBlockState", {}).get("State", "associated") == "associated"]
        blocks += [a["Ipv6CidrBlock"] for a in item.get("Ipv6CidrBlockAssociationSet", [])
                   if a.get("Ipv6CidrBlockState", {}).get("State", "associated") == "associated"]
    return blocks
