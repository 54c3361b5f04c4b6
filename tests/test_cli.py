"""The headless commands as a user runs them: exit codes, messages, JSON."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest
import yaml

from vpc_mirror.sandbox import demo_answers_text
from tests.awsfacts import inventory, tagged
from vpc_mirror.tui.cli import main


@pytest.fixture
def cli(sandbox, state_dir, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        code = main([*args, "--endpoint-url", sandbox.endpoint_url, "--state-dir", str(state_dir)])
        out = capsys.readouterr()
        return code, out.out, out.err
    return run


@pytest.fixture
def answers(tmp_path):
    path = tmp_path / "answers.yaml"
    path.write_text(demo_answers_text())
    return path


def test_version():
    out = subprocess.run([sys.executable, "-m", "vpc_mirror", "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"vpc-mirror {importlib.metadata.version('vpc-mirror')}"


def test_apply_status_export_teardown(cli, answers, sandbox):
    code, out, err = cli("apply", str(answers), "--yes")
    assert code == 0, err
    assert "Plan for setup demo:" in out and "create" in out and "Setup demo is applied" in out

    code, out, _ = cli("status", "demo", "--json")
    doc = json.loads(out)
    assert doc["setup"] == "demo"
    assert [s["name"] for s in doc["steps"]] == [
        "account", "vpc", "sensor", "test_beacon", "sources", "source_eni", "sensor_eni", "target", "filter", "session", "zeek", "verify", "hunt",
        "ship"]
    steps = {s["name"]: s for s in doc["steps"]}
    assert [s["name"] for s in doc["steps"] if s["status"] != "done"] == ["zeek", "verify", "hunt", "ship"]
    # three sources and the test beacon
    assert doc["cost"]["sessions"] == 4 and doc["cost"]["usd_per_month"] == round(4 * 0.015 * 730, 2)
    assert steps["target"]["resources"]["target"].startswith("tmt-")
    assert steps["filter"]["resources"]["filter"].startswith("tmf-")
    assert all(v.startswith("tms-") for v in steps["session"]["resources"].values())

    code, out, _ = cli("status")
    assert code == 0 and "demo: account" in out and "10 of 14 steps" in out and "USD 0.060/hour" in out

    code, out, _ = cli("export", "demo", "--format", "answers")
    assert code == 0 and yaml.safe_load(out)["sources"]["instances"] == ["name:web-1", "name:api-1", "name:batch-1"]

    code, out, err = cli("teardown", "demo", "--yes")
    assert code == 0, err
    assert not tagged(sandbox, "demo")
    code, out, _ = cli("teardown", "demo", "--yes")
    assert code == 0 and "nothing left to delete" in out


def test_apply_without_yes_and_without_a_terminal_asks_for_yes(cli, answers, sandbox, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    before = inventory(sandbox)
    code, _, err = cli("apply", str(answers))
    assert code == 2 and "--yes" in err
    assert inventory(sandbox) == before


def test_unknown_setup_is_a_clear_error(cli):
    code, _, err = cli("status", "nope")
    assert code == 2 and "no saved setup named 'nope'" in err


def test_unsupported_source_exits_2_with_the_reason(cli, tmp_path, sandbox):
    data = yaml.safe_load(demo_answers_text())
    data["sources"]["instances"] = ["name:db-1"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    before = inventory(sandbox)
    code, _, err = cli("apply", str(path), "--yes")
    assert code == 2
    assert "db-1" in err and "m6i" in err and "nothing was changed" in err
    assert inventory(sandbox) == before


def test_denied_permission_exits_2_before_any_change(cli, answers, sandbox):
    sandbox.set_denied(["ec2:CreateTrafficMirrorSession"])
    code, _, err = cli("apply", str(answers), "--yes")
    assert code == 2
    assert "nothing was changed" in err and "grant the IAM action ec2:CreateTrafficMirrorSession" in err
    assert not tagged(sandbox, "demo")


def test_aws_failure_mid_apply_exits_1_and_says_how_to_resume(cli, answers, sandbox, monkeypatch):
    from botocore.exceptions import ClientError

    from vpc_mirror.steps.resources import KINDS

    session = KINDS["mirror-session"]

    def refused(ctx, action, params):  # AWS turning a create down after the permission checks passed
        raise ClientError({"Error": {"Code": "TrafficMirrorSessionsPerInterfaceLimitExceeded",
                                     "Message": "limit"}}, "CreateTrafficMirrorSession")

    monkeypatch.setattr(session, "create", refused)
    code, _, err = cli("apply", str(answers), "--yes")
    assert code == 1
    assert "already has 3 mirror sessions" in err
    assert "vpc-mirror resume demo" in err
    assert any(k[0] == "target" for k in tagged(sandbox, "demo"))  # what was made before is kept
    monkeypatch.undo()
    code, out, err = cli("resume", "demo", "--yes")
    assert code == 0, err
    assert sum(1 for k in tagged(sandbox, "demo") if k[0] == "session") == 4


def test_steps_and_models_never_import_the_ui():
    code = ("import sys, vpc_mirror.steps.setup, vpc_mirror.steps.engine, vpc_mirror.models.plan, "
            "vpc_mirror.models.answers; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')); print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_export_formats_on_the_command_line_are_the_exporters():
    from vpc_mirror.steps.exports import FORMATS
    from vpc_mirror.tui.export_cli import FORMATS as CLI_FORMATS

    assert list(CLI_FORMATS) == list(FORMATS)
