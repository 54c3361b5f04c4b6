"""Incremental pcap reader and writer.

The sensor's `tcpdump -U -w -` arrives over SSH in chunks of any size, so the
reader keeps the incomplete tail and hands out only whole records. Records are
returned as offsets into one buffer rather than copied, because the decoder
reads fixed offsets with `struct.unpack_from` and a copy per packet would cost
more than the decoding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

MAGIC_MICRO = 0xA1B2C3D4
MAGIC_NANO = 0xA1B23C4D

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
SUPPORTED_LINKTYPES = frozenset({LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2})

GLOBAL_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
# A record longer than this is a corrupt stream, not a packet (tcpdump's own
# limit for its largest snaplen is 256 KiB; GSO frames stay well below it).
MAX_RECORD_LEN = 1 << 20

Record = tuple[int, int, int, int, float]
"""(data offset in the batch buffer, caplen, origlen, seconds, timestamp)."""


@dataclass(frozen=True, slots=True)
class PcapHeader:
    """The global header: how to read every record that follows."""

    byte_order: str  # "<" or ">", for struct
    nanosecond: bool
    version: tuple[int, int]
    snaplen: int
    linktype: int


@dataclass(frozen=True)
class Unfinished:
    """What a pcap input left incomplete when it ended; ``fatal`` when it had no pcap header at all."""

    message: str
    fatal: bool


class PcapStream:
    """Feed it bytes as they arrive; get back the records that completed.

    A bad magic, an unsupported link type or an impossible record length puts
    the stream in an error state (`error` says why) and it ignores further
    input: the caller shows the message instead of crashing.
    """

    __slots__ = ("header", "error", "_rest", "_rec", "_scale")

    def __init__(self) -> None:
        self.header: PcapHeader | None = None
        self.error: str | None = None
        self._rest = b""
        self._rec = struct.Struct("<IIII")
        self._scale = 1e-6

    def take(self, data: bytes) -> bytes:
        """Add `data`; return the unread bytes, starting at a record header.

        The caller walks the whole records in the result and hands the
        position of the first incomplete one back to `keep`. (The capture
        session does this walk itself: it is its per-packet loop.)
        """
        if self.error is not None:
            return b""
        buf = self._rest + data if self._rest else bytes(data)
        if self.header is None:
            if len(buf) < GLOBAL_HEADER_LEN:
                self._rest = buf
                return b""
            if not self._read_header(buf):
                return b""
            buf = buf[GLOBAL_HEADER_LEN:]
        self._rest = b""
        return buf

    def keep(self, buf: bytes, pos: int) -> None:
        """Remember buf[pos:], the incomplete record, for the next `take`."""
        if pos < len(buf):
            rest = buf[pos:]
            if len(rest) >= RECORD_HEADER_LEN and self._rec.unpack_from(rest)[2] > MAX_RECORD_LEN:
                self._fail(f"corrupt pcap stream: record of {self._rec.unpack_from(rest)[2]} bytes")
                return
            self._rest = rest

    def feed(self, data: bytes) -> tuple[bytes, list[Record]]:
        """Add `data`; return a buffer and the records it completed, in order."""
        buf = self.take(data)
        unpack = self._rec.unpack_from
        scale = self.scale
        records: list[Record] = []
        pos, end = 0, len(buf)
        while pos + RECORD_HEADER_LEN <= end:
            sec, frac, caplen, origlen = unpack(buf, pos)
            nxt = pos + RECORD_HEADER_LEN + caplen
            if nxt > end:
                break
            records.append((pos + RECORD_HEADER_LEN, caplen, origlen, sec, sec + frac * scale))
            pos = nxt
        self.keep(buf, pos)
        return buf, records

    @property
    def record_header(self) -> struct.Struct:
        """(seconds, fraction, caplen, origlen) in this stream's byte order."""
        return self._rec

    @property
    def scale(self) -> float:
        """Seconds per unit of a record's timestamp fraction."""
        return self._scale

    def _read_header(self, buf: bytes) -> bool:
        for order in "<>":
            magic, major, minor, _zone, _sigfigs, snaplen, linktype = struct.unpack_from(
                order + "IHHiIII", buf
            )
            if magic in (MAGIC_MICRO, MAGIC_NANO):
                break
        else:
            self._fail(f"not a pcap stream (magic {buf[:4].hex()}); pcapng is not supported")
            return False
        linktype &= 0xFFFF  # upper bits carry FCS information
        if linktype not in SUPPORTED_LINKTYPES:
            self._fail(f"unsupported pcap link type {linktype}")
            return False
        nano = magic == MAGIC_NANO
        self.header = PcapHeader(order, nano, (major, minor), snaplen, linktype)
        self._rec = struct.Struct(order + "IIII")
        self._scale = 1e-9 if nano else 1e-6
        return True

    def unfinished(self) -> Unfinished | None:
        """At the end of the input: what it left incomplete (no header, a record cut short), or None.

        A file or stream that stops mid-record lost that record; saying so is
        how a truncated capture is told from a complete one.
        """
        if self.error is not None:
            return None
        if self.header is None:
            if not self._rest:
                return Unfinished("is empty: not a pcap file", True)
            return Unfinished(f"ends inside the pcap file header ({len(self._rest)} of {GLOBAL_HEADER_LEN} bytes): "
                              "not a pcap file", True)
        if not self._rest:
            return None
        if len(self._rest) < RECORD_HEADER_LEN:
            return Unfinished(f"ends inside a record header ({len(self._rest)} of {RECORD_HEADER_LEN} bytes): "
                              "the file is truncated", False)
        caplen = self._rec.unpack_from(self._rest)[2]
        return Unfinished(f"ends inside its last record ({len(self._rest) - RECORD_HEADER_LEN} of {caplen} bytes): "
                          "the file is truncated and that record is not counted", False)

    def _fail(self, message: str) -> None:
        self.error = message
        self._rest = b""


def global_header(snaplen: int = 262144, linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """A little-endian microsecond pcap global header."""
    return struct.pack("<IHHiIII", MAGIC_MICRO, 2, 4, 0, 0, snaplen, linktype)


def record(ts: float, frame: bytes, origlen: int | None = None) -> bytes:
    """One little-endian microsecond record: header plus the captured bytes."""
    sec = int(ts)
    usec = round((ts - sec) * 1e6)
    if usec >= 1_000_000:
        sec, usec = sec + 1, usec - 1_000_000
    wire = len(frame) if origlen is None else origlen
    return struct.pack("<IIII", sec, usec, len(frame), wire) + frame
