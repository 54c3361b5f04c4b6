"""Step 11 — zeek: install, configure and run Zeek on the sensor over SSH [runbook 2c-f, 5e-g].

``survey`` only reads the sensor and works out what would change (each file's
diff, the capture interface's state, whether Zeek must be installed or
redeployed); ``carry_out`` applies exactly that and ends with the parsed
``zeekctl status``. Every part is idempotent: a second run finds nothing to
change and says so. Teardown leaves the sensor as it is (the originals stay in
``*.vpc-mirror.bak``). The state-recording helpers import the setup machinery
(boto3 and every AWS step) inside themselves, for start-up time: ``vpc-mirror
zeek --host`` never needs it.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from vpc_mirror.models.zeek import ZeekPlan, ZeekStatus
from vpc_mirror.steps import zeek_scripts as scripts
from vpc_mirror.steps.ssh import RemoteCommandFailed, Sensor, SshError
from vpc_mirror.steps.zeek_status import parse_status

INSTALL_TIMEOUT = 1800
ZEEK_PREFIXES = ("/opt/zeek", "/usr/local/zeek", "/usr")
MINIMUM_ZEEK = (3, 0)


class ZeekRefused(Exception):
    """The sensor cannot be set up as asked; nothing was changed. The message says what to do."""


@dataclass
class FileChange:
    path: str
    old: str | None
    new: str
    mode: int = 0o644

    @property
    def diff(self) -> str:
        old = [] if self.old is None else self.old.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, self.new.splitlines(keepends=True),
                                            "/dev/null" if self.old is None else f"a{self.path}", f"b{self.path}"))


@dataclass
class Link:
    name: str
    mac: str
    mtu: int
    up: bool
    addresses: list[str]


@dataclass
class Survey:
    """What the sensor has, and what this run would change there."""

    os: scripts.OsRelease
    systemd: bool
    interface: str
    zeek_version: str | None
    prefix: str
    install: str | None = None  # the install script, when Zeek is missing
    files: list[FileChange] = field(default_factory=list)
    interface_fixes: list[str] = field(default_factory=list)
    running: bool = False
    log_dir: str = "/opt/zeek/logs"  # zeekctl's LogDir
    #: a load balancer's target: the mirrored traffic arrives at the capture interface's own addresses (SSH's too)
    load_balanced: bool = False
    rotation: int = scripts.HOURLY  # LogRotationInterval once this run's changes are made, in seconds

    @property
    def config_changed(self) -> bool:
        return any(f.path.endswith(("node.cfg", "local.zeek", "zeekctl.cfg")) for f in self.files)

    @property
    def logs(self) -> str:
        """Where Zeek's logs are, for the step's summary (RITA and `vpc-mirror ship` read the dated folders)."""
        every = "hourly" if self.rotation == scripts.HOURLY else f"every {self.rotation} s"
        return f"Zeek's logs: {self.log_dir}/current (rotated {every} into {self.log_dir}/YYYY-MM-DD/)"

    @property
    def needs_deploy(self) -> bool:
        return self.install is not None or self.config_changed or not self.running

    @property
    def changes_anything(self) -> bool:
        return bool(self.install or self.files or self.interface_fixes) or self.needs_deploy

    def commands(self) -> list[str]:
        """What carry_out runs, in order, for showing before it does."""
        out = ["install Zeek, tcpdump and ethtool (script below)"] if self.install else []
        if self.interface_fixes:
            out.append(f"{scripts.CAPTURE_SCRIPT}  ({'; '.join(self.interface_fixes)})")
        if self.systemd and any(f.path.endswith(".service") for f in self.files):
            out += ["systemctl daemon-reload", "systemctl enable vpc-mirror-capture.service zeek.service"]
        if self.needs_deploy:
            out += [f"{self.prefix}/bin/zeekctl check", f"{self.prefix}/bin/zeekctl deploy"]
            if self.systemd:
                out.append("systemctl start zeek.service")
        return out

    def facts(self) -> dict:
        """For State: what was found (never secrets)."""
        return {"os": self.os.pretty or self.os.key, "zeek_version": self.zeek_version, "prefix": self.prefix,
                "interface": self.interface, "systemd": self.systemd}


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("-")[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


async def zeekctl_prefix(sensor: Sensor, prefix: str | None) -> str | None:
    """The prefix holding bin/zeekctl: ``prefix`` if it does, else the first of ZEEK_PREFIXES that does; or None.

    Shared with ship and hunt, which then ask ``zeekctl_config`` where the logs are.
    """
    candidates = [prefix] if prefix else list(ZEEK_PREFIXES)
    found = await sensor.script('for p do if [ -x "$p/bin/zeekctl" ]; then printf %s "$p"; exit 0; fi; done; exit 1',
                                *candidates, root=False, check=False)
    return found.stdout if found.exit_status == 0 and found.stdout else None


async def _find_zeek(sensor: Sensor, answers: ZeekPlan) -> tuple[str | None, str | None]:
    """(prefix, version) of an installed Zeek, or (None, None)."""
    prefix = await zeekctl_prefix(sensor, answers.zeek_prefix)
    if prefix is None:
        if answers.zeek_prefix:
            raise ZeekRefused(f"zeek_prefix: there is no {answers.zeek_prefix}/bin/zeekctl on the sensor; "
                              "give the prefix Zeek is installed under, or leave it out to install Zeek")
        return None, None
    version = await sensor.run([f"{prefix}/bin/zeek", "--version"], check=False)
    text = version.stdout.strip().split()[-1] if version.exit_status == 0 and version.stdout.strip() else "unknown"
    if _version_tuple(text) and _version_tuple(text) < MINIMUM_ZEEK:
        raise ZeekRefused(f"Zeek {text} in {prefix} is older than 3.0, which cannot decapsulate the VXLAN that "
                          "traffic mirroring sends; upgrade Zeek (e.g. remove it and let vpc-mirror install "
                          "zeek-8.0)")
    return prefix, text


async def links(sensor: Sensor) -> list[Link]:
    shown = await sensor.run(["ip", "-j", "addr", "show"])
    links = []
    for item in json.loads(shown.stdout or "[]"):
        addresses = [a["local"] for a in item.get("addr_info", []) if a.get("scope") != "link"]
        links.append(Link(item["ifname"], item.get("address", ""), int(item.get("mtu", 0)),
                          "UP" in item.get("flags", []), addresses))
    return links


def _pick_interface(links: list[Link], answers: ZeekPlan, mac: str | None) -> Link:
    if answers.interface:
        for link in links:
            if link.name == answers.interface:
                return link
        raise ZeekRefused(f"interface: the sensor has no interface {answers.interface}; it has "
                          f"{', '.join(f'{l.name} ({l.mac})' for l in links)}")
    wanted = answers.mac or mac
    if wanted is None:
        raise ZeekRefused("no capture interface given: pass --mac (the capture ENI's MAC) or --interface")
    for link in links:
        if link.mac.lower() == wanted:
            return link
    raise ZeekRefused(f"no interface on the sensor has MAC {wanted} (the capture ENI); it has "
                      f"{', '.join(f'{l.name} ({l.mac})' for l in links)}. Check that the capture ENI is attached "
                      "to this instance, or pass --interface")


async def _interface_fixes(sensor: Sensor, link: Link, load_balanced: bool) -> list[str]:
    fixes = []
    if not link.up:
        fixes.append(f"{link.name} is down")
    if link.mtu != scripts.CAPTURE_MTU:
        fixes.append(f"MTU {link.mtu} -> {scripts.CAPTURE_MTU}")
    if link.addresses and not load_balanced:
        fixes.append(f"remove addresses {', '.join(link.addresses)}")
    shown = await sensor.run(["ethtool", "-k", link.name], root=True, check=False)
    if shown.exit_status != 0:
        fixes.append("offloads unknown (ethtool missing)")
        return fixes
    on = []
    for line in shown.stdout.splitlines():
        name, _, value = line.strip().partition(": ")
        if name in scripts.OFFLOADS.values() and value.startswith("on") and "[fixed]" not in value:
            on.append(name)
    if on:
        fixes.append(f"turn off {', '.join(on)}")
    return fixes


@dataclass
class ZeekctlConfig:
    """What ``zeekctl config`` says of the files we edit and of log rotation."""

    node_cfg: str
    local_zeek: str
    zeekctl_cfg: str
    log_dir: str
    rotation: int | None  # None: not reported (Zeek not installed yet: the packages' default applies)


async def zeekctl_config(sensor: Sensor, prefix: str) -> ZeekctlConfig:
    """zeekctl's view of its configuration; the packages' layout when Zeek is not installed yet."""
    shown = await sensor.run([f"{prefix}/bin/zeekctl", "config"], root=True, check=False)
    values = {k.strip(): v.strip() for k, v in (line.split(" = ", 1) for line in shown.stdout.splitlines()
                                                if " = " in line)}
    etc, logs = ("/etc/zeek", "/var/log/zeek") if prefix == "/usr" else (f"{prefix}/etc", f"{prefix}/logs")
    site = values.get("sitepolicypath", "/usr/share/zeek/site" if prefix == "/usr" else f"{prefix}/share/zeek/site")
    rotation = values.get("logrotationinterval", "")
    return ZeekctlConfig(node_cfg=values.get("nodecfg", f"{etc}/node.cfg"), local_zeek=f"{site}/local.zeek",
                         zeekctl_cfg=f"{values.get('cfgdir', etc)}/zeekctl.cfg", log_dir=values.get("logdir", logs),
                         rotation=int(rotation) if rotation.isdigit() else None)


async def capture_link(sensor: Sensor, answers: ZeekPlan, mac: str | None = None) -> Link:
    """The capture interface: the one the answers name, or the one whose MAC is the capture ENI's."""
    return _pick_interface(await links(sensor), answers, mac)


def behind_load_balancer(plan) -> bool:
    """Does the setup's traffic reach its sensors through a load balancer (nlb, gwlb), at their own addresses?"""
    return plan.target.type != "eni"


async def survey(sensor: Sensor, answers: ZeekPlan, mac: str | None = None, load_balanced: bool = False) -> Survey:
    """Read the sensor and work out every change; changes nothing. ZeekRefused when it cannot be set up.

    ``load_balanced``: the sensor is a load balancer's target, so the capture interface is its own (it keeps its
    addresses, SSH included, and Zeek reads only the mirrored packets there)."""
    os_text = await sensor.read_file("/etc/os-release")
    os = scripts.OsRelease.parse(os_text or "")
    prefix, version = await _find_zeek(sensor, answers)
    install = None
    if prefix is None:
        try:
            install = scripts.install_script(os, answers.package)
        except scripts.UnsupportedOs as exc:
            raise ZeekRefused(str(exc)) from None
        prefix = scripts.default_prefix(os)
    link = await capture_link(sensor, answers, mac)
    ssh_server = (await sensor.script('printf %s "${SSH_CONNECTION:-}"', root=False)).stdout.split()
    if len(ssh_server) >= 3 and ssh_server[2] in link.addresses and not load_balanced:
        raise ZeekRefused(f"{link.name} carries {ssh_server[2]}, the address this SSH session uses; it cannot be "
                          "the capture interface (its address would be removed). Give the capture ENI's MAC")
    systemd = (await sensor.run(["test", "-d", "/run/systemd/system"], check=False)).exit_status == 0
    config = await zeekctl_config(sensor, prefix)
    local_now = await sensor.read_file(config.local_zeek)
    files = []
    for path, text, mode in wanted_files(prefix, link.name, answers.workers, systemd, config.node_cfg,
                                         config.local_zeek, local_now, load_balanced):
        old = local_now if path == config.local_zeek else await sensor.read_file(path)
        if old != text:
            files.append(FileChange(path, old, text, mode))
    if config.rotation == 0:  # rotation turned off: RITA and `vpc-mirror ship` need the hourly dated folders
        old = await sensor.read_file(config.zeekctl_cfg)
        files.append(FileChange(config.zeekctl_cfg, old, scripts.rotate_hourly(old or ""), 0o644))
    result = Survey(os=os, systemd=systemd, interface=link.name, zeek_version=version, prefix=prefix,
                    install=install, files=files, log_dir=config.log_dir,
                    rotation=config.rotation or scripts.HOURLY, load_balanced=load_balanced)
    result.interface_fixes = await _interface_fixes(sensor, link, load_balanced)
    if install is None:
        result.running = (await zeekctl_status(sensor, prefix)).running
    return result


def wanted_files(prefix: str, interface: str, workers: int, systemd: bool, node_path: str, local_path: str,
                 local_now: str | None, load_balanced: bool = False) -> list[tuple[str, str, int]]:
    """(path, content, mode) of every file the sensor should have; `local_now` is local.zeek as it is."""
    wanted = [
        (node_path, scripts.node_cfg(interface, workers), 0o644),
        (local_path, scripts.local_zeek(local_now or "", mirrored_only=load_balanced), 0o644),
        (scripts.CAPTURE_SCRIPT, scripts.capture_script(interface, keep_addresses=load_balanced), 0o755),
        (scripts.CRON_FILE, scripts.cron_file(prefix, systemd), 0o644),
    ]
    if prefix != "/usr":
        wanted.append((scripts.PROFILE_FILE, scripts.profile_path(prefix), 0o644))
    if systemd:
        wanted += [(scripts.CAPTURE_UNIT, scripts.capture_unit(interface), 0o644),
                   (scripts.ZEEK_UNIT, scripts.zeek_unit(prefix), 0o644)]
    return wanted


#: The demo's sensor: a fresh Ubuntu 24.04 instance whose capture ENI came up as ens6 with ENA's offloads on.
DEMO_INTERFACE = "ens6"
DEMO_OFFLOADS = ("rx-checksumming", "tx-checksumming", "scatter-gather", "tcp-segmentation-offload",
                 "generic-segmentation-offload", "generic-receive-offload")


def demo_survey(answers: ZeekPlan) -> Survey:
    """What ``survey`` finds on the demo's sensor (no Zeek, no files of ours yet): the demo's preview."""
    os = scripts.OsRelease("ubuntu", "24.04", ("debian",), "Ubuntu 24.04 LTS")
    prefix = scripts.default_prefix(os)
    interface = answers.interface or DEMO_INTERFACE
    files = [FileChange(path, None, text, mode)
             for path, text, mode in wanted_files(prefix, interface, answers.workers, True,
                                                  f"{prefix}/etc/node.cfg", f"{prefix}/share/zeek/site/local.zeek",
                                                  None)]
    return Survey(os=os, systemd=True, interface=interface, zeek_version=None, prefix=prefix,
                  install=scripts.install_script(os, answers.package), files=files, log_dir=f"{prefix}/logs",
                  interface_fixes=[f"{interface} is down", f"MTU 1500 -> {scripts.CAPTURE_MTU}",
                                   f"turn off {', '.join(DEMO_OFFLOADS)}"])


def record_result(ctx, facts: dict, status: ZeekStatus | None, error: str | None = None) -> None:
    """The zeek step's result on the state as saved now: what was found, and done (Zeek runs) or failed with why."""
    from vpc_mirror.steps.engine import set_status
    from vpc_mirror.steps.setup import change_state

    def record(saved) -> None:
        saved.facts("zeek").update(facts, status=status.summary() if status else "failed")
        running = status is not None and status.running
        set_status(saved, "zeek", "done" if running else "failed",
                   None if running else error or f"Zeek is not running: {status.summary()}")

    change_state(ctx, record)


@dataclass
class SensorOutcome:
    """One fleet sensor's zeek step: what was found, ``zeekctl status`` when it got that far, else why not."""

    facts: dict = field(default_factory=dict)
    status: ZeekStatus | None = None
    error: str | None = None
    refused: bool = False  # ZeekRefused: the answers cannot work on this sensor (bad input, nothing changed)

    @property
    def running(self) -> bool:
        return self.error is None and self.status is not None and self.status.running

    def why(self) -> str:
        return self.error or f"Zeek is not running: {self.status.summary()}"


def record_fleet_result(ctx, outcomes: dict[str, SensorOutcome]) -> None:
    """The zeek step's result for a fleet: each sensor's facts and status under ``sensors``; done only when Zeek
    runs on every sensor, else failed naming the sensors it does not run on."""
    from vpc_mirror.steps.engine import set_status
    from vpc_mirror.steps.setup import change_state

    def record(saved) -> None:
        saved.facts("zeek")["sensors"] = {
            key: {**o.facts, "status": o.status.summary() if o.status else "failed"}
            | ({} if o.running else {"error": o.why()}) for key, o in outcomes.items()}
        failed = {key: o.why() for key, o in outcomes.items() if not o.running}
        set_status(saved, "zeek", "failed" if failed else "done",
                   "; ".join(f"{key}: {why}" for key, why in failed.items()) or None)

    change_state(ctx, record)


def record_demo_preview(ctx) -> None:
    """The demo's Zeek preview was read: the step is skipped (nothing is applied), as `status` shows it."""
    from vpc_mirror.steps.engine import set_status
    from vpc_mirror.steps.setup import change_state

    change_state(ctx, lambda saved: set_status(saved, "zeek", "skipped"))


async def zeekctl_status(sensor: Sensor, prefix: str) -> ZeekStatus:
    shown = await sensor.run([f"{prefix}/bin/zeekctl", "status"], root=True, check=False)
    return parse_status(shown.stdout + shown.stderr, shown.exit_status or 0)


async def carry_out(sensor: Sensor, work: Survey, answers: ZeekPlan, mac: str | None = None,
                    log: Callable[[str], None] = lambda line: None) -> ZeekStatus:
    """Apply ``work`` (each file's diff is logged before it is written, where the logs are after it all); the
    resulting ``zeekctl status``."""
    if work.install:
        log(f"… installing Zeek on {work.os.pretty or work.os.key} (this takes a few minutes)")
        try:
            await sensor.script(work.install, timeout=INSTALL_TIMEOUT)
        except RemoteCommandFailed as exc:
            raise SshError(f"installing Zeek failed; the package repository may be unreachable from the sensor "
                           f"or the package {answers.package!r} may not exist for {work.os.key}.\n{exc}") from None
        # paths depend on where the package put Zeek: survey again, now with Zeek present
        work = await survey(sensor, answers, mac, work.load_balanced)
        if work.install:
            raise SshError("the install script finished but no zeekctl was found; see its output above")
    for change in work.files:
        log(f"… {change.path}:\n{change.diff}")
        await sensor.write_file(change.path, change.new, change.mode)
    if work.interface_fixes or any(f.path == scripts.CAPTURE_SCRIPT for f in work.files):
        log(f"… capture interface {work.interface}: {'; '.join(work.interface_fixes) or 'script updated'}")
        await sensor.run([scripts.CAPTURE_SCRIPT], root=True)
    if work.systemd and any(f.path.endswith(".service") for f in work.files):
        await sensor.run(["systemctl", "daemon-reload"], root=True)
        await sensor.run(["systemctl", "enable", "vpc-mirror-capture.service", "zeek.service"], root=True)
    zeekctl = f"{work.prefix}/bin/zeekctl"
    if work.needs_deploy:
        check = await sensor.run([zeekctl, "check"], root=True, check=False)
        if check.exit_status != 0:
            raise SshError(f"`zeekctl check` failed, so Zeek was not (re)started:\n{check.output}")
        log("… zeekctl deploy")
        await sensor.run([zeekctl, "deploy"], root=True, timeout=600)
        if work.systemd:
            await sensor.run(["systemctl", "start", "zeek.service"], root=True, timeout=600)
    status = await zeekctl_status(sensor, work.prefix)
    if not status.running:
        raise SshError(f"Zeek is not running after deploy ({status.summary()}):\n{status.output.strip()}")
    log(work.logs)
    return status
