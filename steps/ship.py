"""Step 14 — ship: push Zeek's rotated logs to AI-Hunter/RITA the way zeek_log_transport does [runbook 10].

The sensor pushes (hourly, from cron, as the non-root SENSOR_USER) with a
dedicated ed25519 key made on the sensor; the private key never leaves it.
The hunter's host key is pinned in that user's known_hosts only after it was
verified from the sensor's side (``ssh-keyscan`` there, checked against
``--accept-hunter-key`` or vpc-mirror's own known_hosts). On the hunter the
key may only run rrsync writing into DEST (``restrict`` + a forced command).

``survey_sensor`` / ``survey_hunter`` only read and work out every change
(file diffs, commands); ``prepare_sensor`` / ``prepare_hunter`` apply exactly
that; then ``run_transport`` runs the cron job once. A second run finds
nothing to change.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from vpc_mirror.models.state import StepStatus
from vpc_mirror.models.zeek import LoginUser, RemotePath, SshHost
from vpc_mirror.steps import ship_scripts as scripts
from vpc_mirror.steps.engine import set_status
from vpc_mirror.steps.setup import change_state
from vpc_mirror.steps.ssh import (
    BACKUP_SUFFIX,
    HostKeyPolicy,
    HostKeyRefused,
    Result,
    Sensor,
    SshError,
    known_hosts_pattern,
    record_host_key,
)
from vpc_mirror.steps.zeek import (
    ZEEK_PREFIXES,
    FileChange,
    zeekctl_config,
    zeekctl_prefix,
)

DEFAULT_DEST = "/opt/zeek/remotelogs"
TRANSPORT_TIMEOUT = scripts.TIME_LIMIT + 120
#: What the transport and its set-up use on the sensor (all in coreutils, util-linux, passwd, openssh, rsync).
SENSOR_TOOLS = ("rsync", "ssh", "ssh-keygen", "ssh-keyscan", "flock", "timeout", "ionice", "nice", "logger",
                "useradd", "runuser", "find")
_INSTALL_RSYNC = (
    'if command -v apt-get >/dev/null 2>&1; then DEBIAN_FRONTEND=noninteractive apt-get install -y '
    '--no-install-recommends rsync openssh-client; elif command -v dnf >/dev/null 2>&1; then dnf install -y rsync '
    'openssh-clients; else echo "no apt-get or dnf here: install rsync yourself" >&2; exit 3; fi'
)
_SYSTEM_DIRS = {"/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/boot", "/root", "/home", "/var", "/opt", "/tmp"}


class ShipRefused(Exception):
    """Shipping cannot be set up as asked; nothing was changed. The message says what to do."""


class ShipPlan(BaseModel):
    """Where the logs go: the hunter, its receiving user and directory; whether to set RITA up."""

    model_config = ConfigDict(extra="forbid")

    hunter: SshHost
    port: int = Field(22, ge=1, le=65535)
    ship_user: LoginUser = "dataimport"
    dest_dir: RemotePath = DEFAULT_DEST
    rita: bool = False

    @field_validator("dest_dir")
    @classmethod
    def _not_a_system_dir_nor_the_usual_home(cls, value: str, info: ValidationInfo) -> str:
        if value in _SYSTEM_DIRS:
            raise ValueError(f"{value} is a system directory; give one for the logs alone, e.g. {DEFAULT_DEST}")
        # the hunter's survey checks the real home; this catches the usual one before anything is asked
        user = info.data.get("ship_user")
        if user and overlaps_home(value, f"/home/{user}"):
            raise ValueError(f"{value} overlaps {user}'s home; rrsync could write its ~/.ssh there. Give a "
                             f"folder for the logs alone, e.g. {DEFAULT_DEST}")
        return value


def overlaps_home(dest_dir: str, home: str) -> bool:
    """Whether DEST is the ship user's home, inside it, or holds it: the -wo key could then rewrite ~/.ssh."""
    dest, home = dest_dir.rstrip("/") + "/", home.rstrip("/") + "/"
    return dest.startswith(home) or home.startswith(dest)


@dataclass
class SensorSurvey:
    """What the sensor has, and what this run would change there."""

    transport: scripts.Transport
    user_exists: bool
    public_key: str | None  # "ssh-ed25519 AAAA…" of the existing shipping key
    install_rsync: bool = False
    files: list[FileChange] = field(default_factory=list)
    #: the sensor's address as the hunter sees it (authorized_keys' from=); None only in a preview (the demo)
    address: str | None = None

    @property
    def changes_anything(self) -> bool:
        return bool(self.files) or not self.user_exists or self.public_key is None or self.install_rsync

    def commands(self) -> list[str]:
        out = ["install rsync and the OpenSSH client"] if self.install_rsync else []
        if not self.user_exists:
            out.append(f"useradd --system --create-home --home-dir {scripts.SENSOR_HOME} "
                       f"--shell /usr/sbin/nologin {scripts.SENSOR_USER}")
        if self.public_key is None:
            out.append(f"runuser -u {scripts.SENSOR_USER} -- ssh-keygen -t ed25519 -N '' -f {scripts.KEY}")
        return out

    def facts(self) -> dict:
        """For State: what this run found (constants such as the cron file stay in ship_scripts)."""
        return {"sensor_id": self.transport.sensor_id, "log_dir": self.transport.log_dir,
                "hunter": self.transport.hunter}


@dataclass
class HunterSurvey:
    """What the hunter has for this sensor, and what this run would change there."""

    rrsync: str | None
    account_missing: bool
    files: list[FileChange] = field(default_factory=list)
    #: chown/chmod making ~/.ssh and authorized_keys root's (an existing user may own them)
    ownership: list[str] = field(default_factory=list)

    @property
    def changes_anything(self) -> bool:
        return self.rrsync is None or self.account_missing or bool(self.files) or bool(self.ownership)


async def scan_hunter_keys(sensor: Sensor, plan: ShipPlan) -> list[str]:
    """The hunter's host keys as the sensor sees them ("type base64" each), from ssh-keyscan on the sensor."""
    shown = await sensor.run(["ssh-keyscan", "-T", "10", "-p", str(plan.port), "-t", "ed25519,ecdsa,rsa",
                              plan.hunter], check=False, timeout=60)
    keys = []
    for line in shown.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and not line.startswith("#"):
            keys.append(f"{fields[1]} {fields[2]}")
    if not keys:
        raise ShipRefused(f"the sensor cannot reach {plan.hunter} port {plan.port} over SSH "
                          f"({shown.output or 'ssh-keyscan found no key'}); check the address and that the "
                          "hunter's firewall or security group allows SSH from the sensor")
    return keys


def _fingerprint(key: str) -> str:
    return asyncssh.import_public_key(key).get_fingerprint("sha256")


def _recorded_keys(known_hosts: Path, host: str, port: int) -> list[str]:
    """The host keys vpc-mirror's known_hosts holds for the hunter, as "type base64"."""
    if not known_hosts.exists():
        return []
    trusted = asyncssh.read_known_hosts(str(known_hosts)).match(host, "", port)[0]
    return [" ".join(key.export_public_key("openssh").decode().split()[:2]) for key in trusted]


async def verify_hunter_keys(scanned: list[str], plan: ShipPlan, known_hosts: Path, policy: HostKeyPolicy,
                             log: Callable[[str], None] = lambda line: None) -> list[str]:
    """The scanned keys to pin: those matching vpc-mirror's known_hosts, else the one ``policy`` accepts.

    HostKeyRefused when none can be trusted; the sensor is never told to trust
    a key nobody checked (no StrictHostKeyChecking=no, no accept-new).
    """
    prints = {key: _fingerprint(key) for key in scanned}
    recorded = _recorded_keys(known_hosts, plan.hunter, plan.port)
    if recorded:
        keys = [key for key in scanned if key in recorded]
        if not keys:
            raise HostKeyRefused(
                f"WARNING: from the sensor, {plan.hunter} presents host key(s) {', '.join(prints.values())}, none of "
                f"which is the one recorded for it in {known_hosts}. Refusing: the sensor may be reaching another "
                "machine, or someone is in between. Nothing was changed.")
        log(f"hunter {plan.hunter}: host key {prints[keys[0]]} as recorded in {known_hosts}")
        return keys
    if policy.accept is not None:
        keys = [key for key in scanned if prints[key] == policy.accept]
        if not keys:
            raise HostKeyRefused(
                f"from the sensor, {plan.hunter} presents host key(s) {', '.join(prints.values())}, not "
                f"{policy.accept} given with --accept-hunter-key; check it on the hunter (ssh-keygen -lf "
                "/etc/ssh/ssh_host_ed25519_key.pub). Nothing was changed.")
    elif policy.ask is not None and await policy.ask(
            f"hunter {plan.hunter} is unknown; from the sensor its host key is {next(iter(prints.values()))}. "
            "Trust it?"):
        keys = scanned[:1]
    else:
        raise HostKeyRefused(
            f"hunter {plan.hunter} is unknown; from the sensor its host key is {next(iter(prints.values()))}. "
            "If that is right, pass --accept-hunter-key with it. Nothing was changed.")
    log(f"hunter {plan.hunter}: host key {prints[keys[0]]} accepted (recorded in {known_hosts} when applied)")
    return keys


def record_hunter_key(known_hosts: Path, plan: ShipPlan, keys: list[str],
                      log: Callable[[str], None] = lambda line: None) -> None:
    """On applying only: remember the verified hunter key in vpc-mirror's known_hosts, unless it already is.

    Never on a dry run or a declined apply, which must leave everything as it was.
    """
    if _recorded_keys(known_hosts, plan.hunter, plan.port):
        return
    record_host_key(known_hosts, known_hosts_pattern(plan.hunter, plan.port), asyncssh.import_public_key(keys[0]))
    log(f"hunter {plan.hunter}: host key {_fingerprint(keys[0])} recorded in {known_hosts}")


async def find_log_dir(sensor: Sensor, prefix: str | None = None) -> str:
    """Zeek's archive (zeekctl's ``logdir``: dated folders of rotated logs) under the given or a detected prefix."""
    found = await zeekctl_prefix(sensor, prefix)
    if found is None:
        raise ShipRefused("no zeekctl on the sensor (looked in " + ", ".join([prefix] if prefix else ZEEK_PREFIXES)
                          + "); set Zeek up first with `vpc-mirror zeek`")
    return (await zeekctl_config(sensor, found)).log_dir


async def primary_address(sensor: Sensor) -> str:
    """zeek_log_transport's primary address: the source of the default route, or the one this SSH session reached."""
    route = (await sensor.run(["ip", "-o", "route", "get", "8.8.8.8"], check=False)).stdout.split()
    address = route[route.index("src") + 1] if "src" in route[:-1] else ""
    if not address:
        ssh = (await sensor.script('printf %s "${SSH_CONNECTION:-}"', root=False)).stdout.split()
        address = ssh[2] if len(ssh) >= 3 else ""
    return address


async def address_towards(sensor: Sensor, plan: ShipPlan) -> str:
    """The sensor's source address towards the hunter (what the hunter sees, short of NAT); else the primary one."""
    shown = await sensor.script('a=$(getent ahosts "$1" | awk \'NR == 1 {print $1}\') && [ -n "$a" ] && '
                                'ip -o route get "$a"', plan.hunter, root=False, check=False)
    route = shown.stdout.split()
    address = route[route.index("src") + 1] if "src" in route[:-1] else await primary_address(sensor)
    try:
        return str(ipaddress.ip_address(address))  # it goes into authorized_keys' from="…"
    except ValueError:
        return ""


async def sensor_id(sensor: Sensor) -> str:
    """zeek_log_transport's name for the sensor: short hostname, "__", its primary address, unsafe chars dropped."""
    host = (await sensor.run(["hostname", "-s"], check=False)).stdout
    address = await primary_address(sensor)
    keep = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_^+=")
    name = "".join(c for c in host if c in keep) + "__" + "".join(c for c in address if c in keep)
    return name[:52]


def checked_public_key(text: str) -> str:
    """The one ed25519 public key in ``text`` as "ssh-ed25519 BASE64"; ShipRefused for anything else.

    It is written as root into the hunter's authorized_keys, so nothing but one plain key may pass.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    try:
        key = asyncssh.import_public_key(lines[0]) if len(lines) == 1 else None
    except (asyncssh.KeyImportError, ValueError):
        key = None
    if key is None or key.get_algorithm() != "ssh-ed25519":
        raise ShipRefused(f"{scripts.KEY}.pub on the sensor is not one ed25519 public key; remove {scripts.KEY} "
                          "and its .pub there, and vpc-mirror makes a new one")
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


async def _public_key(sensor: Sensor) -> str | None:
    text = await sensor.read_file(f"{scripts.KEY}.pub")
    return checked_public_key(text) if text is not None else None


async def survey_sensor(sensor: Sensor, plan: ShipPlan, hunter_keys: list[str],
                        prefix: str | None = None) -> SensorSurvey:
    """Read the sensor and work out every change; changes nothing."""
    transport = scripts.Transport(log_dir=await find_log_dir(sensor, prefix), hunter=plan.hunter, port=plan.port,
                                  ship_user=plan.ship_user, sensor_id=await sensor_id(sensor))
    have = await sensor.script('for t do command -v "$t" >/dev/null 2>&1 || echo "$t"; done', *SENSOR_TOOLS)
    missing = have.stdout.split()
    if set(missing) - {"rsync", "ssh", "ssh-keygen", "ssh-keyscan"}:
        raise ShipRefused(f"the sensor lacks {', '.join(missing)} (coreutils, util-linux, passwd); install them")
    exists = (await sensor.run(["id", "-u", scripts.SENSOR_USER], check=False)).exit_status == 0
    work = SensorSurvey(transport=transport, user_exists=exists, public_key=await _public_key(sensor),
                        install_rsync=bool(missing), address=await address_towards(sensor, plan))
    if not work.address:
        raise ShipRefused("cannot tell the sensor's address (no route and no SSH_CONNECTION there)")
    for path, text, mode in ((scripts.TRANSPORT, scripts.transport_script(transport), 0o755),
                             (scripts.CRON_FILE, scripts.cron_file(plan.hunter), 0o644),
                             (scripts.KNOWN_HOSTS, scripts.known_hosts(plan.hunter, plan.port, hunter_keys), 0o644)):
        old = await sensor.read_file(path)
        if old != text:
            work.files.append(FileChange(path, old, text, mode))
    return work


async def prepare_sensor(sensor: Sensor, work: SensorSurvey, log: Callable[[str], None] = lambda line: None) -> str:
    """Apply ``work`` on the sensor (each diff logged before it is written); the shipping key's public half."""
    if work.install_rsync:
        log("… installing rsync and the OpenSSH client")
        await sensor.script(_INSTALL_RSYNC, timeout=600)
    if not work.user_exists:
        log(f"… user {scripts.SENSOR_USER}")
        await sensor.run(["useradd", "--system", "--no-log-init", "--create-home", "--home-dir", scripts.SENSOR_HOME,
                          "--shell", "/usr/sbin/nologin", scripts.SENSOR_USER], root=True)
    ssh_dir = str(Path(scripts.KEY).parent)
    await sensor.run(["install", "-d", "-m", "0700", "-o", scripts.SENSOR_USER, "-g", scripts.SENSOR_USER, ssh_dir],
                     root=True)
    public_key = work.public_key
    if public_key is None:
        log(f"… shipping key {scripts.KEY} (ed25519, made here; the private key stays on the sensor)")
        await sensor.run(["runuser", "-u", scripts.SENSOR_USER, "--", "ssh-keygen", "-q", "-t", "ed25519", "-N", "",
                          "-C", f"{scripts.SENSOR_USER}@{work.transport.sensor_id}", "-f", scripts.KEY], root=True)
        public_key = await _public_key(sensor)
        if public_key is None:
            raise SshError(f"ssh-keygen made no {scripts.KEY}.pub on the sensor")
    for change in work.files:
        log(f"… {change.path}:\n{change.diff}")
        await sensor.write_file(change.path, change.new, change.mode)
    return public_key


async def survey_hunter(hunter: Sensor, plan: ShipPlan, public_key: str | None, sid: str, *,
                        source: str | None = None) -> HunterSurvey:
    """Read the hunter (as the --hunter-user admin) and work out every change; changes nothing.

    Without the shipping key yet (first dry run) the authorized_keys diff shows a placeholder.
    ``source`` is the sensor's address for the key's from= (SensorSurvey.address); None only without a sensor.
    """
    rrsync = (await hunter.script("command -v rrsync", root=False, check=False)).stdout.strip() or None
    passwd = (await hunter.run(["getent", "passwd", plan.ship_user], check=False)).stdout.split(":")
    home = passwd[5] if len(passwd) >= 7 else f"/home/{plan.ship_user}"
    if overlaps_home(plan.dest_dir, home):
        raise ShipRefused(f"--dest-dir {plan.dest_dir} overlaps {plan.ship_user}'s home {home} on the hunter; "
                          "rrsync could then rewrite the key's own authorized_keys. Give a folder for the logs "
                          f"alone, e.g. {DEFAULT_DEST}")
    dest_ok = (await hunter.run(["test", "-d", plan.dest_dir], root=True, check=False)).exit_status == 0
    path = f"{home}/.ssh/authorized_keys"
    work = HunterSurvey(rrsync=rrsync, account_missing=len(passwd) < 7 or not dest_ok)
    owners = await hunter.script('for f do [ -e "$f" ] && stat -c "%U %a %n" -- "$f"; done; exit 0',
                                 f"{home}/.ssh", path, root=True)
    for line in owners.stdout.splitlines():
        owner, mode, name = line.split(" ", 2)
        wanted_mode = "755" if name == f"{home}/.ssh" else "644"
        if (owner, mode) != ("root", wanted_mode):
            work.ownership.append(f"chown root: {shlex.quote(name)} && chmod 0{wanted_mode} {shlex.quote(name)}")
    key = public_key or "ssh-ed25519 <the-key-vpc-mirror-makes-on-the-sensor>"
    line = scripts.authorized_key(key, rrsync or "/usr/bin/rrsync", plan.dest_dir, source)
    old = await hunter.read_file(path)
    wanted = [(path, scripts.authorized_keys(old, line), 0o644)]
    if plan.rita:
        wanted.append((scripts.rita_cron_path(sid), scripts.rita_cron(sid, plan.dest_dir), 0o644))
    for file_path, text, mode in wanted:
        current = old if file_path == path else await hunter.read_file(file_path)
        if current != text:
            work.files.append(FileChange(file_path, current, text, mode))
    return work


async def prepare_hunter(hunter: Sensor, plan: ShipPlan, work: HunterSurvey, public_key: str, sid: str,
                         *, source: str | None = None, log: Callable[[str], None] = lambda line: None) -> None:
    """Apply ``work`` on the hunter with the real key: rsync (for rrsync), the account and DEST, a root-owned
    ~/.ssh, authorized_keys."""
    if work.rrsync is None:
        log("… installing rsync on the hunter (for rrsync)")
        await hunter.script(_INSTALL_RSYNC, timeout=600)
        work = await survey_hunter(hunter, plan, public_key, sid, source=source)
        if work.rrsync is None:
            raise SshError("the hunter has no rrsync even after installing rsync; install rsync 3.2.4 or later "
                           "(it ships rrsync), then run `vpc-mirror ship` again")
    if work.account_missing:
        log(f"… user {plan.ship_user} and {plan.dest_dir} on the hunter")
        await hunter.script(scripts.hunter_account_script(plan.ship_user, plan.dest_dir))
    for command in work.ownership:
        log(f"… hunter: {command}")
        await hunter.script(command)
    fresh = await survey_hunter(hunter, plan, public_key, sid, source=source)
    for change in fresh.files:
        log(f"… hunter {change.path}:\n{change.diff}")
        await hunter.write_file(change.path, change.new, change.mode)


def admin_instructions(plan: ShipPlan, public_key: str | None, sid: str, *, source: str | None = None) -> str:
    """What the hunter's admin runs as root when vpc-mirror has no login there (no --hunter-user)."""
    key = public_key or "ssh-ed25519 <the-key-vpc-mirror-makes-on-the-sensor>"
    line = scripts.authorized_key(key, "/usr/bin/rrsync", plan.dest_dir, source).rstrip("\n")
    text = (f"# On the hunter {plan.hunter}, as root (needs rsync 3.2.4 or later for /usr/bin/rrsync):\n"
            + scripts.hunter_account_script(plan.ship_user, plan.dest_dir)
            + f"# replace any line holding the same key in $home/.ssh/authorized_keys with:\n"
            f"grep -vF {shlex.quote(key.split()[1])} \"$home/.ssh/authorized_keys\" 2>/dev/null > \"$home/.ssh/ak.new\" || true\n"
            f"printf '%s\\n' {shlex.quote(line)} >> \"$home/.ssh/ak.new\"\n"
            "chmod 0644 \"$home/.ssh/ak.new\" && mv \"$home/.ssh/ak.new\" \"$home/.ssh/authorized_keys\"\n")
    if plan.rita:
        cron = scripts.rita_cron(sid, plan.dest_dir)
        text += f"cat > {scripts.rita_cron_path(sid)} <<'EOF'\n{cron}EOF\n"
    return text


async def run_transport(sensor: Sensor) -> Result:
    """The cron job, once, now: the transport script as SENSOR_USER."""
    return await sensor.run(["runuser", "-u", scripts.SENSOR_USER, "--", scripts.TRANSPORT], root=True,
                            timeout=TRANSPORT_TIMEOUT, check=False)


async def arrived(hunter: Sensor, plan: ShipPlan, sid: str) -> list[str]:
    """The logs on the hunter for this sensor, relative to DEST/<sensor-id>, sorted."""
    where = f"{plan.dest_dir}/{sid}"
    shown = await hunter.script('[ -d "$1" ] || exit 0; cd "$1" && find . -type f -name "*.gz" | sort', where)
    return [line.removeprefix("./") for line in shown.stdout.splitlines()]


def sent(result: Result) -> list[str]:
    """The log files rsync reported sending (its -v list), for when vpc-mirror cannot look on the hunter."""
    return [line.strip() for line in result.stdout.splitlines() if line.strip().endswith(".gz")]


#: A transport still running (rsync, its ssh) would make userdel refuse: stop the user's processes, and wait up to
#: 5 s for them to be gone.
_STOP_USER = ('pkill -KILL -u "$1"; n=0; while pgrep -u "$1" >/dev/null && [ "$n" -lt 20 ]; do sleep 0.25; '
              'n=$((n + 1)); done; exit 0')


async def remove(sensor: Sensor, log: Callable[[str], None] = lambda line: None) -> list[str]:
    """Teardown on the sensor: the cron entry, the transport, and the ship user with its key; what was removed."""
    removed = []
    for path in (scripts.CRON_FILE, scripts.TRANSPORT):
        if (await sensor.run(["test", "-e", path], check=False)).exit_status == 0:
            await sensor.run(["rm", "-f", "--", path, path + BACKUP_SUFFIX], root=True)
            removed.append(path)
    if (await sensor.run(["id", "-u", scripts.SENSOR_USER], check=False)).exit_status == 0:
        await sensor.script(_STOP_USER, scripts.SENSOR_USER, root=True, check=False)
        await sensor.run(["userdel", "--remove", scripts.SENSOR_USER], root=True)
        removed.append(f"user {scripts.SENSOR_USER} with {scripts.SENSOR_HOME} (the shipping key)")
    for line in removed:
        log(f"removed {line}")
    return removed


@dataclass
class SensorShipping:
    """One fleet sensor's ship step: what was set up, and pending (a dry run, or declined), in-progress (its key
    awaits the hunter's admin), done or failed (with why)."""

    facts: dict = field(default_factory=dict)
    status: StepStatus = "pending"
    error: str | None = None


def record_fleet_result(ctx, outcomes: dict[str, SensorShipping]) -> None:
    """The ship step's result for a fleet: each sensor's under ``sensors``; done only when every sensor ships,
    failed when one failed (naming it), else in-progress."""
    def record(saved) -> None:
        saved.facts("ship")["sensors"] = {key: {**o.facts, "status": o.status} | ({"error": o.error} if o.error else {})
                                          for key, o in outcomes.items()}
        statuses = {o.status for o in outcomes.values()}
        if statuses == {"done"} or "failed" in statuses:
            status = "done" if statuses == {"done"} else "failed"
        else:  # some are waiting for the hunter's admin, or were left as they were (declined)
            status = "in-progress" if statuses & {"done", "in-progress"} else "pending"
        errors = "; ".join(f"{key}: {o.error}" for key, o in outcomes.items() if o.error)
        set_status(saved, "ship", status, errors or None)

    change_state(ctx, record)


def record_result(ctx, facts: dict, status: StepStatus, error: str | None = None) -> None:
    """The ship step's result on the state as saved now: what was set up, and done, failed (with why), or
    in-progress (the sensor is ready; the hunter's admin has yet to authorize its key)."""
    def record(saved) -> None:
        saved.facts("ship").update(facts)
        set_status(saved, "ship", status, error)

    change_state(ctx, record)
