"""The sync Lambda (steps/exports/sync_lambda.py), run in-process against the sandbox with real events.

The handler makes its own boto3 client, as it does in Lambda; AWS_ENDPOINT_URL (read by botocore 1.31 and
later) points it at the sandbox.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from vpc_mirror.models.plan import SensorPlan
from vpc_mirror.steps.exports import sync_lambda
from vpc_mirror.steps.exports.with_sync import sync_settings
from tests.awsfacts import Recorder, demo_plan, ec2
from tests.exporting import planned, selecting
from tests.scale_answers import more_sources

SETUP = "demo"


def state_change(instance_id: str, state: str, event_id: str = "7bf73129-1428-4cd3-a780-95db273d1602") -> dict:
    """An "EC2 Instance State-change Notification" as EventBridge delivers it: the sample event of the EC2
    User Guide, "EC2 instance state change events"
    (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/monitoring-instance-state-changes.html)."""
    return {
        "id": event_id,
        "detail-type": "EC2 Instance State-change Notification",
        "source": "aws.ec2",
        "account": "123456789012",
        "time": "2021-11-11T21:29:54Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:ec2:us-east-1:123456789012:instance/{instance_id}"],
        "detail": {"instance-id": instance_id, "state": state},
    }


class Account:
    """The sandbox's demo instances, the setup's target(s) and filter, and the handler pointed at them."""

    def __init__(self, sandbox, monkeypatch, targets: int = 1, select=("tag:env=prod",), instances=()):
        self.c = ec2(sandbox)
        self.ids = {_name(i): i["InstanceId"] for r in self.c.describe_instances()["Reservations"]
                    for i in r["Instances"]}
        subnet = self.c.describe_instances(InstanceIds=[self.ids["web-1"]])["Reservations"][0]["Instances"][0][
            "SubnetId"]
        self.vpc = self.c.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["demo-vpc"]}])["Vpcs"][0]["VpcId"]
        self.targets = []
        for _ in range(targets):
            eni = self.c.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
            target = self.c.create_traffic_mirror_target(
                NetworkInterfaceId=eni, TagSpecifications=_ours("traffic-mirror-target"))["TrafficMirrorTarget"]
            self.targets.append(target["TrafficMirrorTargetId"])
        self.filter = self.c.create_traffic_mirror_filter(
            TagSpecifications=_ours("traffic-mirror-filter"))["TrafficMirrorFilter"]["TrafficMirrorFilterId"]
        self.config = {"setup": SETUP, "instances": list(instances), "select": list(select), "exclude": [],
                       "targets": self.targets, "filter": self.filter, "vni": 4242, "packet_length": None,
                       "description": "vpc-mirror session"}
        monkeypatch.setenv("AWS_ENDPOINT_URL", sandbox.endpoint_url)
        monkeypatch.setenv("VPC_MIRROR_SYNC", json.dumps(self.config))

    def tag(self, name: str, **tags: str) -> None:
        self.c.create_tags(Resources=[self.ids[name]], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def eni(self, name: str) -> str:
        found = self.c.describe_instances(InstanceIds=[self.ids[name]])["Reservations"][0]["Instances"][0]
        return next(n["NetworkInterfaceId"] for n in found["NetworkInterfaces"] if n["Attachment"]["DeviceIndex"] == 0)

    def sessions(self, name: str) -> list[dict]:
        return self.c.describe_traffic_mirror_sessions(
            Filters=[{"Name": "network-interface-id", "Values": [self.eni(name)]}])["TrafficMirrorSessions"]

    def ours(self, name: str) -> list[dict]:
        return [s for s in self.sessions(name) if {"Key": "vpc-mirror:setup", "Value": SETUP} in s.get("Tags", [])]

    def other_setups_session(self, name: str, number: int = 1) -> str:
        """A session of another tool on the instance's primary ENI."""
        subnet = self.c.describe_instances(InstanceIds=[self.ids[name]])["Reservations"][0]["Instances"][0][
            "SubnetId"]
        eni = self.c.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
        target = self.c.create_traffic_mirror_target(NetworkInterfaceId=eni)["TrafficMirrorTarget"]
        return self.c.create_traffic_mirror_session(
            NetworkInterfaceId=self.eni(name), SessionNumber=number, TrafficMirrorFilterId=self.filter,
            TrafficMirrorTargetId=target["TrafficMirrorTargetId"])["TrafficMirrorSession"]["TrafficMirrorSessionId"]


def _ours(resource_type: str) -> list[dict]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": "vpc-mirror:setup", "Value": SETUP}]}]


def _name(instance: dict) -> str:
    return next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), "-")


def test_a_matching_instance_gets_one_session_on_the_lowest_free_number(sandbox, monkeypatch):
    account = Account(sandbox, monkeypatch)
    account.tag("web-1", env="prod")
    other = account.other_setups_session("web-1", number=1)
    sync_lambda.handler(state_change(account.ids["web-1"], "running"))
    (session,) = account.ours("web-1")
    assert session["SessionNumber"] == 2
    assert session["TrafficMirrorTargetId"] == account.targets[0]
    assert session["TrafficMirrorFilterId"] == account.filter and session["VirtualNetworkId"] == 4242
    assert {"Key": "Name", "Value": f"vpc-mirror/demo/session/{account.ids['web-1']}"} in session["Tags"]
    assert other in {s["TrafficMirrorSessionId"] for s in account.sessions("web-1")}


def test_a_repeated_event_creates_nothing(sandbox, monkeypatch):
    """EventBridge delivers at least once: the same event again, or a later start, makes no second session."""
    account = Account(sandbox, monkeypatch)
    account.tag("web-1", env="prod")
    event = state_change(account.ids["web-1"], "running")
    sync_lambda.handler(event)
    recorder = Recorder()
    client = sync_lambda.boto3.client("ec2")
    client.meta.events.register("before-call.ec2.*", lambda model, params, **_: recorder.calls.append(model.name))
    said = sync_lambda.reconcile(client, account.config, account.ids["web-1"], "running", event["id"])
    assert "already mirrored" in said and recorder.mutating_calls() == []
    sync_lambda.handler(state_change(account.ids["web-1"], "running", event_id="another-start"))
    assert len(account.ours("web-1")) == 1


def test_two_deliveries_at_once_make_one_session(sandbox, monkeypatch):
    """Both read the ENI's sessions before either creates: the ClientToken, made of the event's id, makes
    the second create answer with the first one's session."""
    account = Account(sandbox, monkeypatch)
    account.tag("web-1", env="prod")
    both_have_read = threading.Barrier(2, timeout=30)
    event = state_change(account.ids["web-1"], "running")

    def deliver() -> str:
        client = sync_lambda.boto3.client("ec2")
        client.meta.events.register("after-call.ec2.DescribeTrafficMirrorSessions",
                                    lambda **_: both_have_read.wait())
        return sync_lambda.reconcile(client, account.config, account.ids["web-1"], "running", event["id"])

    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: deliver(), range(2))
    assert first == second and "mirrored by" in first
    assert len(account.ours("web-1")) == 1


@pytest.mark.parametrize("name, tags, reason", [
    ("api-1", {"env": "staging"}, "matches none of sources.instances and sources.select"),
    ("db-1", {"env": "prod"}, "AWS cannot mirror it"),  # m6i: a Nitro family AWS lists as unsupported
    ("legacy-1", {"env": "prod"}, "AWS cannot mirror it"),  # t2: Xen
    ("web-1", {"env": "prod", "vpc-mirror:setup": SETUP}, "one of setup demo's own instances"),  # a sensor
], ids=["not-selected", "unsupported-nitro-family", "unsupported-xen", "the-setups-sensor"])
def test_an_instance_that_is_no_source_gets_no_session_and_the_log_says_why(sandbox, monkeypatch, caplog, name,
                                                                            tags, reason):
    account = Account(sandbox, monkeypatch)
    account.tag(name, **tags)
    with caplog.at_level(logging.INFO, logger="vpc-mirror-sync"):
        sync_lambda.handler(state_change(account.ids[name], "running"))
    assert account.sessions(name) == []
    assert reason in caplog.text and account.ids[name] in caplog.text


def test_shutting_down_removes_only_the_setups_sessions(sandbox, monkeypatch):
    account = Account(sandbox, monkeypatch)
    account.tag("web-1", env="prod")
    other = account.other_setups_session("web-1", number=1)
    sync_lambda.handler(state_change(account.ids["web-1"], "running"))
    sync_lambda.handler(state_change(account.ids["web-1"], "shutting-down"))
    assert [s["TrafficMirrorSessionId"] for s in account.sessions("web-1")] == [other]
    # terminated, delivered twice: its interface and with it every session on it are gone; nothing fails
    account.c.terminate_instances(InstanceIds=[account.ids["web-1"]])
    assert "no session of the setup" in sync_lambda.handler(state_change(account.ids["web-1"], "terminated"))
    assert "no session of the setup" in sync_lambda.handler(state_change(account.ids["web-1"], "terminated"))


def test_a_running_instance_that_no_longer_matches_loses_the_setups_session(sandbox, monkeypatch):
    account = Account(sandbox, monkeypatch)
    account.tag("web-1", env="prod")
    sync_lambda.handler(state_change(account.ids["web-1"], "running"))
    account.tag("web-1", env="retired")
    said = sync_lambda.handler(state_change(account.ids["web-1"], "running", event_id="restart"))
    assert account.ours("web-1") == [] and "deleted" in said


def test_listed_instances_stay_mirrored_whatever_their_tags(sandbox, monkeypatch):
    account = Account(sandbox, monkeypatch, select=(), instances=("name:web-1",))
    sync_lambda.handler(state_change(account.ids["web-1"], "running"))
    assert len(account.ours("web-1")) == 1


def test_a_fleet_of_eni_targets_shares_the_new_instances(sandbox, monkeypatch):
    account = Account(sandbox, monkeypatch, targets=2)
    account.config["select"] = [f"vpc:{account.vpc}"]
    monkeypatch.setenv("VPC_MIRROR_SYNC", json.dumps(account.config))
    for name in ("web-1", "api-1"):
        sync_lambda.handler(state_change(account.ids[name], "running"))
    assert {account.ours(n)[0]["TrafficMirrorTargetId"] for n in ("web-1", "api-1")} == set(account.targets)


@pytest.mark.parametrize("pattern, value, matches", [
    ("prod", "prod", True), ("prod", "Prod", False), ("prod", "prod-eu", False),
    ("prod*", "prod-eu", True), ("p?od", "prod", True), ("p?od", "pod", False),
    (r"a\*b", "a*b", True), (r"a\*b", "axb", False), ("", "", True), ("*", "", True),
])
def test_tag_values_match_as_ec2_filter_values_do(pattern, value, matches):
    """EC2 API Reference, "Filter": * is zero or more characters, ? exactly one, backslash escapes."""
    instance = {"InstanceId": "i-0123456789abcdef0", "SubnetId": "subnet-1", "VpcId": "vpc-1"}
    config = {"instances": [], "select": [f"tag:env={pattern}"]}
    assert (sync_lambda.matched(instance, {"env": value}, config) is not None) is matches


def test_subnet_and_vpc_selectors():
    instance = {"InstanceId": "i-0123456789abcdef0", "SubnetId": "subnet-1", "VpcId": "vpc-1"}
    assert sync_lambda.matched(instance, {}, {"instances": [], "select": ["subnet:subnet-1"]}) == "subnet:subnet-1"
    assert sync_lambda.matched(instance, {}, {"instances": [], "select": ["vpc:vpc-1"]}) == "vpc:vpc-1"
    assert sync_lambda.matched(instance, {}, {"instances": [], "select": ["subnet:subnet-2", "vpc:vpc-2"]}) is None


def test_a_reused_sensor_in_the_selected_vpc_gets_no_session(sandbox, monkeypatch, caplog):
    """The reused sensor carries no tag of the setup: the export lists it in the settings' exclude."""
    account = Account(sandbox, monkeypatch)
    more_sources(sandbox, 1)  # an m5.large of the user's, untagged: the sensor
    sensor = account.c.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["extra-1"]}])[
        "Reservations"][0]["Instances"][0]["InstanceId"]
    plan = selecting(demo_plan(sensor=SensorPlan(mode="existing", instance_id=sensor)), f"vpc:{account.vpc}")
    ctx, actions = planned(sandbox, plan)
    settings = sync_settings(ctx, actions)
    account.config.update(select=settings["select"], exclude=settings["exclude"])
    assert sensor in account.config["exclude"]
    monkeypatch.setenv("VPC_MIRROR_SYNC", json.dumps(account.config))
    with caplog.at_level(logging.INFO, logger="vpc-mirror-sync"):
        sync_lambda.handler(state_change(sensor, "running"))
        sync_lambda.handler(state_change(account.ids["web-1"], "running"))  # a source in the same VPC is mirrored
    found = account.c.describe_traffic_mirror_sessions()["TrafficMirrorSessions"]
    eni = account.c.describe_instances(InstanceIds=[sensor])["Reservations"][0]["Instances"][0][
        "NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert [s for s in found if s["NetworkInterfaceId"] == eni] == []
    assert len(account.ours("web-1")) == 1
    assert f"{sensor}: one of setup demo's own instances (a sensor it uses" in caplog.text
