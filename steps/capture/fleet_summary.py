"""The headless summary of a sensor fleet: the fleet's totals, a column per sensor, and what the view cannot vouch for.

Shape: `summary.py`'s keys for the whole fleet (every sensor's counts added
up), and
    "sensors": {sensor key: that sensor's own summary, with its "loss"},
    "missing_sensors": {sensor key: why it could not be read},
    "one_direction_per_sensor": [directions.SplitConnection.as_json(), ...],
    "warnings": [what the user must know to read the figures right]
and each flow row gains "by_sensor": {sensor key: packets}. A sensor that
could not be read has no column (one whose capture broke off keeps what it
delivered): its packets are not all in the totals, and the warnings say so
("counts may be short"), never silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .aggregate import Snapshot
from .directions import FIX, WHY, one_direction_per_sensor
from .loss import Loss
from .merge import merge_snapshots
from .summary import summary


def _flow_key(row: dict) -> tuple:
    return row["vni"], row["src"], row["dst"], row["proto"], row["sport"], row["dport"]


def fleet_summary(per_sensor: Mapping[str, Snapshot], missing: Mapping[str, str],
                  losses: Mapping[str, Loss] | None = None) -> dict[str, Any]:
    """The fleet's summary: totals over the sensors read, their columns, the missing ones, split connections."""
    losses = losses or {}
    doc = summary(merge_snapshots(per_sensor.values()))
    columns = {key: summary(snap, losses.get(key)) for key, snap in per_sensor.items()}
    for row in doc["flows"]:
        row["by_sensor"] = {}
    rows = {_flow_key(row): row for row in doc["flows"]}
    for key, column in columns.items():
        for row in column["flows"]:
            rows[_flow_key(row)]["by_sensor"][key] = row["packets"]
    split = one_direction_per_sensor(per_sensor)
    return doc | {"sensors": columns, "missing_sensors": dict(missing),
                  "one_direction_per_sensor": [c.as_json() for c in split],
                  "warnings": fleet_warnings(split, missing)}


def fleet_warnings(split, missing: Mapping[str, str]) -> list[str]:
    warnings = [f"{key}: {why}; counts may be short (its packets are not all in the totals)"
                for key, why in missing.items()]
    if split:
        more = f" and {len(split) - 1} more" if len(split) > 1 else ""
        warnings.append(f"{len(split)} connection(s) reached the sensors one direction each ({split[0].text()}"
                        f"{more}): {WHY}. Fix: {FIX}")
    return warnings


def fleet_rows(doc: dict[str, Any], shown_flows: int) -> tuple[list[str], list[list[str]]]:
    """The fleet summary as a table: (header, rows), a column per sensor read and the total, for the text output
    and the live screen alike; the busiest ``shown_flows`` flows only."""
    keys = list(doc["sensors"])
    columns = [doc["sensors"][k] for k in keys]

    def row(label: str, figure) -> list[str]:
        return [label, *(str(figure(c)) for c in columns), str(figure(doc))]

    rows = [row("packets", lambda d: d["packets"]), row("VXLAN", lambda d: d["vxlan_packets"]),
            row("inside GENEVE", lambda d: d["geneve_packets"])]
    rows += [row(f"VNI {vni}", lambda d, vni=vni: d["vnis"].get(vni, 0)) for vni in sorted(doc["vnis"])]
    rows += [row(f"from {source}", lambda d, source=source: d["sources"].get(source, 0))
             for source, _ in sorted(doc["sources"].items(), key=lambda kv: -kv[1])]
    for flow in doc["flows"][:shown_flows]:
        ports = f":{flow['sport']} > " if flow["sport"] is not None else " > "
        dport = f":{flow['dport']}" if flow["dport"] is not None else ""
        rows.append([f"vni {flow['vni']} proto {flow['proto']} {flow['src']}{ports}{flow['dst']}{dport}",
                     *(str(flow["by_sensor"].get(k, 0)) for k in keys), str(flow["packets"])])
    return ["", *keys, "total"], rows
