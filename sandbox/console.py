"""What GetConsoleOutput answers for sandbox instances.

On a real instance cloud-init prints the SSH host key fingerprints to the
serial console, which is how a careful client checks a host key on first
contact. cloud-init's ``write-ssh-key-fingerprints`` (canonical/cloud-init,
tools/write-ssh-key-fingerprints) pipes this block through
``logger --stderr -t ec2``, so every line reaches the console as ``ec2: ...``:

    ec2: #############################################################
    ec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----
    ec2: 256 SHA256:<base64> root@ip-10-0-1-5 (ECDSA)
    ec2: 256 SHA256:<base64> root@ip-10-0-1-5 (ED25519)
    ec2: -----END SSH HOST KEY FINGERPRINTS-----
    ec2: #############################################################

Sandbox instances have no host keys, so by default the fingerprints are those
of stand-in key blobs derived from the instance id (stable for its lifetime).
``Sandbox.set_console_output`` replaces the text, e.g. with the fingerprints of
a real sshd a test talks to. The API base64-encodes the output, as AWS does;
botocore decodes it.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.ec2.utils import Base64EncodedString

from .backend_state import state_of

_RULE = "#" * 61


def _ssh_string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _stand_in_key_blobs(seed: str) -> list[tuple[int, str, bytes]]:
    """(bits, ssh-keygen type label, public key blob in SSH wire format)."""

    def material(label: str) -> bytes:
        return hashlib.sha256(f"{seed}/{label}".encode()).digest()

    ecdsa_point = b"\x04" + material("ecdsa-x") + material("ecdsa-y")
    return [
        (256, "ECDSA", _ssh_string(b"ecdsa-sha2-nistp256") + _ssh_string(b"nistp256") + _ssh_string(ecdsa_point)),
        (256, "ED25519", _ssh_string(b"ssh-ed25519") + _ssh_string(material("ed25519"))),
    ]


def ssh_fingerprint(blob: bytes) -> str:
    """``ssh-keygen -l`` style: ``SHA256:`` + unpadded base64 of the blob's SHA-256."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def cloud_init_fingerprints(hostname: str, keys: list[tuple[int, str, bytes]]) -> str:
    lines = ["", _RULE, "-----BEGIN SSH HOST KEY FINGERPRINTS-----"]
    lines += [f"{bits} {ssh_fingerprint(blob)} root@{hostname} ({label})" for bits, label, blob in keys]
    lines += ["-----END SSH HOST KEY FINGERPRINTS-----", _RULE]
    return "".join(f"ec2: {line}\n" for line in lines)


def default_console_output(instance: Any) -> str:
    hostname = "ip-" + instance.private_ip.replace(".", "-")
    return cloud_init_fingerprints(hostname, _stand_in_key_blobs(instance.id))


class ConsoleOutputAction(EC2BaseResponse):
    """GetConsoleOutput, replacing moto's fixed sample text (a Xen kernel boot log)."""

    def get_console_output(self) -> ActionResult:
        instance = self.ec2_backend.get_instance(self._get_param("InstanceId"))
        texts = state_of(self.ec2_backend).console_output
        text = texts.setdefault(instance.id, default_console_output(instance))
        return ActionResult(
            {"InstanceId": instance.id, "Timestamp": utcnow(), "Output": Base64EncodedString.from_raw_string(text)}
        )
