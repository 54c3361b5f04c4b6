"""Install the sandbox's additions into moto's EC2 API - the one place that patches moto.

- :class:`SandboxActions` goes in front of ``moto.ec2.responses.EC2Response``'s
  bases, so its methods answer those EC2 actions instead of moto's: the
  traffic-mirroring actions (:mod:`sandbox.mirroring_api`), GetConsoleOutput
  (:mod:`sandbox.console`), RunInstances / CreateNetworkInterface with
  ClientToken idempotency, AWS's delete-on-termination default and the
  interface type (:mod:`sandbox.launch_api`), and
  DeleteVpcEndpointServiceConfigurations refusing a service in use (:mod:`sandbox.endpoints_api`).
- Elastic Load Balancing's ARNs, idempotent creates and listener fields for
  Network and Gateway Load Balancers (:mod:`sandbox.load_balancers`).
- A NAT gateway's network interface has the type ``natGateway`` (API
  NetworkInterface, InterfaceType,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NetworkInterface.html),
  not ``interface``, so it cannot be a mirror source or target.
- A network interface created without an address gets the subnet's next free
  one, as an instance does, instead of moto's random pick from the whole CIDR
  (which may be the network address or one already in use): "The first four IP
  addresses and the last IP address in each subnet CIDR block are not available
  for you to use, and cannot be assigned to a resource" (Amazon VPC User Guide,
  "Subnet CIDR blocks", https://docs.aws.amazon.com/vpc/latest/userguide/subnet-sizing.html).
- Traffic-mirroring ids get AWS's prefixes (``tmf-``, ``tmfr-``, ``tmt-``,
  ``tms-`` + 17 hex digits, as in the API reference examples) instead of
  moto's ``traf-mir-fil-``/``traf-mir-tar-``, and are known to moto's tag code.
"""

from __future__ import annotations

from typing import Any

from moto.ec2 import utils as ec2_utils
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.nat_gateways import NatGateway
from moto.ec2.responses import EC2Response

from . import load_balancers
from .console import ConsoleOutputAction
from .endpoints_api import EndpointServiceActions
from .launch_api import LaunchActions
from .mirroring_api import TrafficMirroringActions

ID_PREFIXES = {
    "traffic-mirror-filter": "tmf",
    "traffic-mirror-filter-rule": "tmfr",
    "traffic-mirror-target": "tmt",
    "traffic-mirror-session": "tms",
}


class SandboxActions(TrafficMirroringActions, ConsoleOutputAction, LaunchActions, EndpointServiceActions):
    """Every EC2 action the sandbox answers itself."""


def install() -> None:
    """Idempotent: a second call changes nothing."""
    if SandboxActions in EC2Response.__bases__:
        return
    EC2Response.__bases__ = (SandboxActions, *EC2Response.__bases__)
    _allocate_eni_addresses_from_the_subnet()
    _type_nat_gateway_interfaces()
    load_balancers.install()
    for resource_type, prefix in ID_PREFIXES.items():
        old = ec2_utils.EC2_RESOURCE_TO_PREFIX.get(resource_type)
        ec2_utils.EC2_PREFIX_TO_RESOURCE.pop(old, None)
        ec2_utils.EC2_RESOURCE_TO_PREFIX[resource_type] = prefix
        ec2_utils.EC2_PREFIX_TO_RESOURCE[prefix] = resource_type


def _allocate_eni_addresses_from_the_subnet() -> None:
    moto_init = NetworkInterface.__init__

    def init(self: Any, ec2_backend: Any, subnet: Any, private_ip_address: Any,
             private_ip_addresses: Any = None, *args: Any, **kwargs: Any) -> None:
        if not private_ip_address and not private_ip_addresses and subnet is not None:
            private_ip_address = subnet.get_available_subnet_ip(self)
        moto_init(self, ec2_backend, subnet, private_ip_address, private_ip_addresses, *args, **kwargs)

    NetworkInterface.__init__ = init


def _type_nat_gateway_interfaces() -> None:
    moto_init = NatGateway.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        moto_init(self, *args, **kwargs)
        self._eni.interface_type = "natGateway"

    NatGateway.__init__ = init
