"""Captures of real Linux GENEVE tunnels, for the decoder's tests: Debian's kernel in qemu, the host's tcpdump.

The machine the tests run on may have no `geneve` device type (no
CONFIG_GENEVE), and a stand-in that wraps frames itself proves only that we
agree with ourselves. So this boots Debian's own kernel, whose geneve and
vxlan modules are the ones a sensor runs, in qemu with a tiny busybox
initramfs. Inside the VM two network namespaces, each owning one virtio NIC,
ping each other through `geneve` devices (and `vxlan` devices riding on them);
both NICs and a tap on the host hang off one qemu hub, so the host's tcpdump
sees every frame on the wire. The tap lives in a throw-away namespace with no
address and IPv6 off, so nothing but the VM's traffic is captured.

Nothing is installed: the kernel and busybox packages are fetched with
`apt-get download` and unpacked with `dpkg-deb -x` into a cache directory.
Needs root, qemu-system-x86, tcpdump and iproute2. KVM is used only when
kvm_intel or kvm_amd is loaded, else TCG (about 20 s on 2 CPUs).

    python3 tests/geneve_vm.py OUTDIR [--cache DIR] [--accel auto|kvm|tcg]

writes one capture per shape (CAPTURES), plus all-frames.pcap (everything on
the tap) and console.log (the VM's serial console).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import gzip
import io
import logging
import lzma
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

DEFAULT_CACHE = Path("/var/cache/vpc-mirror/geneve-vm")
KERNEL_META = "linux-image-amd64"
BUSYBOX = "busybox-static"
MODULES = ("virtio_pci", "virtio_net", "geneve", "vxlan")
TOOLS = ("qemu-system-x86_64", "tcpdump", "ip", "apt-get", "apt-cache", "dpkg-deb", "ldd")
MAC_A, MAC_B = "52:54:00:77:00:02", "52:54:00:77:00:03"
TAP = "gtap0"

#: The capture files, by the shape of what is on the wire (see INIT for how each is made).
CAPTURES = {
    "geneve-plain": "IPv4, GENEVE VNI 5001 (0x6558), Ethernet/IPv4/ICMP inside",
    "vxlan-in-geneve": "IPv4, GENEVE VNI 5001 (0x6558), Ethernet/IPv4/UDP 4789/VXLAN VNI 4242/Ethernet/IPv4/ICMP",
    "geneve-ipv6-outer": "IPv6, GENEVE VNI 5006 (0x6558), Ethernet/IPv4/ICMP inside",
    "geneve-l3-ipv4": "IPv4, GENEVE VNI 5002 (0x0800, innerprotoinherit), bare IPv4/ICMP inside",
    "geneve-l3-options": "IPv4, GENEVE VNI 5003 (0x0800), 32 bytes of class-0x0108 options, IPv4/ICMP inside",
    "vxlan-in-gwlb-geneve": "IPv4, GENEVE VNI 5004 (0x0800), the same options, IPv4/UDP 4789/VXLAN VNI 4343/"
                            "Ethernet/IPv4/ICMP, UDP 53 and TCP 443: a mirror session behind a Gateway Load Balancer",
}  # fmt: skip

log = logging.getLogger("geneve_vm")


class GeneveVmError(Exception):
    """The captures could not be made; the message says why and where to look."""


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(argv, check=True, **kw)
    except subprocess.CalledProcessError as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr or ""
        raise GeneveVmError(f"{' '.join(argv)} failed with {e.returncode}: {err.strip()}") from None


def _out(argv: list[str]) -> str:
    return _run(argv, capture_output=True, text=True).stdout


# -- the kernel and busybox, from Debian's packages -----------------------------------------------------------------


def kernel_package() -> str:
    """The kernel package linux-image-amd64 points at now (linux-image-<abi>-amd64)."""
    text = _out(["apt-cache", "depends", KERNEL_META])
    m = re.search(r"Depends:\s*(linux-image-\S+-amd64)", text)
    if not m:
        raise GeneveVmError(f"cannot tell which kernel {KERNEL_META} depends on:\n{text}")
    return m.group(1)


def candidate_version(package: str) -> str:
    m = re.search(r"Candidate:\s*(\S+)", _out(["apt-cache", "policy", package]))
    if not m or m.group(1) == "(none)":
        raise GeneveVmError(f"apt knows no version of {package} (apt-get update?)")
    return m.group(1)


def unpacked(package: str, cache: Path, keep: Callable[[Path], list[Path]] | None = None, key: str = "") -> Path:
    """`package`'s files under cache/<package>_<version>/, downloaded and unpacked once.

    `keep` picks the files worth caching (the whole kernel package is ~400 MB
    unpacked, what the VM needs ~12 MB); `key` names that choice, and a cache
    made with another key is unpacked again.
    """
    version = candidate_version(package)
    dest = cache / f"{package}_{version.replace(':', '%3a')}"
    stamp = dest / ".extracted"
    if stamp.exists() and stamp.read_text() == key:
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        work = Path(tmp)
        work.chmod(0o755)
        # apt's sandbox user could not write into a root-owned temporary directory
        _run(["apt-get", "download", "-q", "-o", "APT::Sandbox::User=root", f"{package}={version}"], cwd=work,
             capture_output=True)  # fmt: skip
        debs = list(work.glob("*.deb"))
        if len(debs) != 1:
            raise GeneveVmError(f"apt-get download {package} gave {[d.name for d in debs]}, not one .deb")
        deb = debs[0]
        log.info("downloaded %s (%.1f MB)", deb.name, deb.stat().st_size / 1e6)
        root = work / "root"
        _run(["dpkg-deb", "-x", str(deb), str(root)])
        if keep is not None:
            pruned = work / "pruned"
            for rel in keep(root):
                (pruned / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(root / rel, pruned / rel)
            root = pruned
        shutil.rmtree(dest, ignore_errors=True)
        root.rename(dest)
        (dest / ".deb-info").write_text(f"{deb.name} {deb.stat().st_size}\n")
    stamp.write_text(key)
    return dest


def find_kernel(root: Path) -> tuple[Path, Path]:
    """(vmlinuz, module directory) of the unpacked kernel package at `root`."""
    images = sorted((root / "boot").glob("vmlinuz-*"))
    if len(images) != 1:
        raise GeneveVmError(f"expected one vmlinuz in {root / 'boot'}, found {[p.name for p in images]}")
    release = images[0].name.removeprefix("vmlinuz-")
    for moddir in (root / "lib/modules" / release, root / "usr/lib/modules" / release):
        if moddir.is_dir():
            return images[0], moddir
    raise GeneveVmError(f"no modules for {release} in {root}")


def _kernel_files(root: Path) -> list[Path]:
    """What the VM needs of the kernel package: the image, the modules it loads (with their dependencies)."""
    vmlinuz, moddir = find_kernel(root)
    index = index_modules(moddir)
    order, _blobs = resolve_modules(moddir)
    files = [vmlinuz, moddir / "modules.builtin", *(index[name] for name in order)]
    return [f.relative_to(root) for f in files if f.exists()]


# -- modules: found, unpacked and ordered by their .modinfo dependencies ---------------------------------------------


def index_modules(moddir: Path) -> dict[str, Path]:
    """Module name (dashes as underscores) -> its file."""
    index = {}
    for path in moddir.rglob("*.ko*"):
        m = re.fullmatch(r"(.+)\.ko(\.xz)?", path.name)
        if m:
            index[m.group(1).replace("-", "_")] = path
    return index


def read_module(path: Path) -> bytes:
    """The module's ELF bytes (bookworm ships them plain, trixie xz-compressed)."""
    data = path.read_bytes()
    return lzma.decompress(data) if path.suffix == ".xz" else data


def module_depends(blob: bytes) -> list[str]:
    m = re.search(rb"(?:^|\x00)depends=([^\x00]*)\x00", blob)
    return [d.decode().replace("-", "_") for d in m.group(1).split(b",") if d] if m else []


def resolve_modules(moddir: Path) -> tuple[list[str], dict[str, bytes]]:
    """MODULES and what they depend on, in load order, and each one's bytes (busybox insmod does no resolving)."""
    index = index_modules(moddir)
    builtin_list = moddir / "modules.builtin"
    builtin = set()
    if builtin_list.exists():
        builtin = {Path(line).name.split(".ko")[0].replace("-", "_") for line in builtin_list.read_text().split()}
    order: list[str] = []
    blobs: dict[str, bytes] = {}
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        if name not in index:
            if name in builtin:
                return
            raise GeneveVmError(f"kernel module {name} is neither in {moddir} nor built in")
        blob = read_module(index[name])
        for dep in module_depends(blob):
            visit(dep)
        order.append(name)
        blobs[name] = blob

    for name in MODULES:
        visit(name)
    return order, blobs


# -- the initramfs: a cpio (newc) archive written by hand ------------------------------------------------------------


class Cpio:
    """Just enough of the newc format for directories, files and symlinks."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1000
        self.names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes = b"", nlink: int = 1) -> None:
        self.ino += 1
        name_b = name.encode() + b"\x00"
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0]
        self.buf.write(b"070701" + b"".join(b"%08X" % f for f in fields) + name_b)
        self._pad()
        self.buf.write(data)
        self._pad()

    def _pad(self) -> None:
        self.buf.write(b"\x00" * (-self.buf.tell() % 4))

    def dir(self, name: str) -> None:
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            path = "/".join(parts[:i])
            if path not in self.names:
                self.names.add(path)
                self._entry(path, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name: str, data: bytes, mode: int = 0o644, kind: int = stat.S_IFREG) -> None:
        name = name.strip("/")
        if "/" in name:
            self.dir(os.path.dirname(name))
        self.names.add(name)
        self._entry(name, kind | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self.file(name, target.encode(), 0o777, stat.S_IFLNK)

    def finish(self) -> bytes:
        self._entry("TRAILER!!!", 0)
        data = self.buf.getvalue()
        return data + b"\x00" * (-len(data) % 512)


def shared_libraries(binary: str) -> list[str]:
    return [m.group(1) for line in _out(["ldd", binary]).splitlines()
            if (m := re.search(r"(/\S+)\s+\(0x", line)) and os.path.exists(m.group(1))]  # fmt: skip


#: The VM's /init. Namespace A is the root namespace, B is "peer"; each phase's tunnel has its own VNI, which is how
#: `split_pcap` tells the phases apart. Static neighbours everywhere and IPv6 off on the underlay: no ARP or ND noise.
INIT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /run /tmp /sbin /usr/bin /usr/sbin
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs run /run
IP=/usr/local/sbin/ip
say() { echo "GNVTEST: $*"; }
fail() { echo "GNVTEST-FAIL: $*"; poweroff -f; }
for m in $(cat /modules/order); do insmod /modules/$m.ko || fail "insmod $m"; done
say "modules loaded: $(cat /modules/order | tr '\n' ' ')"

ifname_by_mac() {
  for d in /sys/class/net/*; do
    [ "$(cat $d/address)" = "$1" ] && { basename $d; return; }
  done
}
i=0; while [ -z "$(ifname_by_mac @MAC_B@)" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
EA=$(ifname_by_mac @MAC_A@); EB=$(ifname_by_mac @MAC_B@)
[ -n "$EA" ] && [ -n "$EB" ] || fail "NICs not found"
say "A=$EA B=$EB"

$IP netns add peer || fail "netns add"
$IP link set $EB netns peer
B="$IP -n peer"
for ns in "" "$IP netns exec peer"; do
  $ns sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  $ns sysctl -qw net.ipv6.conf.all.accept_ra=0
  $ns sysctl -qw net.ipv4.conf.all.rp_filter=0
  $ns sysctl -qw net.ipv4.conf.default.rp_filter=0
  $ns sysctl -qw net.ipv4.icmp_ratelimit=0
done
$IP link set lo up; $B link set lo up
$IP link set $EA addrgenmode none; $B link set $EB addrgenmode none
$IP link set $EA up; $B link set $EB up
$IP addr add 192.168.77.2/24 dev $EA; $B addr add 192.168.77.3/24 dev $EB
$IP addr add fd00:77::2/64 dev $EA nodad; $B addr add fd00:77::3/64 dev $EB nodad
$IP neigh replace 192.168.77.3 lladdr @MAC_B@ dev $EA nud permanent
$B neigh replace 192.168.77.2 lladdr @MAC_A@ dev $EB nud permanent
$IP neigh replace fd00:77::3 lladdr @MAC_B@ dev $EA nud permanent
$B neigh replace fd00:77::2 lladdr @MAC_A@ dev $EB nud permanent
sleep 0.5
PING="ping -c 3 -i 0.2 -W 2 -s 1000"  # longer than the default snap length: a cut there must not matter

# an Ethernet tunnel device in A and B: NAME MAC-SUFFIX ADDRESS-PREFIX then `ip link add` arguments for A and for B
pair() {
  name=$1 mac=$2 net=$3; shift 3
  $IP link add $name address 02:00:00:$mac:01 "$@" || fail "$name add"
  $B link add $name address 02:00:00:$mac:02 $PEER_ARGS || fail "$name add in peer"
  $IP addr add $net.1/24 dev $name; $B addr add $net.2/24 dev $name
  $IP link set $name up; $B link set $name up
  $IP neigh replace $net.2 lladdr 02:00:00:$mac:02 dev $name nud permanent
  $B neigh replace $net.1 lladdr 02:00:00:$mac:01 dev $name nud permanent
}

say "phase geneve-plain"
PEER_ARGS="type geneve id 5001 remote 192.168.77.2"
pair gnv0 50:01 10.51.0 type geneve id 5001 remote 192.168.77.3
$PING 10.51.0.2 || fail "geneve-plain ping"

say "phase vxlan-in-geneve"
PEER_ARGS="type vxlan id 4242 dstport 4789 local 10.51.0.2 remote 10.51.0.1"
pair vx0 42:42 10.42.0 type vxlan id 4242 dstport 4789 local 10.51.0.1 remote 10.51.0.2
$PING 10.42.0.2 || fail "vxlan-in-geneve ping"

say "phase geneve-ipv6-outer"
PEER_ARGS="type geneve id 5006 remote fd00:77::2"
pair gnv6 50:06 10.56.0 type geneve id 5006 remote fd00:77::3
$PING 10.56.0.2 || fail "geneve-ipv6-outer ping"

say "phase geneve-l3-ipv4"
$IP link add gnv3 type geneve id 5002 remote 192.168.77.3 innerprotoinherit || fail "gnv3 add"
$B link add gnv3 type geneve id 5002 remote 192.168.77.2 innerprotoinherit
$IP addr add 10.52.0.1/24 dev gnv3; $B addr add 10.52.0.2/24 dev gnv3
$IP link set gnv3 up; $B link set gnv3 up
$PING 10.52.0.2 || fail "geneve-l3-ipv4 ping"

# One external (collect_md) device owns UDP 6081 alone: the others go. Its routes set VNI, remote and the options a
# Gateway Load Balancer adds (class 0x0108: 8-byte endpoint id, 8-byte attachment id, 4-byte flow cookie).
say "phase geneve-l3-options"
for d in vx0 gnv0 gnv6 gnv3; do $IP link del $d; $B link del $d; done
OPTS_A="0x0108:0x01:0a0b0c0d0e0f0001,0x0108:0x02:1122334455667788,0x0108:0x03:cafef00d"
OPTS_B="0x0108:0x01:0a0b0c0d0e0f0002,0x0108:0x02:1122334455667788,0x0108:0x03:cafef00d"
$IP link add gnvx type geneve external innerprotoinherit || fail "gnvx add"
$B link add gnvx type geneve external innerprotoinherit
$IP link set gnvx up; $B link set gnvx up
for ns in "" "$IP netns exec peer"; do $ns sysctl -qw net.ipv4.conf.gnvx.rp_filter=0; done
route_pair() {  # ADDRESS-PREFIX VNI: a /32 each side, routed to the other through gnvx
  $IP addr add $1.1/32 dev gnvx; $B addr add $1.2/32 dev gnvx
  $IP route add $1.2/32 encap ip id $2 dst 192.168.77.3 ttl 64 geneve_opts $OPTS_A dev gnvx || fail "route $2"
  $B route add $1.1/32 encap ip id $2 dst 192.168.77.2 ttl 64 geneve_opts $OPTS_B dev gnvx
}
route_pair 10.53.0 5003
$PING 10.53.0.2 || fail "geneve-l3-options ping"

# The mirror session behind a Gateway Load Balancer: the VXLAN packet, routed through gnvx, is GENEVE's payload.
say "phase vxlan-in-gwlb-geneve"
route_pair 10.54.0 5004
PEER_ARGS="type vxlan id 4343 dstport 4789 local 10.54.0.2 remote 10.54.0.1"
pair vx4 43:43 10.43.0 type vxlan id 4343 dstport 4789 local 10.54.0.1 remote 10.54.0.2
$PING 10.43.0.2 || fail "vxlan-in-gwlb-geneve ping"
# DNS to a closed UDP port (B answers ICMP port unreachable) and TCP to a closed port (B answers RST)
nslookup -type=a -timeout=1 -retry=1 mirror.example 10.43.0.2
nc -w 1 10.43.0.2 443 </dev/null
say "vxlan-in-gwlb-geneve sent"

sleep 0.5
say "DONE"
poweroff -f
"""


def build_initramfs(path: Path, busybox: Path, order: list[str], blobs: dict[str, bytes], ip_binary: str) -> None:
    """busybox, the modules, INIT and the host's `ip` (busybox's knows no geneve, netns or encap) with its libraries."""
    c = Cpio()
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "usr/local/sbin", "proc", "sys", "dev", "run", "tmp", "etc",
              "var", "modules", "root"):  # fmt: skip
        c.dir(d)
    c.file("bin/busybox", busybox.read_bytes(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.symlink("var/run", "../run")
    c.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    c.file("etc/group", b"root:x:0:\n")
    c.file("init", INIT.replace("@MAC_A@", MAC_A).replace("@MAC_B@", MAC_B).encode(), 0o755)
    for name in order:
        c.file(f"modules/{name}.ko", blobs[name])
    c.file("modules/order", "".join(f"{name}\n" for name in order).encode())
    c.file("usr/local/sbin/ip", Path(ip_binary).read_bytes(), 0o755)
    for lib in shared_libraries(ip_binary):
        c.file(lib, Path(lib).resolve().read_bytes(), 0o755)
    with gzip.open(path, "wb", compresslevel=6) as g:
        g.write(c.finish())


# -- splitting the capture by shape ----------------------------------------------------------------------------------


def read_pcap(path: Path) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """(global header, [(record header, frame)]) of a classic pcap file."""
    data = path.read_bytes()
    if len(data) < 24:
        return b"", []
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    records, off = [], 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(order + "8xI", data, off)[0]
        records.append((data[off : off + 16], data[off + 16 : off + 16 + caplen]))
        off += 16 + caplen
    return data[:24], records


def shape_of(frame: bytes) -> str | None:
    """Which of CAPTURES a frame belongs to (by its GENEVE VNI and outer IP version), or None if it is not GENEVE."""
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == 0x0800 and frame[23] == 17:
        udp = 14 + (frame[14] & 0x0F) * 4
    elif ethertype == 0x86DD and frame[20] == 17:
        udp = 14 + 40
    else:
        return None
    if struct.unpack_from("!H", frame, udp + 2)[0] != 6081:
        return None
    if ethertype == 0x86DD:
        return "geneve-ipv6-outer"
    geneve = udp + 8
    vni = int.from_bytes(frame[geneve + 4 : geneve + 7], "big")
    if vni == 5001:
        inner_ip = geneve + 8 + (frame[geneve] & 0x3F) * 4 + 14
        inner_udp = inner_ip + (frame[inner_ip] & 0x0F) * 4
        carries_vxlan = frame[inner_ip + 9] == 17 and struct.unpack_from("!H", frame, inner_udp + 2)[0] == 4789
        return "vxlan-in-geneve" if carries_vxlan else "geneve-plain"
    return {5002: "geneve-l3-ipv4", 5003: "geneve-l3-options", 5004: "vxlan-in-gwlb-geneve"}.get(vni)


def split_pcap(raw: Path, outdir: Path) -> dict[str, Path]:
    """One pcap per shape in CAPTURES (empty when none was seen) from the whole capture `raw`."""
    header, records = read_pcap(raw)
    shapes: dict[str, list[bytes]] = {name: [] for name in CAPTURES}
    for record, frame in records:
        try:
            name = shape_of(frame)
        except (IndexError, struct.error):
            name = None
        if name is not None:
            shapes[name].append(record + frame)
    paths = {}
    for name, frames in shapes.items():
        paths[name] = outdir / f"{name}.pcap"
        paths[name].write_bytes(header + b"".join(frames))
    log.info("%d frames on the tap; %s", len(records), ", ".join(f"{n}: {len(f)}" for n, f in shapes.items()))
    return paths


# -- the host side: namespace, tap, tcpdump, qemu --------------------------------------------------------------------


def kvm_usable() -> bool:
    """/dev/kvm answers and is backed by kvm_intel or kvm_amd.

    Some sandboxes expose /dev/kvm through kvm_pvm, which runs only PVM guest
    kernels: Debian's hangs there right after real-mode setup.
    """
    if not any(os.path.isdir(f"/sys/module/{m}") for m in ("kvm_intel", "kvm_amd")):
        return False
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        return fcntl.ioctl(fd, 0xAE00) == 12  # KVM_GET_API_VERSION
    except OSError:
        return False
    finally:
        os.close(fd)


@contextlib.contextmanager
def host_tap() -> Iterator[list[str]]:
    """A throw-away namespace holding TAP, up, with no address and IPv6 off; yields its `ip netns exec` prefix.

    The namespace (and with it the tap) is deleted whatever happens.
    """
    ns = f"vpcm-gnv{os.getpid()}"
    _run(["ip", "netns", "add", ns])
    try:
        inside = ["ip", "netns", "exec", ns]
        _run(["ip", "-n", ns, "tuntap", "add", "dev", TAP, "mode", "tap"])
        _run([*inside, "sysctl", "-qw", f"net.ipv6.conf.{TAP}.disable_ipv6=1"])
        _run(["ip", "-n", ns, "link", "set", TAP, "addrgenmode", "none", "up"])
        yield inside
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


@contextlib.contextmanager
def tcpdump(inside: list[str], path: Path) -> Iterator[None]:
    """The host's tcpdump writing every frame on TAP to `path`, until the block ends.

    -Z root: tcpdump would otherwise drop to its own user, who may not write `path`.
    """
    proc = subprocess.Popen([*inside, "tcpdump", "-i", TAP, "-U", "--immediate-mode", "-n", "-s", "0", "-Z", "root",
                             "-w", str(path)], stderr=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        line = proc.stderr.readline()  # "listening on gtap0, ..."
        if "listening" not in line:
            raise GeneveVmError(f"tcpdump did not start: {line.strip()} {proc.stderr.read().strip()}")
        yield
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.info("tcpdump: %s", proc.stderr.read().strip().replace("\n", "; "))


def boot(inside: list[str], vmlinuz: Path, initrd: Path, accel: str, timeout: float, console: Path) -> None:
    """Run the VM to its poweroff, NICs A and B and the host's tap on one hub; raises if it fails or hangs."""
    argv = ["qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio", "-no-reboot",
            "-m", "256", "-smp", "1", "-kernel", str(vmlinuz), "-initrd", str(initrd),
            "-append", "console=ttyS0 quiet panic=-1",
            "-netdev", f"tap,id=t0,ifname={TAP},script=no,downscript=no",
            "-netdev", "hubport,id=h0,hubid=0", "-netdev", "hubport,id=h1,hubid=0",
            "-netdev", "hubport,id=h2,hubid=0,netdev=t0",
            "-device", f"virtio-net-pci,netdev=h0,mac={MAC_A},romfile=",
            "-device", f"virtio-net-pci,netdev=h1,mac={MAC_B},romfile=",
            *(["-enable-kvm"] if accel == "kvm" else ["-accel", "tcg"])]  # fmt: skip
    log.info("booting the VM (%s)", accel)
    with console.open("wb") as out:
        qemu = subprocess.Popen([*inside, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
        try:
            code = qemu.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GeneveVmError(f"qemu ({accel}) did not finish in {timeout:.0f} s, see {console}") from None
        finally:
            if qemu.poll() is None:
                os.killpg(qemu.pid, signal.SIGKILL)
                qemu.wait()
    if code != 0:
        raise GeneveVmError(f"qemu ({accel}) exited with {code}, see {console}")


def run_vm(outdir: Path, vmlinuz: Path, initrd: Path, accel: str, timeout: float) -> dict[str, Path]:
    """One boot: the captures by shape; raises GeneveVmError if the VM failed or a shape is missing."""
    raw, console = outdir / "all-frames.pcap", outdir / "console.log"
    with host_tap() as inside, tcpdump(inside, raw):
        boot(inside, vmlinuz, initrd, accel, timeout, console)
        time.sleep(1.0)  # tcpdump writes the last frames
    status = [line for line in console.read_text(errors="replace").splitlines() if line.startswith("GNVTEST")]
    for line in status:
        log.info("vm: %s", line)
    paths = split_pcap(raw, outdir)
    failed = [line for line in status if line.startswith("GNVTEST-FAIL")]
    if failed or "GNVTEST: DONE" not in status:
        raise GeneveVmError(f"the VM did not complete ({'; '.join(failed) or 'no DONE'}), see {console}")
    missing = [name for name, path in paths.items() if path.stat().st_size <= 24]
    if missing:
        raise GeneveVmError(f"no frames of {', '.join(missing)} in {raw}")
    return paths


def make_captures(outdir: Path, cache: Path = DEFAULT_CACHE, accel: str = "auto", kernel: str | None = None,
                  timeout: float | None = None) -> dict[str, Path]:  # fmt: skip
    """Boot the VM and write the captures of CAPTURES into `outdir`: shape name -> pcap path.

    An incomplete run (it happened once: a capture with no frame at all) is
    retried once, with TCG if the first try used KVM. Raises GeneveVmError.
    """
    if os.geteuid() != 0:
        raise GeneveVmError("needs root: a network namespace, a tap device and tcpdump on it")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise GeneveVmError(f"missing {', '.join(missing)}: apt-get install -y --no-install-recommends "
                            "qemu-system-x86 tcpdump iproute2")  # fmt: skip
    outdir.mkdir(parents=True, exist_ok=True)
    kernel = kernel or kernel_package()
    vmlinuz, moddir = find_kernel(unpacked(kernel, cache, keep=_kernel_files, key=",".join(MODULES)))
    busybox = unpacked(BUSYBOX, cache) / "bin/busybox"
    order, blobs = resolve_modules(moddir)
    log.info("kernel %s, modules %s", kernel, " ".join(order))
    if accel == "auto":
        accel = "kvm" if kvm_usable() else "tcg"
    with tempfile.TemporaryDirectory(prefix="geneve-vm-") as work:
        initrd = Path(work) / "initrd.gz"
        build_initramfs(initrd, busybox, order, blobs, shutil.which("ip", path="/usr/sbin:/sbin:/usr/bin:/bin"))
        try:
            return run_vm(outdir, vmlinuz, initrd, accel, timeout or (60 if accel == "kvm" else 240))
        except GeneveVmError as e:
            log.warning("%s; booting once more with TCG", e)
        return run_vm(outdir, vmlinuz, initrd, "tcg", timeout or 240)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--accel", choices=["auto", "kvm", "tcg"], default="auto")
    parser.add_argument("--kernel", help=f"kernel package, e.g. linux-image-6.1.0-57-amd64 (default: {KERNEL_META}'s)")
    parser.add_argument("--timeout", type=float, help="seconds for one boot (default 60 with KVM, 240 with TCG)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="geneve_vm +%(relativeCreated)6.0f ms: %(message)s")
    try:
        paths = make_captures(args.outdir.resolve(), args.cache, args.accel, args.kernel, args.timeout)
    except GeneveVmError as e:
        print(f"geneve_vm: {e}", file=sys.stderr)
        return 1
    for name, path in paths.items():
        print(f"{path}  {CAPTURES[name]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
