"""Step 4 — test beacon: an optional instance that beacons like the runbook's tame test [runbook 3].

Every interval it pings the destination, sends a UDP datagram "Infected" to
port 999 and makes an HTTPS GET, so the hunt at the end has something to find.
"""

from __future__ import annotations

import shlex

from vpc_mirror.models.actions import Action
from vpc_mirror.models.mirroring_support import support_of
from vpc_mirror.steps.context import Context
from vpc_mirror.steps.engine import Refused, Step, guarded
from vpc_mirror.steps.launch import check_instance_type, resolve_image, run_instances_params
from vpc_mirror.steps.sources import instance_type_info

BEACON_IMAGE = "ubuntu-24.04"

_USER_DATA = """#!/bin/bash
# vpc-mirror test beacon: ping, UDP "Infected" to port 999 and an HTTPS GET every {interval} s.
set -eu
cat > /usr/local/bin/vpc-mirror-beacon <<'BEACON'
#!/bin/bash
while true; do
  ping -c 1 -W 2 {dest} || true
  printf 'Infected' > /dev/udp/{dest}/999 || true
  curl -s -o /dev/null --max-time 10 https://{dest}/ || true
  sleep {interval}
done
BEACON
chmod 755 /usr/local/bin/vpc-mirror-beacon
cat > /etc/systemd/system/vpc-mirror-beacon.service <<'UNIT'
[Unit]
Description=vpc-mirror test beacon
After=network-online.target
Wants=network-online.target

[Service]
ExecStart=/usr/local/bin/vpc-mirror-beacon
Restart=always

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now vpc-mirror-beacon.service
"""


def beacon_user_data(destination: str, interval: int) -> str:
    """cloud-init user data: a systemd service running the beacon loop (runs on the instance only)."""
    return _USER_DATA.format(dest=shlex.quote(destination), interval=int(interval))


class TestBeaconStep(Step):
    __test__ = False
    name = "test_beacon"
    title = "Test beacon"

    def skip_reason(self, ctx: Context) -> str:
        return "no test beacon: test_beacon.enabled is false"

    async def inspect(self, ctx: Context) -> None:
        answers = ctx.plan.test_beacon
        if not answers.enabled:
            return
        ctx.facts(self.name).update(await ctx.call(guarded(
            lambda: resolve_image(ctx, self.name, "test_beacon", BEACON_IMAGE), context="looking up the image")))
        await ctx.call(guarded(lambda: check_instance_type(ctx, self.name, "test_beacon.instance_type",
                                                           answers.instance_type,
                                                           type(answers).model_fields["instance_type"].default),
                               context="checking the instance type"))
        if answers.mirror:
            types = await ctx.call(guarded(lambda: instance_type_info(ctx, {answers.instance_type}),
                                           context="reading the beacon's instance type"))
            info = types.get(answers.instance_type, {})
            support = support_of(answers.instance_type, info.get("Hypervisor"), bool(info.get("BareMetal")))
            if not support.supported:
                raise Refused(self.name, [f"test_beacon.instance_type: {answers.instance_type} cannot be mirrored "
                                          f"({support.reason}); pick a Nitro type such as t3.micro, or set "
                                          "test_beacon.mirror: false"])

    def plan(self, ctx: Context) -> list[Action]:
        answers = ctx.plan.test_beacon
        if not answers.enabled:
            return []
        params = run_instances_params(
            ctx, step=self.name, role="test-beacon", image=ctx.facts(self.name), instance_type=answers.instance_type,
            root_gib=8, key_name=ctx.plan.sensor.key_name, ipv6=ctx.facts("vpc").get("ipv6", False),
            user_data=beacon_user_data(answers.destination, answers.interval_seconds),
        )
        return [Action(step=self.name, key="test-beacon", kind="instance", verb="create",
                       name=ctx.name_tag("test-beacon"), api="RunInstances", params=params,
                       summary=f"launch test beacon {answers.instance_type} beaconing to {answers.destination} "
                               f"every {answers.interval_seconds} s")]


def mirrors_beacon(ctx: Context) -> bool:
    """Whether the setup mirrors its test beacon (a session on the beacon's primary ENI)."""
    return ctx.plan.test_beacon.enabled and ctx.plan.test_beacon.mirror
