"""Text the user typed reaches AWS and every export exactly as typed: ``${...}`` in a description is text,
never one of the plan's internal references."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path

import hcl2
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from vpc_mirror.models.actions import substitute
from vpc_mirror.models.answers import dump_answers, parse_answers
from vpc_mirror.models.plan import FilterPlan, FilterRule, SessionPlan, TargetPlan
from vpc_mirror.steps.exports import render
from vpc_mirror.steps.setup import STEPS
from tests.awsfacts import demo_plan, ec2, run
from tests.exporting import planned

#: One text per free-text field: each looks like an internal reference, or shell or HCL syntax.
TYPED = {
    "target": "mirror ${team}",
    "filter": "mirror ${sensor} 'quoted' \"double\" $HOME `id` %{ if x }",
    "rule": "${sensor-eni.private_ip}",
    "session": "$${filter} \\ ${target.nope} -x file:///etc/passwd",
}


def typed_plan(texts: dict[str, str]):
    return demo_plan(target=TargetPlan(description=texts["target"]),
                     filter=FilterPlan(description=texts["filter"],
                                       rules=[FilterRule(direction="ingress", number=100,
                                                         description=texts["rule"])]),
                     session=SessionPlan(vni=4242, description=texts["session"]))


def test_apply_sends_descriptions_as_typed(sandbox, state_dir):
    """The DryRun checks, the creates and what AWS stored: no KeyError, no substituted id or address."""
    run(sandbox, state_dir, plan=typed_plan(TYPED))
    c = ec2(sandbox)
    ours = {"Name": "tag:vpc-mirror:setup", "Values": ["demo"]}
    targets = c.describe_traffic_mirror_targets(Filters=[ours])["TrafficMirrorTargets"]
    assert [t["Description"] for t in targets] == [TYPED["target"]]
    filters = [f for f in c.describe_traffic_mirror_filters()["TrafficMirrorFilters"]
               if {"Key": "vpc-mirror:setup", "Value": "demo"} in f.get("Tags", [])]
    assert [f["Description"] for f in filters] == [TYPED["filter"]]
    assert [r["Description"] for r in filters[0]["IngressFilterRules"]] == [TYPED["rule"]]
    sessions = c.describe_traffic_mirror_sessions(Filters=[ours])["TrafficMirrorSessions"]
    assert {s["Description"] for s in sessions} == {TYPED["session"]} and len(sessions) == 4


# -- reading each export back ---------------------------------------------

def _hcl_string(token: str) -> str:
    """An HCL quoted-string token (python-hcl2 keeps it as written) as the text Terraform reads: HCL's
    native syntax escapes, then ``$${`` and ``%%{`` (literal ``${`` and ``%{``)."""
    assert token[0] == token[-1] == '"', token
    body, out, i = token[1:-1], [], 0
    simple = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
    while i < len(body):
        if body[i] == "\\":
            kind = body[i + 1]
            if kind in simple:
                out.append(simple[kind])
                i += 2
            else:
                width = {"u": 4, "U": 8}[kind]
                out.append(chr(int(body[i + 2:i + 2 + width], 16)))
                i += 2 + width
        elif body.startswith(("$${", "%%{"), i):
            out.append(body[i + 1:i + 3])
            i += 3
        else:
            assert not body.startswith(("${", "%{"), i), f"a template sequence in {token}"
            out.append(body[i])
            i += 1
    return "".join(out)


def _terraform(text: str) -> dict[str, list[str]]:
    doc = hcl2.load(io.StringIO(text))
    out: dict[str, list[str]] = {}
    for block in doc["resource"]:
        for rtype, named in block.items():
            for body in named.values():
                if "description" in body:
                    out.setdefault(rtype.strip('"'), []).append(_hcl_string(body["description"]))
    return out


def _cloudformation(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for resource in yaml.safe_load(text)["Resources"].values():
        if "Description" in resource["Properties"]:
            out.setdefault(resource["Type"], []).append(resource["Properties"]["Description"])
    return out


FAKE_AWS = """#!/bin/sh
# Records each call's arguments (NUL-separated, one call per file) and answers with a made-up id.
n=$(ls "$CALLS" | wc -l)
for arg in "$@"; do printf '%s\\0' "$arg"; done > "$CALLS/$n"
echo fake-id-$n
"""


def _aws_cli(text: str, tmp: Path) -> dict[str, list[str]]:
    """Runs the script through bash with a stand-in `aws`, and reads what each call was given."""
    calls, bin_dir = tmp / "calls", tmp / "bin"
    calls.mkdir()
    bin_dir.mkdir()
    (bin_dir / "aws").write_text(FAKE_AWS)
    (bin_dir / "aws").chmod(0o755)
    (tmp / "setup.sh").write_text(text)
    env = dict(os.environ, CALLS=str(calls), PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(["bash", str(tmp / "setup.sh")], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    out: dict[str, list[str]] = {}
    for path in sorted(calls.iterdir(), key=lambda p: int(p.name)):
        args = path.read_bytes().decode().split("\0")[:-1]
        if "--cli-input-json" in args:
            params = json.loads(args[args.index("--cli-input-json") + 1])
            if "Description" in params:
                out.setdefault(args[3], []).append(params["Description"])
    return out


def _exported(ctx, actions, tmp: Path) -> dict[str, dict[str, list[str]]]:
    return {"terraform": _terraform(render("terraform", ctx, actions)),
            "cloudformation": _cloudformation(render("cloudformation", ctx, actions)),
            "aws-cli": _aws_cli(render("aws-cli", ctx, actions), tmp)}


#: Where each export puts each description: (resource type or AWS CLI command) per format.
WHERE = {
    "terraform": {"target": "aws_ec2_traffic_mirror_target", "filter": "aws_ec2_traffic_mirror_filter",
                  "rule": "aws_ec2_traffic_mirror_filter_rule", "session": "aws_ec2_traffic_mirror_session"},
    "cloudformation": {"target": "AWS::EC2::TrafficMirrorTarget", "filter": "AWS::EC2::TrafficMirrorFilter",
                       "rule": "AWS::EC2::TrafficMirrorFilterRule", "session": "AWS::EC2::TrafficMirrorSession"},
    "aws-cli": {"target": "create-traffic-mirror-target", "filter": "create-traffic-mirror-filter",
                "rule": "create-traffic-mirror-filter-rule", "session": "create-traffic-mirror-session"},
}


def _check_exports(ctx, actions, texts: dict[str, str], tmp: Path) -> None:
    for fmt, found in _exported(ctx, actions, tmp).items():
        for field, where in WHERE[fmt].items():
            assert set(found[where]) == {texts[field]}, (fmt, field)
    assert parse_answers(render("answers", ctx, actions)) == ctx.plan
    json.loads(render("iam-policy", ctx, actions))


def test_every_export_writes_descriptions_as_typed(sandbox, tmp_path):
    ctx, actions = planned(sandbox, typed_plan(TYPED))
    _check_exports(ctx, actions, TYPED, tmp_path)


def test_a_description_aws_cannot_carry_is_refused_with_the_field():
    with pytest.raises(ValidationError) as err:
        TargetPlan(description="line one\nline two")
    assert "U+000A at position 9" in str(err.value) and "one line of printable text" in str(err.value)
    with pytest.raises(ValidationError, match="at most 255 characters"):
        SessionPlan(description="x" * 256)


# -- any text -------------------------------------------------------------

def _valid(text: str) -> bool:
    try:
        TargetPlan(description=text)
    except ValidationError:
        return False
    return True


#: Arbitrary text within what AWS takes for a Description (see models.plan.Description), weighted
#: towards the characters the exports and the shell treat specially; not empty (an empty rule
#: description is no description, and is not sent).
DESCRIPTIONS = st.text(st.one_of(st.sampled_from(list("${}%\\\"'`$\n-/:*?!#&;|<> ")), st.characters()),
                       min_size=1, max_size=255).filter(_valid)


@pytest.fixture(scope="module")
def demo_plan_facts(sandbox_server):
    """The demo answers inspected once; each example only re-plans (Step.plan reads the inspected facts)."""
    sandbox_server.reset("demo")
    ctx, _ = planned(sandbox_server, demo_plan())
    return ctx


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(texts=st.fixed_dictionaries({field: DESCRIPTIONS for field in TYPED}))
def test_any_description_reaches_aws_and_every_export_as_typed(demo_plan_facts, sandbox_server, tmp_path_factory,
                                                                 texts):
    ctx = demo_plan_facts
    ctx.plan = typed_plan(texts)
    actions = [a for step in STEPS for a in step.plan(ctx)]
    # What apply sends: the parameters with every internal reference resolved, and what AWS then stores.
    sent = {a.key: substitute(a.params, lambda ref: f"id-of-{ref.key}") for a in actions if a.verb == "create"}
    assert sent["target"]["Description"] == texts["target"]
    assert {sent[k]["Description"] for k in sent if k.startswith("session/")} == {texts["session"]}
    c = ec2(sandbox_server)
    made = c.create_traffic_mirror_filter(Description=sent["filter"]["Description"])["TrafficMirrorFilter"]
    rule = {k: v for k, v in sent["filter-rule/ingress/100"].items() if k != "TrafficMirrorFilterId"}
    c.create_traffic_mirror_filter_rule(TrafficMirrorFilterId=made["TrafficMirrorFilterId"], **rule)
    stored = c.describe_traffic_mirror_filters(TrafficMirrorFilterIds=[made["TrafficMirrorFilterId"]])
    stored = stored["TrafficMirrorFilters"][0]
    assert stored["Description"] == texts["filter"]
    assert stored["IngressFilterRules"][0]["Description"] == texts["rule"]
    _check_exports(ctx, actions, texts, tmp_path_factory.mktemp("export"))
    assert yaml.safe_load(dump_answers(ctx.plan))["target"]["description"] == texts["target"]
