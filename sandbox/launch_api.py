"""RunInstances and CreateNetworkInterface, with the AWS behaviour moto lacks.

- ClientToken idempotency (:mod:`sandbox.idempotency`). A repeated RunInstances
  answers with the instances' current state, as AWS does ("The only information
  that might vary in the response is the state of the instance", "Ensuring
  idempotency in Amazon EC2 API requests",
  https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html):
  a token repeated after a termination gets the terminated instance. moto
  always answers ``pending``; that stays for instances still alive.
- An interface that RunInstances creates is deleted when its instance is
  terminated unless the request says otherwise: "network interfaces that are
  automatically created and attached to instances ... are set to terminate when
  the instance terminates" (EC2 User Guide, "Modify network interface
  attributes", Delete on termination,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/modify-network-interface-attributes.html).
  moto keeps them, so a terminated instance would leave its primary ENI behind.
- CreateNetworkInterface keeps its InterfaceType ("efa | efa-only | branch |
  trunk", API CreateNetworkInterface,
  https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkInterface.html),
  and RunInstances that of each interface it creates ("interface | efa |
  efa-only", API InstanceNetworkInterfaceSpecification); moto makes every
  interface of type ``interface``, so an EFA could be a mirror source.
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.ec2.models.instances import InstanceState
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.ec2.responses.instances import InstanceResponse

from .errors import InvalidParameterValue
from .idempotency import idempotent

#: API CreateNetworkInterface, InterfaceType: "Valid Values: efa | efa-only | branch | trunk".
CREATABLE_INTERFACE_TYPES = ("efa", "efa-only", "branch", "trunk")


def _launch_state(state: InstanceState) -> dict:
    if state.name in ("pending", "running"):
        return {"Code": 0, "Name": "pending"}
    return {"Code": state.code, "Name": state.name}


class LaunchActions(EC2BaseResponse):
    RESPONSE_KEY_PATH_TO_TRANSFORMER = {
        **EC2BaseResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
        "RunInstances.Reservation.Instances.Instance.State": _launch_state,
    }

    @idempotent
    def create_network_interface(self) -> ActionResult:
        interface_type = self._get_param("InterfaceType")
        if interface_type is not None and interface_type not in CREATABLE_INTERFACE_TYPES:
            raise InvalidParameterValue(
                f"InterfaceType '{interface_type}' is invalid; valid values: {', '.join(CREATABLE_INTERFACE_TYPES)}"
            )
        result = ElasticNetworkInterfaces.create_network_interface(self)
        if interface_type is not None:
            result.result["NetworkInterface"].interface_type = interface_type
        return result

    @idempotent
    def run_instances(self) -> ActionResult:
        result = InstanceResponse.run_instances(self)
        specs = {int(s.get("DeviceIndex", 0)): s for s in self._get_param("NetworkInterfaces", [])}
        for instance in result.result.instances:
            for index, nic in instance.nics.items():
                spec = specs.get(index, {})
                if "NetworkInterfaceId" not in spec and "DeleteOnTermination" not in spec:
                    nic.delete_on_termination = True
                if "NetworkInterfaceId" not in spec and spec.get("InterfaceType"):
                    nic.interface_type = spec["InterfaceType"]
        return result
