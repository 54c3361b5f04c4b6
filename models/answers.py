"""The answers file: ``Plan`` as YAML, with errors that name each bad field.

Parsing only (text in, model out); reading and writing files is the caller's.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from pydantic import ValidationError

from vpc_mirror.models.plan import Plan

SCHEMA_PATH = Path(__file__).with_name("answers.schema.json")


class AnswersError(ValueError):
    """Every problem in an answers file, each as ``field: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _field(loc: tuple) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _message(error: dict) -> str:
    msg = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    if error["type"] == "missing":
        msg = "is required"
    elif error["type"] == "extra_forbidden":
        msg = "is not an answers-file field; check its spelling against the answers schema"
    elif error["type"] == "literal_error":
        msg = f"{error.get('input')!r}: {msg}"
    return msg


def problems_of(error: ValidationError) -> list[str]:
    """``ValidationError`` -> ["vpc.cidr: … use …", …], one line per bad field."""
    lines = []
    for item in error.errors(include_url=False):
        loc = item["loc"]
        # Union members add their type name to the path; it means nothing to a user.
        loc = tuple(part for part in loc if not (isinstance(part, str) and ("[" in part or part in ("str", "int"))))
        lines.append(f"{_field(loc)}: {_message(item)}")
    return lines


def parse_answers(text: str, *, setup: str | None = None) -> Plan:
    """YAML text -> Plan; ``setup`` (from --name) overrides the file's setup name."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AnswersError([f"(file): not valid YAML: {exc}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AnswersError(["(file): the answers file must be a mapping of step names to answers"])
    if setup is not None:
        data["setup"] = setup
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise AnswersError(problems_of(exc)) from None


def dump_answers(plan: Plan) -> str:
    """Plan -> YAML that parses back to the same Plan, with a schema hint for editors."""
    body = yaml.safe_dump(plan.model_dump(mode="json", exclude_none=True), sort_keys=False)
    return "# yaml-language-server: $schema=https://vpc-mirror.invalid/answers.schema.json\n" + body


def answers_schema() -> str:
    """The JSON Schema of the answers file, as checked in at SCHEMA_PATH."""
    return json.dumps(Plan.model_json_schema(), indent=2, sort_keys=True) + "\n"
