"""Remote commands that die with their connection: heartbeats on stdin, and a guard on the sensor.

A command that waits on a dead SSH connection can outlive it by hours: sshd
on the sensor learns of a silently dead path only from TCP's retransmission
timeout, and until then the command (tcpdump, ``zeekctl deploy``, a package
install) runs on. So every long command runs under ``GUARD``, a POSIX sh
wrapper that starts it in a process group of its own (``setsid``), and our
side writes a newline to its stdin every ``interval`` seconds. The guard
sends the whole group SIGTERM when ``misses`` ticks of ``interval`` pass
without a heartbeat (so after at least ``(misses - 1) * interval`` and at
most ``misses * interval`` seconds of silence), SIGKILL a tick later if any
of it is still there, and SIGTERM at once when its stdin closes (we stopped,
or sshd saw the connection close). It exits with the command's status and
passes its stdout and stderr through untouched. With a sudo password, stdin
first answers sudo's prompt, and heartbeats begin only once sudo has started
the guard (steps.ssh), so sudo never reads a heartbeat as a password and the
guard never sees the password.

The guard itself needs only sh, ``kill``, ``sleep`` and ``setsid`` (util-linux,
or busybox), which every Linux has.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

#: argv: INTERVAL MISSES COMMAND [ARG...]. The reader turns each line of ours into USR1 (a heartbeat) and our EOF
#: into TERM; the ticker sends ALRM every INTERVAL; the traps count missed ticks. Traps are set before the helpers
#: start and dropped before they are stopped, so no late tick can signal a process group that is gone. The helpers
#: get process groups of their own so that one SIGKILL ends each with its `sleep`; a helper not yet in its group
#: is caught by its pid. Only the command writes to stderr: the shell's own notes ("Killed", bash's job reports)
#: would read as the command's.
GUARD = """\
i=$1 n=$2
shift 2
exec 3<&0 </dev/null
setsid "$@" 3<&- &
c=$!
exec 2>/dev/null
m=0 s=TERM
stop() { kill -s "$s" -- "-$c"; s=KILL; }
trap 'm=0' USR1
trap 'm=$((m + 1)); [ "$m" -lt "$n" ] || stop' ALRM
trap stop TERM HUP INT
setsid sh -c 'while read -r _; do kill -s USR1 "$1" || exit; done; kill -s TERM "$1"' beat "$$" <&3 >/dev/null &
r=$!
setsid sh -c 'while sleep "$1"; do kill -s ALRM "$2" || exit; done' tick "$i" "$$" >/dev/null &
k=$!
exec 3<&-
while wait "$c"; e=$?; kill -0 "$c"; do :; done
trap '' USR1 ALRM TERM HUP INT
if [ "$e" -gt 128 ]; then wait "$c"; x=$?; [ "$x" = 127 ] || e=$x; fi
kill -s KILL -- "-$r" "$r" "-$k" "$k"
exit "$e"
"""
# The last `wait` above: a signal that cut `wait "$c"` short may have let the shell reap the command already; its
# real status is then still there for one more `wait` (127 means the first `wait` did report it).


@dataclass(frozen=True)
class Heartbeat:
    """How often we beat, and how many beats the sensor may miss before it ends the command."""

    interval: float = 5.0
    misses: int = 3

    @property
    def bound(self) -> float:
        """Seconds after the last heartbeat by which the command is gone, even if it ignores SIGTERM."""
        return (self.misses + 1) * self.interval

    def guarded(self, argv: list[str] | tuple[str, ...]) -> list[str]:
        """``argv`` under the guard: the argv to run (quote it with shlex.join, prefix sudo as needed)."""
        return ["sh", "-c", GUARD, "vpc-mirror-guard", f"{self.interval:g}", str(self.misses), *argv]

    async def beat(self, stdin) -> None:
        """Write a heartbeat to ``stdin`` (a binary asyncssh writer) every interval until cancelled or it closes."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                stdin.write(b"\n")
            except OSError:  # the channel is closed (BrokenPipeError)
                return
