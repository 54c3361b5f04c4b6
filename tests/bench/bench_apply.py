"""Benchmark: API calls per step and wall time of apply and teardown, for 1 and 50 sources and 500 behind an NLB.

Run: python tests/bench/bench_apply.py [--sources 1 50] [--nlb-sources 500] [--fail-rate 0.0]

Against the embedded sandbox (moto over HTTP, in this process), which holds each
EC2 call --latency seconds to stand for AWS's round trip. For each source
count it applies a setup with bounded concurrency (8) and, as the reference in
the same run, one by one (concurrency 1), then tears both down; it prints the
mutating calls each step made beside the minimum (one per resource the plan
creates; the DryRun permission checks before the first change counted apart),
and the times. The NLB run selects its sources by tag (``sources.select``) and,
between apply and teardown, runs ``sync`` on the unchanged VPC: it should make
no mutating call; the Describe pages it reads are printed by call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
    os.environ[key] = value

import boto3  # noqa: E402

from vpc_mirror.models.answers import parse_answers  # noqa: E402
from vpc_mirror.models.plan import SourcesPlan, TargetPlan, TestBeaconPlan  # noqa: E402
from vpc_mirror.sandbox import demo_answers_text  # noqa: E402
from vpc_mirror.sandbox.server import Sandbox  # noqa: E402
from vpc_mirror.steps.aws import is_mutating  # noqa: E402
from vpc_mirror.steps.setup import STEPS, apply_setup, open_context, teardown_setup  # noqa: E402
from vpc_mirror.steps.state_store import StateStore  # noqa: E402
from vpc_mirror.steps.sync import sync_setup  # noqa: E402

#: The tag the NLB run's sources carry; its plan selects them by it.
NLB_TAG = ("bench", "nlb")


def add_sources(sandbox: Sandbox, n: int, tag: tuple[str, str] | None = None) -> list[str]:
    ec2 = boto3.client("ec2", endpoint_url=sandbox.endpoint_url, region_name=sandbox.region)
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["demo-private-b"]}])["Subnets"][0]
    if n > 200:  # more addresses than the demo's /24 subnets hold: a /22 of the demo VPC for them
        subnet = ec2.create_subnet(VpcId=subnet["VpcId"], CidrBlock="10.0.64.0/22",
                                   AvailabilityZone=subnet["AvailabilityZone"])["Subnet"]
    image = sandbox.seed_info.ubuntu_ami_id
    tags = {"TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": tag[0], "Value": tag[1]}]}]} if tag else {}
    made = ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=n, MaxCount=n,
                             SubnetId=subnet["SubnetId"], **tags)
    return [i["InstanceId"] for i in made["Instances"]]


def eni_plan(sources: list[str], concurrency: int):
    plan = parse_answers(demo_answers_text(), setup=f"bench-{len(sources)}-{concurrency}")
    # An ENI target takes 10 sources, 100 on the instance types AWS's quotas page lists (m5.24xlarge is one).
    sensor = plan.sensor.model_copy(update={"instance_type": "m5.24xlarge" if len(sources) > 10 else "t3a.xlarge"})
    return plan.model_copy(update={"sources": SourcesPlan(instances=sources), "sensor": sensor,
                                   "test_beacon": TestBeaconPlan(enabled=False)})


def nlb_plan(n: int, concurrency: int):
    plan = parse_answers(demo_answers_text(), setup=f"bench-nlb-{n}-{concurrency}")
    return plan.model_copy(update={"sources": SourcesPlan(select=[f"tag:{NLB_TAG[0]}={NLB_TAG[1]}"]),
                                   "target": TargetPlan(type="nlb"), "test_beacon": TestBeaconPlan(enabled=False)})


def run_once(sandbox: Sandbox, plan, concurrency: int, state_dir: Path, sync: bool = False) -> dict:
    """Apply, optionally sync, then tear down: the calls of each phase by step and kind, the minimum, the times."""
    calls: Counter = Counter()
    pages: Counter = Counter()
    planned: list = []
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       concurrency=concurrency)

    def current_step() -> str:
        return next((s.name for s in ctx.state.steps.values() if s.status == "in-progress"), "plan")

    def before(op: str, params: dict) -> None:
        kind = "dry-run" if params.get("DryRun") else "mutating" if is_mutating(op) else "read"
        calls[(phase[0], current_step(), kind)] += 1
        if phase[0] == "sync" and op.startswith("Describe"):
            pages[op] += 1

    ctx.aws.on_call(before=before)
    phase = ["apply"]
    start = time.perf_counter()
    asyncio.run(apply_setup(ctx, confirm=lambda actions: planned.extend(actions) or True))
    applied = time.perf_counter() - start
    synced = None
    if sync:
        phase[0] = "sync"
        start = time.perf_counter()
        asyncio.run(sync_setup(ctx))
        synced = time.perf_counter() - start
    phase[0] = "teardown"
    start = time.perf_counter()
    asyncio.run(teardown_setup(ctx))
    torn = time.perf_counter() - start
    ctx.close()
    minimum = Counter(a.step for a in planned if a.verb == "create")  # one call per resource made
    return {"calls": calls, "apply": applied, "teardown": torn, "sync": synced, "pages": pages, "minimum": minimum}


def report(title: str, bounded: dict, serial: dict) -> None:
    print(f"\n== {title} ==")
    print(f"{'step':12} {'mutating':>9} {'minimum':>8} {'reads':>6} {'dry-run':>8}")
    minimum = bounded["minimum"]
    for step in ["plan"] + [s.name for s in STEPS]:
        mut = bounded["calls"][("apply", step, "mutating")]
        reads = bounded["calls"][("apply", step, "read")]
        dry = bounded["calls"][("apply", step, "dry-run")]
        if mut or reads or dry:
            print(f"{step:12} {mut:9} {minimum.get(step, 0):8} {reads:6} {dry:8}")
    total_mut = sum(v for k, v in bounded["calls"].items() if k[0] == "apply" and k[2] == "mutating")
    total = sum(v for k, v in bounded["calls"].items() if k[0] == "apply")
    td = sum(v for k, v in bounded["calls"].items() if k[0] == "teardown")
    dry = sum(v for k, v in bounded["calls"].items() if k[0] == "apply" and k[2] == "dry-run")
    print(f"apply: {total} calls ({total_mut} mutating, minimum {sum(minimum.values())}; "
          f"{dry} DryRun permission checks); teardown: {td} calls")
    for what in ("apply", "teardown"):
        ratio = serial[what] / bounded[what] if bounded[what] else float("nan")
        print(f"{what:9} wall time: {bounded[what]:.2f} s with concurrency 8, "
              f"{serial[what]:.2f} s one by one (reference) -> {ratio:.1f}x")
    if bounded["sync"] is not None:
        mutating = sum(v for k, v in bounded["calls"].items() if k[0] == "sync" and k[2] == "mutating")
        pages = bounded["pages"]
        print(f"sync on the unchanged VPC: {mutating} mutating calls (goal 0), {sum(pages.values())} Describe pages "
              f"({', '.join(f'{op} {n}' for op, n in sorted(pages.items()))}), {bounded['sync']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="*", default=[1, 50])
    parser.add_argument("--nlb-sources", type=int, default=500, help="sources behind an NLB target (0: skip)")
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds the sandbox holds each EC2 call, standing for AWS's round trip (default 0.05)")
    args = parser.parse_args()
    runs = [(n, False) for n in args.sources] + ([(args.nlb_sources, True)] if args.nlb_sources else [])
    with Sandbox(seed="demo", fail_rate=0.0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        for n, nlb in runs:
            sandbox.reset("demo")
            sources = add_sources(sandbox, n, NLB_TAG if nlb else None)
            sandbox.set_fail_rate(args.fail_rate)
            sandbox.set_latency(args.latency)
            results = [run_once(sandbox, nlb_plan(n, c) if nlb else eni_plan(sources, c), c, Path(tmp) / f"{nlb}{n}-{c}",
                                sync=nlb)
                       for c in (8, 1)]
            sandbox.set_fail_rate(0.0)
            sandbox.set_latency(0.0)
            what = f"{n} source instance(s)" + (" selected by tag, behind an NLB target" if nlb else "")
            report(f"{what}, fail rate {args.fail_rate}, latency {args.latency * 1000:.0f} ms", *results)


if __name__ == "__main__":
    main()
