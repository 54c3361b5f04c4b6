"""Elastic Load Balancing (elbv2) as AWS answers it for Network and Gateway Load Balancers.

moto 5.2.5 creates network and gateway load balancers, UDP and GENEVE target
groups and their listeners, but differs from AWS where a mirror target behind
a load balancer notices it. Patched here, on moto's elbv2 backend:

- ARNs. moto names every load balancer ``loadbalancer/app/NAME/ID``. AWS names
  a Network Load Balancer ``loadbalancer/net/NAME/ID`` and a Gateway Load
  Balancer ``loadbalancer/gwy/NAME/ID``, and their listeners ``listener/net/...``
  and ``listener/gwy/...`` ("Actions, resources, and condition keys for Elastic
  Load Balancing V2", resource types,
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_elasticloadbalancingv2.html).
- Idempotent creates. "This operation is idempotent, which means that it
  completes at most one time. If you attempt to create multiple load balancers
  with the same settings, each call succeeds" (API CreateLoadBalancer; the same
  sentence for target groups in CreateTargetGroup and listeners in
  CreateListener, https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/).
  moto creates a second load balancer of the same name and a second listener on
  the same port, and refuses a repeated target group; a retried create after a
  lost answer must instead get the first one back. The same name (port, for a
  listener) with other settings is refused as AWS does: DuplicateLoadBalancerName,
  DuplicateTargetGroupName, DuplicateListener.
- Listener fields. A Gateway Load Balancer listener has no protocol or port
  ("Listeners for your Gateway Load Balancers": it listens for all IP packets
  on all ports, https://docs.aws.amazon.com/elasticloadbalancing/latest/gateway/gateway-listeners.html);
  moto answers ``Protocol: ""``, which is not a value of botocore's
  ProtocolEnum. An SslPolicy belongs only to HTTPS and TLS listeners (API
  CreateListener, SslPolicy: "[HTTPS and TLS listeners]"); moto gives every
  listener ``ELBSecurityPolicy-2016-08``.
- A load balancer behind an endpoint service is not deleted: AWS answers
  ResourceInUse, "Load balancer '...' cannot be deleted because it is currently
  associated with another service" (as clients meet it, e.g.
  hashicorp/terraform-provider-aws#5701; "Delete an endpoint service" says the
  service goes first, https://docs.aws.amazon.com/vpc/latest/privatelink/delete-endpoint-service.html).
  moto deletes it and leaves the service pointing at nothing.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends
from moto.elbv2.exceptions import (
    DuplicateListenerError,
    DuplicateLoadBalancerName,
    DuplicateTargetGroupName,
    ResourceInUseError,
)
from moto.elbv2.models import (
    ELBv2Backend,
    FakeListener,
    FakeLoadBalancer,
    FakeTargetGroup,
)

#: Load balancer type -> the ARN segment AWS uses for it.
ARN_SEGMENTS = {"application": "app", "network": "net", "gateway": "gwy"}
TLS_PROTOCOLS = ("HTTPS", "TLS")


def _load_balancer_settings(balancer: FakeLoadBalancer) -> tuple[Any, ...]:
    return balancer.type, balancer.scheme, sorted(s.id for s in balancer.subnets)


def _requested_load_balancer(kwargs: dict[str, Any]) -> tuple[Any, ...]:
    subnets = list(kwargs.get("subnet_ids") or []) + [m["SubnetId"] for m in kwargs.get("subnet_mappings") or []]
    return kwargs.get("loadbalancer_type") or "application", kwargs.get("scheme"), sorted(subnets)


def _target_group_settings(group: FakeTargetGroup) -> tuple[Any, ...]:
    return group.protocol, str(group.port), group.vpc_id, group.target_type


def _requested_target_group(kwargs: dict[str, Any]) -> tuple[Any, ...]:
    return kwargs.get("protocol"), str(kwargs.get("port")), kwargs.get("vpc_id"), kwargs.get("target_type")


def _listener_settings(listener: FakeListener) -> tuple[Any, ...]:
    return listener.protocol or None, [(a.type, a.data.get("TargetGroupArn")) for a in listener.default_actions]


def _requested_listener(protocol: str | None, actions: list[dict[str, Any]]) -> tuple[Any, ...]:
    return (protocol or "").upper() or None, [(a.get("Type"), a.get("TargetGroupArn")) for a in actions]


def _rename_load_balancer(backend: ELBv2Backend, balancer: FakeLoadBalancer) -> None:
    """Give ``balancer`` the ARN segment of its type, moving its tags along."""
    segment = ARN_SEGMENTS[balancer.type]
    old = balancer.arn
    balancer.arn = old.replace(":loadbalancer/app/", f":loadbalancer/{segment}/", 1)
    backend.load_balancers[balancer.arn] = backend.load_balancers.pop(old)
    tags = backend.tagging_service.list_tags_for_resource(old)["Tags"]
    backend.tagging_service.delete_all_tags_for_resource(old)
    backend.tagging_service.tag_resource(balancer.arn, tags)


def install() -> None:
    """Patch moto's elbv2 backend; idempotent (the server installs it once per process)."""
    if getattr(ELBv2Backend, "_vpc_mirror_patched", False):
        return
    ELBv2Backend._vpc_mirror_patched = True  # type: ignore[attr-defined]
    moto_create_load_balancer = ELBv2Backend.create_load_balancer
    moto_create_target_group = ELBv2Backend.create_target_group
    moto_create_listener = ELBv2Backend.create_listener
    moto_delete_load_balancer = ELBv2Backend.delete_load_balancer

    def create_load_balancer(self: ELBv2Backend, name: str, **kwargs: Any) -> FakeLoadBalancer:
        existing = next((b for b in self.load_balancers.values() if b.name == name), None)
        if existing is not None:
            if _requested_load_balancer(kwargs) != _load_balancer_settings(existing):
                raise DuplicateLoadBalancerName()
            return existing
        balancer = moto_create_load_balancer(self, name, **kwargs)
        _rename_load_balancer(self, balancer)
        return balancer

    def create_target_group(self: ELBv2Backend, name: str, **kwargs: Any) -> FakeTargetGroup:
        existing = next((g for g in self.target_groups.values() if g.name == name), None)
        if existing is None:
            return moto_create_target_group(self, name, **kwargs)
        if _requested_target_group(kwargs) != _target_group_settings(existing):
            raise DuplicateTargetGroupName()
        return existing

    def create_listener(self: ELBv2Backend, load_balancer_arn: str, protocol: str, port: str, ssl_policy: str,
                        certificate: str | None, actions: list[dict[str, Any]], **kwargs: Any) -> FakeListener:
        balancer = self.load_balancers.get(load_balancer_arn)
        listeners = [] if balancer is None else list(balancer.listeners.values())
        existing = next((li for li in listeners if str(li.port) == str(port)), None)
        if existing is not None:
            if _requested_listener(protocol, actions) != _listener_settings(existing):
                raise DuplicateListenerError()
            return existing
        listener = moto_create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate, actions,
                                        **kwargs)
        listener.protocol = listener.protocol or None
        if listener.protocol not in TLS_PROTOCOLS:
            listener.ssl_policy = None
        return listener

    def delete_load_balancer(self: ELBv2Backend, arn: str) -> None:
        services = ec2_backends[self.account_id][self.region_name].configurations.values()
        if any(arn in s.gateway_load_balancer_arns + s.network_load_balancer_arns for s in services):
            raise ResourceInUseError(
                f"Load balancer '{arn}' cannot be deleted because it is currently associated with another service"
            )
        moto_delete_load_balancer(self, arn)

    ELBv2Backend.create_load_balancer = create_load_balancer  # type: ignore[method-assign]
    ELBv2Backend.create_target_group = create_target_group  # type: ignore[method-assign]
    ELBv2Backend.create_listener = create_listener  # type: ignore[method-assign]
    ELBv2Backend.delete_load_balancer = delete_load_balancer  # type: ignore[method-assign]
