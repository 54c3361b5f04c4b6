"""The answers file: valid files load, bad fields are named with their fix, the schema is in sync."""

from __future__ import annotations

import json

import pytest
import yaml

from vpc_mirror.models.answers import SCHEMA_PATH, AnswersError, answers_schema, dump_answers, parse_answers
from vpc_mirror.models.plan import Plan
from vpc_mirror.sandbox import demo_answers_text


def demo() -> dict:
    return yaml.safe_load(demo_answers_text())


def test_demo_answers_load():
    plan = parse_answers(demo_answers_text())
    assert plan.setup == "demo"
    assert plan.sources.instances == ["name:web-1", "name:api-1", "name:batch-1"]
    # The default filter mirrors everything, both directions, IPv4 and IPv6.
    rules = {(r.direction, r.source_cidr, r.destination_cidr) for r in plan.filter.rules}
    assert rules == {(d, c, c) for d in ("ingress", "egress") for c in ("0.0.0.0/0", "::/0")}


def test_dump_parses_back_to_the_same_plan():
    plan = parse_answers(demo_answers_text())
    assert parse_answers(dump_answers(plan)) == plan


def test_name_option_overrides_setup():
    assert parse_answers(demo_answers_text(), setup="other").setup == "other"


def test_schema_file_is_in_sync_with_the_model():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == answers_schema(), (
        "models/answers.schema.json is stale: run `vpc-mirror schema > models/answers.schema.json`"
    )
    schema = json.loads(answers_schema())
    assert set(schema["required"]) == {"setup", "vpc", "sensor", "sources"}


def test_public_vpc_cidr_is_a_warning_not_an_error():
    data = demo()
    data["vpc"] = {"mode": "create", "cidr": "8.8.0.0/16"}
    plan = Plan.model_validate(data)
    assert plan.warnings() == ["vpc.cidr: 8.8.0.0/16 is not a private (RFC 1918) range; 10.0.0.0/8 is usual"]


def _set(path: str, value):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


def _drop(path: str):
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]
    return change


RULE = {"direction": "ingress", "number": 100, "source_cidr": "0.0.0.0/0", "destination_cidr": "0.0.0.0/0"}

#: (what is wrong, how to make it wrong, the field the message must name, words the message must hold)
INVALID = [
    ("setup name with capitals", _set("setup", "Prod"), "setup", "lower-case"),
    ("setup name too long", _set("setup", "a" * 41), "setup", "1-40"),
    ("unknown region", _set("account.region", "us-east"), "account.region", "us-east-1"),
    ("region with typo", _set("account.region", "eu-wset-1"), "account.region", "region"),
    ("vpc id without prefix", _set("vpc.vpc_id", "0123456789abcdef0"), "vpc.vpc_id", "vpc-"),
    ("vpc id wrong length", _set("vpc.vpc_id", "vpc-123"), "vpc.vpc_id", "8 or 17 hex"),
    ("subnet id of another kind", _set("vpc.subnet_id", "sg-0123456789abcdef0"), "vpc.subnet_id", "subnet-"),
    ("existing vpc without id", _drop("vpc.vpc_id"), "vpc", "vpc_id is required"),
    ("existing vpc without subnet", _drop("vpc.subnet_id"), "vpc", "subnet_id is required"),
    ("vpc mode misspelt", _set("vpc.mode", "new"), "vpc.mode", "'existing' or 'create'"),
    ("vpc cidr too big", lambda d: d.__setitem__("vpc", {"mode": "create", "cidr": "10.0.0.0/8"}), "vpc.cidr", "/16 to /28"),
    ("vpc cidr too small", lambda d: d.__setitem__("vpc", {"mode": "create", "cidr": "10.0.0.0/29"}), "vpc.cidr", "/16 to /28"),
    ("vpc cidr host bits", lambda d: d.__setitem__("vpc", {"mode": "create", "cidr": "10.0.0.1/16"}), "vpc.cidr", "IPv4 CIDR"),
    ("vpc cidr IPv6", lambda d: d.__setitem__("vpc", {"mode": "create", "cidr": "fd00::/48"}), "vpc.cidr", "must be IPv4"),
    ("ssh from the whole internet", _set("vpc.ssh_from", "0.0.0.0/0"), "vpc.ssh_from", "your own address"),
    ("ssh from garbage", _set("vpc.ssh_from", "my laptop"), "vpc.ssh_from", "CIDR"),
    ("sensor instance id bad", lambda d: d.__setitem__("sensor", {"mode": "existing", "instance_id": "i-xyz"}),
     "sensor.instance_id", "i-"),
    ("sensor launch without key", _drop("sensor.key_name"), "sensor", "key_name is required"),
    ("sensor root volume too small", _set("sensor.root_volume_gib", 4), "sensor.root_volume_gib", "8"),
    ("sensor instance type bad", _set("sensor.instance_type", "large"), "sensor.instance_type", "t3a.xlarge"),
    ("sensor image unknown", _set("sensor.image", "windows-2022"), "sensor.image", "ami-"),
    ("beacon destination bad", _set("test_beacon.destination", "not a host!"), "test_beacon.destination", "host name"),
    ("beacon interval too short", _set("test_beacon.interval_seconds", 1), "test_beacon.interval_seconds", "5"),
    ("no sources", _set("sources.instances", []), "sources", "select: [tag:env=prod]"),
    ("source id bad", _set("sources.instances.0", "web-1"), "sources.instances.0", "name:"),
    ("source listed twice", _set("sources.instances", ["name:web-1", "name:web-1"]), "sources.instances", "twice"),
    ("source eni mode bad", _set("source_eni.mode", "secondary"), "source_eni.mode", "'primary' or 'dedicated'"),
    ("sensor eni device index 0", _set("sensor_eni.device_index", 0), "sensor_eni.device_index", "1"),
    ("target type alb", _set("target.type", "alb"), "target.type", "'eni', 'nlb' or 'gwlb'"),
    ("session number 0", _set("session.session_number", 0), "session.session_number", "1"),
    ("session number too high", _set("session.session_number", 32767), "session.session_number", "32766"),
    ("vni too high", _set("session.vni", 16777216), "session.vni", "16777215"),
    ("vni zero", _set("session.vni", 0), "session.vni", "1"),
    ("packet length too high", _set("session.packet_length", 8501), "session.packet_length", "8500"),
    ("rule number 0", _set("filter.rules", [dict(RULE, number=0)]), "filter.rules.0.number", "1"),
    ("rule number twice per direction", _set("filter.rules", [RULE, dict(RULE)]), "filter.rules", "used twice"),
    ("rule protocol 256", _set("filter.rules", [dict(RULE, protocol=256)]), "filter.rules.0.protocol", "255"),
    ("ports without tcp/udp", _set("filter.rules", [dict(RULE, protocol=1, destination_ports={"from_port": 80, "to_port": 80})]),
     "filter.rules.0", "protocol 6 (TCP) or 17 (UDP)"),
    ("port range reversed", _set("filter.rules", [dict(RULE, protocol=6, destination_ports={"from_port": 90, "to_port": 80})]),
     "filter.rules.0.destination_ports", "swap"),
    ("mixed families", _set("filter.rules", [dict(RULE, destination_cidr="::/0")]), "filter.rules.0", "same family"),
    ("rule direction bad", _set("filter.rules", [dict(RULE, direction="both")]), "filter.rules.0.direction", "'ingress' or 'egress'"),
    ("eleven rules", _set("filter.rules", [dict(RULE, number=n) for n in range(1, 12)]), "filter.rules", "at most 10"),
    ("unknown field", _set("sensor.instnce_type", "t3.large"), "sensor.instnce_type", "did you mean instance_type"),
    ("not yaml", None, "(file)", "YAML"),
]


@pytest.mark.parametrize("what, change, field, words", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_answers_name_the_field(what, change, field, words):
    if change is None:
        text = "setup: [unclosed"
    else:
        data = demo()
        change(data)
        text = yaml.safe_dump(data)
    with pytest.raises(AnswersError) as err:
        parse_answers(text)
    matching = [p for p in err.value.problems if p.startswith(f"{field}:")]
    assert matching, f"no problem names {field}: {err.value.problems}"
    assert any(words.lower() in p.lower() for p in matching), matching


def test_every_problem_is_reported_at_once():
    data = demo()
    data["account"]["region"] = "nowhere"
    data["session"] = {"vni": 0, "packet_length": 0}
    with pytest.raises(AnswersError) as err:
        parse_answers(yaml.safe_dump(data))
    fields = sorted(p.split(":")[0] for p in err.value.problems)
    assert fields == ["account.region", "session.packet_length", "session.vni"]
