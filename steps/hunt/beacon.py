"""The test beacon in a hunt's result, and what the state keeps of a hunt. Pure: no I/O, no AWS."""

from __future__ import annotations

from dataclasses import dataclass

from .pairs import HuntResult, PairResult
from .zeeklogs import ReadReport


@dataclass(frozen=True)
class TestBeacon:
    """How the setup's test beacon shows in the logs: from its address (once launched) to its destination."""

    __test__ = False  # not a pytest test class despite the name

    src: str | None
    dst: str
    interval_seconds: int

    def __str__(self) -> str:
        return f"{self.src or 'the test beacon'} -> {self.dst} every {self.interval_seconds} s"


def beacon_pair(result: HuntResult, beacon: TestBeacon) -> PairResult | None:
    """The best-scoring pair to the beacon's destination or from its address (a dedicated instance: only it)."""
    mine = [p for p in result.pairs if p.dst == beacon.dst or (beacon.src is not None and p.src == beacon.src)]
    return max(mine, key=lambda p: p.score.score, default=None)


def hunt_facts(result: HuntResult, report: ReadReport, beacon: TestBeacon | None, logs: str) -> dict:
    """What the state keeps of a hunt (``logs``: where they were read): the beacon's pair, counts, what was unread."""
    found = beacon_pair(result, beacon) if beacon is not None else None
    return {
        "logs": logs,
        "beacon_pair": None if found is None else {"src": found.src, "dst": found.dst, "score": found.score.score,
                                                   "severity": found.score.severity.value},
        "pairs": len(result.pairs),
        "connections": result.connections,
        "unreadable_lines": report.bad_lines,
        "unreadable_files": list(report.bad_files),
    }


def verdict(result: HuntResult, facts: dict, beacon: TestBeacon | None) -> str | None:
    """Why the hunt does not prove anything yet, or None when it does (the logs were scored, the beacon found)."""
    if result.window is None:
        return "no internal -> external connection in Zeek's logs yet"
    if beacon is not None and facts["beacon_pair"] is None:
        return (f"the test beacon ({beacon}) is not among the scored pairs yet: RITA needs at least 4 of its "
                "connections in distinct seconds")
    return None
