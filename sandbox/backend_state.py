"""Sandbox-only state that belongs to one moto EC2 backend (one account and region).

It hangs off the backend object itself, so moto's reset, which replaces every
backend, wipes it together with the resources it refers to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

_ATTRIBUTE = "vpc_mirror_sandbox_state"


@dataclass
class SandboxState:
    #: (action, ClientToken) -> (fingerprint of the request, the answer given).
    client_tokens: dict[tuple[str, str], tuple[str, Any]] = field(default_factory=dict)
    #: instance id -> the text GetConsoleOutput answers.
    console_output: dict[str, str] = field(default_factory=dict)
    #: Serialises idempotent creates, so two concurrent retries create one resource.
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(backend: Any) -> SandboxState:
    return backend.__dict__.setdefault(_ATTRIBUTE, SandboxState())
