"""Reading EC2's describe answers the same way everywhere: an item's Name tag, which instances still exist,
looking things up by id or by Name tag (``name:web-1``) or by selector (``tag:env=prod``), and a setup's VPC ranges.

Free of boto3 (the pickers' steps.inventory is loaded with the first screen): botocore's errors are
imported only inside ``vpc_blocks`` (start-up time).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from vpc_mirror.models.ids import NAME_REF, named
from vpc_mirror.steps.problems import UserProblem

#: Instance states in which an instance exists: it can be a source, a sensor or adopted on resume
#: (shutting-down and terminated ones are on their way out).
LIVE_INSTANCE_STATES = ["pending", "running", "stopping", "stopped"]


def name_tag(tags: list[dict] | None) -> str | None:
    """The value of the ``Name`` tag in a describe answer's Tags (or an ENI's TagSet), None without one."""
    return next((t["Value"] for t in tags or () if t["Key"] == "Name"), None)


def by_ref(ref: str, ids_param: str) -> dict:
    """Describe arguments for an id or a ``name:`` reference, e.g. ``{"VpcIds": [ref]}``."""
    name = named(ref)
    if name is None:
        return {ids_param: [ref]}
    return {"Filters": [{"Name": "tag:Name", "Values": [name]}]}


def find_instances(aws, refs: list[str]) -> tuple[dict[str, dict], list[str]]:
    """Resolve ``i-…`` / ``name:…`` refs to live instances; returns (ref -> instance, problems)."""
    ids = [r for r in refs if named(r) is None]
    names = [named(r) for r in refs if named(r) is not None]
    found: dict[str, dict] = {}
    problems: list[str] = []
    live = {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}
    if ids:
        paginator = aws.ec2.get_paginator("describe_instances")
        by_id = {}
        for page in paginator.paginate(Filters=[{"Name": "instance-id", "Values": ids}, live]):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    by_id[inst["InstanceId"]] = inst
        for ref in ids:
            if ref in by_id:
                found[ref] = by_id[ref]
            else:
                problems.append(f"sources.instances: {ref} does not exist (or is terminated) in {aws.region}")
    if names:
        by_name: dict[str, list[dict]] = {}
        paginator = aws.ec2.get_paginator("describe_instances")
        for page in paginator.paginate(Filters=[{"Name": "tag:Name", "Values": names}, live]):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    by_name.setdefault(name_tag(inst.get("Tags")), []).append(inst)
        for name in names:
            matches = by_name.get(name, [])
            if len(matches) == 1:
                found[NAME_REF + name] = matches[0]
            elif not matches:
                problems.append(f"sources.instances: no instance is named {name!r}; "
                                "check the Name tag or use its i- id")
            else:
                ids_text = ", ".join(m["InstanceId"] for m in matches)
                problems.append(f"sources.instances: {len(matches)} instances are named {name!r} ({ids_text}); "
                                "use the i- id of the one to monitor")
    return found, problems


#: A selector's kind -> the DescribeInstances filter it becomes (tag selectors: ``tag:<KEY>``).
_SELECTOR_FILTERS = {"subnet": "subnet-id", "vpc": "vpc-id"}


def _selector_queries(selectors: list[str]) -> list[tuple[dict, list[str]]]:
    """One DescribeInstances filter per query, with the selectors it stands for.

    EC2 ANDs the filters of one call and ORs the values of one filter, so the
    selectors of one filter name (one tag key, all subnets, all VPCs) share a
    call and the others get their own; tag values keep EC2's ``*`` and ``?``
    wildcards ("Filter resources using tags", EC2 User Guide).
    """
    values: dict[str, list[str]] = {}
    chosen: dict[str, list[str]] = {}
    for selector in selectors:
        kind, _, rest = selector.partition(":")
        if kind == "tag":
            key, _, value = rest.partition("=")
            name = f"tag:{key}"
        else:
            name, value = _SELECTOR_FILTERS[kind], rest
        values.setdefault(name, []).append(value)
        chosen.setdefault(name, []).append(selector)
    return [({"Name": name, "Values": vals}, chosen[name]) for name, vals in values.items()]


def select_instances(aws, selectors: list[str]) -> dict[str, tuple[dict, list[str]]]:
    """Live instances matching any selector (paged): instance id -> (instance, the selectors it matched)."""
    live = {"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}
    out: dict[str, tuple[dict, list[str]]] = {}
    paginator = aws.ec2.get_paginator("describe_instances")
    for query, chosen in _selector_queries(selectors):
        for page in paginator.paginate(Filters=[query, live]):
            for reservation in page["Reservations"]:
                for inst in reservation["Instances"]:
                    _, matched = out.setdefault(inst["InstanceId"], (inst, []))
                    # EC2 says one of ``chosen`` matched; which, we tell here (a value with EC2's \* escape
                    # that fnmatch reads otherwise is credited to the first)
                    matched += [c for c in chosen if _matches(inst, c)] or chosen[:1]
    return out


def _matches(inst: dict, selector: str) -> bool:
    """Whether a described instance matches one selector, as EC2's filter does (``*`` and ``?`` in tag values)."""
    kind, _, rest = selector.partition(":")
    if kind == "subnet":
        return inst.get("SubnetId") == rest
    if kind == "vpc":
        return inst.get("VpcId") == rest
    key, _, pattern = rest.partition("=")
    pattern = pattern.replace("[", "[[]")  # EC2 knows only * and ?; fnmatch would read [..] as a set
    return any(t["Key"] == key and fnmatchcase(t["Value"], pattern) for t in inst.get("Tags") or ())


class VpcUnreadable(UserProblem):
    """The setup's VPC could not be described, so its address ranges are unknown (exit 1: AWS, not the input)."""

    code = 1


def vpc_blocks(ctx) -> list[str]:
    """The setup's VPC's associated IPv4 and IPv6 CIDR blocks (for what counts as internal); blocking (AWS).

    One reading for hunt and ship: a block counts only while AWS says it is associated (one being
    added or removed does not), and a refused DescribeVpcs is a VpcUnreadable saying which permission.
    """
    from botocore.exceptions import BotoCoreError, ClientError
    from vpc_mirror.steps.aws_errors import explain

    vpc = ctx.state.resource("vpc")
    vpc_id = (vpc.id if vpc is not None else None) or ctx.facts("vpc").get("vpc_id")
    if not vpc_id:
        return []
    try:
        found = ctx.aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    except (ClientError, BotoCoreError) as exc:
        raise VpcUnreadable(f"cannot read the address ranges of VPC {vpc_id}: {explain(exc, 'DescribeVpcs')}; "
                            "or give them by hand (hunt: --internal CIDR)") from None
    blocks = []
    for item in found:
        blocks += [a["CidrBlock"] for a in item.get("CidrBlockAssociationSet", [])
                   if a.get("CidrBlockState", {}).get("State") == "associated"]
        blocks += [a["Ipv6CidrBlock"] for a in item.get("Ipv6CidrBlockAssociationSet", [])
                   if a.get("Ipv6CidrBlockState", {}).get("State") == "associated"]
    return blocks
