"""What mirroring costs while a setup runs, so nobody is surprised by the bill.

AWS bills each ENI with traffic mirroring enabled per hour; one session mirrors
one source ENI. A load balancer this setup creates adds its hourly price and
capacity units (LCUs, which grow with the mirrored traffic), and a Gateway Load
Balancer's endpoint its own hour and per-GB price. Instances and data transfer
come on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from vpc_mirror.models.actions import Action
from vpc_mirror.models.load_balancing import CROSS_ZONE
from vpc_mirror.models.mirroring_support import USD_PER_MIRRORED_ENI_HOUR
from vpc_mirror.models.state import State

HOURS_PER_MONTH = 730
NOTE = "data transfer, instances and load balancers are billed separately"

#: us-east-1 list prices, read 2026-11-30 (https://aws.amazon.com/elasticloadbalancing/pricing/,
#: https://aws.amazon.com/privatelink/pricing/): per hour of a load balancer, per capacity-unit hour, and
#: for a Gateway Load Balancer endpoint per hour (one zone) and per GB it processes.
USD_PER_LB_HOUR = {"network": 0.0225, "gateway": 0.0125}
USD_PER_LCU_HOUR = {"network": 0.006, "gateway": 0.004}
USD_PER_GWLB_ENDPOINT_HOUR = 0.01
USD_PER_GWLB_ENDPOINT_GB = 0.0035
#: Data between Availability Zones of a Region, each direction.
USD_PER_CROSS_ZONE_GB = 0.01
LB_NAMES = {"network": "Network Load Balancer", "gateway": "Gateway Load Balancer"}


@dataclass(frozen=True)
class Cost:
    sessions: int
    #: the type ("network" | "gateway") of each load balancer the setup creates (a reused one is not its cost)
    load_balancers: tuple[str, ...] = ()
    #: GWLB endpoints the setup creates
    endpoints: int = 0
    #: the created load balancer's cross-zone attribute; None without one
    cross_zone: bool | None = None

    @property
    def hourly(self) -> float:
        """Mirroring plus the fixed hourly part of load balancers and endpoints (LCUs and GBs come on top)."""
        return (self.sessions * USD_PER_MIRRORED_ENI_HOUR + sum(USD_PER_LB_HOUR[t] for t in self.load_balancers)
                + self.endpoints * USD_PER_GWLB_ENDPOINT_HOUR)

    @property
    def monthly(self) -> float:
        return self.hourly * HOURS_PER_MONTH

    def line(self) -> str:
        mirroring = (f"mirroring: {self.sessions} session(s) × USD {USD_PER_MIRRORED_ENI_HOUR} per ENI-hour = "
                     f"USD {self.sessions * USD_PER_MIRRORED_ENI_HOUR:.3f}/hour")
        if not self.load_balancers and not self.endpoints:
            return f"{mirroring}, about USD {self.monthly:.2f}/month ({HOURS_PER_MONTH} h); {NOTE}"
        total = (f"together USD {self.hourly:.3f}/hour, about USD {self.monthly:.2f}/month ({HOURS_PER_MONTH} h) "
                 "before capacity units and data; data transfer and instances are billed separately")
        return "; ".join([mirroring, *self.load_balancer_lines(), total])

    def load_balancer_lines(self) -> list[str]:
        lines = [f"{LB_NAMES[t]}: USD {USD_PER_LB_HOUR[t]}/hour plus USD {USD_PER_LCU_HOUR[t]} per capacity-unit "
                 "hour (capacity units grow with the mirrored traffic)" for t in self.load_balancers]
        if self.endpoints:
            lines.append(f"{self.endpoints} Gateway Load Balancer endpoint(s): USD {USD_PER_GWLB_ENDPOINT_HOUR}/hour "
                         f"each plus USD {USD_PER_GWLB_ENDPOINT_GB} per GB mirrored")
        if self.cross_zone is True:
            lines.append(f"cross-zone on: traffic a load balancer node sends to a sensor in another zone costs "
                         f"USD {USD_PER_CROSS_ZONE_GB}/GB each way")
        elif self.cross_zone is False:
            lines.append("cross-zone off: each load balancer node sends only to sensors in its own zone (no "
                         "cross-zone charge there; a zone without a healthy sensor gets no traffic)")
        return lines

    def document(self) -> dict:
        return {"sessions": self.sessions, "load_balancers": list(self.load_balancers), "endpoints": self.endpoints,
                "cross_zone": self.cross_zone, "usd_per_hour": round(self.hourly, 6),
                "usd_per_month": round(self.monthly, 2), "note": NOTE}


def _cross_zone(attributes: dict) -> bool | None:
    value = attributes.get(CROSS_ZONE)
    return None if value is None else value == "true"


def running_cost(state: State) -> Cost:
    """The cost of a saved setup now: its live sessions, and the load balancer and endpoint it created."""
    live = [r for s in state.steps.values() for r in s.resources.values() if r.status == "created"]
    attributes = next((r.attrs for r in live if r.kind == "lb-attributes"), {})
    return Cost(sum(1 for r in live if r.kind == "mirror-session"),
                tuple(r.attrs.get("type") for r in live if r.kind == "load-balancer"),
                sum(1 for r in live if r.kind == "vpc-endpoint"), _cross_zone(attributes))


def planned_cost(actions: list[Action]) -> Cost:
    """The cost once a plan is applied (the review screen's line)."""
    made = [a for a in actions if a.verb == "create"]
    attributes = next(({i["Key"]: i["Value"] for i in a.params.get("Attributes", [])}
                       for a in made if a.kind == "lb-attributes"), {})
    return Cost(sum(1 for a in actions if a.kind == "mirror-session" and a.verb in ("create", "reuse")),
                tuple(a.params["Type"] for a in made if a.kind == "load-balancer"),
                sum(1 for a in made if a.kind == "vpc-endpoint"), _cross_zone(attributes))
