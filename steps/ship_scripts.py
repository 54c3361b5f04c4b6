"""The text `vpc-mirror ship` puts on the sensor and the hunter: transport script, cron.d, keys, RITA.

Pure functions of validated values (steps.ship.ShipPlan), so they can be
checked with shellcheck and read in tests. The transport has the shape of
activecm's zeek_log_transport.sh (hourly at 5 past, the rotated ``.gz`` logs
of the last 3 days of the same log types, ``rsync -avR --delay-updates
--chmod=Do+rx,Fo+r`` under flock, timeout, ionice and nice), so AC-Hunter and
AI-Hunter ingest what arrives unchanged: ``DEST/<sensor-id>/YYYY-MM-DD/``.
Every value pasted into shell text goes through ``shlex.quote``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

#: The sensor's non-root user that runs the transport, owns the shipping key and pins the hunter's host key.
SENSOR_USER = "vpc-mirror-ship"
SENSOR_HOME = "/var/lib/vpc-mirror-ship"
KEY = f"{SENSOR_HOME}/.ssh/id_ed25519"
KNOWN_HOSTS = f"{SENSOR_HOME}/.ssh/known_hosts"
LOCK = f"{SENSOR_HOME}/transport.lock"
TRANSPORT = "/usr/local/bin/vpc-mirror-ship"
CRON_FILE = "/etc/cron.d/vpc-mirror-ship"
#: zeek_log_transport's default log types, its 3-day window and its 7080 s limit (just under the hour).
LOG_TYPES = "(conn|dns|http|ssl|x509|known_certs|capture_loss|notice|stats)"
DAYS = 3
TIME_LIMIT = 7080
#: RITA v5's default_config.hjson `filtering.internal_subnets` (RFC 1918 and the ULA prefix).
RITA_DEFAULT_SUBNETS = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fd00::/8")
RITA_MINUTE = 30  # the import runs well after the transport (5 past) has finished


@dataclass(frozen=True)
class Transport:
    """Everything the sensor's transport needs to know: where the logs are and where they go."""

    log_dir: str
    hunter: str
    port: int
    ship_user: str
    sensor_id: str

    @property
    def destination(self) -> str:
        return f"{self.ship_user}@{self.hunter}"


def transport_script(t: Transport) -> str:
    """The script cron runs hourly as SENSOR_USER: push the recent rotated logs, never a shell, never unverified."""
    ssh = (f"ssh -i {KEY} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes "
           f"-o UserKnownHostsFile={KNOWN_HOSTS} -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=30 "
           f"-o ServerAliveInterval=30 -p {t.port}")
    return f"""#!/bin/sh
# vpc-mirror ship: send Zeek's rotated logs of the last {DAYS} days to {t.destination}
# in zeek_log_transport's layout (<dest>/{t.sensor_id}/YYYY-MM-DD/). Written by vpc-mirror;
# run hourly from {CRON_FILE} as {SENSOR_USER}. The key on the hunter only allows rsync
# into the destination directory; the hunter's host key is pinned in {KNOWN_HOSTS}.
PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
export PATH
log_dir={shlex.quote(t.log_dir)}
target={shlex.quote(t.destination)}
sensor_id={shlex.quote(t.sensor_id)}

cd "$log_dir" || {{ echo "vpc-mirror-ship: cannot enter $log_dir" >&2; exit 1; }}
files=$(find . -type f -mtime -{DAYS} -name '*.gz' | grep -E {shlex.quote(LOG_TYPES)} | grep -v '/\\.' | sort -u)
if [ -z "$files" ]; then
    echo "vpc-mirror-ship: no rotated logs of the last {DAYS} days in $log_dir"
    exit 0
fi
printf '%s\\n' "$files" | flock -xn {LOCK} timeout --kill-after=60 {TIME_LIMIT} ionice -c3 nice -n19 \\
    rsync -avR --files-from=- --delay-updates --chmod=Do+rx,Fo+r \\
    -e {shlex.quote(ssh)} . "$target:$sensor_id/"
status=$?
case $status in
    0) echo "vpc-mirror-ship: sent to $target" ;;
    1) echo "vpc-mirror-ship: another transport still runs (lock {LOCK}), or rsync failed" >&2 ;;
    124|137) echo "vpc-mirror-ship: rsync ran longer than {TIME_LIMIT} s and was stopped" >&2 ;;
    *) echo "vpc-mirror-ship: rsync failed (exit $status)" >&2 ;;
esac
exit $status
"""


def cron_file(hunter: str) -> str:
    """Hourly at 5 past, as SENSOR_USER (not root); output to syslog, tagged vpc-mirror-ship."""
    return "\n".join([
        f"# Added by vpc-mirror: ship Zeek's logs to {hunter} (see {TRANSPORT}).",
        "SHELL=/bin/sh",
        "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        f"5 * * * * {SENSOR_USER} {TRANSPORT} 2>&1 | logger -t vpc-mirror-ship",
        "",
    ])


def known_hosts(host: str, port: int, keys: list[str]) -> str:
    """The ship user's known_hosts: only the hunter's verified keys ("type base64" each)."""
    # start-up time: steps.ssh loads asyncssh, which opening the Ship page should not
    from vpc_mirror.steps.ssh import known_hosts_pattern

    pattern = known_hosts_pattern(host, port)
    return "".join(f"{pattern} {key}\n" for key in keys)


def authorized_key(public_key: str, rrsync: str, dest_dir: str, source: str | None = None) -> str:
    """The hunter's authorized_keys line: no pty, forwarding or shell; only rsync writing into dest_dir.

    ``from="source"`` (the sensor's address) is a second line of defence: the key is useless elsewhere.
    None only for a preview without a sensor (the demo).
    """
    kind, blob = public_key.split()[:2]
    command = f"{shlex.quote(rrsync)} -wo -no-del {shlex.quote(dest_dir)}"
    origin = f'from="{source}",' if source else ""
    return f'restrict,{origin}command="{command}" {kind} {blob} {SENSOR_USER}\n'


def authorized_keys(current: str | None, line: str) -> str:
    """``current`` with every earlier line for the same key replaced by ``line`` (sshd uses the first match)."""
    blob = line.split()[-2]
    kept = [old for old in (current or "").splitlines(keepends=True) if blob not in old.split()]
    text = "".join(kept)
    if text and not text.endswith("\n"):
        text += "\n"
    return text + line


def hunter_account_script(ship_user: str, dest_dir: str) -> str:
    """Run as root on the hunter: the ship user (no password), DEST owned by it, a root-owned ~/.ssh.

    ~/.ssh and authorized_keys belong to root, so the restricted key can never
    change its own restrictions; for the same reason DEST may not be the
    user's home, inside it, or hold it (rrsync would write into ~/.ssh).
    """
    user, dest = shlex.quote(ship_user), shlex.quote(dest_dir)
    return f"""set -e
if ! id -u {user} >/dev/null 2>&1; then useradd --create-home --shell /bin/sh --password '*' {user}; fi
home=$(getent passwd {user} | cut -d: -f6)
dest={dest}
case "${{dest%/}}/" in "${{home%/}}/"*) echo "$dest is in $home: choose another --dest-dir" >&2; exit 1;; esac
case "${{home%/}}/" in "${{dest%/}}/"*) echo "$dest holds $home: choose another --dest-dir" >&2; exit 1;; esac
mkdir -p "$dest"
chown {user}: "$dest"
chmod 0755 "$dest"
mkdir -p "$home/.ssh"
chown root: "$home/.ssh"
chmod 0755 "$home/.ssh"
if [ -e "$home/.ssh/authorized_keys" ]; then chown root: "$home/.ssh/authorized_keys"; chmod 0644 "$home/.ssh/authorized_keys"; fi
"""


_DATABASE_BAD = re.compile(r"[^a-z0-9_]+")


def rita_database(sensor_id: str) -> str:
    """A RITA v5 database name for the sensor: lowercase letters, digits and _, starting with a letter."""
    name = _DATABASE_BAD.sub("_", sensor_id.lower()).strip("_")
    if not name or not name[0].isalpha():
        name = f"sensor_{name}"
    return name[:63].rstrip("_")


def rita_config(cidrs: list[str]) -> str:
    """The `filtering.internal_subnets` lines for RITA v5's config.hjson: its defaults plus the VPC's blocks."""
    subnets = list(dict.fromkeys([*RITA_DEFAULT_SUBNETS, *cidrs]))
    listed = ", ".join(f'"{s}"' for s in subnets)
    return ("// vpc-mirror: merge into the filtering section of RITA's config.hjson (/etc/rita/config.hjson)\n"
            f"filtering: {{\n    internal_subnets: [{listed}]\n}}\n")


def rita_cron(sensor_id: str, dest_dir: str) -> str:
    """An hourly rolling import of this sensor's logs on the hunter (cron.d, as root: RITA runs in Docker)."""
    logs = shlex.quote(f"{dest_dir}/{sensor_id}")
    lock = shlex.quote(f"/run/lock/vpc-mirror-rita-{rita_database(sensor_id)}.lock")
    return "\n".join([
        f"# Added by vpc-mirror: import {sensor_id}'s logs into RITA every hour.",
        "SHELL=/bin/sh",
        "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        (f"{RITA_MINUTE} * * * * root flock -n {lock} rita import --rolling -d {rita_database(sensor_id)} "
         f"-l {logs} 2>&1 | logger -t vpc-mirror-rita"),
        "",
    ])


def rita_cron_path(sensor_id: str) -> str:
    """cron.d ignores names with dots; one file per sensor."""
    return f"/etc/cron.d/vpc-mirror-rita-{rita_database(sensor_id).replace('_', '-')}"
