"""Benchmark: API calls per step and wall time of apply and teardown, for 1 and 50 sources.

Run: python tests/bench/bench_apply.py [--sources 1 50] [--fail-rate 0.0]

Against the embedded sandbox (moto over HTTP, in this process), which holds each
EC2 call --latency seconds to stand for AWS's round trip. For each source
count it applies a setup with bounded concurrency (8) and, as the reference in
the same run, one by one (concurrency 1), then tears both down; it prints the
calls each step made beside the minimum that step needs (the DryRun permission
checks before the first change counted apart), and the times.
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
from vpc_mirror.models.plan import SourcesPlan, TestBeaconPlan  # noqa: E402
from vpc_mirror.sandbox import demo_answers_text  # noqa: E402
from vpc_mirror.sandbox.server import Sandbox  # noqa: E402
from vpc_mirror.steps.aws import is_mutating  # noqa: E402
from vpc_mirror.steps.setup import STEPS, apply_setup, open_context, teardown_setup  # noqa: E402
from vpc_mirror.steps.state_store import StateStore  # noqa: E402


def minimum_mutating(n: int) -> dict[str, int]:
    """The fewest mutating calls each step of this plan can make."""
    return {"vpc": 2, "sensor": 1, "sensor_eni": 4, "target": 1, "filter": 6, "session": n}


def add_sources(sandbox: Sandbox, n: int) -> list[str]:
    ec2 = boto3.client("ec2", endpoint_url=sandbox.endpoint_url, region_name=sandbox.region)
    subnet = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["demo-private-b"]}])["Subnets"][0]
    image = sandbox.seed_info.ubuntu_ami_id
    made = ec2.run_instances(ImageId=image, InstanceType="m5.large", MinCount=n, MaxCount=n,
                             SubnetId=subnet["SubnetId"])
    return [i["InstanceId"] for i in made["Instances"]]


def run_once(sandbox: Sandbox, sources: list[str], concurrency: int, state_dir: Path) -> dict:
    plan = parse_answers(demo_answers_text(), setup=f"bench-{len(sources)}-{concurrency}")
    # An ENI target takes 10 sources, 100 on the largest size of a family (AWS's limit).
    sensor = plan.sensor.model_copy(update={"instance_type": "m5.24xlarge" if len(sources) > 10 else "t3a.xlarge"})
    plan = plan.model_copy(update={"sources": SourcesPlan(instances=sources), "sensor": sensor,
                                   "test_beacon": TestBeaconPlan(enabled=False)})
    calls: Counter = Counter()
    ctx = open_context(plan, StateStore(state_dir), endpoint_url=sandbox.endpoint_url, region=sandbox.region,
                       concurrency=concurrency)

    def current_step() -> str:
        return next((s.name for s in ctx.state.steps.values() if s.status == "in-progress"), "plan")

    def before(op: str, params: dict) -> None:
        kind = "dry-run" if params.get("DryRun") else "mutating" if is_mutating(op) else "read"
        calls[(phase[0], current_step(), kind)] += 1

    ctx.aws.on_call(before=before)
    phase = ["apply"]
    start = time.perf_counter()
    asyncio.run(apply_setup(ctx))
    applied = time.perf_counter() - start
    phase[0] = "teardown"
    start = time.perf_counter()
    asyncio.run(teardown_setup(ctx))
    torn = time.perf_counter() - start
    ctx.close()
    return {"calls": calls, "apply": applied, "teardown": torn}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, nargs="+", default=[1, 50])
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--latency", type=float, default=0.05,
                        help="seconds the sandbox holds each EC2 call, standing for AWS's round trip (default 0.05)")
    args = parser.parse_args()
    with Sandbox(seed="demo", fail_rate=0.0) as sandbox, tempfile.TemporaryDirectory() as tmp:
        for n in args.sources:
            sandbox.reset("demo")
            sources = add_sources(sandbox, n)
            sandbox.set_fail_rate(args.fail_rate)
            sandbox.set_latency(args.latency)
            bounded = run_once(sandbox, sources, 8, Path(tmp) / f"b{n}")
            serial = run_once(sandbox, sources, 1, Path(tmp) / f"s{n}")
            sandbox.set_fail_rate(0.0)
            sandbox.set_latency(0.0)
            print(f"\n== {n} source instance(s), fail rate {args.fail_rate}, latency {args.latency * 1000:.0f} ms ==")
            print(f"{'step':12} {'mutating':>9} {'minimum':>8} {'reads':>6} {'dry-run':>8}")
            minimum = minimum_mutating(n)
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


if __name__ == "__main__":
    main()
