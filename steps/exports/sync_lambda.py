"""vpc-mirror's sync Lambda: mirrors one instance when EC2 reports its new state.

``vpc-mirror export NAME --format cloudformation|terraform --with-sync`` embeds
this file's text as the code of a Lambda function, so it uses only boto3 and
the standard library. An EventBridge rule on "EC2 Instance State-change
Notification" invokes ``handler`` with the instance's id and state:

- running: an instance of the setup's sources (listed by id or name, or
  selected by tag, subnet or VPC) that has no session of the setup gets one on
  its primary network interface: the lowest session number free there, the
  setup's filter, the setup's target with the fewest sessions, tagged with the
  setup. AWS refuses a type it cannot mirror (NetworkInterfaceNotSupported),
  which is logged and skipped: AWS's answer, not a copy of its list, so the
  function keeps up as AWS adds types. A running instance that no longer
  matches loses the setup's sessions. The setup's own instances are never
  sources: those that carry its tag (sensors and test beacon it launched) and
  those the settings' ``exclude`` lists (every instance of the setup's state,
  among them a sensor it reuses, which carries no tag of the setup).
- shutting-down, terminated: the setup's sessions on the instance's interfaces
  are deleted. AWS deletes an interface that is deleted on termination (the
  primary one) and with it "the traffic mirror sessions for the source"; this
  removes the sessions of interfaces that outlive the instance.
- stopping and stopped are not sent: a stopped instance keeps its interfaces
  and their sessions, and mirroring resumes when it starts.

EventBridge delivers an event at least once. A repeated event finds the session
the first one made, and the create's ClientToken is made of the event's id, so
two deliveries at the same time make one session.

Settings: the environment variable VPC_MIRROR_SYNC, a JSON object with setup,
instances, select, exclude (instance ids that are never sources), targets,
filter and the session's vni, packet_length and description (null: AWS's
default).
"""

import hashlib
import json
import logging
import os
import re

import boto3
from botocore.exceptions import ClientError

SETUP_TAG = "vpc-mirror:setup"
#: AWS allows 3 sessions on one source interface.
MAX_SESSIONS_PER_ENI = 3
REMOVED_STATES = ("shutting-down", "terminated")

log = logging.getLogger("vpc-mirror-sync")
log.setLevel(logging.INFO)


def handler(event, context=None):
    """The Lambda entry point: one EventBridge event about one instance."""
    config = json.loads(os.environ["VPC_MIRROR_SYNC"])
    detail = event["detail"]
    return reconcile(boto3.client("ec2"), config, detail["instance-id"], detail["state"], event["id"])


def reconcile(ec2, config, instance_id, state, event_id):
    """Bring one instance's sessions of the setup in line; returns what was done (also logged)."""
    instance = _instance(ec2, instance_id)
    if instance is None:
        return _said(f"{instance_id}: gone; AWS deleted its sessions with its network interfaces")
    enis = [n["NetworkInterfaceId"] for n in instance.get("NetworkInterfaces", [])]
    ours = _sessions_of_setup(ec2, config["setup"], enis)
    if state in REMOVED_STATES:
        return _delete(ec2, instance_id, ours, f"it is {state}")
    if state != "running":
        return _said(f"{instance_id}: {state}, nothing to do")
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if tags.get(SETUP_TAG) == config["setup"]:
        return _said(f"{instance_id}: one of setup {config['setup']}'s own instances (a sensor or the test "
                     "beacon), not a source")
    if instance_id in config["exclude"]:
        return _said(f"{instance_id}: one of setup {config['setup']}'s own instances (a sensor it uses, or one "
                     "it made), listed in the settings' exclude; not a source")
    why = matched(instance, tags, config)
    if why is None:
        return _delete(ec2, instance_id, ours, "it matches none of sources.instances and sources.select")
    if ours:
        return _said(f"{instance_id}: already mirrored by {', '.join(s['TrafficMirrorSessionId'] for s in ours)}")
    return _create(ec2, config, instance, why, event_id)


def matched(instance, tags, config):
    """Why the instance is a source ("listed" or the selector it matches), or None."""
    if {instance["InstanceId"], "name:" + tags.get("Name", "")} & set(config["instances"]):
        return "listed in sources.instances"
    for selector in config["select"]:
        kind, _, value = selector.partition(":")
        if kind == "tag":
            key, _, pattern = value.partition("=")
            if key in tags and wildcard(pattern).fullmatch(tags[key]):
                return selector
        elif instance.get({"subnet": "SubnetId", "vpc": "VpcId"}[kind]) == value:
            return selector
    return None


def wildcard(pattern):
    """An EC2 filter value as a regex: * is any run of characters, ? one character, \\ escapes the next."""
    parts = re.findall(r"\\.|\\$|.", pattern, re.DOTALL)
    return re.compile("".join({"*": ".*", "?": "."}.get(p) or re.escape(p[-1]) for p in parts), re.DOTALL)


def _create(ec2, config, instance, why, event_id):
    iid = instance["InstanceId"]
    eni = next(n["NetworkInterfaceId"] for n in instance["NetworkInterfaces"]
               if n["Attachment"]["DeviceIndex"] == 0 and n["Attachment"].get("NetworkCardIndex", 0) == 0)
    used = {s["SessionNumber"] for s in _paged(ec2, [{"Name": "network-interface-id", "Values": [eni]}])}
    if len(used) >= MAX_SESSIONS_PER_ENI:
        return _said(f"{iid}: not mirrored: its interface {eni} already has {len(used)} sessions "
                     f"(numbers {sorted(used)}), AWS's limit")
    number = next(n for n in range(1, 32767) if n not in used)
    name = f"vpc-mirror/{config['setup']}/session/{iid}"
    params = {"NetworkInterfaceId": eni, "TrafficMirrorTargetId": _target(ec2, config),
              "TrafficMirrorFilterId": config["filter"], "SessionNumber": number,
              "VirtualNetworkId": config["vni"], "PacketLength": config["packet_length"],
              "Description": config["description"],
              "ClientToken": hashlib.sha256(f"{config['setup']} {eni} {event_id}".encode()).hexdigest()[:32],
              "TagSpecifications": [{"ResourceType": "traffic-mirror-session", "Tags": [
                  {"Key": SETUP_TAG, "Value": config["setup"]}, {"Key": "Name", "Value": name}]}]}
    try:
        made = ec2.create_traffic_mirror_session(**{k: v for k, v in params.items() if v is not None})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NetworkInterfaceNotSupported":
            raise
        return _said(f"{iid}: not mirrored: AWS cannot mirror it ({exc.response['Error']['Message']})")
    session = made["TrafficMirrorSession"]
    return _said(f"{iid}: mirrored by {session['TrafficMirrorSessionId']} (session {number} on {eni}; {why})")


def _target(ec2, config):
    """The setup's target with the fewest of its sessions (one per sensor with ENI targets)."""
    targets = config["targets"]
    if len(targets) == 1:
        return targets[0]
    load = {t: 0 for t in targets}
    for s in _paged(ec2, [{"Name": f"tag:{SETUP_TAG}", "Values": [config["setup"]]}]):
        if s["TrafficMirrorTargetId"] in load:
            load[s["TrafficMirrorTargetId"]] += 1
    return min(targets, key=lambda t: (load[t], targets.index(t)))


def _delete(ec2, iid, sessions, why):
    if not sessions:
        return _said(f"{iid}: no session of the setup ({why})")
    gone = []
    for s in sessions:
        try:
            ec2.delete_traffic_mirror_session(TrafficMirrorSessionId=s["TrafficMirrorSessionId"])
        except ClientError as exc:  # deleted meanwhile, with its interface or by a repeated event
            if not exc.response["Error"]["Code"].startswith("InvalidTrafficMirrorSessionId"):
                raise
        gone.append(s["TrafficMirrorSessionId"])
    return _said(f"{iid}: deleted {', '.join(gone)} ({why})")


def _instance(ec2, instance_id):
    try:
        found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidInstanceID.NotFound":
            return None
        raise
    return found[0]["Instances"][0] if found else None


def _sessions_of_setup(ec2, setup, enis):
    if not enis:
        return []
    return [s for s in _paged(ec2, [{"Name": "network-interface-id", "Values": enis}])
            if {"Key": SETUP_TAG, "Value": setup} in s.get("Tags", [])]


def _paged(ec2, filters):
    pages = ec2.get_paginator("describe_traffic_mirror_sessions").paginate(Filters=filters)
    return [s for page in pages for s in page["TrafficMirrorSessions"]]


def _said(line):
    log.info(line)
    return line
