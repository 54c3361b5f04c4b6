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
from tests.test_apply import CREATE_ANSWERS


def test_script_passes_shellcheck(sandbox, tmp_path):
    ctx, actions = planned(sandbox, demo_plan())
    script = tmp_path / "setup.sh"
    script.write_text(aws_cli.render(ctx, actions))
    result = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "set -euo pipefail" in script.read_text()


@pytest.mark.parametrize("answers", [CREATE_ANSWERS, {}], ids=["created-vpc-dedicated-enis", "demo-mirrored-beacon"])
def test_script_creates_the_same_resources_as_apply(sandbox, state_dir, tmp_path, answers):
    """Every derived value is used: IPv6 /64, main route table, addresses, the beacon's primary ENI."""
    plan = demo_plan(**answers)
    ctx, actions = planned(sandbox, plan)
    script = tmp_path / "setup.sh"
    script.write_text(aws_cli.render(ctx, actions))
    env = dict(os.environ, AWS_ENDPOINT_URL=sandbox.endpoint_url,
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    by_script = comparable(sandbox)
    # The script prints what it made, one created id per line.
    printed = dict(line.split() for line in result.stdout.splitlines())
    assert printed["target"].startswith("tmt-") and printed["filter"].startswith("tmf-")

    sandbox.reset("demo")
    run(sandbox, state_dir, plan=plan)
    assert by_script == comparable(sandbox)


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
