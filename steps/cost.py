"""What mirroring costs while a setup runs, so nobody is surprised by the bill.

AWS bills each ENI with traffic mirroring enabled per hour; one session mirrors
one source ENI. Instances, data transfer and load balancers come on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpc_mirror.models.actions import Action
from vpc_mirror.models.mirroring_support import USD_PER_MIRRORED_ENI_HOUR
from vpc_mirror.models.state import State

HOURS_PER_MONTH = 730
NOTE = "data transfer, instances and load balancers are billed separately"


@dataclass(frozen=True)
class Cost:
    sessions: int

    @property
    def hourly(self) -> float:
        return self.sessions * USD_PER_MIRRORED_ENI_HOUR

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH

    def line(self) -> str:
        return (f"mirroring: {self.sessions} session(s) × USD {USD_PER_MIRRORED_ENI_HOUR} per ENI-hour = "
                f"USD {self.hourly:.3f}/hour, about USD {self.monthly:.2f}/month ({HOURS_PER_MONTH} h); {NOTE}")

    def document(self) -> dict:
        return {"sessions": self.sessions, "usd_per_hour": round(self.hourly, 6),
                "usd_per_month": round(self.monthly, 2), "note": NOTE}


def running_cost(state: State) -> Cost:
    """The cost of a saved setup now: its live sessions."""
    live = [r for s in state.steps.values() for r in s.resources.values()
            if r.kind == "mirror-session" and r.status == "created"]
    return Cost(len(live))


def planned_cost(actions: list[Action]) -> Cost:
    """The cost once a plan is applied (the review screen's line)."""
    return Cost(sum(1 for a in actions if a.kind == "mirror-session" and a.verb in ("create", "reuse")))
