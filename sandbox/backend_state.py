"""Sandbox-only state that belongs to one moto EC2 backend (one account and region).

It hangs off the backend object itself, so moto's reset, which replaces every
backend, wipes it together with the resources it refers to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

_ATTRIBUTE = "vpc_mirror_sandbox_state"

#: "Traffic Mirroring quotas" (https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-quotas.html):
#: maximum number of sessions, of targets and of filters per account: 10,000 each, not adjustable.
#: EC2 quotas are per Region, as moto's backends are.
MIRROR_ACCOUNT_QUOTA = 10_000


@dataclass
class MirrorQuotas:
    """The account quotas in force; a test may lower them to see the refusal without 10,000 creates."""

    filters: int = MIRROR_ACCOUNT_QUOTA
    targets: int = MIRROR_ACCOUNT_QUOTA
    sessions: int = MIRROR_ACCOUNT_QUOTA


@dataclass
class SandboxState:
    #: (action, ClientToken) -> (fingerprint of the request, the answer given).
    client_tokens: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    #: instance id -> the text GetConsoleOutput answers.
    console_output: dict[str, str] = field(default_factory=dict)
    mirror_quotas: MirrorQuotas = field(default_factory=MirrorQuotas)
    #: Serialises idempotent creates, so two concurrent retries create one resource.
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(backend: Any) -> SandboxState:
    return backend.__dict__.setdefault(_ATTRIBUTE, SandboxState())
