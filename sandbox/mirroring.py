"""Traffic-mirroring resources and the rules AWS enforces on them.

moto 5.2.5 stores filters, targets and sessions without validating anything
and has no filter rules or paging. This module replaces that part of its EC2 backend:
the resources live in moto's own dicts on the backend (so moto's reset wipes
them), rules live inside their filter, and every rule below cites the AWS page
it follows. Attribute names follow botocore's shapes (``TrafficMirrorFilter``,
``TrafficMirrorFilterRule``, ...), because moto serializes responses by them.

Docs cited:
  API   = https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_<Action>.html
  LIMITS = https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-limits.html
  QUOTAS = https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-quotas.html
  SOURCES = https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-sessions.html
  TARGETS = https://docs.aws.amazon.com/vpc/latest/mirroring/traffic-mirroring-targets.html
  ERRORS = https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Iterable
from fnmatch import fnmatch
from typing import Any

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.utils import random_id, tag_filter_matches
from moto.elbv2.models import elbv2_backends

from vpc_mirror.models.mirroring_support import (
    MAX_RULES_PER_FILTER,
    MAX_SESSIONS_PER_SOURCE_ENI,
    MAX_SOURCES_PER_ENI_TARGET,
    sources_per_eni_target,
    support_of,
)

from . import errors
from .backend_state import MirrorQuotas, state_of

#: API CreateTrafficMirrorSession / ModifyTrafficMirrorSession: "Valid values are 1-32766".
#: The same range is used for rule numbers (the console and CloudFormation accept 1-32766).
MAX_NUMBER = 32766
#: RFC 7348: the VXLAN network identifier is 24 bits.
MAX_VNI = 2**24 - 1
#: API CreateTrafficMirrorSession / ModifyTrafficMirrorSession: "For sessions with Network
#: Load Balancer (NLB) traffic mirror targets, the default PacketLength will be set to 8500.
#: Valid values are 1-8500. Setting a PacketLength greater than 8500 will result in an error response."
MAX_NLB_PACKET_LENGTH = 8500
#: API ModifyTrafficMirrorFilterNetworkServices: TrafficMirrorNetworkService enum.
NETWORK_SERVICES = ("amazon-dns",)
#: API CreateTrafficMirrorFilterRule: TrafficDirection and TrafficMirrorRuleAction enums.
DIRECTIONS = ("ingress", "egress")
RULE_ACTIONS = ("accept", "reject")
#: Port ranges only mean something for TCP (6) and UDP (17).
PORT_PROTOCOLS = (6, 17)

#: The Filter.N names each Describe action documents (API pages), besides tag filters.
FILTER_NAMES = {
    "filter": {"description", "traffic-mirror-filter-id"},
    "filter rule": {
        "traffic-mirror-filter-rule-id", "traffic-mirror-filter-id", "rule-number",
        "rule-action", "traffic-direction", "protocol", "source-cidr-block",
        "destination-cidr-block", "description",
    },
    "target": {
        "description", "network-interface-id", "network-load-balancer-arn",
        "owner-id", "traffic-mirror-target-id",
    },
    "session": {
        "description", "network-interface-id", "owner-id", "packet-length",
        "session-number", "traffic-mirror-filter-id", "traffic-mirror-session-id",
        "traffic-mirror-target-id", "virtual-network-id",
    },
}


class MirrorResource(TaggedEC2Resource):
    """An id with AWS's prefix, tags kept in the backend's tag store, an owner."""

    prefix = ""

    def __init__(self, backend: Any, tags: dict[str, str]) -> None:
        self.ec2_backend = backend
        self.id = random_id(prefix=self.prefix)
        if tags:
            backend.create_tags([self.id], tags)

    @property
    def owner_id(self) -> str:
        return self.ec2_backend.account_id

    @property
    def tags(self) -> list[dict[str, str]]:
        return self.get_tags()


class FilterRule(MirrorResource):
    prefix = "tmfr"

    def __init__(self, backend: Any, filter_id: str, fields: dict[str, Any], tags: dict[str, str]) -> None:
        super().__init__(backend, tags)
        self.traffic_mirror_filter_id = filter_id
        self.update(fields)

    def update(self, fields: dict[str, Any]) -> None:
        self.traffic_direction = fields["TrafficDirection"]
        self.rule_number = fields["RuleNumber"]
        self.rule_action = fields["RuleAction"]
        self.protocol = fields.get("Protocol")
        self.destination_port_range = fields.get("DestinationPortRange")
        self.source_port_range = fields.get("SourcePortRange")
        self.destination_cidr_block = fields["DestinationCidrBlock"]
        self.source_cidr_block = fields["SourceCidrBlock"]
        self.description = fields.get("Description")

    def fields(self) -> dict[str, Any]:
        return {
            "TrafficDirection": self.traffic_direction,
            "RuleNumber": self.rule_number,
            "RuleAction": self.rule_action,
            "Protocol": self.protocol,
            "DestinationPortRange": self.destination_port_range,
            "SourcePortRange": self.source_port_range,
            "DestinationCidrBlock": self.destination_cidr_block,
            "SourceCidrBlock": self.source_cidr_block,
            "Description": self.description,
        }

    @property
    def traffic_mirror_filter_rule_id(self) -> str:
        return self.id


class MirrorFilter(MirrorResource):
    prefix = "tmf"

    def __init__(self, backend: Any, description: str | None, tags: dict[str, str]) -> None:
        super().__init__(backend, tags)
        self.description = description
        self.rules: dict[str, FilterRule] = {}
        self.network_services: list[str] = []

    @property
    def traffic_mirror_filter_id(self) -> str:
        return self.id

    def rules_in(self, direction: str) -> list[FilterRule]:
        return sorted(
            (r for r in self.rules.values() if r.traffic_direction == direction),
            key=lambda r: r.rule_number,
        )

    @property
    def ingress_filter_rules(self) -> list[FilterRule]:
        return self.rules_in("ingress")

    @property
    def egress_filter_rules(self) -> list[FilterRule]:
        return self.rules_in("egress")


class MirrorTarget(MirrorResource):
    prefix = "tmt"

    def __init__(self, backend: Any, kind: str, ref: str, description: str | None, tags: dict[str, str]) -> None:
        super().__init__(backend, tags)
        self.type = kind
        self.network_interface_id = ref if kind == "network-interface" else None
        self.network_load_balancer_arn = ref if kind == "network-load-balancer" else None
        self.gateway_load_balancer_endpoint_id = ref if kind == "gateway-load-balancer-endpoint" else None
        self.description = description

    @property
    def traffic_mirror_target_id(self) -> str:
        return self.id


class MirrorSession(MirrorResource):
    prefix = "tms"

    def __init__(self, backend: Any, eni_id: str, fields: dict[str, Any], tags: dict[str, str]) -> None:
        super().__init__(backend, tags)
        self.network_interface_id = eni_id
        self.traffic_mirror_target_id = fields["TrafficMirrorTargetId"]
        self.traffic_mirror_filter_id = fields["TrafficMirrorFilterId"]
        self.session_number = fields["SessionNumber"]
        self.packet_length = fields.get("PacketLength")
        self.virtual_network_id = fields["VirtualNetworkId"]
        self.description = fields.get("Description")

    @property
    def traffic_mirror_session_id(self) -> str:
        return self.id


def _filtered(resources: Iterable[MirrorResource], kind: str, filters: dict[str, list[str]]) -> list:
    """Apply Describe* ``Filter.N`` the way EC2 does: every filter must match, any of its values."""
    for name in filters:
        if not (name in FILTER_NAMES[kind] or name.startswith("tag:") or name in ("tag-key", "tag-value")):
            raise errors.InvalidParameterValue(f"The filter '{name}' is invalid")

    def matches(resource: MirrorResource, name: str, values: list[str]) -> bool:
        if name.startswith("tag"):
            return tag_filter_matches(resource, name, values)
        value = getattr(resource, name.replace("-", "_"))
        return value is not None and any(fnmatch(str(value), v) for v in values)

    return [r for r in resources if all(matches(r, n, v) for n, v in filters.items())]


def _by_ids(found: dict[str, Any], ids: list[str] | None, kind: str) -> list:
    """EC2 answers NotFound when an explicitly requested id does not exist."""
    if not ids:
        return list(found.values())
    for resource_id in ids:
        if resource_id not in found:
            raise errors.MirrorResourceNotFound(kind, resource_id)
    return [found[i] for i in ids]


def _checked_rule(fields: dict[str, Any]) -> dict[str, Any]:
    """The value rules of API CreateTrafficMirrorFilterRule / ModifyTrafficMirrorFilterRule."""
    if fields["TrafficDirection"] not in DIRECTIONS:
        raise errors.InvalidParameterValue(f"TrafficDirection must be one of {', '.join(DIRECTIONS)}")
    if fields["RuleAction"] not in RULE_ACTIONS:
        raise errors.InvalidParameterValue(f"RuleAction must be one of {', '.join(RULE_ACTIONS)}")
    if not 1 <= fields["RuleNumber"] <= MAX_NUMBER:
        raise errors.InvalidParameterValue(f"RuleNumber must be between 1 and {MAX_NUMBER}")
    protocol = fields.get("Protocol")
    # Protocol is an IANA protocol number (API: "see Protocol Numbers on the IANA website").
    if protocol is not None and not 0 <= protocol <= 255:
        raise errors.InvalidParameterValue("Protocol must be an IANA protocol number (0-255)")
    for name in ("SourcePortRange", "DestinationPortRange"):
        ports = fields.get(name)
        if ports is None:
            continue
        if protocol not in PORT_PROTOCOLS:
            raise errors.InvalidParameterValue(f"{name} is only allowed for TCP (6) or UDP (17) rules")
        low, high = ports.get("FromPort"), ports.get("ToPort")
        if low is None or high is None or not 0 <= low <= high <= 65535:
            raise errors.InvalidParameterValue(f"{name} needs FromPort <= ToPort, both within 0-65535")
        fields[name] = {"FromPort": low, "ToPort": high}
    # User guide, "Traffic mirror filters": "The Source CIDR block and Destination
    # CIDR block values must both be either an IPv4 range or an IPv6 range."
    families = set()
    for name in ("SourceCidrBlock", "DestinationCidrBlock"):
        try:
            families.add(ipaddress.ip_network(fields[name], strict=False).version)
        except ValueError:
            raise errors.InvalidParameterValue(f"{name} '{fields[name]}' is not a valid CIDR block") from None
    if len(families) > 1:
        raise errors.InvalidParameterValue("SourceCidrBlock and DestinationCidrBlock must both be IPv4 or both IPv6")
    return fields


class TrafficMirroring:
    """The traffic-mirroring operations of one moto EC2 backend (one account and region)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.filters: dict[str, MirrorFilter] = backend.traffic_mirror_filters
        self.targets: dict[str, MirrorTarget] = backend.traffic_mirror_targets
        self.sessions: dict[str, MirrorSession] = backend.traffic_mirror_sessions
        self._drop_sessions_of_deleted_interfaces()

    def _drop_sessions_of_deleted_interfaces(self) -> None:
        """User guide, "Traffic mirror sessions": "If you delete the network interface for
        the traffic mirror source, the traffic mirror sessions for the source are deleted
        automatically" (also when a terminated instance takes its primary interface along)."""
        for session in list(self.sessions.values()):
            if session.network_interface_id not in self.backend.enis:
                self.delete_session(session.id)

    @property
    def quotas(self) -> MirrorQuotas:
        return state_of(self.backend).mirror_quotas

    # -- filters ----------------------------------------------------------
    def create_filter(self, description: str | None, tags: dict[str, str]) -> MirrorFilter:
        # QUOTAS "Filters": maximum number of filters per account: 10,000.
        if len(self.filters) >= self.quotas.filters:
            raise errors.TrafficMirrorLimitExceeded("filter", self.quotas.filters)
        mirror_filter = MirrorFilter(self.backend, description, tags)
        self.filters[mirror_filter.id] = mirror_filter
        return mirror_filter

    def get_filter(self, filter_id: str) -> MirrorFilter:
        if filter_id not in self.filters:
            raise errors.MirrorResourceNotFound("filter", filter_id)
        return self.filters[filter_id]

    def describe_filters(self, ids: list[str] | None, filters: dict[str, list[str]]) -> list[MirrorFilter]:
        return _filtered(_by_ids(self.filters, ids, "filter"), "filter", filters)

    def delete_filter(self, filter_id: str) -> None:
        """API DeleteTrafficMirrorFilter: "You cannot delete a Traffic Mirror filter that is in use"."""
        mirror_filter = self.get_filter(filter_id)
        for session in self.sessions.values():
            if session.traffic_mirror_filter_id == filter_id:
                raise errors.TrafficMirrorFilterInUse(filter_id, session.id)
        for rule_id in list(mirror_filter.rules):
            self.backend.tags.pop(rule_id, None)
        self.backend.tags.pop(filter_id, None)
        del self.filters[filter_id]

    def modify_network_services(self, filter_id: str, add: list[str], remove: list[str]) -> MirrorFilter:
        """API ModifyTrafficMirrorFilterNetworkServices; the only network service is amazon-dns."""
        mirror_filter = self.get_filter(filter_id)
        for service in [*add, *remove]:
            if service not in NETWORK_SERVICES:
                raise errors.InvalidParameterValue(f"'{service}' is not a traffic mirror network service")
        services = [s for s in mirror_filter.network_services if s not in remove]
        mirror_filter.network_services = services + [s for s in add if s not in services]
        return mirror_filter

    # -- filter rules -----------------------------------------------------
    def _check_rule_fits(self, mirror_filter: MirrorFilter, fields: dict[str, Any], rule_id: str | None) -> None:
        """API: RuleNumber "must be unique for each Traffic Mirror rule in a given direction"."""
        for other in mirror_filter.rules.values():
            if (
                other.id != rule_id
                and other.traffic_direction == fields["TrafficDirection"]
                and other.rule_number == fields["RuleNumber"]
            ):
                raise errors.TrafficMirrorFilterRuleAlreadyExists(
                    mirror_filter.id, fields["TrafficDirection"], fields["RuleNumber"]
                )

    def create_rule(self, filter_id: str, fields: dict[str, Any], tags: dict[str, str]) -> FilterRule:
        mirror_filter = self.get_filter(filter_id)
        fields = _checked_rule(fields)
        self._check_rule_fits(mirror_filter, fields, None)
        # LIMITS "Filters": maximum number of filter rules per filter: 10.
        if len(mirror_filter.rules) >= MAX_RULES_PER_FILTER:
            raise errors.TrafficMirrorFilterRuleLimitExceeded(filter_id, MAX_RULES_PER_FILTER)
        rule = FilterRule(self.backend, filter_id, fields, tags)
        mirror_filter.rules[rule.id] = rule
        return rule

    def get_rule(self, rule_id: str) -> FilterRule:
        for mirror_filter in self.filters.values():
            if rule_id in mirror_filter.rules:
                return mirror_filter.rules[rule_id]
        raise errors.MirrorResourceNotFound("filter rule", rule_id)

    def modify_rule(self, rule_id: str, changes: dict[str, Any], remove_fields: list[str]) -> FilterRule:
        """API ModifyTrafficMirrorFilterRule: RemoveFields resets destination-port-range,
        source-port-range, protocol and description to their defaults (none)."""
        rule = self.get_rule(rule_id)
        fields = rule.fields() | {k: v for k, v in changes.items() if v is not None}
        for removed in remove_fields:
            fields["".join(part.capitalize() for part in removed.split("-"))] = None
        fields = _checked_rule(fields)
        self._check_rule_fits(self.filters[rule.traffic_mirror_filter_id], fields, rule_id)
        rule.update(fields)
        return rule

    def delete_rule(self, rule_id: str) -> None:
        rule = self.get_rule(rule_id)
        del self.filters[rule.traffic_mirror_filter_id].rules[rule_id]
        self.backend.tags.pop(rule_id, None)

    def describe_rules(
        self, ids: list[str] | None, filter_id: str | None, filters: dict[str, list[str]]
    ) -> list[FilterRule]:
        scope = [self.get_filter(filter_id)] if filter_id else list(self.filters.values())
        rules = {rule.id: rule for f in scope for rule in f.rules.values()}
        return _filtered(_by_ids(rules, ids, "filter rule"), "filter rule", filters)

    # -- targets ----------------------------------------------------------
    def create_target(self, refs: dict[str, str | None], description: str | None, tags: dict[str, str]) -> MirrorTarget:
        """API CreateTrafficMirrorTarget: exactly one of an ENI, an NLB or a GWLB endpoint."""
        given = {kind: ref for kind, ref in refs.items() if ref}
        if len(given) != 1:
            raise errors.InvalidParameterCombination(
                "Specify exactly one of NetworkInterfaceId, NetworkLoadBalancerArn or GatewayLoadBalancerEndpointId"
            )
        (kind, ref), = given.items()
        # QUOTAS "Targets": maximum number of targets per account: 10,000.
        if len(self.targets) >= self.quotas.targets:
            raise errors.TrafficMirrorLimitExceeded("target", self.quotas.targets)
        checks = {
            "network-interface": self._check_interface_target,
            "network-load-balancer": self._check_load_balancer_target,
            "gateway-load-balancer-endpoint": self._check_endpoint_target,
        }
        checks[kind](ref)
        target = MirrorTarget(self.backend, kind, ref, description, tags)
        self.targets[target.id] = target
        return target

    def _check_interface_target(self, eni_id: str) -> None:
        """TARGETS: "Network interfaces of type interface"; ERRORS: an interface backs at
        most one traffic mirror target, and is a source or a target, not both."""
        eni = self.backend.get_network_interface(eni_id)  # InvalidNetworkInterfaceID.NotFound
        if eni.interface_type != "interface":
            raise errors.NetworkInterfaceNotSupported(eni_id, f"its type is {eni.interface_type}, not interface")
        for target in self.targets.values():
            if target.network_interface_id == eni_id:
                raise errors.InterfaceInUseByTrafficMirrorTarget(eni_id, target.id)
        for session in self.sessions.values():
            if session.network_interface_id == eni_id:
                raise errors.InterfaceInUseByTrafficMirrorSession(eni_id, session.id)

    def _check_load_balancer_target(self, arn: str) -> None:
        """ERRORS: NetworkLoadBalancerNotFoundException, "The specified Network Load Balancer
        does not exist"; NlbInUseByTrafficMirrorTargetException, "The Network Load Balancer
        is already configured as a Traffic Mirror target". A load balancer of another type
        is not a Network Load Balancer: AWS documents no code for it, InvalidParameterValue here."""
        elbv2 = elbv2_backends[self.backend.account_id][self.backend.region_name]
        balancer = elbv2.load_balancers.get(arn)
        if balancer is None:
            raise errors.NetworkLoadBalancerNotFound(arn)
        if balancer.type != "network":
            raise errors.InvalidParameterValue(
                f"NetworkLoadBalancerArn '{arn}' is a {balancer.type} load balancer, not a Network Load Balancer"
            )
        for target in self.targets.values():
            if target.network_load_balancer_arn == arn:
                raise errors.NlbInUseByTrafficMirrorTarget(arn, target.id)

    def _check_endpoint_target(self, endpoint_id: str) -> None:
        """ERRORS: InvalidVpcEndpointId.NotFound, "The specified VPC endpoint does not exist"
        (a deleted endpoint included). Only a Gateway Load Balancer endpoint can be a target
        (API CreateTrafficMirrorTarget); AWS documents no code for another endpoint type,
        InvalidParameterValue here. AWS documents no one-target-per-endpoint rule (QUOTAS:
        sessions per Gateway Load Balancer endpoint: unlimited), so none is enforced."""
        endpoint = self.backend.vpc_end_points.get(endpoint_id)
        if endpoint is None or endpoint.state == "deleted":
            raise errors.VpcEndpointNotFound(endpoint_id)
        if endpoint.vpc_endpoint_type != "GatewayLoadBalancer":
            raise errors.InvalidParameterValue(
                f"GatewayLoadBalancerEndpointId '{endpoint_id}' is a {endpoint.vpc_endpoint_type} endpoint, "
                "not a Gateway Load Balancer endpoint"
            )

    def get_target(self, target_id: str) -> MirrorTarget:
        if target_id not in self.targets:
            raise errors.MirrorResourceNotFound("target", target_id)
        return self.targets[target_id]

    def describe_targets(self, ids: list[str] | None, filters: dict[str, list[str]]) -> list[MirrorTarget]:
        return _filtered(_by_ids(self.targets, ids, "target"), "target", filters)

    def delete_target(self, target_id: str) -> None:
        """API DeleteTrafficMirrorTarget: "You cannot delete a Traffic Mirror target that is in use"."""
        self.get_target(target_id)
        for session in self.sessions.values():
            if session.traffic_mirror_target_id == target_id:
                raise errors.TrafficMirrorTargetInUse(target_id, session.id)
        self.backend.tags.pop(target_id, None)
        del self.targets[target_id]

    # -- sessions ---------------------------------------------------------
    def _check_source(self, eni: Any) -> None:
        """SOURCES: a source is an ENI of type ``interface``, not a mirror target, on a
        supported instance type (LIMITS "Instance types"); AWS answers NetworkInterfaceNotSupported."""
        eni_id = eni.id
        for target in self.targets.values():
            if target.network_interface_id == eni_id:
                raise errors.InterfaceInUseByTrafficMirrorTarget(eni_id, target.id)
        if eni.interface_type != "interface":
            raise errors.NetworkInterfaceNotSupported(eni_id, f"its type is {eni.interface_type}, not interface")
        if eni.instance is not None:
            instance_type = eni.instance.instance_type
            info = INSTANCE_TYPES.get(instance_type, {})
            support = support_of(instance_type, info.get("Hypervisor"), bool(info.get("BareMetal")))
            if not support.supported:
                raise errors.NetworkInterfaceNotSupported(eni_id, support.reason)

    def _check_session_number(self, eni_id: str, number: int, session_id: str | None) -> None:
        """API: "Valid values are 1-32766"; the number orders the sessions of one source
        interface, so two sessions on one interface cannot share it."""
        if not 1 <= number <= MAX_NUMBER:
            raise errors.InvalidParameterValue(f"SessionNumber must be between 1 and {MAX_NUMBER}")
        for other in self.sessions.values():
            if other.id != session_id and other.network_interface_id == eni_id and other.session_number == number:
                raise errors.InvalidParameterValue(
                    f"Session number {number} is already used by traffic mirror session {other.id} on {eni_id}"
                )

    def _packet_length(self, target: MirrorTarget, length: int | None) -> int | None:
        """The session's PacketLength: as given, checked, or the target's default (None: the whole packet)."""
        to_nlb = target.type == "network-load-balancer"
        if length is None:
            return MAX_NLB_PACKET_LENGTH if to_nlb else None
        if length < 1 or (to_nlb and length > MAX_NLB_PACKET_LENGTH):
            valid = f"1-{MAX_NLB_PACKET_LENGTH} for a Network Load Balancer target" if to_nlb else "at least 1"
            raise errors.InvalidParameterValue(f"PacketLength {length} is out of range: {valid}")
        return length

    def _check_target_capacity(self, target: MirrorTarget, eni_id: str) -> None:
        """QUOTAS "Sources": an ENI target takes 10 sources, 100 on the instance types listed
        there; a Network Load Balancer or a Gateway Load Balancer endpoint: no limit."""
        if target.type != "network-interface":
            return
        sources = {s.network_interface_id for s in self.sessions.values() if s.traffic_mirror_target_id == target.id}
        if eni_id in sources:
            return
        instance = self.backend.get_network_interface(target.network_interface_id).instance
        limit = sources_per_eni_target(instance.instance_type) if instance is not None else MAX_SOURCES_PER_ENI_TARGET
        if len(sources) >= limit:
            raise errors.TrafficMirrorSourcesPerTargetLimitExceeded(target.id, limit)

    def _new_vni(self) -> int:
        """API CreateTrafficMirrorSession: "If you do not specify a VirtualNetworkId, an
        account-wide unique ID is chosen at random"."""
        used = {s.virtual_network_id for s in self.sessions.values()}
        while (vni := random.randint(1, MAX_VNI)) in used:
            pass
        return vni

    def _check_vni(self, vni: int) -> None:
        if not 0 <= vni <= MAX_VNI:
            raise errors.InvalidParameterValue(f"VirtualNetworkId must be between 0 and {MAX_VNI}")

    def create_session(self, eni_id: str, fields: dict[str, Any], tags: dict[str, str]) -> MirrorSession:
        eni = self.backend.get_network_interface(eni_id)  # InvalidNetworkInterfaceID.NotFound
        target = self.get_target(fields["TrafficMirrorTargetId"])
        self.get_filter(fields["TrafficMirrorFilterId"])
        self._check_source(eni)
        # QUOTAS "Sessions": maximum number of sessions per account: 10,000.
        if len(self.sessions) >= self.quotas.sessions:
            raise errors.TrafficMirrorLimitExceeded("session", self.quotas.sessions)
        on_interface = [s for s in self.sessions.values() if s.network_interface_id == eni_id]
        # LIMITS "Sessions": maximum number of sessions per source network interface: 3.
        if len(on_interface) >= MAX_SESSIONS_PER_SOURCE_ENI:
            raise errors.TrafficMirrorSessionsPerInterfaceLimitExceeded(eni_id, MAX_SESSIONS_PER_SOURCE_ENI)
        self._check_session_number(eni_id, fields["SessionNumber"], None)
        fields["PacketLength"] = self._packet_length(target, fields.get("PacketLength"))
        if fields.get("VirtualNetworkId") is None:
            fields["VirtualNetworkId"] = self._new_vni()
        self._check_vni(fields["VirtualNetworkId"])
        self._check_target_capacity(target, eni_id)
        session = MirrorSession(self.backend, eni_id, fields, tags)
        self.sessions[session.id] = session
        return session

    def get_session(self, session_id: str) -> MirrorSession:
        if session_id not in self.sessions:
            raise errors.MirrorResourceNotFound("session", session_id)
        return self.sessions[session_id]

    def describe_sessions(self, ids: list[str] | None, filters: dict[str, list[str]]) -> list[MirrorSession]:
        return _filtered(_by_ids(self.sessions, ids, "session"), "session", filters)

    def modify_session(self, session_id: str, changes: dict[str, Any], remove_fields: list[str]) -> MirrorSession:
        """API ModifyTrafficMirrorSession; RemoveFields packet-length | description |
        virtual-network-id set the property to its default (the whole packet, 8500 for a
        Network Load Balancer target; none; a new random VNI)."""
        session = self.get_session(session_id)
        target = self.get_target(changes.get("TrafficMirrorTargetId") or session.traffic_mirror_target_id)
        mirror_filter = self.get_filter(changes.get("TrafficMirrorFilterId") or session.traffic_mirror_filter_id)
        if target.network_interface_id == session.network_interface_id:
            raise errors.InterfaceInUseByTrafficMirrorTarget(session.network_interface_id, target.id)
        number = session.session_number if changes["SessionNumber"] is None else changes["SessionNumber"]
        self._check_session_number(session.network_interface_id, number, session_id)
        packet_length = session.packet_length if changes["PacketLength"] is None else changes["PacketLength"]
        if "packet-length" in remove_fields:
            packet_length = None
        packet_length = self._packet_length(target, packet_length)
        vni = changes.get("VirtualNetworkId")
        if vni is not None:
            self._check_vni(vni)
        elif "virtual-network-id" in remove_fields:
            vni = self._new_vni()
        if target.id != session.traffic_mirror_target_id:
            self._check_target_capacity(target, session.network_interface_id)
        session.traffic_mirror_target_id = target.id
        session.traffic_mirror_filter_id = mirror_filter.id
        session.session_number = number
        session.packet_length = packet_length
        if vni is not None:
            session.virtual_network_id = vni
        if "description" in remove_fields:
            session.description = None
        elif changes.get("Description") is not None:
            session.description = changes["Description"]
        return session

    def delete_session(self, session_id: str) -> None:
        self.get_session(session_id)
        self.backend.tags.pop(session_id, None)
        del self.sessions[session_id]
