"""The Zeek sensor answers (how to reach the sensor, what to configure) and ``zeekctl status`` as data.

Every value that ends up in a remote command (interface, user, paths, package)
is validated here first, so a command can never be built from a value that the
shell would read as syntax; the commands are quoted as well (steps.ssh).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: Linux allows 15 bytes; we accept the characters real interface names use.
INTERFACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,14}$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_MAC = re.compile(r"^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$")
#: Debian and RPM package names.
_PACKAGE = re.compile(r"^[a-z0-9][a-z0-9+._-]{1,63}$")
_FINGERPRINT = re.compile(r"^SHA256:[A-Za-z0-9+/]{43}$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.:-]*[A-Za-z0-9])?$")


def _interface(value: str) -> str:
    if INTERFACE_NAME.match(value):
        return value
    raise ValueError(f"{value!r} is not an interface name; use the name `ip link` shows, e.g. ens6 or eth1 "
                     "(letters, digits, . _ @ -, at most 15 characters)")


def _user(value: str) -> str:
    if _USER.match(value):
        return value
    raise ValueError(f"{value!r} is not a login name; use one like ubuntu, admin or ec2-user")


def _mac(value: str) -> str:
    normal = value.strip().lower().replace("-", ":")
    if _MAC.match(normal):
        return normal
    raise ValueError(f"{value!r} is not a MAC address; use six hex pairs, e.g. 0a:1b:2c:3d:4e:5f")


def capture_fields(text: str) -> dict[str, str | None]:
    """A form's one "capture" field as ZeekPlan's fields: six hex pairs are a MAC, anything else an interface."""
    text = text.strip()
    if _MAC.match(text.lower().replace("-", ":")):
        return {"interface": None, "mac": text}
    return {"interface": text or None, "mac": None}


def _remote_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{value!r} is not an absolute path; give one starting with /, e.g. /opt/zeek")
    if any(c in "'\"\\%$`" or ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{value!r} holds a control character (e.g. a newline), a quote (' or \"), a backslash, "
                         "%, $ or `; pick a directory without them (spaces are fine)")
    if "/../" in f"{value}/":
        raise ValueError(f"{value!r} contains '..'; give the directory itself")
    return value.rstrip("/") or "/"


def _package(value: str) -> str:
    if _PACKAGE.match(value):
        return value
    raise ValueError(f"{value!r} is not a package name; use one like zeek-8.0, zeek-lts or zeek")


def check_fingerprint(value: str) -> str:
    if _FINGERPRINT.match(value.strip()):
        return value.strip()
    raise ValueError(f"{value!r} is not an SSH key fingerprint; use the SHA256:… form `ssh-keygen -lf` prints")


def _host(value: str) -> str:
    if _HOST.match(value) and not value.startswith("-"):
        return value
    raise ValueError(f"{value!r} is not a host name or address; use e.g. 203.0.113.7 or sensor.example.org")


InterfaceName = Annotated[str, AfterValidator(_interface)]
LoginUser = Annotated[str, AfterValidator(_user)]
MacAddress = Annotated[str, AfterValidator(_mac)]
RemotePath = Annotated[str, AfterValidator(_remote_path)]
PackageName = Annotated[str, AfterValidator(_package)]
Fingerprint = Annotated[str, AfterValidator(check_fingerprint)]
SshHost = Annotated[str, AfterValidator(_host)]

DEFAULT_PACKAGE = "zeek-8.0"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ZeekPlan(_Model):
    """How to reach the sensor over SSH and how to set Zeek up on it [runbook 2c-f, 5e-g].

    Omitted connection fields come from the setup: the sensor's public address,
    the login user its image implies, the capture ENI's MAC address.
    """

    host: SshHost | None = Field(None, description="sensor address; omitted = the sensor instance's public address")
    port: int | None = Field(None, ge=1, le=65535, description="SSH port (1-65535); omitted = ~/.ssh/config or 22",
                             examples=[22])
    user: LoginUser | None = Field(None, description="login user; omitted = the one the image implies (ubuntu, "
                                                      "admin, ec2-user, rocky, centos)")
    identity: str | None = Field(None, description="private key file on this machine; omitted = ~/.ssh/config "
                                                    "and the agent")
    interface: InterfaceName | None = Field(None, description="capture interface name; omitted = found by the "
                                                              "capture ENI's MAC address")
    mac: MacAddress | None = Field(None, description="MAC address of the capture interface; omitted = the capture "
                                                     "ENI's, from AWS")
    zeek_prefix: RemotePath | None = Field(None, description="Zeek install prefix on the sensor; omitted = "
                                                             "detected (/opt/zeek, /usr)")
    package: PackageName = Field(DEFAULT_PACKAGE, description="Zeek package to install when Zeek is missing")
    workers: int = Field(1, ge=1, le=64, description="1 = standalone; more = a cluster of AF_PACKET workers")

    @model_validator(mode="after")
    def _one_interface_hint(self) -> "ZeekPlan":
        if self.interface and self.mac:
            raise ValueError("interface and mac are both set; give one of them (the MAC is safer)")
        return self


class ZeekNode(BaseModel):
    """One row of ``zeekctl status``."""

    name: str
    type: str
    host: str
    status: str
    pid: int | None = None
    started: str | None = None


class ZeekStatus(BaseModel):
    """``zeekctl status`` parsed: zeekctl exits 0 only when every node runs."""

    nodes: list[ZeekNode] = Field(default_factory=list)
    exit_code: int = 0
    output: str = ""

    @property
    def running(self) -> bool:
        return self.exit_code == 0 and bool(self.nodes) and all(n.status == "running" for n in self.nodes)

    def summary(self) -> str:
        if not self.nodes:
            return f"zeekctl status showed no nodes (exit {self.exit_code})"
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.status] = counts.get(node.status, 0) + 1
        parts = ", ".join(f"{n} {s}" for s, n in counts.items())
        return f"{len(self.nodes)} node(s): {parts}"
