"""Issue 13: every invalid answers file is refused by `vpc-mirror apply` with exit 2, a message naming the
field and its fix, and nothing created — never a traceback, never a wrong setup.

Each row: (id, the file's content (text or bytes), the field the message names, a phrase of the fix).
Files the model refuses are run together (no AWS call is made for them); files only AWS can judge
(unknown names, unmirrorable sources) each get a fresh sandbox.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.awsfacts import inventory, tagged
from vpc_mirror.sandbox import demo_answers_text
from vpc_mirror.tui.cli import main

DEMO_TEXT = demo_answers_text()
DEMO = yaml.safe_load(DEMO_TEXT)
DROP = object()


def changed(changes: dict) -> str:
    """The demo answers with ``{"dotted.path": value}`` applied (DROP deletes), as YAML."""
    data = copy.deepcopy(DEMO)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        if value is DROP:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def rule(**fields) -> dict:
    return {"direction": "ingress", "number": 100, **fields}


def rules(*items: dict) -> str:
    return changed({"filter.rules": list(items)})


def zeek(**fields) -> str:
    return changed({"zeek": fields})


LAUGHS = "setup: demo\n" + "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 10))

#: Refused before any AWS call: types, ranges, choices, missing and unknown fields, lengths, rule counts,
#: CIDR families, ids and names, shell metacharacters, YAML bombs and duplicate keys, huge and binary files.
PARSE_LEVEL = [
    # types: YAML's own types are kept, never coerced
    ("vni true", changed({"session.vni": True}), "session.vni", "e.g. 4242"),
    ("vni false", changed({"session.vni": False}), "session.vni", "e.g. 4242"),
    ("vni quoted", changed({"session.vni": "4242"}), "session.vni", "1-16777215"),
    ("vni float", changed({"session.vni": 4242.0}), "session.vni", "whole number"),
    ("root volume quoted", changed({"sensor.root_volume_gib": "32"}), "sensor.root_volume_gib", "8-16384"),
    ("device index true", changed({"sensor_eni.device_index": True}), "sensor_eni.device_index", "1-15"),
    ("interval with unit", changed({"test_beacon.interval_seconds": "34s"}), "test_beacon.interval_seconds",
     "5-3600, e.g. 34"),
    ("ipv6 quoted yes", changed({"vpc.ipv6": "yes"}), "vpc.ipv6", "use true or false"),
    ("beacon enabled 1", changed({"test_beacon.enabled": 1}), "test_beacon.enabled", "use true or false"),
    ("amazon dns quoted", changed({"filter.mirror_amazon_dns": "no"}), "filter.mirror_amazon_dns",
     "use true or false"),
    ("beacon mirror null", changed({"test_beacon.mirror": None}), "test_beacon.mirror", "use true or false"),
    ("setup a number", "setup: 123\n" + DEMO_TEXT.replace("setup: demo\n", ""), "setup", "quote"),
    ("setup a date", changed({"setup": DROP}) + "setup: 2024-01-01\n", "setup", "quote"),
    ("region a number", changed({"account.region": 5}), "account.region", "e.g. us-east-1"),
    ("sources a string", changed({"sources": "name:web-1"}), "sources", "e.g. {instances: [name:web-1]}"),
    ("instances a string", changed({"sources.instances": "name:web-1"}), "sources.instances", "e.g. ["),
    ("instance null", changed({"sources.instances": [None]}), "sources.instances.0", "e.g. i-0123456789abcdef0"),
    ("rules a string", changed({"filter.rules": "all"}), "filter.rules", "e.g. [{direction: ingress"),
    ("rule a number", changed({"filter.rules": [5]}), "filter.rules.0", "e.g. {direction: ingress, number: 100}"),
    ("vpc a string", changed({"vpc": "vpc-0123456789abcdef0"}), "vpc", "e.g. {mode: existing"),
    ("ssh port quoted", zeek(port="22"), "zeek.port", "e.g. 22"),
    ("workers fraction", zeek(workers=2.5), "zeek.workers", "1-64"),
    ("protocol by name", rules(rule(protocol="tcp")), "filter.rules.0.protocol", "0-255, e.g. 6"),
    ("rule number quoted", rules(rule(number="100")), "filter.rules.0.number", "1-32766"),
    # ranges
    ("vni too big", changed({"session.vni": 99999999}), "session.vni", "outside 1-16777215; use e.g. 4242"),
    ("vni zero", changed({"session.vni": 0}), "session.vni", "outside 1-16777215"),
    ("vni negative", changed({"session.vni": -1}), "session.vni", "outside 1-16777215"),
    ("vni one past", changed({"session.vni": 16777216}), "session.vni", "outside 1-16777215"),
    ("vni 30 digits", changed({"session.vni": 10**30}), "session.vni", "e.g. 4242"),
    ("session number zero", changed({"session.session_number": 0}), "session.session_number", "1-32766"),
    ("session number too big", changed({"session.session_number": 32767}), "session.session_number", "1-32766"),
    ("packet length zero", changed({"session.packet_length": 0}), "session.packet_length", "e.g. 1500"),
    ("packet length too big", changed({"session.packet_length": 8501}), "session.packet_length", "1-8500"),
    ("root volume too small", changed({"sensor.root_volume_gib": 4}), "sensor.root_volume_gib", "8-16384"),
    ("root volume too big", changed({"sensor.root_volume_gib": 16385}), "sensor.root_volume_gib", "8-16384"),
    ("interval too short", changed({"test_beacon.interval_seconds": 4}), "test_beacon.interval_seconds", "5-3600"),
    ("interval too long", changed({"test_beacon.interval_seconds": 3601}), "test_beacon.interval_seconds",
     "5-3600"),
    ("device index zero", changed({"sensor_eni.device_index": 0}), "sensor_eni.device_index", "1-15"),
    ("device index 16", changed({"sensor_eni.device_index": 16}), "sensor_eni.device_index", "1-15"),
    ("vxlan port zero", changed({"sensor_eni.vxlan_port": 0}), "sensor_eni.vxlan_port", "e.g. 4789"),
    ("vxlan port too big", changed({"sensor_eni.vxlan_port": 65536}), "sensor_eni.vxlan_port", "1-65535"),
    ("workers zero", zeek(workers=0), "zeek.workers", "1-64"),
    ("workers too many", zeek(workers=65), "zeek.workers", "1-64"),
    ("ssh port too big", zeek(port=70000), "zeek.port", "1-65535; use e.g. 22"),
    ("rule number zero", rules(rule(number=0)), "filter.rules.0.number", "1-32766; use e.g. 100"),
    ("rule number too big", rules(rule(number=32767)), "filter.rules.0.number", "1-32766"),
    ("protocol negative", rules(rule(protocol=-1)), "filter.rules.0.protocol", "0-255"),
    ("protocol 256", rules(rule(protocol=256)), "filter.rules.0.protocol", "0-255"),
    ("port too big", rules(rule(protocol=6, destination_ports={"from_port": 70000, "to_port": 70000})),
     "filter.rules.0.destination_ports.from_port", "0-65535; use e.g. 443"),
    ("port range reversed", rules(rule(protocol=6, source_ports={"from_port": 90, "to_port": 80})),
     "filter.rules.0.source_ports", "swap them"),
    ("number of 5000 digits", changed({"session.vni": 1}).replace("vni: 1", "vni: " + "9" * 5000), "(file)",
     "quote it"),
    # choices
    ("vpc mode new", changed({"vpc.mode": "new"}), "vpc.mode", "use 'existing' or 'create'"),
    ("vpc mode capitalised", changed({"vpc.mode": "Existing"}), "vpc.mode", "use 'existing' or 'create'"),
    ("sensor mode run", changed({"sensor.mode": "run"}), "sensor.mode", "use 'existing' or 'launch'"),
    ("source eni secondary", changed({"source_eni.mode": "secondary"}), "source_eni.mode",
     "use 'primary' or 'dedicated'"),
    ("rule direction both", rules(rule(direction="both")), "filter.rules.0.direction", "'ingress' or 'egress'"),
    ("rule action drop", rules(rule(action="drop")), "filter.rules.0.action", "'accept' or 'reject'"),
    # missing
    ("empty file", "", "setup", "e.g. prod-zeek"),
    ("no setup", changed({"setup": DROP}), "setup", "e.g. prod-zeek"),
    ("no vpc", changed({"vpc": DROP}), "vpc", "e.g. {mode: existing"),
    ("no sensor", changed({"sensor": DROP}), "sensor", "key_name: my-key"),
    ("no sources", changed({"sources": DROP}), "sources", "e.g. {instances: [name:web-1]}"),
    ("sources empty", changed({"sources": {}}), "sources", "or select them, e.g. select: [tag:env=prod]"),
    ("instances empty", changed({"sources.instances": []}), "sources", "e.g. instances: [name:web-1]"),
    ("bad selector", changed({"sources.select": ["env=prod"]}), "sources.select.0", "e.g. tag:env=prod"),
    ("selector twice", changed({"sources.select": ["tag:a=b", "tag:a=b"]}), "sources.select", "list each selector once"),
    ("fleet of an existing sensor", changed({"sensor": {"mode": "existing", "instance_id": "i-0123456789abcdef0",
                                                        "count": 2}}), "sensor", "use mode: launch for a fleet"),
    ("sensor count 0", changed({"sensor.count": 0}), "sensor.count", "1-20"),
    ("nlb arn for an eni target", changed({"target": {"load_balancer_arn": "arn:aws:elasticloadbalancing:us-east-1:"
                                                      "123456789012:loadbalancer/net/zeek/0123456789abcdef"}}),
     "target", "set type: nlb"),
    ("alb arn", changed({"target": {"type": "nlb", "load_balancer_arn": "arn:aws:elasticloadbalancing:us-east-1:"
                                    "123456789012:loadbalancer/app/web/0123456789abcdef"}}),
     "target.load_balancer_arn", "not a Network Load Balancer ARN"),
    ("endpoint for an nlb target", changed({"target": {"type": "nlb", "gwlb_endpoint_id": "vpce-0123456789abcdef0"}}),
     "target", "set type: gwlb"),
    ("target type alb", changed({"target.type": "alb"}), "target.type", "'eni', 'nlb' or 'gwlb'"),
    ("rule without direction", rules({"number": 100}), "filter.rules.0.direction", "e.g. ingress"),
    ("rule without number", rules({"direction": "egress"}), "filter.rules.0.number", "e.g. 100"),
    ("port range without end", rules(rule(protocol=17, destination_ports={"from_port": 53})),
     "filter.rules.0.destination_ports.to_port", "e.g. 443"),
    ("existing vpc without id", changed({"vpc.vpc_id": DROP}), "vpc", "use mode: create"),
    ("existing vpc without subnet", changed({"vpc.subnet_id": DROP}), "vpc", "give the subnet-"),
    ("launch without key", changed({"sensor.key_name": DROP}), "sensor", "give an EC2 key pair name"),
    ("existing sensor without id", changed({"sensor": {"mode": "existing"}}), "sensor", "use mode: launch"),
    # unknown fields
    ("field misspelt", changed({"sensor.instnce_type": "t3.large"}), "sensor.instnce_type",
     "did you mean instance_type?"),
    ("section misspelt", changed({"sessions": {"vni": 1}}), "sessions", "did you mean session?"),
    ("cidr_block for cidr", changed({"vpc.cidr_block": "10.0.0.0/16"}), "vpc.cidr_block", "did you mean cidr?"),
    ("secret in account", changed({"account.secret_key": "x"}), "account.secret_key", "account takes profile, region"),
    # lengths and rule counts
    ("target description long", changed({"target.description": "x" * 256}), "target.description", "at most 255"),
    ("description with a newline", changed({"target.description": "mirror\ntarget"}), "target.description",
     "one line of printable text"),
    ("filter description long", changed({"filter.description": "x" * 300}), "filter.description", "at most 255"),
    ("session description long", changed({"session.description": "x" * 1000}), "session.description",
     "at most 255"),
    ("rule description long", rules(rule(description="x" * 256)), "filter.rules.0.description", "at most 255"),
    ("eleven rules", rules(*(rule(number=n) for n in range(1, 12))), "filter.rules", "at most 10 items"),
    ("rule number twice", rules(rule(), rule()), "filter.rules", "give each rule its own number"),
    # CIDR families and sizes
    ("vpc cidr IPv6", changed({"vpc": {"mode": "create", "cidr": "fd00::/48"}}), "vpc.cidr", "e.g. 10.77.0.0/16"),
    ("vpc cidr /8", changed({"vpc": {"mode": "create", "cidr": "10.0.0.0/8"}}), "vpc.cidr", "/16 to /28"),
    ("vpc cidr /29", changed({"vpc": {"mode": "create", "cidr": "10.0.0.0/29"}}), "vpc.cidr", "/16 to /28"),
    ("vpc cidr host bits", changed({"vpc": {"mode": "create", "cidr": "10.0.0.1/16"}}), "vpc.cidr",
     "use one like 10.0.0.0/16"),
    ("rule families mixed", rules(rule(destination_cidr="::/0")), "filter.rules.0", "same family"),
    ("rule cidr /33", rules(rule(source_cidr="10.0.0.0/33")), "filter.rules.0.source_cidr", "use one like"),
    ("ssh from everywhere", changed({"vpc.ssh_from": "0.0.0.0/0"}), "vpc.ssh_from", "e.g. 203.0.113.7/32"),
    ("ssh from everywhere v6", changed({"vpc.ssh_from": "::/0"}), "vpc.ssh_from", "e.g. 203.0.113.7/32"),
    ("ssh from words", changed({"vpc.ssh_from": "my laptop"}), "vpc.ssh_from", "use one like"),
    # ids and names (references AWS must resolve are AWS-level, below)
    ("vpc id short", changed({"vpc.vpc_id": "vpc-123"}), "vpc.vpc_id", "8 or 17 hex digits"),
    ("vpc id without prefix", changed({"vpc.vpc_id": "0123456789abcdef0"}), "vpc.vpc_id", "e.g. vpc-"),
    ("subnet id of a group", changed({"vpc.subnet_id": "sg-0123456789abcdef0"}), "vpc.subnet_id", "e.g. subnet-"),
    ("source bare name", changed({"sources.instances": ["web-1"]}), "sources.instances.0", "name:<its Name tag>"),
    ("source twice", changed({"sources.instances": ["name:web-1", "name:web-1"]}), "sources.instances",
     "list each source instance once"),
    ("sensor id bad", changed({"sensor": {"mode": "existing", "instance_id": "i-xyz"}}), "sensor.instance_id",
     "e.g. i-0123456789abcdef0"),
    ("sensor is a source", changed({"sensor": {"mode": "existing", "instance_id": "i-0123456789abcdef0"},
                                    "sources.instances": ["i-0123456789abcdef0"]}), "sources",
     "list only the instances to watch"),
    ("image unknown", changed({"sensor.image": "windows-2022"}), "sensor.image", "e.g. ubuntu-24.04"),
    ("instance type bare", changed({"sensor.instance_type": "large"}), "sensor.instance_type", "like t3a.xlarge"),
    ("key name leading space", changed({"sensor.key_name": " demo-key"}), "sensor.key_name", "e.g. my-key"),
    ("beacon destination words", changed({"test_beacon.destination": "not a host!"}), "test_beacon.destination",
     "like example.com"),
    ("region truncated", changed({"account.region": "us-east"}), "account.region", "like us-east-1"),
    ("setup capitals", changed({"setup": "Prod"}), "setup", "e.g. prod-zeek"),
    ("setup 41 characters", changed({"setup": "a" * 41}), "setup", "1-40 lower-case letters"),
    ("setup empty", changed({"setup": ""}), "setup", "e.g. prod-zeek"),
    # shell metacharacters: refused by the field's form, never quoted into a command
    ("setup with a command", changed({"setup": "demo; rm -rf /"}), "setup", "e.g. prod-zeek"),
    ("setup with substitution", changed({"setup": "$(reboot)"}), "setup", "e.g. prod-zeek"),
    ("interface with a command", zeek(interface="eth0;reboot"), "zeek.interface", "e.g. ens6"),
    ("prefix with quotes", zeek(zeek_prefix="/opt/zeek'$(id)'"), "zeek.zeek_prefix", "pick a directory without"),
    ("user with a command", zeek(user="root;id"), "zeek.user", "like ubuntu"),
    ("package with a command", zeek(package="zeek && curl x"), "zeek.package", "like zeek-8.0"),
    ("host as an ssh option", zeek(host="-oProxyCommand=id"), "zeek.host", "e.g. 203.0.113.7"),
    ("mac garbage", zeek(mac="zz"), "zeek.mac", "e.g. 0a:1b:2c:3d:4e:5f"),
    ("key name with newline", changed({"sensor.key_name": "demo\nkey"}), "sensor.key_name", "e.g. my-key"),
    ("destination with a command", changed({"test_beacon.destination": "example.com;id"}),
     "test_beacon.destination", "like example.com"),
    ("instance type with backticks", changed({"sensor.instance_type": "t3.micro`id`"}), "sensor.instance_type",
     "like t3a.xlarge"),
    # YAML itself
    ("billion laughs", LAUGHS, "(file)", "write each value out"),
    ("one alias", DEMO_TEXT.replace("  region: us-east-1", "  region: &r us-east-1") + "other: *r\n", "(file)",
     "write each value out"),
    ("merge key", DEMO_TEXT + "base: &b {vni: 1}\nsession2:\n  <<: *b\n", "(file)", "write each value out"),
    ("top-level key twice", DEMO_TEXT + "setup: prod\n", "(file)", "keep one of them"),
    ("nested key twice", DEMO_TEXT + "  vni: 5\n", "(file)", "keep one of them"),
    ("unclosed bracket", "setup: [unclosed\n", "(file)", "fix that line"),
    ("tab indentation", DEMO_TEXT.replace("  region:", "\tregion:"), "(file)", "fix that line"),
    ("two documents", DEMO_TEXT + "---\nsetup: other\n", "(file)", "fix that line"),
    ("python object tag", DEMO_TEXT + "x: !!python/object/apply:os.system [id]\n", "(file)", "fix that line"),
    ("impossible date", changed({"setup": DROP}) + "setup: 2024-13-45\n", "(file)", "quote it"),
    ("nested 1000 deep", "setup: " + "[" * 1000 + "]" * 1000 + "\n", "(file)", "nests at most 4"),
    ("a list", "- setup: demo\n", "(file)", "e.g. setup: prod-zeek"),
    ("a scalar", "demo\n", "(file)", "e.g. setup: prod-zeek"),
    # files that are not answers files
    ("huge file", ("# padding\n" * 120_000) + DEMO_TEXT, "answers.yaml", "a whole setup is a few KiB"),
    ("binary file", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "answers.yaml",
     "save it as UTF-8"),
    ("latin-1 file", DEMO_TEXT.replace("demo-key", "d\xe9mo").encode("latin-1"), "answers.yaml",
     "save it as UTF-8"),
    ("NUL in text", DEMO_TEXT.replace("demo-key", "demo\x00key"), "(file)", "an answers file is plain text"),
    ("UTF-16 file", DEMO_TEXT.encode("utf-16"), "answers.yaml", "save it as UTF-8"),
]

#: Valid in form, refused by what AWS says: each must still exit 2 with the field and nothing created.
AWS_LEVEL = [
    ("unknown vpc name", changed({"vpc.vpc_id": "name:nope"}), "vpc.vpc_id", "pick a VPC of this region"),
    ("unknown subnet name", changed({"vpc.subnet_id": "name:nope"}), "vpc.subnet_id", "pick a subnet of"),
    ("unknown source name", changed({"sources.instances": ["name:nope"]}), "sources.instances",
     "check the Name tag or use its i- id"),
    ("unknown source id", changed({"sources.instances": ["i-0123456789abcdef0"]}), "sources.instances",
     "does not exist"),
    ("source of an excluded Nitro family", changed({"sources.instances": ["name:web-1", "name:db-1"]}),
     "sources.instances", "cannot be mirrored"),
    ("source of an old Xen type", changed({"sources.instances": ["name:legacy-1"]}), "sources.instances",
     "use a Nitro type"),
    ("unknown sensor", changed({"sensor": {"mode": "existing", "instance_id": "i-0123456789abcdef0"}}),
     "sensor.instance_id", "pick a running instance"),
    ("unknown key pair", changed({"sensor.key_name": "nope"}), "sensor.key_name", "create or import it"),
    ("unknown image", changed({"sensor.image": "ami-0123456789abcdef0"}), "sensor.image", "pick another image"),
]


def _apply(tmp_path, content, endpoint_url: str, capsys) -> tuple[int, str]:
    path = tmp_path / "answers.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    code = main(["apply", str(path), "--yes", "--endpoint-url", endpoint_url, "--state-dir", str(tmp_path / "state")])
    return code, capsys.readouterr().err


def _verdict(code: int, err: str, field: str, fix: str) -> str | None:
    """What is wrong with the command's answer to one row, or None: exit 2, the field named, its fix given."""
    if code != 2:
        return f"exit {code}, not 2: {err}"
    named = [line for line in err.splitlines() if line.strip().startswith(f"{field}:") or f"/{field} " in line]
    if not named:
        return f"{field} not named: {err}"
    if not any(fix in line for line in named):
        return f"no {fix!r} in {named}"
    return None


def test_the_table_covers_the_issue():
    assert len(PARSE_LEVEL) + len(AWS_LEVEL) >= 90
    ids = [row[0] for row in PARSE_LEVEL + AWS_LEVEL]
    assert len(ids) == len(set(ids))


def test_invalid_files_are_refused_before_any_aws_call(tmp_path, sandbox, capsys):
    """All model-level rows in one test (no sandbox reset between them): nothing reaches AWS or the state dir."""
    before = inventory(sandbox)
    failures = []
    for what, content, field, fix in PARSE_LEVEL:
        code, err = _apply(tmp_path, content, sandbox.endpoint_url, capsys)
        if problem := _verdict(code, err, field, fix):
            failures.append(f"{what}: {problem}")
        if "Traceback" in err:
            failures.append(f"{what}: a traceback")
    assert not failures, "\n".join(failures)
    assert not (tmp_path / "state").exists()
    assert inventory(sandbox) == before


@pytest.mark.parametrize("what, content, field, fix", AWS_LEVEL, ids=[row[0] for row in AWS_LEVEL])
def test_answers_aws_refuses_create_nothing(what, content, field, fix, tmp_path, sandbox, capsys):
    before = inventory(sandbox)
    code, err = _apply(tmp_path, content, sandbox.endpoint_url, capsys)
    assert _verdict(code, err, field, fix) is None, _verdict(code, err, field, fix)
    assert "nothing was changed" in err
    assert inventory(sandbox) == before
    assert not tagged(sandbox, "demo")
