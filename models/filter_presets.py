"""The filter step's presets: whole rule sets that fit AWS's budget of 10 rules per filter."""

from __future__ import annotations

from dataclasses import dataclass

from vpc_mirror.models.plan import TCP, FilterRule, PortRange, default_rules

PRIVATE_V4 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    rules: tuple[FilterRule, ...]
    amazon_dns: bool


def _accept_all(number_v4: int = 100, number_v6: int = 200) -> list[FilterRule]:
    return [FilterRule(direction=d, number=n, source_cidr=c, destination_cidr=c)
            for d in ("ingress", "egress") for n, c in ((number_v4, "0.0.0.0/0"), (number_v6, "::/0"))]


def _no_ssh() -> list[FilterRule]:
    """SSH to the sources left out: inbound to port 22 and the replies from it, IPv4 and IPv6."""
    ssh = PortRange(from_port=22, to_port=22)
    rejects = [
        FilterRule(direction=d, number=n, action="reject", protocol=TCP, source_cidr=c, destination_cidr=c,
                   description="no SSH", **({"destination_ports": ssh} if d == "ingress" else {"source_ports": ssh}))
        for d in ("ingress", "egress") for n, c in ((10, "0.0.0.0/0"), (20, "::/0"))
    ]
    return rejects + _accept_all()


def _internet_only() -> list[FilterRule]:
    """Traffic whose other side is on the internet: private IPv4 peers rejected first (IPv6 is all public)."""
    rejects = []
    for number, block in zip((10, 20, 30), PRIVATE_V4):
        rejects.append(FilterRule(direction="ingress", number=number, action="reject", source_cidr=block,
                                  destination_cidr="0.0.0.0/0", description="private peer"))
        rejects.append(FilterRule(direction="egress", number=number, action="reject", source_cidr="0.0.0.0/0",
                                  destination_cidr=block, description="private peer"))
    return rejects + _accept_all()


PRESETS: list[Preset] = [
    Preset("everything", "Everything, both directions, with Amazon DNS", tuple(default_rules()), True),
    Preset("no-ssh", "Everything but SSH to the sources", tuple(_no_ssh()), True),
    Preset("internet", "Only traffic to or from the internet", tuple(_internet_only()), False),
]


def preset_of(rules: list[dict], amazon_dns: bool) -> str | None:
    """The preset these answers are, or None when edited by hand."""
    for preset in PRESETS:
        if preset.amazon_dns == amazon_dns and [r.model_dump(mode="json", exclude_none=True)
                                                 for r in preset.rules] == rules:
            return preset.key
    return None
