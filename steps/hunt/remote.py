"""The sensor's Zeek logs over SSH (steps.ssh.Sensor).

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
from vpc_mirror.steps.ssh import Sensor, SshError
from vpc_mirror.steps.zeek import ZEEK_PREFIXES, zeekctl_config, zeekctl_prefix

from .zeeklogs import (
    LOG_NAME,
    READ_BLOCK,
    LogFile,
    LogReader,
    Problem,
    ZeekLogs,
    newest_first,
)

# current/ is a symlink into the spool (hence -L); archives are one level down, in YYYY-MM-DD/
_LIST = ("find -L \"$1\" -maxdepth 2 -type f \\( -name '*.log' -o -name '*.log.gz' \\) "
         "-printf '%T@\\t%p\\n'")


async def log_dir(sensor: Sensor, prefix: str | None) -> str:
    """Where zeekctl keeps the logs (``zeekctl config``'s logdir), under ``prefix`` or a usual one."""
    found = await zeekctl_prefix(sensor, prefix)
    if found is None:
        where = prefix or " or ".join(ZEEK_PREFIXES)
        raise SshError(f"there is no zeekctl under {where} on {sensor.target.label}; pass --zeek-prefix DIR "
                       "(the folder with bin/zeekctl), or copy the logs here and use --logs")
    return (await zeekctl_config(sensor, found)).log_dir


async def remote_files(sensor: Sensor, folder: str, where: str = "") -> tuple[list[LogFile], list[Problem]]:
    """The conn/ssl/http logs under ``folder`` (current/ and the dated archives), newest first; ``where``: the
    sensor's name in a fleet (``LogFile.where``)."""
    listed = await sensor.script(_LIST, folder, root=False, check=False)
    files = []
    for line in listed.stdout.splitlines():
        mtime, _, path = line.partition("\t")
        if LOG_NAME.match(path.rsplit("/", 1)[-1]):
            files.append(LogFile(path, float(mtime), where))
    shown = f"{where}:{folder}" if where else folder
    problems = [Problem(shown, None, line.strip()) for line in listed.stderr.splitlines() if line.strip()]
    if listed.exit_status != 0 and not files and not problems:
        problems.append(Problem(shown, None, f"cannot be listed (find exited {listed.exit_status})"))
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
        beating = errors = None
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
            for task in (beating, errors):
                if task is not None:
                    task.cancel()
        if process.exit_status is None:  # the channel closed without an exit status: the connection went
            raise SshError(f"{sensor.lost or f'the connection to {sensor.target.label} dropped'} while reading "
                           f"{file.path}; run the hunt again")
        if process.exit_status != 0:
            feed.fail(f"cannot be read on the sensor: {message or f'cat exited {process.exit_status}'}",
                      feed.number or None)
        feed.close()
    return reader.result()
