"""Which instance types can be a traffic-mirroring source.

The one table of AWS's rules, kept here with its source and the date it was
read, so that the wizard, the engine and the sandbox agree. AWS's own
``NetworkInterfaceNotSupported`` error still wins when it disagrees: the list
grows over time.
"""

from __future__ import annotations

from typing import NamedTuple

SOURCE = (
    "AWS VPC Traffic Mirroring documentation: 'Traffic Mirroring limitations' "
    "and 'Understand traffic mirror session concepts' "
    "(https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-limits.html)"
)
READ_ON = "2026-11-28"

#: Xen (non-Nitro) families that AWS allows as sources; every other Xen type
#: (T2 and the rest of the previous generation) is refused.
XEN_SUPPORTED_FAMILIES = frozenset(
    "c4 d2 g3 g3s h1 i3 m4 p2 p3 r4 x1 x1e".split()
)

#: Nitro families that AWS lists as not supported as sources.
NITRO_UNSUPPORTED_FAMILIES = frozenset(
    (
        # General purpose
        "m8g m6a m6i m6id m6idn m6in m7a m7g m7gd m7i m7i-flex "
        # Compute optimized
        "c8g c6a c6gd c6gn c6i c6id c6in c7a c7g c7gd c7gn c7i "
        # Memory optimized
        "r8g r6a r6i r6id r6idn r6in r7a r7g r7gd r7i r7iz x8g x2idn x2iedn x2iezn "
        # Storage optimized
        "i4g i4i im4gn is4gen "
        # Accelerated computing
        "inf2 p5 trn1 trn1n "
        # High-performance computing
        "hpc6a hpc6id hpc7a hpc7g"
    ).split()
)

MAX_SESSIONS_PER_SOURCE_ENI = 3
MAX_RULES_PER_FILTER = 10
MAX_SOURCES_PER_ENI_TARGET = 10
MAX_SOURCES_PER_LARGE_ENI_TARGET = 100
#: "The following instance types support up to 100 sources per target. All other
#: instance types support up to 10 sources per target." ("Traffic Mirroring quotas",
#: Sources, https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-quotas.html,
#: read 2026-11-30). Not always a family's largest size: c5 has two, p5.4xlarge is listed.
HUNDRED_SOURCE_TARGET_TYPES = frozenset(
    (
        # General Purpose
        "m5.24xlarge m5d.24xlarge m5dn.24xlarge m5n.24xlarge m5zn.12xlarge m6a.48xlarge m6g.16xlarge "
        "m6gd.16xlarge m6i.32xlarge m6id.32xlarge m6idn.32xlarge m6in.32xlarge m7a.48xlarge m7i.48xlarge "
        "m8a.48xlarge m8azn.24xlarge m8g.48xlarge m8gb.24xlarge m8gb.48xlarge m8gd.48xlarge m8gn.24xlarge "
        "m8gn.48xlarge m8i.96xlarge m8id.96xlarge "
        # Compute Optimized
        "c5.18xlarge c5.24xlarge c5d.18xlarge c5d.24xlarge c5n.18xlarge c6a.48xlarge c6g.16xlarge "
        "c6gd.16xlarge c6gn.16xlarge c6i.32xlarge c6id.32xlarge c6in.32xlarge c7a.48xlarge c7gn.16xlarge "
        "c7i.48xlarge c8a.48xlarge c8g.48xlarge c8gb.24xlarge c8gb.48xlarge c8gd.48xlarge c8gn.24xlarge "
        "c8gn.48xlarge c8i.96xlarge c8id.96xlarge "
        # Memory Optimized
        "r5.24xlarge r5b.24xlarge r5d.24xlarge r5dn.24xlarge r5n.24xlarge r6a.48xlarge r6g.16xlarge "
        "r6gd.16xlarge r6i.32xlarge r6id.32xlarge r6idn.32xlarge r6in.32xlarge r7a.48xlarge r7i.48xlarge "
        "r7iz.32xlarge r8a.48xlarge r8g.48xlarge r8gb.24xlarge r8gb.48xlarge r8gd.48xlarge r8gn.24xlarge "
        "r8gn.48xlarge r8i.96xlarge r8id.96xlarge u-6tb1.56xlarge u-6tb1.112xlarge u-9tb1.112xlarge "
        "u-12tb1.112xlarge u-18tb1.112xlarge u-24tb1.112xlarge u7i-6tb.112xlarge u7i-8tb.112xlarge "
        "u7i-12tb.224xlarge u7in-16tb.224xlarge u7in-24tb.224xlarge u7in-32tb.224xlarge u7inh-32tb.480xlarge "
        "x2gd.16xlarge x2idn.32xlarge x2iedn.32xlarge x2iezn.12xlarge x8g.48xlarge x8aedz.24xlarge "
        "x8i.96xlarge z1d.12xlarge "
        # Storage Optimized
        "i3en.24xlarge i4g.16xlarge i4i.32xlarge i7i.48xlarge i7ie.48xlarge i8g.48xlarge i8ge.48xlarge "
        "im4gn.16xlarge "
        # Accelerated Computing
        "dl1.24xlarge dl2q.24xlarge f2.48xlarge g5.48xlarge g5g.16xlarge g6.48xlarge g6e.12xlarge "
        "g6e.24xlarge g6e.48xlarge g7e.12xlarge g7e.24xlarge g7e.48xlarge inf1.24xlarge inf2.48xlarge "
        "p3dn.24xlarge p4d.24xlarge p4de.24xlarge p5.4xlarge p5.48xlarge p5e.48xlarge p5en.48xlarge "
        "p6-b200.48xlarge p6-b300.48xlarge p6e-gb200.36xlarge trn1.32xlarge trn1n.32xlarge trn2.3xlarge "
        "trn2.48xlarge trn2u.48xlarge vt1.24xlarge "
        # High Performance Computing
        "hpc6a.48xlarge hpc6id.32xlarge hpc7a.12xlarge hpc7a.24xlarge hpc7a.48xlarge hpc7a.96xlarge "
        "hpc7g.4xlarge hpc7g.8xlarge hpc7g.16xlarge hpc8a.96xlarge"
    ).split()
)
VXLAN_OVERHEAD_IPV4 = 54
VXLAN_OVERHEAD_IPV6 = 74
USD_PER_MIRRORED_ENI_HOUR = 0.015


class Support(NamedTuple):
    supported: bool
    reason: str
    badge: str  # a few characters for a table column, e.g. "✓ Nitro", "✗ bare metal"


def family_of(instance_type: str) -> str:
    """``m7i-flex.large`` -> ``m7i-flex`` (lower case)."""
    return instance_type.split(".", 1)[0].lower()


def support_of(instance_type: str, hypervisor: str | None, bare_metal: bool) -> Support:
    """Whether ``instance_type`` can be a mirror source, and why (not).

    ``hypervisor`` and ``bare_metal`` are DescribeInstanceTypes' ``Hypervisor``
    and ``BareMetal`` for the type.
    """
    family = family_of(instance_type)
    if bare_metal or instance_type.lower().endswith(".metal"):
        return Support(False, f"{instance_type} is bare metal; AWS does not mirror bare-metal instances",
                       "✗ bare metal")
    if hypervisor == "nitro":
        if family in NITRO_UNSUPPORTED_FAMILIES:
            return Support(
                False,
                f"{instance_type}: AWS lists the Nitro family {family} as not supported for traffic mirroring",
                "✗ excluded",
            )
        return Support(True, f"{instance_type} is a Nitro type that AWS supports as a mirror source", "✓ Nitro")
    if family in XEN_SUPPORTED_FAMILIES:
        return Support(True, f"{instance_type} is one of the Xen families AWS supports ({family})", "✓ Xen")
    if hypervisor == "xen":
        return Support(
            False,
            f"{instance_type} is a Xen (non-Nitro) type outside AWS's supported list; use a Nitro type",
            "✗ old Xen",
        )
    return Support(False, f"{instance_type}: unknown hypervisor; AWS mirrors Nitro types and a few Xen families",
                   "✗ unknown")


def sources_per_eni_target(instance_type: str) -> int:
    """How many sources an ENI target on ``instance_type`` takes: 100 on the types
    the quotas page lists, 10 on every other."""
    if instance_type.lower() in HUNDRED_SOURCE_TARGET_TYPES:
        return MAX_SOURCES_PER_LARGE_ENI_TARGET
    return MAX_SOURCES_PER_ENI_TARGET
