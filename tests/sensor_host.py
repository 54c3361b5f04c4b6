"""A real OpenSSH sensor for tests: ``sshd`` in its own network and mount namespace, over a veth pair.

What a test gets (:class:`SensorHost`):

* ``address``/``port``: the sshd, reachable only over our own veth (10.213.x.y/30);
* ``host_key_fingerprints``: its own host keys' SHA256 fingerprints (ed25519, ecdsa);
* ``client_key``: a private key authorized for both users;
* ``sudo_user`` (password-less sudo) and ``password_user`` (sudo needs ``password``);
* ``ticket_user``: sudo needs ``password`` too, but its ticket is global (``timestamp_type=global``), so
  after one authenticated sudo the next ones in the following hour do not ask;
* ``capture_if`` with ``capture_mac``: a veth inside the namespace, like a capture ENI;
  its peer ``capture_peer`` stays in the root namespace, so a later test can move it
  into a namespace of its own and send VXLAN through it;
* ``upper(path)``: where a file the sensor wrote under /etc, /usr/local or /opt really is;
* ``ssh_target()``/``trusted()``: how our side reaches it, and a connection that trusts its own host key.

/etc, /usr/local and /opt are overlays inside the namespace, so the test users,
sudo rules and everything the code under test writes there stay in a temp dir;
/run is a private tmpfs. All names carry a random token, so parallel or leftover
runs never clash. :meth:`close` (always called by the fixture) kills every
process in the namespace and deletes it, the veths and the temp dir.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from vpc_mirror.steps.ssh import HostKeyPolicy, Sensor, SshTarget, connect

OVERLAID = ("/etc", "/usr/local", "/opt")
SUDO_PASSWORD = "vpc-mirror test sudo pw"
CAPTURE_IF = "ens6"
READY_TIMEOUT = 10.0
CONNECT_TIMEOUT = 30.0


def _run(*argv: str, timeout: float = 15, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=check, timeout=timeout, capture_output=True, text=True)


def _free_block() -> ipaddress.IPv4Network:
    """A /30 in 10.213.0.0/16 that no interface on this machine uses."""
    used = _run("ip", "-o", "-4", "addr", "show").stdout
    for _ in range(100):
        block = ipaddress.IPv4Network(f"10.213.{random.randrange(256)}.{random.randrange(64) * 4}/30")
        if not any(str(host) in used for host in block):
            return block
    raise RuntimeError("no free /30 in 10.213.0.0/16")


def _fingerprint(pub_file: Path) -> str:
    return _run("ssh-keygen", "-l", "-E", "sha256", "-f", str(pub_file)).stdout.split()[1]


class SensorHost:
    def __init__(self, *, overlaid: tuple[str, ...] = OVERLAID, login_users: tuple[str, ...] = ()) -> None:
        """``overlaid``: the directories kept in the temp dir (add e.g. /home and /var/lib when the code under
        test creates users); ``login_users``: users the code under test creates, who may then log in with
        their own ~/.ssh/authorized_keys."""
        self.overlaid = overlaid
        self.login_users = login_users
        self.token = secrets.token_hex(3)
        self.netns = f"vpcm-{self.token}"
        self.host_if = f"vms{self.token}h"
        self.capture_peer = f"vmc{self.token}p"
        self.capture_if = CAPTURE_IF
        self.capture_mac = "02:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(5))
        self.sudo_user = f"vmz{self.token}a"
        self.password_user = f"vmz{self.token}p"
        self.ticket_user = f"vmz{self.token}t"
        self.sudo_password = SUDO_PASSWORD
        self.port = 22
        self.dir = Path(tempfile.mkdtemp(prefix="vpc-mirror-sensor-"))
        self.dir.chmod(0o755)  # the test users' sshd children read their authorized_keys here
        self.process: subprocess.Popen | None = None
        self._created_links: list[str] = []
        block = _free_block()
        self.host_address, self.address = str(block[1]), str(block[2])

    # -- setup --------------------------------------------------------------
    def start(self) -> SensorHost:
        try:
            self._network()
            self._files()
            self._sshd()
        except BaseException:
            self.close()
            raise
        return self

    def _network(self) -> None:
        _run("ip", "netns", "add", self.netns)
        ns_if = f"vms{self.token}n"
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", ns_if)
        self._created_links.append(self.host_if)
        _run("ip", "link", "set", ns_if, "netns", self.netns)
        _run("ip", "addr", "add", f"{self.host_address}/30", "dev", self.host_if)
        _run("ip", "link", "set", self.host_if, "up")
        cap_ns = f"vmc{self.token}n"
        _run("ip", "link", "add", self.capture_peer, "type", "veth", "peer", "name", cap_ns)
        self._created_links.append(self.capture_peer)
        _run("ip", "link", "set", cap_ns, "netns", self.netns)
        inside = ("ip", "netns", "exec", self.netns)
        _run(*inside, "ip", "link", "set", ns_if, "name", "eth0")
        _run(*inside, "ip", "addr", "add", f"{self.address}/30", "dev", "eth0")
        _run(*inside, "ip", "link", "set", "eth0", "up")
        _run(*inside, "ip", "link", "set", "lo", "up")
        _run(*inside, "ip", "link", "set", cap_ns, "name", self.capture_if)
        _run(*inside, "ip", "link", "set", self.capture_if, "address", self.capture_mac)
        _run("ip", "link", "set", self.capture_peer, "up")

    def _files(self) -> None:
        for path in self.overlaid:
            (self.dir / "upper" / path.strip("/")).mkdir(parents=True)
            (self.dir / "work" / path.strip("/")).mkdir(parents=True)
        etc = self.dir / "upper" / "etc"
        keys = self.dir / "keys"
        keys.mkdir()
        for kind in ("ed25519", "ecdsa"):
            _run("ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"sensor-{kind}", "-f", str(keys / f"host_{kind}"))
        self.host_key_fingerprints = [_fingerprint(keys / f"host_{k}.pub") for k in ("ed25519", "ecdsa")]
        self.client_key = keys / "client"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vpc-mirror-test", "-f", str(self.client_key))
        authorized = self.dir / "authorized_keys"
        authorized.mkdir()
        pub = (keys / "client.pub").read_text()
        homes = self.dir / "home"
        pw_hash = _run("openssl", "passwd", "-6", SUDO_PASSWORD).stdout.strip()
        passwd, shadow, group = (Path("/etc", n).read_text() for n in ("passwd", "shadow", "group"))
        base_uid = self._free_uid()
        users = ((self.sudo_user, "*"), (self.password_user, pw_hash), (self.ticket_user, pw_hash))
        for offset, (user, hashed) in enumerate(users):
            uid = base_uid + offset
            home = homes / user
            home.mkdir(parents=True)
            os.chown(home, uid, uid)
            (authorized / user).write_text(pub)
            passwd += f"{user}:x:{uid}:{uid}::{home}:/bin/sh\n"
            shadow += f"{user}:{hashed}:19000:0:99999:7:::\n"
            group += f"{user}:x:{uid}:\n"
        for name, text, mode in (("passwd", passwd, 0o644), ("shadow", shadow, 0o640), ("group", group, 0o644)):
            (etc / name).write_text(text)
            (etc / name).chmod(mode)
        shutil.copystat("/etc/shadow", etc / "shadow")
        os.chown(etc / "shadow", 0, os.stat("/etc/shadow").st_gid)
        (etc / "sudoers.d").mkdir(mode=0o750)
        rules = etc / "sudoers.d" / f"vpc-mirror-test-{self.token}"
        rules.write_text(f"{self.sudo_user} ALL=(ALL) NOPASSWD: ALL\n{self.password_user} ALL=(ALL) ALL\n"
                         f"Defaults:{self.ticket_user} timestamp_type=global, timestamp_timeout=60\n"
                         f"{self.ticket_user} ALL=(ALL) ALL\n")
        rules.chmod(0o440)
        self.sshd_config = self.dir / "sshd_config"
        self.sshd_config.write_text("\n".join([
            f"ListenAddress {self.address}:{self.port}",
            f"HostKey {keys / 'host_ed25519'}",
            f"HostKey {keys / 'host_ecdsa'}",
            f"PidFile {self.dir / 'sshd.pid'}",
            f"AuthorizedKeysFile {authorized}/%u" + (" .ssh/authorized_keys" if self.login_users else ""),
            " ".join(["AllowUsers", self.sudo_user, self.password_user, self.ticket_user, *self.login_users]),
            "StrictModes no", "UsePAM no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "PermitRootLogin no", "LogLevel VERBOSE", "",
        ]))

    @staticmethod
    def _free_uid() -> int:
        used = {int(line.split(":")[2]) for line in Path("/etc/passwd").read_text().splitlines() if line}
        while True:
            uid = random.randrange(61000, 64000, 3)
            if not used & {uid, uid + 1, uid + 2}:
                return uid

    def _sshd(self) -> None:
        mounts = " && ".join(
            f'mount -t overlay overlay -o "lowerdir={p},upperdir=$1/upper{p},workdir=$1/work{p}" {p}'
            for p in self.overlaid
        )
        setup = f"set -e; {mounts}; mount -t tmpfs -o mode=755 tmpfs /run; mkdir -m 755 /run/sshd; " \
                'exec /usr/sbin/sshd -D -e -f "$2"'
        log = open(self.dir / "sshd.log", "wb")
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation", "private",
             "sh", "-c", setup, "sh", str(self.dir), str(self.sshd_config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.dir / 'sshd.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection((self.address, self.port), timeout=0.5):
                return
            time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen within {READY_TIMEOUT} s: {(self.dir / 'sshd.log').read_text()}")

    # -- use ----------------------------------------------------------------
    def exec(self, *argv: str, check: bool = True, timeout: float = 15) -> subprocess.CompletedProcess:
        """Run a command as root in the sensor's namespaces (its network and its /etc, /usr/local, /opt)."""
        assert self.process is not None
        return _run("nsenter", f"--target={self.process.pid}", "--net", "--mount", *argv,
                    check=check, timeout=timeout)

    def upper(self, path: str) -> Path:
        """Where ``path`` (under /etc, /usr/local, /opt or another overlaid dir) is when the sensor has written it."""
        return self.dir / "upper" / path.lstrip("/")

    def sshd_log(self) -> str:
        return (self.dir / "sshd.log").read_text(errors="replace")

    def processes(self) -> dict[int, str]:
        """Every process in the sensor's network namespace (sshd, its sessions, what they run): pid -> command line,
        or, for a process that has exited but is not yet reaped (no command line left), ``[name] <defunct>`` as ps
        shows it."""
        found = {}
        for pid in _run("ip", "netns", "pids", self.netns, check=False).stdout.split():
            with contextlib.suppress(OSError):
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
                found[int(pid)] = cmd or f"[{Path(f'/proc/{pid}/comm').read_text().strip()}] <defunct>"
        return found

    def ssh_target(self, user: str | None = None, **fields) -> SshTarget:
        """How our side reaches the sensor: as ``user`` (default the sudo user) with the client key, known_hosts in
        the sensor's folder and no ssh config; ``fields`` replace any of these."""
        return SshTarget(**{"host": self.address, "user": user or self.sudo_user, "identity": self.client_key,
                            "known_hosts": self.dir / "known_hosts", "ssh_config": [], **fields})

    async def trusted(self, user: str | None = None, *, ask_password=None, **fields) -> Sensor:
        """A connection over ``ssh_target(user, **fields)`` that trusts the sensor's own host key."""
        policy = HostKeyPolicy(accept=self.host_key_fingerprints[0])
        return await asyncio.wait_for(connect(self.ssh_target(user, **fields), policy, ask_password=ask_password),
                                      CONNECT_TIMEOUT)

    @contextlib.contextmanager
    def vxlan_sender(self, vni: int, local: str, remote: str, name: str):
        """A namespace of the test's own (``vpcm-NAME-TOKEN``) holding ``capture_peer`` at ``local`` and a Linux
        vxlan device ``vx0`` (VNI ``vni``) that sends to ``remote`` on the capture interface, whose MAC it knows
        (the interface has no address, as Zeek wants it). Yields the ``ip netns exec`` prefix, with ``vx0`` still
        down, so the test configures it before anything is sent; the namespace is deleted after."""
        ns = f"vpcm-{name}-{self.token}"
        inside = ["ip", "netns", "exec", ns]
        _run("ip", "netns", "add", ns)
        try:
            _run("ip", "link", "set", self.capture_peer, "netns", ns)
            _run(*inside, "ip", "addr", "add", f"{local}/30", "dev", self.capture_peer)
            _run(*inside, "ip", "link", "set", self.capture_peer, "up")
            _run(*inside, "ip", "neigh", "add", remote, "lladdr", self.capture_mac, "dev", self.capture_peer)
            _run(*inside, "ip", "link", "add", "vx0", "type", "vxlan", "id", str(vni), "local", local,
                 "remote", remote, "dstport", "4789", "dev", self.capture_peer)
            self.exec("ip", "link", "set", self.capture_if, "up")
            yield inside
        finally:
            _run("ip", "netns", "del", ns, check=False)

    def drop_path(self) -> None:
        """Lose every packet between this machine and the sensor without a word to either end (no FIN, no RST):
        the host side of the veth goes down, as when a laptop sleeps or its Wi-Fi drops."""
        _run("ip", "link", "set", self.host_if, "down")

    # -- cleanup ------------------------------------------------------------
    def close(self) -> None:
        """Kill every process in the namespace, delete the namespace, the veths and the temp dir."""
        pids = _run("ip", "netns", "pids", self.netns, check=False).stdout.split()
        if self.process is not None:
            pids.append(str(self.process.pid))
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        _run("ip", "netns", "del", self.netns, check=False)
        for link in self._created_links:
            _run("ip", "link", "del", link, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> SensorHost:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
