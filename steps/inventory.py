"""What the pickers list: profiles, regions, VPCs, subnets, key pairs, instances, ENIs.

Pure functions over a ``steps.aws.Aws``: blocking boto3 calls, so the TUI runs
them in a worker thread and never touches boto3 itself.
"""

from __future__ import annotations

from vpc_mirror.models.ids import named
from vpc_mirror.models.mirroring_support import MAX_SESSIONS_PER_SOURCE_ENI, support_of
from vpc_mirror.steps.ec2_describe import LIVE_INSTANCE_STATES, by_ref, find_instances, name_tag


def profiles() -> list[str]:
    """Profiles of ~/.aws/config and ~/.aws/credentials."""
    import botocore.session  # deferred for start-up time: this module is loaded with the first screen

    return sorted(botocore.session.Session().available_profiles)


def identity(aws) -> dict:
    ident = aws.sts.get_caller_identity()
    return {"account": ident["Account"], "arn": ident["Arn"]}


def regions(aws) -> list[str]:
    """The regions the account has enabled (opted in, or needing no opt-in)."""
    found = aws.ec2.describe_regions()["Regions"]
    return sorted(r["RegionName"] for r in found if r.get("OptInStatus") in (None, "opt-in-not-required", "opted-in"))


def vpcs(aws) -> list[dict]:
    out = []
    for page in aws.ec2.get_paginator("describe_vpcs").paginate():
        for v in page["Vpcs"]:
            out.append({"id": v["VpcId"], "name": name_tag(v.get("Tags")) or "", "cidr": v["CidrBlock"],
                        "default": bool(v.get("IsDefault"))})
    return sorted(out, key=lambda v: (v["default"], v["name"] or "~", v["id"]))


def vpc_id_of(aws, ref: str) -> str | None:
    """A VPC answer as an id: ``name:X`` (answers files, the demo's answers) is looked up by its Name tag."""
    if named(ref) is None:
        return ref
    found = aws.ec2.describe_vpcs(**by_ref(ref, "VpcIds"))["Vpcs"]
    return found[0]["VpcId"] if len(found) == 1 else None


def subnets(aws, vpc_id: str) -> list[dict]:
    out = []
    vpc_id = vpc_id_of(aws, vpc_id)
    if vpc_id is None:
        return out
    for page in aws.ec2.get_paginator("describe_subnets").paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]):
        for s in page["Subnets"]:
            out.append({"id": s["SubnetId"], "name": name_tag(s.get("Tags")) or "", "cidr": s["CidrBlock"],
                        "az": s["AvailabilityZone"], "ipv6": bool(s.get("Ipv6CidrBlockAssociationSet"))})
    return sorted(out, key=lambda s: (s["name"] or "~", s["cidr"]))


def key_pairs(aws) -> list[str]:
    return sorted(k["KeyName"] for k in aws.ec2.describe_key_pairs()["KeyPairs"])


def instances(aws, vpc_id: str | None = None) -> list[dict]:
    """Live instances (of a VPC), each with whether AWS can mirror it and why (models.mirroring_support)."""
    filters = [{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id_of(aws, vpc_id) or "vpc-none"]})
    found = [i for page in aws.ec2.get_paginator("describe_instances").paginate(Filters=filters)
             for r in page["Reservations"] for i in r["Instances"]]
    types = sorted({i["InstanceType"] for i in found})
    info = {}
    if types:
        for page in aws.ec2.get_paginator("describe_instance_types").paginate(InstanceTypes=types):
            info.update({t["InstanceType"]: t for t in page["InstanceTypes"]})
    out = []
    for i in found:
        itype = i["InstanceType"]
        support = support_of(itype, info.get(itype, {}).get("Hypervisor"), bool(info.get(itype, {}).get("BareMetal")))
        out.append({"id": i["InstanceId"], "name": name_tag(i.get("Tags")) or "", "type": itype,
                    "state": i["State"]["Name"], "private_ip": i.get("PrivateIpAddress") or "",
                    "subnet_id": i.get("SubnetId"), "supported": support.supported, "reason": support.reason,
                    "badge": support.badge})
    return sorted(out, key=lambda i: (i["name"] or "~", i["id"]))


def source_enis(aws, refs: list[str]) -> list[dict]:
    """The ENIs of these instances (ids or ``name:`` refs), with how many of AWS's sessions per ENI are used."""
    instance_ids = [i["InstanceId"] for i in find_instances(aws, refs)[0].values()]
    if not instance_ids:
        return []
    enis = aws.ec2.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": instance_ids}])["NetworkInterfaces"]
    ids = [e["NetworkInterfaceId"] for e in enis]
    used: dict[str, int] = {}
    if ids:
        for page in aws.ec2.get_paginator("describe_traffic_mirror_sessions").paginate(
                Filters=[{"Name": "network-interface-id", "Values": ids}]):
            for s in page["TrafficMirrorSessions"]:
                used[s["NetworkInterfaceId"]] = used.get(s["NetworkInterfaceId"], 0) + 1
    out = [{"id": e["NetworkInterfaceId"], "instance_id": e["Attachment"]["InstanceId"],
            "device_index": e["Attachment"]["DeviceIndex"], "private_ip": e.get("PrivateIpAddress") or "",
            "sessions": used.get(e["NetworkInterfaceId"], 0), "limit": MAX_SESSIONS_PER_SOURCE_ENI}
           for e in enis if e.get("Attachment")]
    return sorted(out, key=lambda e: (e["instance_id"], e["device_index"]))
