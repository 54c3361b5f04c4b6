"""The EC2 traffic-mirroring actions, as methods for moto's ``EC2Response``.

Each method reads the request (parsed by moto against botocore's input shape),
calls :class:`sandbox.mirroring.TrafficMirroring` and returns an
``ActionResult`` whose keys are the output shape's member names. The create
actions honour ClientToken and echo it, as the API does; the Describe actions
answer in pages (:mod:`sandbox.paging`).
"""

from __future__ import annotations

from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses._base_response import EC2BaseResponse

from .idempotency import idempotent
from .mirroring import TrafficMirroring
from .paging import page_of

_RULE_FIELDS = (
    "TrafficDirection", "RuleNumber", "RuleAction", "Protocol", "DestinationPortRange",
    "SourcePortRange", "DestinationCidrBlock", "SourceCidrBlock", "Description",
)
_SESSION_FIELDS = (
    "TrafficMirrorTargetId", "TrafficMirrorFilterId", "SessionNumber", "PacketLength",
    "VirtualNetworkId", "Description",
)


class TrafficMirroringActions(EC2BaseResponse):
    """Put in front of ``EC2Response``'s bases by :func:`sandbox.extension.install`."""

    @property
    def mirroring(self) -> TrafficMirroring:
        return TrafficMirroring(self.ec2_backend)

    def _tags_for(self, resource_type: str) -> dict[str, str]:
        """TagSpecifications: tags applied at creation (moto checks the resource type)."""
        return self._parse_tag_specification(expected_type=resource_type).get(resource_type, {})

    def _fields(self, names: tuple[str, ...]) -> dict[str, Any]:
        return {name: self._get_param(name) for name in names}

    def _paged(self, key: str, found: list[Any]) -> ActionResult:
        page = page_of(found, self._get_action(), self.params)
        return ActionResult({key: page.items, "NextToken": page.next_token})

    # -- filters ----------------------------------------------------------
    @idempotent
    def create_traffic_mirror_filter(self) -> ActionResult:
        mirror_filter = self.mirroring.create_filter(
            self._get_param("Description"), self._tags_for("traffic-mirror-filter")
        )
        return ActionResult({"TrafficMirrorFilter": mirror_filter, "ClientToken": self._get_param("ClientToken")})

    def describe_traffic_mirror_filters(self) -> ActionResult:
        found = self.mirroring.describe_filters(
            self._get_param("TrafficMirrorFilterIds"), self._filters_from_querystring()
        )
        return self._paged("TrafficMirrorFilters", found)

    def delete_traffic_mirror_filter(self) -> ActionResult:
        filter_id = self._get_param("TrafficMirrorFilterId")
        self.mirroring.delete_filter(filter_id)
        return ActionResult({"TrafficMirrorFilterId": filter_id})

    def modify_traffic_mirror_filter_network_services(self) -> ActionResult:
        mirror_filter = self.mirroring.modify_network_services(
            self._get_param("TrafficMirrorFilterId"),
            self._get_param("AddNetworkServices", []),
            self._get_param("RemoveNetworkServices", []),
        )
        return ActionResult({"TrafficMirrorFilter": mirror_filter})

    # -- filter rules -----------------------------------------------------
    @idempotent
    def create_traffic_mirror_filter_rule(self) -> ActionResult:
        rule = self.mirroring.create_rule(
            self._get_param("TrafficMirrorFilterId"),
            self._fields(_RULE_FIELDS),
            self._tags_for("traffic-mirror-filter-rule"),
        )
        return ActionResult({"TrafficMirrorFilterRule": rule, "ClientToken": self._get_param("ClientToken")})

    def modify_traffic_mirror_filter_rule(self) -> ActionResult:
        rule = self.mirroring.modify_rule(
            self._get_param("TrafficMirrorFilterRuleId"),
            self._fields(_RULE_FIELDS),
            self._get_param("RemoveFields", []),
        )
        return ActionResult({"TrafficMirrorFilterRule": rule})

    def delete_traffic_mirror_filter_rule(self) -> ActionResult:
        rule_id = self._get_param("TrafficMirrorFilterRuleId")
        self.mirroring.delete_rule(rule_id)
        return ActionResult({"TrafficMirrorFilterRuleId": rule_id})

    def describe_traffic_mirror_filter_rules(self) -> ActionResult:
        found = self.mirroring.describe_rules(
            self._get_param("TrafficMirrorFilterRuleIds"),
            self._get_param("TrafficMirrorFilterId"),
            self._filters_from_querystring(),
        )
        return self._paged("TrafficMirrorFilterRules", found)

    # -- targets ----------------------------------------------------------
    @idempotent
    def create_traffic_mirror_target(self) -> ActionResult:
        target = self.mirroring.create_target(
            {
                "network-interface": self._get_param("NetworkInterfaceId"),
                "network-load-balancer": self._get_param("NetworkLoadBalancerArn"),
                "gateway-load-balancer-endpoint": self._get_param("GatewayLoadBalancerEndpointId"),
            },
            self._get_param("Description"),
            self._tags_for("traffic-mirror-target"),
        )
        return ActionResult({"TrafficMirrorTarget": target, "ClientToken": self._get_param("ClientToken")})

    def describe_traffic_mirror_targets(self) -> ActionResult:
        found = self.mirroring.describe_targets(
            self._get_param("TrafficMirrorTargetIds"), self._filters_from_querystring()
        )
        return self._paged("TrafficMirrorTargets", found)

    def delete_traffic_mirror_target(self) -> ActionResult:
        target_id = self._get_param("TrafficMirrorTargetId")
        self.mirroring.delete_target(target_id)
        return ActionResult({"TrafficMirrorTargetId": target_id})

    # -- sessions ---------------------------------------------------------
    @idempotent
    def create_traffic_mirror_session(self) -> ActionResult:
        session = self.mirroring.create_session(
            self._get_param("NetworkInterfaceId"),
            self._fields(_SESSION_FIELDS),
            self._tags_for("traffic-mirror-session"),
        )
        return ActionResult({"TrafficMirrorSession": session, "ClientToken": self._get_param("ClientToken")})

    def describe_traffic_mirror_sessions(self) -> ActionResult:
        found = self.mirroring.describe_sessions(
            self._get_param("TrafficMirrorSessionIds"), self._filters_from_querystring()
        )
        return self._paged("TrafficMirrorSessions", found)

    def modify_traffic_mirror_session(self) -> ActionResult:
        session = self.mirroring.modify_session(
            self._get_param("TrafficMirrorSessionId"),
            self._fields(_SESSION_FIELDS),
            self._get_param("RemoveFields", []),
        )
        return ActionResult({"TrafficMirrorSession": session})

    def delete_traffic_mirror_session(self) -> ActionResult:
        session_id = self._get_param("TrafficMirrorSessionId")
        self.mirroring.delete_session(session_id)
        return ActionResult({"TrafficMirrorSessionId": session_id})

