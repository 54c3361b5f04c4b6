"""Reading Zeek's conn, ssl and http logs: TSV or JSON, plain or gzip, whole or still being written.

Input arrives as byte chunks (a local file read in blocks, or a remote ``cat``
streamed over SSH), so both ways share one parser and neither holds a whole
log in memory. TSV is Zeek's default writer: a ``#separator`` line (``\\x09``),
``#fields``/``#types`` headers, ``-`` for unset, ``(empty)`` for an empty
set or string, and ``#close`` only once the file is rotated (a live
``current/conn.log`` has none). JSON is one object per line
(``LogAscii::use_json``), ``ts`` as epoch seconds or ISO 8601.

Nothing is dropped silently: a line that cannot be read, a file that is not a
Zeek log, or a gzip stream that ends early is counted in the report with its
file and line, so a score computed from fewer rows says so.
"""

from __future__ import annotations

import json
import math
import os
import re
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .pairs import HOUR, Networks
from .records import ConnRecord, NameRecord

KINDS = ("conn", "ssl", "http")
#: conn.log, current/conn.log, conn.00:00:00-01:00:00.log.gz (zeekctl's archive), conn.2024-...log
LOG_NAME = re.compile(r"^(conn|ssl|http)(\.[^/]*)?\.log(\.gz)?$")
#: per file, the first few problems are listed; all are counted
LISTED_PER_FILE = 5
READ_BLOCK = 1 << 20
#: a row is written after its connection starts, so a file's mtime is at least its rows' ts; a row
#: later than this past the mtime means the mtimes cannot be trusted to skip files
MTIME_SLACK = 60

_REQUIRED = {"conn": ("ts", "uid", "id.orig_h", "id.resp_h"), "ssl": ("ts", "uid"), "http": ("ts", "uid")}
_NAME_FIELD = {"ssl": "server_name", "http": "host"}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class LogFile:
    """A log to read: ``mtime`` (its last write) bounds the timestamps in it from above; ``where`` names the
    sensor it is on when a fleet's logs are read together, so that a report says whose file it was."""

    path: str
    mtime: float
    where: str = ""

    @property
    def shown(self) -> str:
        """The file as reports name it: ``sensor-2:/opt/zeek/logs/current/conn.log`` in a fleet, else its path."""
        return f"{self.where}:{self.path}" if self.where else self.path

    @property
    def kind(self) -> str | None:
        match = LOG_NAME.match(os.path.basename(self.path))
        return match.group(1) if match else None


@dataclass
class ReadReport:
    files_read: list[str] = field(default_factory=list)
    #: files older than the window (every row in them is too): not read, not needed
    files_skipped: list[str] = field(default_factory=list)
    records: int = 0
    bad_lines: int = 0
    #: files that could not be read, or only in part (the problems say from which line)
    bad_files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.bad_lines and not self.bad_files


@dataclass
class ZeekLogs:
    conns: list[ConnRecord]
    names: list[NameRecord]
    report: ReadReport


class _BadLine(ValueError):
    pass


class _BadFile(ValueError):
    pass


def _timestamp(value) -> float:
    if isinstance(value, bool):
        raise _BadLine(f"ts {value!r} is not a time")
    if isinstance(value, (int, float)):
        ts = float(value)
    else:
        text = str(value)
        try:
            ts = float(text)
        except ValueError:
            try:
                ts = datetime.fromisoformat(text).timestamp()
            except ValueError:
                raise _BadLine(f"ts {text!r} is not a time") from None
    if not math.isfinite(ts) or ts < 0:
        raise _BadLine(f"ts {value!r} is not a time")
    return ts


def _count(value) -> int:
    if value is None:
        return 0
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _BadLine(f"orig_ip_bytes {value!r} is not a count") from None
    if number < 0:
        raise _BadLine(f"orig_ip_bytes {value!r} is not a count")
    return number


def _sniff_json_kind(record: dict) -> str | None:
    path = record.get("_path")
    if isinstance(path, str):
        return path
    if "conn_state" in record or "orig_ip_bytes" in record:
        return "conn"
    if "server_name" in record or "cipher" in record:
        return "ssl"
    if "method" in record or "trans_depth" in record:
        return "http"
    return None


class _Parser:
    """One file's lines -> records, TSV or JSON, headers honoured wherever they appear."""

    def __init__(self, reader: LogReader, file: LogFile):
        self.reader = reader
        self.file = file
        self.kind = file.kind
        self.format: str | None = None
        self.separator = "\t"
        self.empty = "(empty)"
        self.unset = "-"
        self.fields: list[str] | None = None
        self.index: dict[str, int] = {}

    def line(self, number: int, raw: bytes, complete: bool) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text.strip():
            return
        try:
            if text.startswith("#"):
                self._header(text)
            elif text.lstrip().startswith("{") and self.fields is None:
                self.format = "json"
                self._json(text)
            elif self.fields is not None:
                self._tsv(text)
            elif self.format is None:
                raise _BadFile("not a Zeek log: no #fields header and not a JSON object")
            else:
                raise _BadLine("is not a JSON object")
        except _BadLine as exc:
            message = str(exc) if complete else f"{exc} (an incomplete last line: the log is still being written?)"
            self.reader.bad_line(self.file, number, message)

    def _header(self, text: str) -> None:
        if text.startswith("#separator"):
            value = text[len("#separator"):].lstrip(" \t")
            self.separator = value.encode("ascii", "replace").decode("unicode_escape") or "\t"
            self.format = "tsv"
            return
        key, _, value = text.partition(self.separator)
        if key == "#empty_field":
            self.empty = value
        elif key == "#unset_field":
            self.unset = value
        elif key == "#path":
            self._set_kind(value)
        elif key == "#fields":
            self.fields = value.split(self.separator)
            self.index = {name: i for i, name in enumerate(self.fields)}
            self.format = "tsv"
            self._check_columns(self.index)
        # #set_separator (sets are not read), #types, #open, #close and comments need nothing

    def _set_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise _BadFile(f"a {kind} log, not conn, ssl or http")
        self.kind = kind

    def _check_columns(self, columns) -> None:
        if self.kind is None:
            raise _BadFile("cannot tell which log this is: name it conn/ssl/http.log or keep its #path line")
        missing = [name for name in _REQUIRED[self.kind] if name not in columns]
        if missing:
            raise _BadFile(f"the {self.kind} log has no {', '.join(missing)} field")

    def _tsv(self, text: str) -> None:
        values = text.split(self.separator)
        if len(values) != len(self.fields):
            raise _BadLine(f"has {len(values)} of the {len(self.fields)} fields")

        def get(name: str):
            i = self.index.get(name)
            if i is None or values[i] == self.unset:
                return None
            return "" if values[i] == self.empty else values[i]

        self._record(get)

    def _json(self, text: str) -> None:
        try:
            record = json.loads(text)
        except ValueError:
            raise _BadLine("is not valid JSON") from None
        if not isinstance(record, dict):
            raise _BadLine("is not a JSON object")
        if self.kind is None:
            kind = _sniff_json_kind(record)
            if kind is None:
                raise _BadFile("cannot tell which log this is: name it conn/ssl/http.log")
            self._set_kind(kind)
        self._record(record.get)

    def _record(self, get: Callable[[str], object]) -> None:
        ts = get("ts")
        uid = get("uid")
        if ts is None or not uid:
            raise _BadLine("has no ts or uid")
        if self.kind == "conn":
            src, dst = get("id.orig_h"), get("id.resp_h")
            if not src or not dst:
                raise _BadLine("has no id.orig_h or id.resp_h")
            self.reader.add_conn(ConnRecord(_timestamp(ts), str(uid), str(src), str(dst),
                                            _count(get("orig_ip_bytes"))), self.file)
        else:
            name = get(_NAME_FIELD[self.kind])
            self.reader.names.append(NameRecord(self.kind, _timestamp(ts), str(uid), str(name or "")))
        self.reader.report.records += 1


class _Feed:
    """Byte chunks of one file -> lines for its parser; gunzips ``.gz`` as it goes."""

    def __init__(self, reader: LogReader, file: LogFile):
        self.reader = reader
        self.file = file
        self.parser = _Parser(reader, file)
        self.gunzip = zlib.decompressobj(16 + zlib.MAX_WBITS) if file.path.endswith(".gz") else None
        self.pending = b""
        self.number = 0
        self.failed = False

    def feed(self, chunk: bytes) -> None:
        if self.failed:
            return
        if self.gunzip is not None:
            try:
                chunk = self.gunzip.decompress(chunk)
            except zlib.error as exc:
                where = f" after line {self.number}" if self.number else ""
                self.fail(f"is not valid gzip{where} ({exc})")
                return
        lines = (self.pending + chunk).split(b"\n")
        self.pending = lines.pop()
        for raw in lines:
            self._line(raw, complete=True)

    def _line(self, raw: bytes, complete: bool) -> None:
        self.number += 1
        try:
            self.parser.line(self.number, raw, complete)
        except _BadFile as exc:
            self.fail(str(exc), self.number)

    def close(self) -> None:
        """The end of the input: a last line without its newline is still read (and flagged if bad)."""
        if self.failed:
            return
        if self.pending:
            self._line(self.pending, complete=False)
            self.pending = b""
        if self.gunzip is not None and not self.failed and not self.gunzip.eof:
            self.fail(f"the gzip stream ends early after line {self.number} (truncated, or still being written)")

    def fail(self, message: str, line: int | None = None) -> None:
        self.failed = True
        self.reader.bad_file(self.file.shown, line, message)


class LogReader:
    """Collects records from any number of log files, newest first, and knows which older files
    cannot matter: once the last outbound connection is known, a file last written before the hour
    the window starts in holds no row RITA would read (unless a row read so far was newer than its
    file's mtime: then every file is read)."""

    def __init__(self, networks: Networks, window_seconds: int):
        self.networks = networks
        self.window_seconds = window_seconds
        self.conns: list[ConnRecord] = []
        self.names: list[NameRecord] = []
        self.report = ReadReport()
        self.last_outbound: int | None = None
        self.mtimes_trusted = True
        self._listed: dict[str, int] = {}

    def add_conn(self, conn: ConnRecord, file: LogFile) -> None:
        self.conns.append(conn)
        if conn.ts > file.mtime + MTIME_SLACK:
            self.mtimes_trusted = False  # copied, touched or a wrong clock: no file can be skipped by its mtime
        ts = int(conn.ts)
        if (self.last_outbound is None or ts > self.last_outbound) and self.networks.outbound(conn.orig_h,
                                                                                               conn.resp_h):
            self.last_outbound = ts

    def needed(self, file: LogFile) -> bool:
        if self.last_outbound is None or not self.mtimes_trusted:
            return True
        start = self.last_outbound - self.window_seconds
        return file.mtime >= start - start % HOUR

    def open(self, file: LogFile) -> _Feed:
        self.report.files_read.append(file.shown)
        return _Feed(self, file)

    def skip(self, file: LogFile) -> None:
        self.report.files_skipped.append(file.shown)

    def bad_line(self, file: LogFile, line: int, message: str) -> None:
        self.report.bad_lines += 1
        self._list(Problem(file.shown, line, message))

    def bad_file(self, path: str, line: int | None, message: str) -> None:
        """A file (or a folder that could not be listed) read in part or not at all."""
        if path not in self.report.bad_files:
            self.report.bad_files.append(path)
        self._list(Problem(path, line, message))

    def _list(self, problem: Problem) -> None:
        listed = self._listed.get(problem.file, 0)
        if listed < LISTED_PER_FILE:
            self.report.problems.append(problem)
        self._listed[problem.file] = listed + 1

    def result(self) -> ZeekLogs:
        return ZeekLogs(self.conns, self.names, self.report)


def newest_first(files: Sequence[LogFile]) -> list[LogFile]:
    return sorted(files, key=lambda f: (-f.mtime, f.path))


def local_files(paths: Sequence[Path]) -> tuple[list[LogFile], list[Problem]]:
    """The logs named: files as given, folders searched (symlinks followed, as zeekctl's
    ``logs/current`` is one) for conn/ssl/http logs, plain or ``.gz``. Newest first."""
    found: dict[str, LogFile] = {}
    problems: list[Problem] = []

    def add(path: str) -> None:
        try:
            found.setdefault(os.path.realpath(path), LogFile(path, os.stat(path).st_mtime))
        except OSError as exc:
            problems.append(Problem(path, None, exc.strerror or str(exc)))

    for path in paths:
        if path.is_dir():
            before = len(found)
            for folder, _dirs, names in os.walk(path, followlinks=True):
                for name in sorted(names):
                    if LOG_NAME.match(name):
                        add(os.path.join(folder, name))
            if len(found) == before:
                problems.append(Problem(str(path), None, "has no conn, ssl or http log"))
        elif path.exists():
            add(str(path))
        else:
            problems.append(Problem(str(path), None, "no such file or folder"))
    return newest_first(list(found.values())), problems


def read_local(files: Sequence[LogFile], reader: LogReader) -> ZeekLogs:
    for file in newest_first(files):
        if not reader.needed(file):
            reader.skip(file)
            continue
        feed = reader.open(file)
        try:
            with open(file.path, "rb") as handle:
                while chunk := handle.read(READ_BLOCK):
                    feed.feed(chunk)
        except OSError as exc:
            feed.fail(f"cannot be read: {exc.strerror or exc}", feed.number or None)
        feed.close()
    return reader.result()
