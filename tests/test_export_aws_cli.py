"""The AWS CLI export, run with the real AWS CLI against the sandbox, builds what apply builds."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from vpc_mirror.steps.exports import aws_cli
from tests.awsfacts import demo_plan, ec2, inventory, run
from tests.exporting import planned
from tests.scale_answers import gwlb_plan, load_balancing
from tests.test_apply import CREATE_ANSWERS


@pytest.mark.parametrize("plan", [demo_plan, gwlb_plan], ids=["demo", "gwlb"])
def test_script_passes_shellcheck(sandbox, tmp_path, plan):
    ctx, actions = planned(sandbox, plan())
    script = tmp_path / "setup.sh"
    script.write_text(aws_cli.render(ctx, actions))
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "set -euo pipefail" in script.read_text()


PLANS = {"created-vpc-dedicated-enis": lambda: demo_plan(**CREATE_ANSWERS),
         "gwlb-mirrored-beacon": lambda: gwlb_plan(cross_zone=True)}


@pytest.mark.parametrize("plan", PLANS.values(), ids=PLANS.keys())
def test_script_creates_the_same_resources_as_apply(sandbox, state_dir, tmp_path, plan):
    """Every derived value is used: IPv6 /64, main route table, addresses, the beacon's primary ENI, the
    endpoint service's name; a Gateway Load Balancer (the demo with a load balancer in front of the sensor:
    target group, listener, endpoint service and endpoint, the group added to the sensor's interface)."""
    plan = plan()
    ctx, actions = planned(sandbox, plan)
    script = tmp_path / "setup.sh"
    script.write_text(aws_cli.render(ctx, actions))
    env = dict(os.environ, AWS_ENDPOINT_URL=sandbox.endpoint_url,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    by_script = comparable(sandbox), load_balancing(sandbox)
    # The script prints what it made, one created id per line.
    printed = dict(line.split() for line in result.stdout.splitlines())
    assert printed["target"].startswith("tmt-") and printed["filter"].startswith("tmf-")

    sandbox.reset("demo")
    run(sandbox, state_dir, plan=plan)
    assert by_script == (comparable(sandbox), load_balancing(sandbox))


def comparable(sandbox) -> Counter:
    """The inventory with the ids and addresses that differ between two sandboxes named instead:
    instance ids by the instance's Name, ENI addresses by the ENI's Name."""
    c = ec2(sandbox)
    addresses = {e["PrivateIpAddress"]: _name(e.get("TagSet")) for e in c.describe_network_interfaces()["NetworkInterfaces"]}
    instances = {i["InstanceId"]: _name(i.get("Tags")) for r in c.describe_instances()["Reservations"]
                 for i in r["Instances"]}

    def named(value):
        if isinstance(value, str):
            value = re.sub(r"\d+\.\d+\.\d+\.\d+", lambda m: addresses.get(m.group(0), m.group(0)), value)
            return re.sub(r"i-[0-9a-f]+", lambda m: instances.get(m.group(0), m.group(0)), value)
        if isinstance(value, tuple):
            return tuple(sorted(map(named, value), key=str)) if all(isinstance(v, tuple) for v in value) \
                else tuple(named(v) for v in value)
        return value

    return Counter({named(key): n for key, n in inventory(sandbox).items()})


def _name(tags) -> str:
    return next((t["Value"] for t in tags or () if t["Key"] == "Name"), "-")


def test_target_group_stickiness_is_one_modify_call_after_the_group(sandbox, tmp_path):
    ctx, actions = planned(sandbox, gwlb_plan())
    script = aws_cli.render(ctx, actions)
    path = tmp_path / "setup.sh"
    path.write_text(script)
    result = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    modify = script.index("elbv2 modify-target-group-attributes")
    assert script.index("LB_TARGET_GROUP=$(elbv2 create-target-group") < modify
    assert '"TargetGroupArn":"\'"$LB_TARGET_GROUP"\'"' in script[modify:].split("\n\n")[0]
    assert '{"Key":"stickiness.type","Value":"source_ip_dest_ip"}' in script[modify:].split("\n\n")[0]
