"""The answers file: ``Plan`` as YAML, with errors that name each bad field, what it allows and an example.

Parsing only (text in, model out); reading and writing files is the caller's.
"""

from __future__ import annotations

import difflib
import functools
import json
from pathlib import Path

import yaml
from pydantic import ValidationError
from vpc_mirror.models.plan import Plan

SCHEMA_PATH = Path(__file__).with_name("answers.schema.json")

#: An answers file nests four levels (filter.rules[n].destination_ports.from_port); deeper is not an answers file,
#: and refusing it early keeps PyYAML's recursive composer far from Python's recursion limit.
MAX_DEPTH = 16


class AnswersError(ValueError):
    """Every problem in an answers file, each as ``field: message``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _at(mark, message: str) -> AnswersError:
    return AnswersError([f"(file): line {mark.line + 1}: {message}"])


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses what an answers file never needs and YAML would accept silently.

    Anchors and aliases are refused outright (not bounded): answers have no repeated
    parts, and an alias is how a few lines expand into gigabytes (billion laughs).
    A repeated key is refused instead of the last one silently winning.
    """

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise _at(event.start_mark, f"YAML anchors and aliases (&{event.anchor}, *{event.anchor}) are not "
                                        "accepted in an answers file; write each value out where it is used")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _at(event.start_mark, f"nested more than {MAX_DEPTH} levels deep; an answers file nests at most 4 "
                                        "(see sandbox/demo-answers.yaml)")
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key, _ in node.value:
            if isinstance(key, yaml.ScalarNode):
                if (key.tag, key.value) in seen:
                    first = seen[(key.tag, key.value)]
                    raise _at(key.start_mark, f"key {key.value!r} appears twice in one mapping (lines {first.line + 1} "
                                              f"and {key.start_mark.line + 1}); keep one of them")
                seen[(key.tag, key.value)] = key.start_mark
        return super().construct_mapping(node, deep)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except AnswersError:
            raise
        except ValueError as exc:  # e.g. a date 2024-13-45, or an integer of 5000 digits
            reason = str(exc).split(":")[0]
            raise _at(node.start_mark, f"cannot read {node.value[:40]!r} ({reason}); quote it if it is meant as text") \
                from None


# -- messages: field, what it allows, an example -------------------------------------------------------------


@functools.cache
def _schemas() -> dict:
    """Each model's JSON Schema by title (Plan and every nested model): the fields' bounds and examples."""
    schema = Plan.model_json_schema()
    return {"Plan": schema, **schema.get("$defs", {})}


def _resolve(node: dict) -> dict:
    """A property's schema with ``$ref`` followed and ``X | None`` narrowed to X, its own keys kept."""
    node = dict(node)
    while True:
        if "$ref" in node:
            target = _schemas()[node.pop("$ref").rsplit("/", 1)[1]]
            node = {**target, **node}
        elif "anyOf" in node:
            branches = [b for b in node.pop("anyOf") if b.get("type") != "null"]
            node = {**branches[0], **node} if len(branches) == 1 else node
        else:
            return node


def _schema_at(title: str, loc: tuple) -> dict:
    """The schema of the field at ``loc`` in model ``title``; examples inherited from the enclosing example."""
    node = _resolve(_schemas().get(title, {}))
    for part in loc:
        example = (node.get("examples") or [None])[0]
        if isinstance(part, int):
            node = _resolve(node.get("items", {}))
            inherited = example[0] if isinstance(example, list) and example else None
        else:
            node = _resolve(node.get("properties", {}).get(part, {}))
            inherited = example.get(part) if isinstance(example, dict) else None
        if inherited is not None and "examples" not in node:
            node["examples"] = [inherited]
    return node


def _example(schema: dict):
    """A good value for this field: its example, its default, its first choice, or one built from its fields."""
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("default") not in (None, [], {}):
        return schema["default"]
    if "enum" in schema or "const" in schema:
        return schema.get("enum", [schema.get("const")])[0]
    if "properties" in schema:
        required = schema.get("required") or list(schema["properties"])[:1]
        return {name: _example(_resolve(schema["properties"][name])) for name in required}
    if schema.get("type") == "array":
        return [_example(_resolve(schema.get("items", {})))]
    return schema.get("minimum")


def _yaml(value) -> str:
    """A value as it would be written in the answers file (flow style, one line)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return str(value)


def _shown(value) -> str:
    """The bad input, short: long text and big numbers cut, a mapping or list named rather than printed."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        return "a number of more than 20 digits"
    if isinstance(value, bytes):
        return "binary data"
    return _yaml(value)


def _range(schema: dict) -> str:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{low}-{high}"
    return f"{low} or more" if low is not None else f"at most {high}"


def _count(low, high) -> str:
    if low is not None and high is not None:
        return f"{low}-{high}"
    return f"at least {low}" if low is not None else f"at most {high}"


def _message(error: dict, title: str, loc: tuple) -> str:
    """One error as "what is wrong; what is allowed, e.g. EXAMPLE", from its type and the field's schema."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind in ("value_error", "assertion_error"):  # our validators' own messages, which give the fix already
        return str(ctx.get("error", error["msg"]))
    if kind == "extra_forbidden":
        where = ".".join(str(p) for p in loc[:-1]) or "the answers file"
        fields = list(_schema_at(title, loc[:-1]).get("properties", {}))
        close = difflib.get_close_matches(str(loc[-1]), fields, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"is not a field of {where}; {hint}{where} takes {', '.join(fields)}"
    schema = _schema_at(title, loc)
    eg = f"e.g. {_yaml(_example(schema))}"
    if kind == "missing":
        return f"is required; add it, {eg}"
    if kind in ("literal_error", "enum"):
        return f"{_shown(value)} is not allowed; use {ctx.get('expected')}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"{_shown(value)} is not a whole number; use a number {_range(schema)}, {eg}"
    if kind in ("bool_type", "bool_parsing"):
        return f"{_shown(value)} is not true or false; use true or false, {eg}"
    if kind == "string_type":
        return f"{_shown(value)} is not text; use text, {eg} (quote what YAML would read as a number, date or yes/no)"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"{_shown(value)} is outside {_range(schema)}; use {eg}"
    if kind in ("too_short", "too_long"):
        count = _count(schema.get("minItems"), schema.get("maxItems"))
        return f"has {ctx.get('actual_length')} items; give {count} item{'' if count.endswith(' 1') else 's'}, {eg}"
    if kind in ("string_too_short", "string_too_long"):
        return f"is {len(value)} characters long; use {_count(schema.get('minLength'), schema.get('maxLength'))}, {eg}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"{_shown(value)} is not a mapping of fields; use {eg}"
    if kind == "list_type":
        return f"{_shown(value)} is not a list; use {eg}"
    return f"{error['msg']}; use {eg}"


def problems_of(error: ValidationError) -> list[str]:
    """``ValidationError`` -> ["session.vni: 99999999 is outside 1-16777215; use e.g. 4242", …], one per bad field.

    The one place answers messages are made, for the command line and the wizard alike: the
    field's bounds and example come from the model's schema (``Field(examples=…, ge=…, le=…)``).
    """
    lines = []
    for item in error.errors(include_url=False):
        # Union members and validator wrappers add their type name to the path; it means nothing to a user.
        loc = tuple(part for part in item["loc"]
                    if not (isinstance(part, str) and ("[" in part or part in ("str", "int"))))
        field = ".".join(str(part) for part in loc) or "(top level)"
        lines.append(f"{field}: {_message(item, error.title, loc)}")
    return lines


def parse_answers(text: str, *, setup: str | None = None) -> Plan:
    """YAML text -> Plan; ``setup`` (from --name) overrides the file's setup name."""
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.reader.ReaderError as exc:
        raise AnswersError([(f"(file): character U+{exc.character:04X} at position {exc.position} is not allowed "
                             "in YAML; an answers file is plain text, e.g. sandbox/demo-answers.yaml")]) from None
    except yaml.YAMLError as exc:
        where = f"line {exc.problem_mark.line + 1}: " if getattr(exc, "problem_mark", None) else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise AnswersError([(f"(file): {where}not valid YAML ({problem}); fix that line, see "
                             "sandbox/demo-answers.yaml for a complete example")]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AnswersError([(f"(file): is {_shown(data)}, not a mapping of step names to answers; start from "
                             "sandbox/demo-answers.yaml, e.g. setup: prod-zeek")])
    if setup is not None:
        data["setup"] = setup
    try:
        # strict: a file's `vni: true` or `vni: "42"` is a mistake, not a 1 or a 42 (the wizard's forms convert).
        return Plan.model_validate(data, strict=True)
    except ValidationError as exc:
        raise AnswersError(problems_of(exc)) from None


def dump_answers(plan: Plan) -> str:
    """Plan -> YAML that parses back to the same Plan, with a schema hint for editors."""
    body = yaml.safe_dump(plan.model_dump(mode="json", exclude_none=True), sort_keys=False)
    return "# yaml-language-server: $schema=https://vpc-mirror.invalid/answers.schema.json\n" + body


def answers_schema() -> str:
    """The JSON Schema of the answers file, as checked in at SCHEMA_PATH."""
    return json.dumps(Plan.model_json_schema(), indent=2, sort_keys=True) + "\n"
