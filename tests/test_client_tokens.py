"""ClientTokens never repeat across independent runs: a setup torn down and applied again from another
state directory (a new laptop, a lost ~/.local/state, CI) completes, with no duplicate and no orphan."""

from __future__ import annotations

from collections import Counter

import pytest

from vpc_mirror.models.plan import VpcPlan
from vpc_mirror.models.state import Resource, State
from vpc_mirror.steps.state_store import StateStore
from tests.awsfacts import Crash, Recorder, demo_plan, ec2, inventory, run, tagged


#: The demo answers without vpc.ssh_from: no SSH security group in the launches' parameters.
NO_SSH = {"vpc": VpcPlan(vpc_id="name:demo-vpc", subnet_id="name:demo-public-a")}


class CrashAfterFirstLaunch(Recorder):
    """Dies right after the first RunInstances answer, before the state records the instance."""

    def after(self, op: str, params: dict) -> None:
        if op == "RunInstances" and not params.get("DryRun"):
            raise Crash("crash after the sensor's RunInstances")


def _shape(sandbox) -> Counter:
    """The inventory, with security-group rules counted rather than listed: a relaunched instance may get
    another address."""
    return Counter({(key[0], key[1], len(key[2])) if key[0] == "sg" else key: n
                    for key, n in inventory(sandbox).items()})


def _live_instances(sandbox) -> set[str]:
    return {i["InstanceId"] for r in ec2(sandbox).describe_instances()["Reservations"] for i in r["Instances"]
            if i["State"]["Name"] != "terminated"}


def test_teardown_then_apply_and_resume_from_an_empty_state_directory(sandbox, tmp_path):
    """The demo answers as shipped (with vpc.ssh_from): once failed with IdempotentParameterMismatch."""
    run(sandbox, tmp_path / "laptop")
    first = _shape(sandbox)
    first_sensor = StateStore(tmp_path / "laptop").load("demo").resource("sensor").id
    run(sandbox, tmp_path / "laptop", teardown=True)
    assert not tagged(sandbox, "demo")

    with pytest.raises(Crash):
        run(sandbox, tmp_path / "ci", recorder=CrashAfterFirstLaunch(), concurrency=1)
    run(sandbox, tmp_path / "ci")  # resume in the new directory
    assert _shape(sandbox) == first  # the same resources, none twice
    sensor = StateStore(tmp_path / "ci").load("demo").resource("sensor").id
    assert sensor != first_sensor and sensor in _live_instances(sandbox)

    run(sandbox, tmp_path / "ci", teardown=True)
    assert not tagged(sandbox, "demo")  # nothing left behind
    assert sensor not in _live_instances(sandbox)


def test_teardown_then_apply_from_an_empty_state_directory_without_ssh(sandbox, tmp_path):
    """Without an SSH group the old token's answer was the terminated sensor, waited on for 600 s."""
    plan = demo_plan(**NO_SSH)
    run(sandbox, tmp_path / "a", plan=plan)
    first = _shape(sandbox)
    run(sandbox, tmp_path / "a", plan=plan, teardown=True)
    run(sandbox, tmp_path / "b", plan=plan)
    assert _shape(sandbox) == first


@pytest.mark.parametrize("answers", [{}, NO_SSH], ids=["mismatch", "terminated"])
def test_a_launch_token_from_an_earlier_life_is_replaced(sandbox, tmp_path, answers):
    """A state restored from a backup taken while the sensor's launch was in flight repeats its token after a
    teardown: AWS answers IdempotentParameterMismatch (a new SSH group) or the terminated sensor; apply
    launches it again with a new token instead of failing or waiting 600 s."""
    plan = demo_plan(**answers)
    run(sandbox, tmp_path / "a", plan=plan)
    first = _shape(sandbox)
    old = StateStore(tmp_path / "a").load("demo").resource("sensor")
    run(sandbox, tmp_path / "a", plan=plan, teardown=True)
    backup = State(setup="demo")
    backup.step("sensor").resources["sensor"] = Resource(key="sensor", kind="instance", status="intended",
                                                         name=old.name, nonce=old.nonce)
    StateStore(tmp_path / "restored").save(backup)
    run(sandbox, tmp_path / "restored", plan=plan)
    assert _shape(sandbox) == first
    sensor = StateStore(tmp_path / "restored").load("demo").resource("sensor")
    assert sensor.nonce != old.nonce and sensor.id != old.id and sensor.id in _live_instances(sandbox)


class LaunchTokens(Recorder):
    """Keeps the ClientToken of every RunInstances; dies before the first one when asked to."""

    def __init__(self, crash: bool):
        super().__init__()
        self.crash, self.tokens = crash, []

    def before(self, op: str, params: dict) -> None:
        super().before(op, params)
        if op == "RunInstances" and not params.get("DryRun"):
            self.tokens.append(params["ClientToken"])
            if self.crash:
                raise Crash("crash before the sensor's RunInstances")


def test_a_resumed_launch_sends_the_token_saved_before_the_crash(sandbox, tmp_path):
    crashed = LaunchTokens(crash=True)
    with pytest.raises(Crash):
        run(sandbox, tmp_path / "a", recorder=crashed, concurrency=1)
    saved = StateStore(tmp_path / "a").load("demo").resource("sensor")
    assert saved.status == "intended"
    resumed = LaunchTokens(crash=False)
    run(sandbox, tmp_path / "a", recorder=resumed)
    assert resumed.tokens[0] == crashed.tokens[0]
    assert StateStore(tmp_path / "a").load("demo").resource("sensor").nonce == saved.nonce
    # another state directory, even for the same setup, sends tokens of its own
    sandbox.reset("demo")
    other = LaunchTokens(crash=True)
    with pytest.raises(Crash):
        run(sandbox, tmp_path / "b", recorder=other, concurrency=1)
    assert other.tokens[0] != crashed.tokens[0]


def test_sandbox_answers_a_repeated_run_instances_token_with_the_terminated_instance(sandbox):
    """As AWS documents: the same reservation for the same token, even after termination ("The client token
    is valid for at least 24 hours after the termination of the instance"), and IdempotentParameterMismatch
    for the same token with other parameters (docs.aws.amazon.com/ec2/latest/devguide/ec2-api-idempotency.html)."""
    c = ec2(sandbox)
    subnet = c.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["demo-public-a"]}])["Subnets"][0]["SubnetId"]
    image = c.describe_images()["Images"][0]["ImageId"]
    launch = {"ImageId": image, "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "SubnetId": subnet}
    first = c.run_instances(ClientToken="tok-1", **launch)
    c.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])
    again = c.run_instances(ClientToken="tok-1", **launch)
    assert again["ReservationId"] == first["ReservationId"]
    assert again["Instances"][0]["InstanceId"] == first["Instances"][0]["InstanceId"]
    assert again["Instances"][0]["State"]["Name"] in ("shutting-down", "terminated")
    with pytest.raises(c.exceptions.ClientError) as err:
        c.run_instances(ClientToken="tok-1", **{**launch, "InstanceType": "t3.small"})
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatch"
