"""Where mirrored packets were lost: the capture interface's counters, tcpdump's own statistics, and our count.

The remote capture (``remote.COUNTED``) prints, on the same SSH channel's
stderr, the interface's counters from /sys when tcpdump starts listening,
every second, and after tcpdump has ended; each second it also asks tcpdump
for its statistics (SIGUSR1), and tcpdump prints them once more when it
stops. ``Readings`` collects those lines; ``account`` turns them and the
number of packets vpc-mirror counted into a ``Loss``:

    interface_rx = captured + filtered_out + kernel_dropped + interface_dropped + unaccounted

* ``interface_rx``: packets that reached the capture interface while tcpdump
  listened (rx_packets, plus the drop counters below: drivers leave the
  packets they drop out of rx_packets), mirrored or not;
* ``captured``: packets vpc-mirror received and counted;
* ``filtered_out``: packets tcpdump's filter did not take (not mirrored
  traffic: the sensor's own, ARP, ...; with --vni/--source, also the other
  VNIs and sources). It is the interface's figure minus tcpdump's, read a
  moment apart, so it is off by what arrived in between;
* ``kernel_dropped``: matched the filter but the kernel's capture buffer was
  full (tcpdump, the SSH connection or vpc-mirror did not keep up);
* ``interface_dropped``: dropped by the NIC or its driver before any capture
  could see them (rx_dropped, rx_missed_errors, rx_fifo_errors, rx_over_errors);
* ``unaccounted``: matched the filter, not dropped by the kernel, yet not
  counted here: still in tcpdump's buffer when it stopped, or cut off with
  the stream.

A number that could not be read (no /sys, tcpdump killed before it printed
its statistics, or printed them in a form not parsed here) is ``UNKNOWN``,
never 0. While the capture runs, ``unaccounted``
is None (packets are still on their way), and so are tcpdump's figures until
its first statistics arrive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

UNKNOWN = "unknown"
COUNTERS_TAG = "vpc-mirror-counters"
#: the interface counters the remote capture prints, in this order
COUNTERS = ("rx_packets", "rx_dropped", "rx_missed_errors", "rx_fifo_errors", "rx_over_errors")

_LIVE_STATS = re.compile(r"(\d+) packets? captured, (\d+) packets? received by filter, (\d+) packets? dropped by kernel")
_FINAL_STATS = {name: re.compile(rf"^(\d+) packets? {words}$") for name, words in (
    ("captured", "captured"), ("received", "received by filter"), ("dropped", "dropped by kernel"))}


@dataclass(frozen=True)
class Counters:
    """One reading of the interface: rx_packets and the sum of its drop counters (None: could not be read)."""

    rx_packets: int | None
    dropped: int | None

    @classmethod
    def parse(cls, values: list[str]) -> Counters:
        numbers = [int(v) if v.isdigit() else None for v in values]
        rx, drops = (numbers + [None] * len(COUNTERS))[0], numbers[1:len(COUNTERS)]
        return cls(rx, sum(drops) if len(drops) == len(COUNTERS) - 1 and None not in drops else None)


@dataclass(frozen=True)
class TcpdumpStats:
    """tcpdump's own statistics: packets it wrote out, that its filter took, that the kernel dropped."""

    captured: int
    received: int
    dropped: int


@dataclass
class Readings:
    """What the remote capture reported about itself, line by line (``add``)."""

    start: Counters | None = None
    latest: Counters | None = None  # the newest reading, the end's once tcpdump has ended
    ended: bool = False  # the end reading arrived: tcpdump has exited
    live_stats: TcpdumpStats | None = None  # the newest of the once-a-second statistics
    final_stats: TcpdumpStats | None = None  # what tcpdump printed as it stopped
    _final: dict[str, int] = field(default_factory=dict)

    def add(self, line: str) -> bool:
        """Take one line of the capture's stderr; True when it was about loss (not for the status line)."""
        if line.startswith(COUNTERS_TAG + " "):
            _tag, when, *values = line.split()
            reading = Counters.parse(values)
            if when == "start":
                self.start = reading
            self.latest = reading
            self.ended = self.ended or when == "end"
            return True
        if match := _LIVE_STATS.search(line):
            self.live_stats = TcpdumpStats(*map(int, match.groups()))
            return True
        for name, pattern in _FINAL_STATS.items():
            if match := pattern.match(line):
                self._final[name] = int(match.group(1))
                if len(self._final) == len(_FINAL_STATS):
                    self.final_stats = TcpdumpStats(**self._final)
                return True
        return False


@dataclass(frozen=True)
class Loss:
    """The loss account of one capture: each figure an int, ``UNKNOWN``, or None while it is not known yet."""

    interface_rx: int | str
    captured: int
    filtered_out: int | str | None
    kernel_dropped: int | str | None
    interface_dropped: int | str
    unaccounted: int | str | None
    final: bool

    def as_json(self) -> dict:
        return {"interface_rx": self.interface_rx, "captured": self.captured, "filtered_out": self.filtered_out,
                "kernel_dropped": self.kernel_dropped, "interface_dropped": self.interface_dropped,
                "unaccounted": self.unaccounted}

    @property
    def lost(self) -> int:
        """Packets known to be lost (the unknown ones not included: see ``unknown``)."""
        return sum(n for n in (self.kernel_dropped, self.interface_dropped, self.unaccounted) if isinstance(n, int))

    @property
    def unknown(self) -> list[str]:
        """The loss figures that could not be read."""
        return [name for name in ("kernel_dropped", "interface_dropped", "unaccounted")
                if getattr(self, name) == UNKNOWN]

    @property
    def mirrored(self) -> int:
        """Packets that matched the filter or were dropped before it: what should have been counted."""
        return self.captured + self.lost


def _delta(end: int | None, start: int | None) -> int | str:
    return end - start if end is not None and start is not None else UNKNOWN


def account(readings: Readings, captured: int, over: bool) -> Loss:
    """The account as of now. ``over``: the capture has ended; the figures are then final, and any that tcpdump
    or the sensor did not report at the end (the connection dropped, tcpdump was killed) are ``UNKNOWN``."""
    if over and not readings.ended:  # no reading after tcpdump ended: the last ones would under-count
        return Loss(UNKNOWN, captured, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, True)
    start, latest = readings.start or Counters(None, None), readings.latest or Counters(None, None)
    interface_dropped = _delta(latest.dropped, start.dropped)
    rx = _delta(latest.rx_packets, start.rx_packets)
    interface_rx = rx + interface_dropped if isinstance(rx, int) and isinstance(interface_dropped, int) else UNKNOWN
    stats = readings.final_stats if over else readings.live_stats
    if stats is None:  # not yet asked (the first second), or tcpdump did not say
        kernel = filtered = unaccounted = UNKNOWN if over else None
    else:
        kernel = stats.dropped
        filtered = rx - stats.received if isinstance(rx, int) else UNKNOWN
        unaccounted = stats.received - stats.dropped - captured
    return Loss(interface_rx, captured, filtered, kernel, interface_dropped, unaccounted if over else None, over)


#: a loss of at least this share of the mirrored packets is shown as an error, any smaller one as a warning
ERROR_SHARE = 0.01


def _n(value: int | str | None) -> str:
    return "…" if value is None else f"{value:,}" if isinstance(value, int) else value


def describe(loss: Loss) -> str:
    """One line for people: where the packets went, in the account's order."""
    lost = f"{_n(loss.kernel_dropped)} dropped by the kernel, {_n(loss.interface_dropped)} by the interface"
    if loss.final:
        lost += f", {_n(loss.unaccounted)} unaccounted"
    share = f" ({loss.lost / loss.mirrored:.2%} lost)" if loss.lost and loss.mirrored else ""
    return (f"{_n(loss.interface_rx)} packets reached the interface{'' if loss.final else ' so far'}: "
            f"{_n(loss.captured)} counted here, {_n(loss.filtered_out)} filtered out, {lost}{share}")


def severity(loss: Loss) -> str:
    """"ok" (nothing lost), "warning" (a little lost, or a figure unknown), "error" (ERROR_SHARE or more lost)."""
    if loss.lost and loss.lost >= ERROR_SHARE * loss.mirrored:
        return "error"
    return "warning" if loss.lost or loss.unknown else "ok"
