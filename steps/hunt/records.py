"""What the hunt keeps of each Zeek log row: only the fields RITA's beacon analysis uses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class ConnRecord:
    """A conn.log row. RITA keys IP pairs by the addresses only (ports and protocol merged) and
    measures size as ``orig_ip_bytes``."""

    ts: float
    uid: str
    orig_h: str
    resp_h: str
    orig_ip_bytes: int


@dataclass(frozen=True, slots=True)
class NameRecord:
    """An ssl.log ``server_name`` or http.log ``host`` for a connection (joined to conn by uid)."""

    kind: Literal["ssl", "http"]
    ts: float
    uid: str
    name: str
