"""Saved setups that cannot be used as they are: every command says which file and what to do, none crashes,
none overwrites the file; names are never paths; the state directory stays private."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.awsfacts import demo_plan
from vpc_mirror.models.state import SCHEMA_VERSION, State
from vpc_mirror.steps.state_store import BadSetupName, StateStore, Unreadable
from vpc_mirror.tui.cli import main

CORRUPT = {
    "empty": b"",
    "truncated": b'{"schema_version": 1, "setup": "demo", "steps": {"acc',
    "not-a-state": b'{"schema_version": 1, "steps": []}',
    "binary": b'{"setup": "demo\xff\xfe"}',
    "newer": json.dumps({"schema_version": SCHEMA_VERSION + 1, "setup": "demo", "future": {"x": 1}}).encode(),
}
EXPECTED = {"empty": "is empty", "truncated": "is not valid JSON", "not-a-state": "is not a vpc-mirror state (setup",
            "binary": "is not UTF-8 text", "newer": "was written by a newer vpc-mirror"}


@pytest.fixture
def saved(state_dir):
    """A state directory with the demo's answers and a good state for a second setup, 'other'."""
    store = StateStore(state_dir)
    store.save_answers(demo_plan())
    store.save(State(setup="other", region="us-east-1"))
    store.save_answers(demo_plan().model_copy(update={"setup": "other"}))
    return store


def run(state_dir, capsys, *argv: str) -> tuple[int, str, str]:
    code = main([*argv, "--state-dir", str(state_dir), "--endpoint-url", "http://127.0.0.1:9"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("kind", CORRUPT)
@pytest.mark.parametrize("command", [["status", "demo"], ["resume", "demo", "--yes"], ["teardown", "demo", "--yes"],
                                     ["export", "demo", "--format", "terraform"], ["preflight", "demo"],
                                     ["zeek", "demo", "--dry-run"]])
def test_a_corrupt_state_file_is_named_with_the_fix_and_left_alone(saved, state_dir, capsys, kind, command):
    path = saved.state_path("demo")
    path.write_bytes(CORRUPT[kind])
    code, out, err = run(state_dir, capsys, *command)
    assert code == 2, err
    assert f"{path} {EXPECTED[kind]}" in err
    assert "Traceback" not in err + out
    assert path.read_bytes() == CORRUPT[kind]


def test_status_of_every_setup_shows_the_good_ones_and_names_the_bad_one(saved, state_dir, capsys):
    saved.state_path("demo").write_bytes(CORRUPT["truncated"])
    code, out, err = run(state_dir, capsys, "status")
    assert code == 1
    assert "other: account ? in us-east-1" in out
    assert f"{saved.state_path('demo')} is not valid JSON" in err
    code, out, err = run(state_dir, capsys, "status", "--json")
    assert code == 1 and [doc["setup"] for doc in json.loads(out)] == ["other"]


def test_a_state_from_a_newer_vpc_mirror_is_never_rewritten(saved, state_dir):
    saved.state_path("demo").write_bytes(CORRUPT["newer"])
    with pytest.raises(Unreadable, match=f"state schema {SCHEMA_VERSION + 1}; this one reads up to {SCHEMA_VERSION}"):
        saved.load("demo")
    assert saved.state_path("demo").read_bytes() == CORRUPT["newer"]


def test_corrupt_saved_answers_name_the_file_and_the_field(saved, state_dir, capsys):
    text = saved.answers_path("other").read_text().replace("vni: 4242", "vni: 99999999")
    assert "vni: 99999999" in text
    saved.answers_path("other").write_text(text)
    code, _, err = run(state_dir, capsys, "resume", "other", "--yes")
    assert code == 2
    assert str(saved.answers_path("other")) in err and "session.vni" in err and "Traceback" not in err


@pytest.mark.parametrize("name", ["../other/x", "/etc/passwd", "a/b", "..", "UPPER", "x" * 41])
@pytest.mark.parametrize("command", [["status"], ["teardown", "--yes"], ["resume", "--yes"],
                                     ["export", "--format", "answers"]])
def test_a_setup_name_is_never_a_path(state_dir, tmp_path, capsys, name, command):
    elsewhere = tmp_path / "other"
    elsewhere.mkdir()
    (elsewhere / "x.state.json").write_text(State(setup="x").model_dump_json())
    code, _, err = run(state_dir, capsys, command[0], name, *command[1:])
    assert code == 2
    assert "is not a setup name; use 1-40 lower-case letters, digits and dashes" in err
    assert (elsewhere / "x.state.json").exists()


def test_the_store_refuses_a_path_like_name_itself(state_dir):
    with pytest.raises(BadSetupName):
        StateStore(state_dir).state_path("../x")


def test_the_state_directory_is_made_and_kept_private_whatever_the_umask(tmp_path):
    root = tmp_path / "a" / "b" / "state"
    old = os.umask(0)
    try:
        StateStore(root).save(State(setup="demo"))
    finally:
        os.umask(old)
    for folder in (tmp_path / "a", tmp_path / "a" / "b", root):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert stat.S_IMODE((root / "demo.state.json").stat().st_mode) == 0o600

    root.chmod(0o755)
    StateStore(root).save(State(setup="demo"))
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_an_unwritable_state_directory_says_so_and_how_to_choose_another(tmp_path, capsys, state_dir):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    answers = tmp_path / "answers.yaml"
    answers.write_text(demo_plan().model_dump_json())
    code = main(["apply", str(answers), "--yes", "--state-dir", str(blocker / "state")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"cannot write in the state directory {blocker / 'state'}" in err and "--state-dir DIR" in err


def test_huge_and_binary_answers_files_are_refused_unread(tmp_path, capsys, state_dir):
    code = main(["apply", "/dev/zero", "--yes", "--state-dir", str(state_dir)])
    assert code == 2 and "larger than 1024 KiB, so it is not an answers file" in capsys.readouterr().err
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes("setup: demo\naccount: {region: us-east-1}  # caf\xe9\n".encode("latin-1"))
    code = main(["apply", str(latin1), "--yes", "--state-dir", str(state_dir)])
    assert code == 2 and "is not UTF-8 text (line 2" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["flag", "answers"])
def test_a_profile_that_does_not_exist_is_named_with_the_ones_that_do(tmp_path, capsys, state_dir, monkeypatch, where):
    config = tmp_path / "config"
    config.write_text("[profile work]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    answers = tmp_path / "answers.yaml"
    plan = demo_plan()
    if where == "answers":
        plan = plan.model_copy(update={"account": plan.account.model_copy(update={"profile": "nosuch"})})
    answers.write_text(plan.model_dump_json())
    flag = ["--profile", "nosuch"] if where == "flag" else []
    code = main(["preflight", str(answers), *flag, "--state-dir", str(state_dir)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "AWS profile 'nosuch' is not in ~/.aws/config or ~/.aws/credentials (known: work)" in err


def test_an_export_never_changes_the_folder_it_is_written_into(tmp_path):
    from vpc_mirror.steps.state_dir import write_private

    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    write_private(folder / "demo.tf", "x")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert stat.S_IMODE((folder / "demo.tf").stat().st_mode) == 0o600


def test_an_unreadable_draft_is_listed_not_fatal(state_dir):
    from vpc_mirror.tui.drafts import Draft, save_draft
    from vpc_mirror.tui.saved import saved_setups
    from vpc_mirror.tui.wizard_steps import FORM_PAGES

    save_draft(state_dir, Draft(setup="good", answers={"setup": "good"}))
    (state_dir / "bad.draft.json").write_text('{"setup": "bad", "answ')
    rows = {row.name: row for row in saved_setups(state_dir)}
    assert rows["good"].progress == f"0 of {len(FORM_PAGES)} pages answered"
    assert rows["bad"].progress == "draft file unreadable" and rows["bad"].failed == "unreadable"
