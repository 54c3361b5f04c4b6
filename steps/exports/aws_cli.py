"""The plan as a bash script of AWS CLI calls: same resources, same order, same tags.

Each created id is captured with ``--query … --output text`` into a variable
that later calls use; values apply derives from AWS (the VPC's first IPv6 /64,
its main route table, a subnet or address of an instance or ENI) are read with
AWS CLI queries at the point apply would read them. Each call's parameters are
one ``--cli-input-json`` document, so text the user typed arrives as typed.
"""

from __future__ import annotations

import shlex

from botocore import xform_name

from vpc_mirror.models.actions import Action, refs_in
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.exports.common import Piece, in_apply_order, ident, json_pieces, pieces

#: --query that extracts the created id from each create call's answer.
ID_QUERY = {
    "CreateVpc": "Vpc.VpcId",
    "CreateSubnet": "Subnet.SubnetId",
    "CreateInternetGateway": "InternetGateway.InternetGatewayId",
    "CreateSecurityGroup": "GroupId",
    "RunInstances": "Instances[0].InstanceId",
    "CreateNetworkInterface": "NetworkInterface.NetworkInterfaceId",
    "AttachNetworkInterface": "AttachmentId",
    "CreateTrafficMirrorTarget": "TrafficMirrorTarget.TrafficMirrorTargetId",
    "CreateTrafficMirrorFilter": "TrafficMirrorFilter.TrafficMirrorFilterId",
    "CreateTrafficMirrorFilterRule": "TrafficMirrorFilterRule.TrafficMirrorFilterRuleId",
    "CreateTrafficMirrorSession": "TrafficMirrorSession.TrafficMirrorSessionId",
    "CreateLoadBalancer": "LoadBalancers[0].LoadBalancerArn",
    "CreateTargetGroup": "TargetGroups[0].TargetGroupArn",
    "CreateListener": "Listeners[0].ListenerArn",
    "CreateVpcEndpointServiceConfiguration": "ServiceConfiguration.ServiceId",
    "CreateVpcEndpoint": "VpcEndpoint.VpcEndpointId",
}

#: kind -> (describe call for one id, path to the item, attribute -> field), as steps.resources records them.
LOOKUPS = {
    "vpc": ("describe-vpcs --vpc-ids", "Vpcs[0]", {"cidr": "CidrBlock"}),
    "subnet": ("describe-subnets --subnet-ids", "Subnets[0]", {"az": "AvailabilityZone", "cidr": "CidrBlock"}),
    "instance": ("describe-instances --instance-ids", "Reservations[0].Instances[0]",
                 {"subnet_id": "SubnetId", "private_ip": "PrivateIpAddress", "public_ip": "PublicIpAddress",
                  "az": "Placement.AvailabilityZone", "image_id": "ImageId", "instance_type": "InstanceType",
                  "primary_eni": "NetworkInterfaces | sort_by(@, &Attachment.DeviceIndex)[0].NetworkInterfaceId"}),
    "network-interface": ("describe-network-interfaces --network-interface-ids", "NetworkInterfaces[0]",
                          {"private_ip": "PrivateIpAddress", "subnet_id": "SubnetId", "mac": "MacAddress"}),
    "endpoint-service": ("describe-vpc-endpoint-service-configurations --service-ids", "ServiceConfigurations[0]",
                         {"service_name": "ServiceName"}),
}

_FIRST_IPV6_64 = '''\
# The first /64 of a VPC's Amazon IPv6 block (a /56), once it is associated.
first_ipv6_64() {
  local block
  for _ in $(seq 60); do
    block=$(ec2 describe-vpcs --vpc-ids "$1" --output text \\
      --query "Vpcs[0].Ipv6CidrBlockAssociationSet[?Ipv6CidrBlockState.State=='associated'].Ipv6CidrBlock | [0]")
    if [ "$block" != None ]; then
      echo "${block%/*}/64"
      return
    fi
    sleep 2
  done
  echo "VPC $1 got no IPv6 block in 2 minutes" >&2
  return 1
}
'''


_WAIT_ENDPOINT = '''\
# A Gateway Load Balancer endpoint takes traffic (and can be a mirror target) once it is available.
wait_endpoint_available() {
  local state
  for _ in $(seq 100); do
    state=$(ec2 describe-vpc-endpoints --vpc-endpoint-ids "$1" --query 'VpcEndpoints[0].State' --output text)
    if [ "$state" = available ]; then
      return
    fi
    sleep 3
  done
  echo "VPC endpoint $1 is still $state after 5 minutes" >&2
  return 1
}
'''


def var(key: str, attr: str | None = None) -> str:
    return ident(key if attr is None else f"{key}.{attr}", "upper")


def _word(parts: list[Piece]) -> str:
    """One shell word: literal text single-quoted, Refs as "$VARIABLES"."""
    out = []
    for piece in parts:
        out.append(shlex.quote(piece) if isinstance(piece, str) else f'"${var(piece.key, piece.attr)}"')
    return "".join(out) or "''"


def _command(service: str, api: str, params: dict) -> str:
    """The call with all its parameters as ``--cli-input-json``: the AWS CLI reads an option's value that
    starts with ``file://`` or ``http://`` as a file or URL, and one that starts with ``-`` as an option;
    values inside the JSON are taken as they are."""
    return f"{service} {xform_name(api, '-')} \\\n    --cli-input-json {_word(json_pieces(params))}"


def _comment(text: str) -> str:
    """One comment line, whatever the text (names come from AWS and may hold line breaks)."""
    return "# " + "".join(c if c.isprintable() else " " for c in text)


def _lookup(action: Action, attr: str) -> str:
    """Shell lines that set $KEY_ATTR from AWS."""
    target = var(action.key, attr)
    if action.kind == "vpc" and attr == "ipv6_subnet_0":
        return f'{target}=$(first_ipv6_64 "${var(action.key)}")'
    if action.kind == "vpc" and attr == "main_route_table_id":
        return (f'{target}=$(ec2 describe-route-tables --filters "Name=vpc-id,Values=${var(action.key)}" '
                "Name=association.main,Values=true \\\n    --query 'RouteTables[0].RouteTableId' --output text)")
    describe, path, fields = LOOKUPS[action.kind]
    return (f'{target}=$(ec2 {describe} "${var(action.key)}" '
            f"--query '{path}.{fields[attr]}' --output text)")


def render(ctx: Context, actions: list[Action]) -> str:
    ordered = in_apply_order(actions)
    used: dict[str, set[str | None]] = {}
    for action in ordered:
        for ref in refs_in(action.params):
            used.setdefault(ref.key, set()).add(ref.attr)
    lines = [
        "#!/usr/bin/env bash",
        f"# vpc-mirror setup {ctx.setup!r}: the resources `vpc-mirror apply` creates, as AWS CLI calls, in its order.",
        "# Generated by `vpc-mirror export --format aws-cli`. Ids of existing resources are those the plan found.",
        "# AWS_PROFILE and the other AWS CLI settings apply; AWS_ENDPOINT_URL points it at an emulator.",
        "set -euo pipefail",
        "",
        f"REGION={shlex.quote(ctx.aws.region)}",
        'ec2() { aws ec2 --region "$REGION" "$@"; }',
        *(['elbv2() { aws elbv2 --region "$REGION" "$@"; }'] if any(a.service == "elbv2" for a in ordered) else []),
        "",
    ]
    if any(a.kind == "vpc" and "ipv6_subnet_0" in used.get(a.key, ()) for a in ordered if a.verb == "create"):
        lines += [_FIRST_IPV6_64]
    if any(a.api == "CreateVpcEndpoint" for a in ordered if a.verb == "create"):
        lines += [_WAIT_ENDPOINT]
    created: list[Action] = []
    for action in ordered:
        if action.verb == "reuse" and action.key in used:
            lines += _reused(action, used[action.key])
        if action.verb != "create":
            continue
        lines.append(_comment(action.summary))
        command = _command(action.service, action.api, action.params)
        if action.api in ID_QUERY:
            lines.append(f"{var(action.key)}=$({command} \\\n    --query '{ID_QUERY[action.api]}' --output text)")
            created.append(action)
        elif action.kind == "interface-groups":
            lines += _add_groups(action)
        else:
            lines.append(f"{command} >/dev/null")
        if action.api == "RunInstances":
            lines.append(f'ec2 wait instance-running --instance-ids "${var(action.key)}"')
        if action.api == "CreateLoadBalancer":  # a listener, endpoint service or mirror target needs it active
            lines.append(f'elbv2 wait load-balancer-available --load-balancer-arns "${var(action.key)}"')
        if action.api == "CreateVpcEndpoint":
            lines.append(f'wait_endpoint_available "${var(action.key)}"')
        lines += [_lookup(action, attr) for attr in sorted(a for a in used.get(action.key, ()) if a)]
        lines.append("")
    lines.append("# What was created:")
    lines += [f'printf "%-40s %s\\n" {shlex.quote(a.key)} "${var(a.key)}"' for a in created]
    return "\n".join(lines) + "\n"


def _add_groups(action: Action) -> list[str]:
    """ModifyNetworkInterfaceAttribute replaces an interface's groups: the ones it has are kept, as apply does."""
    eni = _word(pieces(action.params["NetworkInterfaceId"]))
    added = " ".join(_word(pieces(g)) for g in action.params["Groups"])
    return [(f"read -ra groups <<< \"$(ec2 describe-network-interfaces --network-interface-ids {eni} "
             "--query 'NetworkInterfaces[0].Groups[].GroupId' --output text)\""),
            f'ec2 modify-network-interface-attribute --network-interface-id {eni} --groups "${{groups[@]}}" {added}']


def _reused(action: Action, attrs: set[str | None]) -> list[str]:
    lines = [_comment(action.summary), f"{var(action.key)}={shlex.quote(action.id or '')}"]
    for attr in sorted(a for a in attrs if a):
        known = action.params.get(attr)
        lines.append(f"{var(action.key, attr)}={shlex.quote(str(known))}" if known is not None
                     else _lookup(action, attr))
    return lines + [""]
