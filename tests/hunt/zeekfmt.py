"""Zeek logs written the way Zeek's ASCII writer writes them, for the hunt tests.

The conn.log header is the one Zeek wrote in tests/data/vxlan/zeek/
(``#separator`` with a space, the other header lines tab-separated, the
fields of Zeek 7+ with ``ip_proto``); ssl.log and http.log carry Zeek 8's
field lists. JSON is ``LogAscii::use_json=T``: one object per line, unset
fields left out, ``ts`` in epoch seconds.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from tests.testdata import VXLAN

REAL_CONN_LOG = VXLAN / "zeek" / "vxlan-encapsulated-http.conn.log"

CONN_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration", "orig_bytes",
    "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history", "orig_pkts", "orig_ip_bytes",
    "resp_pkts", "resp_ip_bytes", "tunnel_parents", "ip_proto")
CONN_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count", "count", "string",
    "bool", "bool", "count", "string", "count", "count", "count", "count", "set[string]", "count")
SSL_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher", "curve", "server_name",
    "resumed", "last_alert", "next_protocol", "established", "ssl_history", "cert_chain_fps", "client_cert_chain_fps",
    "sni_matches_cert")
SSL_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "string", "string", "string", "string", "bool", "string",
    "string", "bool", "string", "vector[string]", "vector[string]", "bool")
HTTP_FIELDS = (
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "host", "uri",
    "referrer", "version", "user_agent", "origin", "request_body_len", "response_body_len", "status_code",
    "status_msg", "info_code", "info_msg", "tags", "username", "password", "proxied", "orig_fuids", "orig_filenames",
    "orig_mime_types", "resp_fuids", "resp_filenames", "resp_mime_types")
HTTP_TYPES = (
    "time", "string", "addr", "port", "addr", "port", "count", "string", "string", "string", "string", "string",
    "string", "string", "count", "count", "count", "string", "count", "string", "set[enum]", "string", "string",
    "set[string]", "vector[string]", "vector[string]", "vector[string]", "vector[string]", "vector[string]",
    "vector[string]")
SCHEMAS = {"conn": (CONN_FIELDS, CONN_TYPES), "ssl": (SSL_FIELDS, SSL_TYPES), "http": (HTTP_FIELDS, HTTP_TYPES)}


def uid(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "C" + "".join(rng.choice(alphabet) for _ in range(17))


@dataclass
class Conn:
    ts: float
    src: str
    dst: str
    orig_ip_bytes: int = 320
    uid: str = ""
    dport: int = 443
    service: str | None = "ssl"
    tunnel_parents: tuple[str, ...] = ()

    def values(self) -> dict:
        return {"ts": self.ts, "uid": self.uid, "id.orig_h": self.src, "id.orig_p": 40000 + int(self.ts) % 20000,
                "id.resp_h": self.dst, "id.resp_p": self.dport, "proto": "tcp", "service": self.service,
                "duration": 0.081234, "orig_bytes": max(self.orig_ip_bytes - 272, 0), "resp_bytes": 4311,
                "conn_state": "SF", "local_orig": None, "local_resp": None, "missed_bytes": 0,
                "history": "ShADadFf", "orig_pkts": 6, "orig_ip_bytes": self.orig_ip_bytes, "resp_pkts": 5,
                "resp_ip_bytes": 4583, "tunnel_parents": list(self.tunnel_parents), "ip_proto": 6}


@dataclass
class Ssl:
    ts: float
    uid: str
    src: str
    dst: str
    server_name: str | None

    def values(self) -> dict:
        return {"ts": self.ts, "uid": self.uid, "id.orig_h": self.src, "id.orig_p": 40001, "id.resp_h": self.dst,
                "id.resp_p": 443, "version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256", "curve": "x25519",
                "server_name": self.server_name, "resumed": False, "last_alert": None, "next_protocol": None,
                "established": True, "ssl_history": "CsiI", "cert_chain_fps": [], "client_cert_chain_fps": [],
                "sni_matches_cert": None}


@dataclass
class Http:
    ts: float
    uid: str
    src: str
    dst: str
    host: str | None
    trans_depth: int = 1

    def values(self) -> dict:
        return {"ts": self.ts, "uid": self.uid, "id.orig_h": self.src, "id.orig_p": 40002, "id.resp_h": self.dst,
                "id.resp_p": 80, "trans_depth": self.trans_depth, "method": "GET", "host": self.host, "uri": "/",
                "referrer": None, "version": "1.1", "user_agent": "curl/8.5.0", "origin": None,
                "request_body_len": 0, "response_body_len": 1256, "status_code": 200, "status_msg": "OK",
                "info_code": None, "info_msg": None, "tags": [], "username": None, "password": None,
                "proxied": None, "orig_fuids": None, "orig_filenames": None, "orig_mime_types": None,
                "resp_fuids": ["FhEoXm3kB1x9bQ2w1"], "resp_filenames": None, "resp_mime_types": ["text/html"]}


def _tsv_value(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "time" or kind == "interval":
        return f"{value:.6f}"
    if kind == "bool":
        return "T" if value else "F"
    if isinstance(value, list):
        return ",".join(value) if value else "(empty)"
    return str(value) if value != "" else "(empty)"


def tsv(kind: str, rows: list, *, close: bool = True) -> str:
    fields, types = SCHEMAS[kind]
    lines = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-",
             f"#path\t{kind}", "#open\t2026-11-30-12-00-00", "#fields\t" + "\t".join(fields),
             "#types\t" + "\t".join(types)]
    for row in rows:
        values = row.values()
        lines.append("\t".join(_tsv_value(values[name], t) for name, t in zip(fields, types)))
    if close:
        lines.append("#close\t2026-11-30-13-00-00")
    return "\n".join(lines) + "\n"


def json_lines(rows: list) -> str:
    out = []
    for row in rows:
        values = {k: v for k, v in row.values().items() if v is not None and v != []}
        out.append(json.dumps(values, separators=(",", ":")))
    return "\n".join(out) + "\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@dataclass
class Traffic:
    """Connections with uids, and the ssl/http rows that name their servers."""

    rng: random.Random = field(default_factory=lambda: random.Random(7))
    conns: list[Conn] = field(default_factory=list)
    ssl: list[Ssl] = field(default_factory=list)
    http: list[Http] = field(default_factory=list)

    def add(self, src: str, dst: str, times, size: int = 320, server_name: str | None = None,
            host: str | None = None) -> None:
        for ts in times:
            conn = Conn(ts, src, dst, size, uid(self.rng), dport=80 if host else 443,
                        service="http" if host else "ssl")
            self.conns.append(conn)
            if server_name is not None:
                self.ssl.append(Ssl(ts + 0.01, conn.uid, src, dst, server_name))
            if host is not None:
                self.http.append(Http(ts + 0.02, conn.uid, src, dst, host))
