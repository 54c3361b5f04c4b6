"""RunInstances and CreateNetworkInterface, with the AWS behaviour moto lacks.

- ClientToken idempotency (:mod:`sandbox.idempotency`).
- An interface that RunInstances creates is deleted when its instance is
  terminated unless the request says otherwise: "network interfaces that are
  automatically created and attached to instances ... are set to terminate when
  the instance terminates" (EC2 User Guide, "Modify network interface
  attributes", Delete on termination,
  https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/modify-network-interface-attributes.html).
  moto keeps them, so a terminated instance would leave its primary ENI behind.
"""

from __future__ import annotations

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse
from moto.ec2.responses.elastic_network_interfaces import ElasticNetworkInterfaces
from moto.ec2.responses.instances import InstanceResponse

from .idempotency import idempotent


class LaunchActions(EC2BaseResponse):
    create_network_interface = idempotent(ElasticNetworkInterfaces.create_network_interface)

    @idempotent
    def run_instances(self) -> ActionResult:
        result = InstanceResponse.run_instances(self)
        specs = {int(s.get("DeviceIndex", 0)): s for s in self._get_param("NetworkInterfaces", [])}
        for instance in result.result.instances:
            for index, nic in instance.nics.items():
                spec = specs.get(index, {})
                if "NetworkInterfaceId" not in spec and "DeleteOnTermination" not in spec:
                    nic.delete_on_termination = True
        return result
