"""DeleteVpcEndpointServiceConfigurations, refusing a service that an endpoint still uses.

"ExistingVpcEndpointConnections: You cannot delete a VPC endpoint service
configuration or change the load balancers for the endpoint service if there
are endpoints attached to the service" ("Error codes for the Amazon EC2 API",
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html).
The action deletes a batch, so the refusal is one of its ``Unsuccessful`` items
(API DeleteVpcEndpointServiceConfigurations,
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteVpcEndpointServiceConfigurations.html).
moto deletes the service and leaves the Gateway Load Balancer endpoint pointing nowhere.
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse


def _failure(service_id: str, code: str, message: str) -> dict[str, Any]:
    return {"ResourceId": service_id, "Error": {"Code": code, "Message": message}}


class EndpointServiceActions(EC2BaseResponse):
    def delete_vpc_endpoint_service_configurations(self) -> ActionResult:
        unsuccessful, free = [], []
        for service_id in self._get_param("ServiceIds", []):
            config = self.ec2_backend.configurations.get(service_id)
            endpoints = [] if config is None else [
                e.id for e in self.ec2_backend.vpc_end_points.values()
                if e.service_name == config.service_name and e.state != "deleted"
            ]
            if endpoints:
                unsuccessful.append(_failure(
                    service_id, "ExistingVpcEndpointConnections",
                    f"Service {service_id} has existing VPC endpoint connections: {', '.join(endpoints)}",
                ))
            else:
                free.append(service_id)
        for missing in self.ec2_backend.delete_vpc_endpoint_service_configurations(free):
            unsuccessful.append(_failure(
                missing, "InvalidVpcEndpointService.NotFound", f"The VpcEndpointService Id '{missing}' does not exist"
            ))
        return ActionResult({"Unsuccessful": unsuccessful})
