"""The text vpc-mirror puts on a Zeek sensor: install scripts per OS, node.cfg, units, cron, PATH.

Pure functions of validated values (models.zeek), so they can be checked with
shellcheck and ``systemd-analyze verify`` and compared with golden files.
Every value pasted into shell text goes through ``shlex.quote``.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

OBS_REPO = "https://download.opensuse.org/repositories/security:/zeek"
EPEL_RELEASE = "https://dl.fedoraproject.org/pub/epel/epel-release-latest-{major}.noarch.rpm"
CAPTURE_SCRIPT = "/usr/local/sbin/vpc-mirror-capture-up"
CAPTURE_UNIT = "/etc/systemd/system/vpc-mirror-capture.service"
ZEEK_UNIT = "/etc/systemd/system/zeek.service"
CRON_FILE = "/etc/cron.d/vpc-mirror-zeek"
PROFILE_FILE = "/etc/profile.d/zeek.sh"
CAPTURE_MTU = 9001
#: zeekctl's default LogRotationInterval: each hour's logs are archived into LogDir/YYYY-MM-DD/.
HOURLY = 3600
#: ``ethtool -K`` names of the offloads turned off, and the feature names ``ethtool -k`` shows for them.
OFFLOADS = {
    "rx": "rx-checksumming", "tx": "tx-checksumming", "sg": "scatter-gather",
    "tso": "tcp-segmentation-offload", "gso": "generic-segmentation-offload",
    "gro": "generic-receive-offload", "lro": "large-receive-offload",
}
MAC_LOGGING = "policy/protocols/conn/mac-logging"
SUPPORTED = "Debian 11/12/13, Ubuntu 20.04/22.04/24.04, Fedora, RHEL/Rocky/AlmaLinux (with EPEL)"
_DEBIAN = {"11", "12", "13"}
_UBUNTU = {"20.04", "22.04", "24.04"}
_EL = {"rhel", "rocky", "almalinux"}


class UnsupportedOs(Exception):
    """Zeek cannot be installed here by vpc-mirror; the message says what works instead."""


@dataclass(frozen=True)
class OsRelease:
    id: str
    version_id: str
    like: tuple[str, ...] = ()
    pretty: str = ""

    @classmethod
    def parse(cls, text: str) -> OsRelease:
        values: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and re.fullmatch(r"[A-Z_]+", key):
                parts = shlex.split(value) or [""]
                values[key] = parts[0]
        return cls(id=values.get("ID", "unknown").lower(), version_id=values.get("VERSION_ID", ""),
                   like=tuple(values.get("ID_LIKE", "").split()), pretty=values.get("PRETTY_NAME", ""))

    @property
    def key(self) -> str:
        return f"{self.id}-{self.version_id}"


def default_prefix(os: OsRelease) -> str:
    """Where the packages install Zeek: /opt/zeek from the Zeek (OBS) packages, /usr from EPEL."""
    return "/usr" if os.id in _EL else "/opt/zeek"


def install_script(os: OsRelease, package: str) -> str:
    """The script that installs Zeek, tcpdump and ethtool, non-interactively; UnsupportedOs if we cannot."""
    if os.id == "debian" and os.version_id in _DEBIAN:
        return _apt_script(os, f"Debian_{os.version_id}", package)
    if os.id == "ubuntu" and os.version_id in _UBUNTU:
        return _apt_script(os, f"xUbuntu_{os.version_id}", package)
    if os.id == "fedora" and os.version_id.isdigit():
        return _fedora_script(os, package)
    if os.id in _EL:
        return _epel_script(os, package)
    if os.id == "amzn":
        raise UnsupportedOs(f"{os.pretty or 'Amazon Linux'} has no Zeek package (neither the Zeek project's nor "
                            f"EPEL's builds cover it); use a sensor image with one of: {SUPPORTED}, or install "
                            "Zeek yourself and pass --zeek-prefix")
    raise UnsupportedOs(f"{os.pretty or os.key} is not supported for installing Zeek; supported: {SUPPORTED}. "
                        "Install Zeek yourself and pass --zeek-prefix, or use a supported image")


def _header(os: OsRelease, what: str) -> str:
    return f"#!/bin/sh\n# vpc-mirror: install {what} on {os.pretty or os.key}, non-interactively\nset -eu\n"


def _apt_script(os: OsRelease, obs_name: str, package: str) -> str:
    keyring = "/usr/share/keyrings/security-zeek.gpg"
    return _header(os, f"Zeek ({package}) from the openSUSE Build Service repository security:zeek") + f"""\
export DEBIAN_FRONTEND=noninteractive
repo={shlex.quote(f"{OBS_REPO}/{obs_name}")}
apt-get update -q
apt-get install -y -q --no-install-recommends ca-certificates curl gpg
curl -fsSL "$repo/Release.key" | gpg --dearmor --yes -o {keyring}
echo "deb [signed-by={keyring}] $repo/ /" > /etc/apt/sources.list.d/security-zeek.list
apt-get update -q
apt-get install -y -q --no-install-recommends {shlex.quote(package)} tcpdump ethtool
"""


def _fedora_script(os: OsRelease, package: str) -> str:
    return _header(os, f"Zeek ({package}) from the openSUSE Build Service repository security:zeek") + f"""\
repo={shlex.quote(f"{OBS_REPO}/Fedora_{os.version_id}")}
curl -fsSL -o /etc/yum.repos.d/security-zeek.repo "$repo/security:zeek.repo"
dnf install -y --setopt=install_weak_deps=False {shlex.quote(package)} tcpdump ethtool
"""


def _epel_script(os: OsRelease, package: str) -> str:
    major = os.version_id.split(".")[0]
    epel = shlex.quote(EPEL_RELEASE.format(major=major)) if os.id == "rhel" else "epel-release"
    name = "zeek" if package.startswith("zeek-") else package
    return _header(os, f"Zeek ({name}) from EPEL") + f"""\
dnf install -y {epel}
if ! dnf install -y --setopt=install_weak_deps=False {shlex.quote(name)} tcpdump ethtool; then
  echo "vpc-mirror: EPEL has no installable {name} package for this release;" \\
    "use a Fedora, Debian or Ubuntu sensor, or install Zeek yourself and pass --zeek-prefix" >&2
  exit 3
fi
"""


def capture_script(interface: str, keep_addresses: bool = False) -> str:
    """Bring the capture interface up with no address, MTU 9001 and offloads off (runbook 5e-g). With
    ``keep_addresses`` (a load balancer's target: the mirrored traffic arrives at the interface's own address, as
    SSH does) its addresses stay."""
    features = " ".join(OFFLOADS)
    addresses = ("# keeps its addresses: a load balancer sends the mirrored traffic to them\n" if keep_addresses else
                 'ip -4 addr flush dev "$interface"\nip -6 addr flush dev "$interface" scope global\n')
    what = "keeps its addresses" if keep_addresses else "no IP address"
    return f"""#!/bin/sh
# vpc-mirror: the Zeek capture interface: up, {what}, MTU {CAPTURE_MTU}, offloads off.
# Run at boot (vpc-mirror-capture.service, or cron @reboot where systemd does not run).
set -u
interface={shlex.quote(interface)}
ip link set dev "$interface" up mtu {CAPTURE_MTU}
{addresses}for feature in {features}; do
  # a feature the driver fixes cannot change; the others must
  ethtool -K "$interface" "$feature" off 2>/dev/null || true
done
"""


def node_cfg(interface: str, workers: int) -> str:
    """Standalone on the capture interface, or a one-host cluster of AF_PACKET workers."""
    head = "# Written by vpc-mirror; the original is kept as node.cfg.vpc-mirror.bak\n"
    if workers == 1:
        return head + f"[zeek]\ntype=standalone\nhost=localhost\ninterface={interface}\n"
    return head + f"""\
[logger-1]
type=logger
host=localhost

[manager]
type=manager
host=localhost

[proxy-1]
type=proxy
host=localhost

[worker-1]
type=worker
host=localhost
interface=af_packet::{interface}
lb_method=custom
lb_procs={workers}
af_packet_fanout_id=23
af_packet_fanout_mode=AF_Packet::FANOUT_HASH
"""


_MAC_LOAD = re.compile(r"^[ \t]*@load[ \t]+(?:policy/)?protocols/conn/mac-logging[ \t]*$", re.M)
_MAC_COMMENTED = re.compile(r"^#[ \t]*(@load[ \t]+(?:policy/)?protocols/conn/mac-logging)[ \t]*$", re.M)


#: Decapsulation of what reaches the sensor: traffic mirroring's VXLAN (UDP 4789) and, behind a Gateway Load
#: Balancer, that VXLAN inside GENEVE (UDP 6081) -- two tunnels deep. Zeek whose VXLAN and GENEVE are packet
#: analyzers names the ports PacketAnalyzer::VXLAN::vxlan_ports and PacketAnalyzer::Geneve::geneve_ports, older
#: Zeek Tunnel::vxlan_ports (and Tunnel::geneve_ports once it had GENEVE). Tunnel::max_depth was 2 before Zeek
#: raised it to 4 (zeek/zeek#3439: AWS's load-balanced mirroring needed 3). Zeek's GENEVE packet analyzer passes
#: the IPv4 packet a Gateway Load Balancer puts in GENEVE (protocol type 0x0800) on to IP, and so to VXLAN on
#: 4789; the older GENEVE analyzer took every payload for Ethernet and could not (zeek/zeek#1764).
DECAPSULATION = """\
# Added by vpc-mirror: decapsulate mirrored traffic: VXLAN (UDP 4789) from traffic mirroring and, behind a
# Gateway Load Balancer, the same VXLAN inside GENEVE (UDP 6081).
@ifdef ( PacketAnalyzer::Geneve::geneve_ports )
redef PacketAnalyzer::VXLAN::vxlan_ports += { 4789/udp };
redef PacketAnalyzer::Geneve::geneve_ports += { 6081/udp };
@else
redef Tunnel::vxlan_ports += { 4789/udp };
@ifdef ( Tunnel::geneve_ports )
redef Tunnel::geneve_ports += { 6081/udp };
@endif
@endif
@if ( Tunnel::max_depth < 4 )
redef Tunnel::max_depth = 4;
@endif
# End of vpc-mirror's decapsulation.
"""
_DECAPSULATION = re.compile(r"^# Added by vpc-mirror: decapsulate mirrored traffic.*?^# End of vpc-mirror's "
                            r"decapsulation\.\n", re.M | re.S)


#: Behind a load balancer the capture interface is the sensor's own, carrying its SSH, health checks and updates
#: too: Zeek reads only the mirrored packets there (the outer packets; what they carry is all analysed).
MIRRORED_ONLY = """\
# Added by vpc-mirror: the capture interface also carries this sensor's own traffic (it is a load balancer's
# target); Zeek reads only the mirrored packets there.
redef restrict_filters += { ["vpc-mirror: mirrored traffic only"] = "udp dst port 4789 or udp dst port 6081" };
# End of vpc-mirror's capture filter.
"""
_MIRRORED_ONLY = re.compile(r"^# Added by vpc-mirror: the capture interface also carries.*?^# End of vpc-mirror's "
                            r"capture filter\.\n\n?", re.M | re.S)


def local_zeek(current: str, mirrored_only: bool = False) -> str:
    """``current`` decapsulating mirrored traffic (DECAPSULATION first, or brought up to date where it is), reading
    only the mirrored packets when ``mirrored_only`` (MIRRORED_ONLY after it; removed otherwise), and with MAC
    logging loaded (uncommented if it is there commented out, else appended)."""
    current = _MIRRORED_ONLY.sub("", current)
    if _DECAPSULATION.search(current):
        current = _DECAPSULATION.sub(lambda _: DECAPSULATION, current, count=1)
    else:
        current = f"{DECAPSULATION}\n{current}"
    if mirrored_only:
        current = current.replace(DECAPSULATION, f"{DECAPSULATION}\n{MIRRORED_ONLY}", 1)
    if _MAC_LOAD.search(current):
        return current
    if _MAC_COMMENTED.search(current):
        return _MAC_COMMENTED.sub(r"\1", current, count=1)
    sep = "" if current.endswith("\n") or not current else "\n"
    return f"{current}{sep}\n# Added by vpc-mirror: log MAC addresses in conn.log.\n@load {MAC_LOGGING}\n"


_ROTATION = re.compile(r"^[ \t]*LogRotationInterval[ \t]*=.*$", re.M)


def rotate_hourly(current: str) -> str:
    """zeekctl.cfg (``current``) with LogRotationInterval back at zeekctl's default, hourly."""
    line = f"LogRotationInterval = {HOURLY}"
    if _ROTATION.search(current):
        return _ROTATION.sub(line, current)
    sep = "" if current.endswith("\n") or not current else "\n"
    return f"{current}{sep}# Set by vpc-mirror: hourly rotation into dated folders (RITA reads them).\n{line}\n"


def profile_path(prefix: str) -> str:
    bin_dir = shlex.quote(f"{prefix}/bin")
    return f"""# Added by vpc-mirror: Zeek's tools on PATH.
case ":$PATH:" in
  *:{bin_dir}:*) ;;
  *) PATH=$PATH:{bin_dir}; export PATH ;;
esac
"""


def _unit_program(path: str) -> str:
    """A path as the program of a systemd Exec line: ``%`` doubled (else a specifier), double-quoted when it holds
    whitespace. systemd refuses a program path with a quote, a backslash or a control character (it drops the
    line, so the unit would do nothing): ValueError instead. ``$`` is taken as it is there."""
    if any(c in "'\"\\" or ord(c) < 32 or ord(c) == 127 for c in path):
        raise ValueError(f"{path!r} holds a quote, backslash or control character, which systemd refuses in the "
                         "path of a program it runs")
    escaped = path.replace("%", "%%")
    return f'"{escaped}"' if any(c.isspace() for c in path) else escaped


def capture_unit(interface: str) -> str:
    return f"""[Unit]
Description=vpc-mirror: Zeek capture interface {interface} up, no address, offloads off
After=network-online.target
Wants=network-online.target
Before=zeek.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={CAPTURE_SCRIPT}

[Install]
WantedBy=multi-user.target
"""


def zeek_unit(prefix: str) -> str:
    """The runbook's zeek.service: check, install, cron enable, start; stop and cron disable on stop."""
    zeekctl = _unit_program(f"{prefix}/bin/zeekctl")
    return f"""[Unit]
Description=Zeek network security monitor (zeekctl)
After=network-online.target vpc-mirror-capture.service
Wants=network-online.target vpc-mirror-capture.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStartPre={zeekctl} check
ExecStartPre={zeekctl} install
ExecStartPre={zeekctl} cron enable
ExecStart={zeekctl} start
ExecStop={zeekctl} stop
ExecStopPost={zeekctl} cron disable
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
"""


def cron_file(prefix: str, systemd: bool) -> str:
    """``zeekctl cron`` every 5 minutes (restarts crashed nodes, rotates logs); without systemd also @reboot."""
    zeekctl = shlex.quote(f"{prefix}/bin/zeekctl")
    lines = [
        "# Added by vpc-mirror: zeekctl's housekeeping.",
        "SHELL=/bin/sh",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        f"*/5 * * * * root {zeekctl} cron",
    ]
    if not systemd:
        lines.append(f"@reboot root {CAPTURE_SCRIPT} && {zeekctl} deploy")
    return "\n".join(lines) + "\n"
