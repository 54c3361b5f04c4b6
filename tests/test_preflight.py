"""Preflight against the sandbox: DryRun per mutating call, and the session limits, changing nothing."""

from __future__ import annotations

import asyncio
from argparse import Namespace

import pytest

from vpc_mirror.models.plan import SessionPlan
from vpc_mirror.sandbox import demo_answers_text
from vpc_mirror.steps.preflight import preflight
from vpc_mirror.steps.setup import open_context
from tests.awsfacts import Recorder, demo_plan, ec2, fill_sessions, inventory
from vpc_mirror.tui.export_cli import preflight as preflight_command


def _checks(sandbox, plan, recorder=None):
    ctx = open_context(plan, None, endpoint_url=sandbox.endpoint_url, region=sandbox.region)
    if recorder:
        ctx.aws.on_call(recorder.before)
    try:
        return asyncio.run(preflight(ctx))
    finally:
        ctx.close()


def test_denied_action_is_named_and_nothing_changes(sandbox):
    sandbox.set_denied(["ec2:CreateTrafficMirrorSession", "ec2:RunInstances"])
    before = inventory(sandbox)
    recorder = Recorder()
    checks = _checks(sandbox, demo_plan(), recorder)
    denied = [c for c in checks if c.ok is False]
    assert {c.what for c in denied} == {"ec2:CreateTrafficMirrorSession", "ec2:RunInstances"}
    # one per source, one for the test beacon
    assert len([c for c in denied if c.what == "ec2:CreateTrafficMirrorSession"]) == 4
    assert all(f"grant the IAM action {c.what}" in c.detail for c in denied)
    allowed = {c.what for c in checks if c.ok is True and c.what.startswith("ec2:")}
    assert {"ec2:CreateTrafficMirrorTarget", "ec2:CreateTrafficMirrorFilter", "ec2:CreateTrafficMirrorFilterRule",
            "ec2:AttachNetworkInterface", "ec2:CreateSecurityGroup"} <= allowed
    # Every mutating call was a DryRun: the account is unchanged.
    assert inventory(sandbox) == before
    assert recorder.mutating_calls() == [] and recorder.dry_runs
    assert all(op.startswith(("Create", "Run", "Attach", "Authorize", "Modify")) for op in recorder.dry_runs)


def test_full_source_eni_and_taken_session_number_are_failed_checks(sandbox):
    eni = fill_sessions(sandbox)
    checks = _checks(sandbox, demo_plan(session=SessionPlan(session_number=2)))
    sessions = {c.what: c for c in checks if c.what.startswith("sessions on")}
    assert len(sessions) == 3
    full = next(c for w, c in sessions.items() if eni in w)
    assert full.ok is False
    assert "already has 3 mirror sessions" in full.detail and "2 is already used" in full.detail
    assert all(c.ok for w, c in sessions.items() if eni not in w)
    # Reported once, as the ENI's check, not again as a plan problem.
    assert not any(c.what.startswith("plan") and eni in c.detail for c in checks)


def test_command_lists_checks_and_fails_on_a_denied_action(sandbox, tmp_path, capsys):
    answers = tmp_path / "answers.yaml"
    answers.write_text(demo_answers_text())
    args = Namespace(target=str(answers), endpoint_url=sandbox.endpoint_url, profile=None, region=None,
                     state_dir=tmp_path / "state", command="preflight")
    assert preflight_command(args) == 0
    assert "checks passed" in capsys.readouterr().out
    sandbox.set_denied(["ec2:CreateTrafficMirrorFilter"])
    assert preflight_command(args) == 1
    out = capsys.readouterr().out
    assert "✗ ec2:CreateTrafficMirrorFilter: denied: grant the IAM action ec2:CreateTrafficMirrorFilter" in out


def test_apply_stops_before_the_first_change_when_a_permission_is_denied(sandbox, state_dir):
    from vpc_mirror.steps.engine import Refused
    from tests.awsfacts import run

    sandbox.set_denied(["ec2:CreateTrafficMirrorSession"])
    before = inventory(sandbox)
    recorder = Recorder()
    with pytest.raises(Refused) as refused:
        run(sandbox, state_dir, recorder=recorder)
    assert refused.value.reasons and all("grant the IAM action ec2:CreateTrafficMirrorSession" in r
                                         for r in refused.value.reasons)
    assert recorder.mutating_calls() == [] and inventory(sandbox) == before
    sandbox.set_denied([])
    run(sandbox, state_dir)  # granted: the same apply goes through
    assert inventory(sandbox) != before
