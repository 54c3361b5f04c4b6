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
#: "for M5 instances, the maximum is 100 for m5.24xlarge": the largest non-metal size of a family.
MAX_SOURCES_PER_LARGEST_ENI_TARGET = 100
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


def sources_per_eni_target(instance_type: str, family_vcpus: dict[str, int]) -> int:
    """How many sources an ENI target on ``instance_type`` takes.

    ``family_vcpus`` maps the non-metal types of its family to their vCPUs
    (DescribeInstanceTypes); the largest of them takes 100, every other 10.
    """
    own = family_vcpus.get(instance_type)
    if own is not None and family_vcpus and own == max(family_vcpus.values()):
        return MAX_SOURCES_PER_LARGEST_ENI_TARGET
    return MAX_SOURCES_PER_ENI_TARGET
