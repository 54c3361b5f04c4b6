"""Install the sandbox's additions into moto's EC2 API - the one place that patches moto.

- :class:`SandboxActions` goes in front of ``moto.ec2.responses.EC2Response``'s
  bases, so its methods answer those EC2 actions instead of moto's: the
  traffic-mirroring actions (:mod:`sandbox.mirroring_api`), GetConsoleOutput
  (:mod:`sandbox.console`), and RunInstances / CreateNetworkInterface with
  ClientToken idempotency and AWS's delete-on-termination default (:mod:`sandbox.launch_api`).
- Traffic-mirroring ids get AWS's prefixes (``tmf-``, ``tmfr-``, ``tmt-``,
  ``tms-`` + 17 hex digits, as in the API reference examples) instead of
  moto's ``traf-mir-fil-``/``traf-mir-tar-``, and are known to moto's tag code.
"""

from __future__ import annotations

from moto.ec2 import utils as ec2_utils
from moto.ec2.responses import EC2Response

from .console import ConsoleOutputAction
from .launch_api import LaunchActions
from .mirroring_api import TrafficMirroringActions

ID_PREFIXES = {
    "traffic-mirror-filter": "tmf",
    "traffic-mirror-filter-rule": "tmfr",
    "traffic-mirror-target": "tmt",
    "traffic-mirror-session": "tms",
}


class SandboxActions(TrafficMirroringActions, ConsoleOutputAction, LaunchActions):
    """Every EC2 action the sandbox answers itself."""


def install() -> None:
    """Idempotent: a second call changes nothing."""
    if SandboxActions in EC2Response.__bases__:
        return
    EC2Response.__bases__ = (SandboxActions, *EC2Response.__bases__)
    for resource_type, prefix in ID_PREFIXES.items():
        old = ec2_utils.EC2_RESOURCE_TO_PREFIX.get(resource_type)
        ec2_utils.EC2_PREFIX_TO_RESOURCE.pop(old, None)
        ec2_utils.EC2_RESOURCE_TO_PREFIX[resource_type] = prefix
        ec2_utils.EC2_PREFIX_TO_RESOURCE[prefix] = resource_type
