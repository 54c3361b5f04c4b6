"""The sensor over SSH (asyncssh): verified host keys, sudo, quoted commands, remote file edits.

Host keys are always verified against our own known_hosts file. A host seen
for the first time is trusted only when its key's fingerprint matches the
one the user gave (``--accept-host-key``), the fingerprints cloud-init printed
to the instance's console, or the user says yes to it; a key that differs from
the recorded one is refused, never replaced. ``~/.ssh/config`` and the agent
are honoured (asyncssh's defaults). A sudo password is asked at most once per
connection, kept only in memory, and written to a command's stdin only in
answer to sudo's own prompt: a random ``-p`` prompt seen on stderr before the
command announces (a random marker line) that sudo has started it. When sudo
does not ask (a cached ticket, e.g. ``timestamp_type=global``) the password is
never sent, so it cannot end up in a file or a command's input.

A dead path (the laptop sleeps, Wi-Fi drops) is noticed on both ends without
waiting for TCP: we send SSH keepalives and call the connection lost after
``Liveness.silence`` seconds without an answer (30 s by default), raising
``ConnectionDropped``; and every command we run without input runs under the
heartbeat guard (``steps.heartbeat``), so the sensor ends it, its whole
process group, within ``Heartbeat.bound`` seconds (20 s by default) of our
last heartbeat, or at once when the connection closes.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

from vpc_mirror.steps.heartbeat import Heartbeat

CONNECT_TIMEOUT = 20
#: AES-GCM before asyncssh's first choice, ChaCha20-Poly1305: with AES in hardware it decrypts a line-rate capture's
#: stream in well under half the time (measured: 0.54 s against 1.39 s of CPU for 400,000 packets), and both are
#: among OpenSSH's defaults. A Ciphers line in the ssh config for the host is honoured instead.
PREFERRED_CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"
COMMAND_TIMEOUT = 120
BACKUP_SUFFIX = ".vpc-mirror.bak"

AskYesNo = Callable[[str], Awaitable[bool]]
AskSecret = Callable[[str], Awaitable[str | None]]

_CONSOLE_FINGERPRINT = re.compile(r"^(?:\S+: )?\d+ (SHA256:[A-Za-z0-9+/]{43}) .*\((\w+)\)\s*$")


class SshError(Exception):
    """Connecting or working over SSH failed; the message says what to do."""


class HostKeyRefused(SshError):
    """The sensor's host key is not the one we trust (changed, or not what AWS says)."""


class ConnectionDropped(SshError):
    """The connection to the sensor is gone (closed, or silent past the keepalives); connecting again and running
    the step again is safe, and nothing we started is left running there."""


class BadKeyFile(SshError):
    """The private key file given (``--identity``, the wizard's identity field) is missing or not a usable key."""


class RemoteCommandFailed(SshError):
    def __init__(self, command: str, exit_status: int | None, output: str):
        self.command, self.exit_status, self.output = command, exit_status, output
        shown = output.strip() or "(no output)"
        super().__init__(f"`{command}` failed (exit {exit_status}):\n{shown}")


@dataclass(frozen=True)
class Liveness:
    """How soon a dead path is noticed: by us (SSH keepalives) and by the sensor (our heartbeats)."""

    keepalive_interval: float = 10.0
    keepalive_count_max: int = 2
    heartbeat: Heartbeat = Heartbeat()

    @property
    def silence(self) -> float:
        """Seconds without a word from the sensor after which asyncssh gives up on the connection: a keepalive goes
        out after each quiet interval, and the connection is lost when more than ``keepalive_count_max`` of them in
        a row went unanswered."""
        return self.keepalive_interval * (self.keepalive_count_max + 1)


@dataclass(frozen=True)
class SshTarget:
    """Where to connect; ``None`` fields are left to ~/.ssh/config and asyncssh's defaults."""

    host: str
    known_hosts: Path
    port: int | None = None
    user: str | None = None
    identity: Path | None = None
    #: OpenSSH client config files; None = ~/.ssh/config (tests pass [] to ignore the developer's)
    ssh_config: Sequence[str] | None = None
    #: SSH agent socket; None = $SSH_AUTH_SOCK
    agent_path: str | None = None
    liveness: Liveness = Liveness()

    @property
    def label(self) -> str:
        who = f"{self.user}@" if self.user else ""
        return f"{who}{self.host}" + (f":{self.port}" if self.port and self.port != 22 else "")

    def options(self) -> dict:
        opts: dict = {"connect_timeout": CONNECT_TIMEOUT, "keepalive_interval": self.liveness.keepalive_interval,
                      "keepalive_count_max": self.liveness.keepalive_count_max}
        if self.port:
            opts["port"] = self.port
        if self.ssh_config is not None:
            opts["config"] = list(self.ssh_config)
        return opts


@dataclass
class HostKeyPolicy:
    """How a host we have never seen may be trusted."""

    accept: str | None = None  # --accept-host-key SHA256:…
    console_fingerprints: list[str] | None = None  # cloud-init's, from GetConsoleOutput; None = no console data
    ask: AskYesNo | None = None  # interactive confirmation; None = refuse unknown keys


def console_fingerprints(console_text: str) -> list[str]:
    """The SHA256 fingerprints in cloud-init's BEGIN/END SSH HOST KEY FINGERPRINTS block."""
    found: list[str] = []
    inside = False
    for line in console_text.splitlines():
        if "-----BEGIN SSH HOST KEY FINGERPRINTS-----" in line:
            inside = True
        elif "-----END SSH HOST KEY FINGERPRINTS-----" in line:
            inside = False
        elif inside:
            match = _CONSOLE_FINGERPRINT.match(line.strip())
            if match:
                found.append(match.group(1))
    return found


def known_hosts_pattern(host: str, port: int | None) -> str:
    """How OpenSSH names a host in known_hosts: the bare name on port 22, else ``[host]:port``."""
    return host if port in (None, 22) else f"[{host}]:{port}"


def _recorded(known_hosts: Path, pattern: str) -> bool:
    if not known_hosts.exists():
        return False
    for line in known_hosts.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and not line.startswith("#") and pattern in fields[0].split(","):
            return True
    return False


def record_host_key(known_hosts: Path, pattern: str, key: asyncssh.SSHKey) -> None:
    """Append a verified host key to vpc-mirror's known_hosts (private to this user)."""
    known_hosts.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{pattern} {key.export_public_key('openssh').decode().strip()}\n"
    with open(known_hosts, "a", encoding="utf-8") as handle:
        handle.write(line)
    known_hosts.chmod(0o600)


async def _first_contact(target: SshTarget, policy: HostKeyPolicy, log: Callable[[str], None]) -> None:
    """Fetch the host key of a host we never saw, decide whether to trust it, record it if so."""
    try:
        key = await asyncio.wait_for(asyncssh.get_server_host_key(target.host, **_probe_options(target)),
                                     CONNECT_TIMEOUT + 5)
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
        raise _unreachable(target, exc) from None
    if key is None:
        raise SshError(f"{target.label} sent no host key; it is not an SSH server we can verify")
    fingerprint = key.get_fingerprint("sha256")
    log(f"first contact with {target.host}: host key {key.get_algorithm()} {fingerprint}")
    if policy.accept is not None:
        if policy.accept != fingerprint:
            raise HostKeyRefused(
                f"{target.host} presented host key {fingerprint}, not {policy.accept} given with "
                "--accept-host-key; check the fingerprint (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub "
                "on the sensor) — someone may be in between")
        log("it matches --accept-host-key")
    elif policy.console_fingerprints:
        if fingerprint not in policy.console_fingerprints:
            raise HostKeyRefused(
                f"WARNING: {target.host} presented host key {fingerprint}, which is NOT among the fingerprints "
                f"the instance printed to its console ({', '.join(policy.console_fingerprints)}). "
                "Do not connect: the address may belong to another machine, or someone is in between.")
        log("it matches the fingerprints in the instance's console output")
    elif policy.ask is not None:
        if not await policy.ask(f"{target.host} is unknown; its host key is {fingerprint} and no console output "
                                "could confirm it. Trust it?"):
            raise HostKeyRefused(f"host key {fingerprint} of {target.host} was not accepted; nothing was done")
    else:
        raise HostKeyRefused(
            f"{target.host} is unknown and its host key {fingerprint} could not be checked against the "
            f"instance's console output; if it is right, pass --accept-host-key {fingerprint}")
    record_host_key(target.known_hosts, known_hosts_pattern(target.host, target.port), key)
    log(f"recorded it in {target.known_hosts}")


def _probe_options(target: SshTarget) -> dict:
    opts = {k: v for k, v in target.options().items() if k in ("port", "config")}
    return opts


def _unreachable(target: SshTarget, exc: BaseException) -> SshError:
    reason = str(exc) or type(exc).__name__
    return SshError(f"cannot reach {target.label} ({reason}); check the address, that the instance runs, and that "
                    "its security group allows SSH from this machine")


def _check_identity(path: Path) -> None:
    """Say what is wrong with the key file itself, before a network error could be blamed for it."""
    if not path.exists():
        raise BadKeyFile(f"the SSH key file {path} does not exist; give the path of the private key "
                         "(--identity), or leave it out to use ~/.ssh/config and the agent")
    try:
        asyncssh.read_private_key(path)
    except OSError as exc:
        raise BadKeyFile(f"the SSH key file {path} cannot be read ({exc.strerror}); check its owner and mode") \
            from None
    except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
        raise BadKeyFile(f"cannot use the SSH key file {path} ({exc}); give an OpenSSH private key without a "
                         "passphrase, or load it into the agent (ssh-add) and leave --identity out") from None


async def connect(target: SshTarget, policy: HostKeyPolicy, *, ask_password: AskSecret | None = None,
                  log: Callable[[str], None] = lambda line: None) -> Sensor:
    """An authenticated connection whose host key is verified; see the module docstring for the rules."""
    if target.identity is not None:
        _check_identity(target.identity)
    pattern = known_hosts_pattern(target.host, target.port)
    if not _recorded(target.known_hosts, pattern):
        await _first_contact(target, policy, log)
    opts = target.options()
    if target.user:
        opts["username"] = target.user
    if target.identity is not None:
        opts["client_keys"] = [str(target.identity)]
    if target.agent_path is not None:
        opts["agent_path"] = target.agent_path
    try:
        if not _ciphers_configured(target.host, opts):
            opts["encryption_algs"] = PREFERRED_CIPHERS
        conn = await asyncssh.connect(target.host, known_hosts=str(target.known_hosts), client_factory=_Watcher,
                                      **opts)
    except asyncssh.HostKeyNotVerifiable:
        raise HostKeyRefused(
            f"WARNING: the host key of {target.host} has CHANGED since it was recorded in {target.known_hosts}. "
            "Refusing to connect. If the sensor was rebuilt, check its new fingerprint and delete its line from "
            "that file; otherwise someone may be in between.") from None
    except asyncssh.PermissionDenied:
        raise SshError(f"{target.label} refused the login; check the user (--user) and the key "
                       "(--identity, ~/.ssh/config or the agent)") from None
    except (OSError, asyncio.TimeoutError, asyncssh.Error) as exc:
        raise _unreachable(target, exc) from None
    sensor = Sensor(conn, target, conn.get_owner(), ask_password=ask_password, log=log)
    try:
        await sensor.prepare_root()
    except BaseException:
        sensor.close()
        raise
    return sensor


def _ciphers_configured(host: str, opts: dict) -> bool:
    """Whether the ssh config in use names the ciphers for ``host`` and the user (``Match user`` too); those are
    then used as they are. A config that cannot be read raises here, as asyncssh's own connect would."""
    configured = asyncssh.SSHClientConnectionOptions(
        host=host, config=opts.get("config", ()), known_hosts=None, port=opts.get("port", ()),
        username=opts.get("username", ()), client_keys=None, agent_path=None)
    return list(configured.encryption_algs) != list(asyncssh.encryption.get_default_encryption_algs())


class _Watcher(asyncssh.SSHClient):
    """Remembers why the connection ended: asyncssh tells its client, not the processes that were waiting on it."""

    closed = False
    reason: Exception | None = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed, self.reason = True, exc


@dataclass
class Result:
    command: str
    exit_status: int | None
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


@dataclass
class Sensor:
    """One connection to the sensor. ``run`` quotes every argument; ``root=True`` goes through sudo."""

    conn: asyncssh.SSHClientConnection
    target: SshTarget
    watcher: _Watcher = field(repr=False)
    ask_password: AskSecret | None = None
    log: Callable[[str], None] = lambda line: None
    is_root: bool = False
    _password: str | None = field(default=None, repr=False)
    #: sudo's prompt, and the line our wrapper prints once sudo has started the command; random, so that
    #: nothing else on the sensor can be taken for either
    _prompt: str = field(default_factory=lambda: f"[vpc-mirror sudo {secrets.token_hex(8)}]", repr=False)
    _started: str = field(default_factory=lambda: f"vpc-mirror-started-{secrets.token_hex(8)}", repr=False)

    @property
    def lost(self) -> str | None:
        """Why the connection is gone, as words for a message; None while it is up."""
        if not self.watcher.closed:
            return None
        reason = self.watcher.reason
        if isinstance(reason, asyncssh.ConnectionLost) and "keepalive" in reason.reason:
            return f"lost the connection to {self.target.label}: no answer for {self.target.liveness.silence:g} s"
        return f"the connection to the sensor dropped ({self.target.label}: {reason or 'closed'})"

    async def prepare_root(self) -> None:
        """Find how to become root: already root, ``sudo -n``, or sudo with a password asked once."""
        whoami = await self.run(["id", "-u"])
        if whoami.stdout.strip() == "0":
            self.is_root = True
            return
        probe = await self.run(["sudo", "-n", "true"], check=False)
        if probe.exit_status == 0:
            return
        if "password" not in probe.stderr:
            raise SshError(f"{self.target.label} may not use sudo ({probe.output or 'sudo failed'}); "
                           "log in as a user with sudo rights (the image's default user has them)")
        if self.ask_password is None:
            raise SshError(f"sudo on {self.target.label} needs a password and none can be asked here; "
                           "run interactively, or allow password-less sudo for this user")
        password = await self.ask_password(f"sudo password for {self.target.label}: ")
        if not password:
            raise SshError(f"no sudo password given for {self.target.label}; nothing was done")
        self._password = password
        check = await self.run(["true"], root=True, check=False)  # a refused password is not sent twice
        if check.exit_status != 0:
            self._password = None
            raise SshError(f"sudo on {self.target.label} did not accept the password; run again and retype it")

    @property
    def _asks(self) -> bool:
        """Root commands go through ``sudo -S`` with a password that sudo may (or may not) ask for."""
        return self._password is not None and not self.is_root

    def command_line(self, argv: Sequence[str], root: bool = False) -> str:
        """The command line as messages show it: every argument shell-quoted, sudo as it is used."""
        argv = list(argv)
        if root and not self.is_root:
            argv = ["sudo", "-S" if self._asks else "-n", "--", *argv]
        return shlex.join(argv)

    def _wire(self, argv: Sequence[str], root: bool) -> str:
        """What is sent: with a password, sudo prompts with our prompt and the command first prints our marker."""
        if root and self._asks:
            return shlex.join(["sudo", "-S", "-p", self._prompt, "--", "sh", "-c", _ANNOUNCE, self._started,
                               *argv])
        return self.command_line(argv, root)

    async def run(self, argv: Sequence[str], *, root: bool = False, input: str | None = None,
                  timeout: float = COMMAND_TIMEOUT, check: bool = True) -> Result:
        """Run ``argv`` and collect its output. Without ``input`` it runs under the heartbeat guard, so it cannot
        outlive the connection, our giving up on it (``timeout``) or a dead path by more than the liveness bound."""
        command = self.command_line(argv, root)
        heartbeat = self.target.liveness.heartbeat if input is None else None
        wire = self._wire(heartbeat.guarded(argv) if heartbeat else argv, root)
        try:
            process = await self.conn.create_process(wire, encoding=None)
        except (asyncssh.Error, OSError) as exc:
            raise self._dropped(command, exc) from None
        try:
            exit_status, stdout, stderr = await asyncio.wait_for(
                self._talk(process, input, heartbeat, root and self._asks), timeout)
        except asyncio.TimeoutError:
            raise SshError(f"`{command}` did not finish within {timeout:.0f} s on {self.target.label}; "
                           "run the step again once the sensor is responsive") from None
        except (asyncssh.Error, OSError) as exc:
            raise self._dropped(command, exc) from None
        finally:
            process.close()
        if exit_status is None:  # the channel closed without an exit status: the connection went
            raise self._dropped(command, None)
        result = Result(command, exit_status, _text(stdout), _text(stderr))
        if check and result.exit_status != 0:
            raise RemoteCommandFailed(command, result.exit_status, result.output)
        return result

    async def _talk(self, process, input: str | None, heartbeat: Heartbeat | None,
                    asks: bool) -> tuple[int | None, bytes, bytes]:
        """Feed the command (password to sudo's prompt, then input or heartbeats); (exit status, stdout, stderr)."""
        stdout = asyncio.create_task(process.stdout.read())
        beating = None
        try:
            started, stderr = await self._authenticate(process) if asks else (True, b"")
            if not started:  # sudo refused the password or could not start the command: end its wait
                process.stdin.write_eof()
            elif heartbeat is not None:
                beating = asyncio.create_task(heartbeat.beat(process.stdin))
            else:
                process.stdin.write((input or "").encode())
                process.stdin.write_eof()
            stderr += await process.stderr.read()
            out = await stdout
            done = await process.wait()
        finally:
            stdout.cancel()
            if beating is not None:
                beating.cancel()
        return done.returncode, out, stderr

    async def _authenticate(self, process) -> tuple[bool, bytes]:
        """Answer sudo's prompt, once, with the password, until the command announces that it started.

        (True, the command's first stderr) once it started, sudo's own words dropped; (False, what sudo said)
        when sudo ended or asked again (the password was refused). Until the marker only sudo writes to stderr,
        so nothing the command prints can draw the password out."""
        prompt, marker = self._prompt.encode(), f"{self._started}\n".encode()
        said, answered = b"", False
        while True:
            chunk = await process.stderr.read(4096)
            if not chunk:
                return False, said
            said += chunk
            if prompt in said:
                said = said.replace(prompt, b"", 1)
                if answered:
                    return False, said
                process.stdin.write(f"{self._password}\n".encode())
                answered = True
            if said.startswith(marker):
                return True, said[len(marker):]
            if (at := said.find(b"\n" + marker)) >= 0:  # at a line's start: not inside sudo's quote of our argv
                return True, said[at + 1 + len(marker):]

    async def script(self, text: str, *args: str, root: bool = True, timeout: float = COMMAND_TIMEOUT,
                     check: bool = True) -> Result:
        """Run a shell script (as ``sh -c``); values go in as positional arguments, never pasted in."""
        return await self.run(["sh", "-c", text, "sh", *args], root=root, timeout=timeout, check=check)

    async def read_file(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        result = await self.script('if [ -e "$1" ]; then cat -- "$1"; else exit 3; fi', path, check=False)
        if result.exit_status == 3:
            return None
        if result.exit_status != 0:
            raise RemoteCommandFailed(result.command, result.exit_status, result.output)
        return result.stdout

    async def write_file(self, path: str, text: str, mode: int = 0o644) -> None:
        """Replace ``path`` atomically with ``text`` at exactly ``mode``; the first time, keep the original as
        ``path`` + BACKUP_SUFFIX. The new text goes in place only when every byte of it arrived: a connection cut
        mid-write leaves the old file as it was (and no temporary file)."""
        size = str(len(text.encode()))
        written = await self.run(["sh", "-c", _WRITE, "sh", path, f"{mode:04o}", BACKUP_SUFFIX, size], root=True,
                                 input=text, check=False)
        if written.exit_status == _CUT_SHORT:
            raise ConnectionDropped(f"writing {path} on {self.target.label} was cut short ({written.stderr.strip()}); "
                                    "the file was left as it was. Run the step again")
        if written.exit_status != 0:
            raise RemoteCommandFailed(written.command, written.exit_status, written.output)

    def _dropped(self, command: str, exc: BaseException | None) -> ConnectionDropped:
        why = self.lost or f"the connection to the sensor dropped ({self.target.label}: {exc or 'closed'})"
        return ConnectionDropped(f"{why}, while `{command}` ran; run the step again once the sensor is reachable: "
                                 "it continues where it stopped")

    def close(self) -> None:
        self.conn.close()


#: Prints the marker line that tells us sudo has started the command (no password is sent after it), then
#: becomes the command.
_ANNOUNCE = 'printf "%s\\n" "$0" >&2; exec "$@"'
_CUT_SHORT = 90
#: argv: PATH MODE BACKUP_SUFFIX BYTES. The temporary file is made readable by root only (umask 077) and gets
#: MODE only once it holds all BYTES, so neither a secret nor half a file is ever visible under either name.
_WRITE = (
    'set -e; mkdir -p -- "$(dirname -- "$1")"; '
    'if [ -e "$1" ] && [ ! -e "$1$3" ]; then cp -p -- "$1" "$1$3"; fi; '
    't="$1.vpc-mirror.tmp"; rm -f -- "$t"; (umask 077; cat > "$t"); n=$(wc -c < "$t"); '
    f'if [ "$n" -ne "$4" ]; then rm -f -- "$t"; echo "$n of $4 bytes arrived" >&2; exit {_CUT_SHORT}; fi; '
    'chmod "$2" "$t"; mv -f -- "$t" "$1"'
)


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data
