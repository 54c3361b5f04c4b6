"""Bad Zeek answers are refused with a message naming the field and the fix, before any command exists."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from vpc_mirror.models.zeek import ZeekPlan
from vpc_mirror.tui.cli import main


@pytest.mark.parametrize("field,value,hint", [
    ("interface", "eth1;rm -rf /", "not an interface name"),
    ("interface", "eth1 eth2", "not an interface name"),
    ("interface", "a-much-too-long-ifname", "at most 15"),
    ("user", "root;id", "not a login name"),
    ("zeek_prefix", "opt/zeek", "absolute path"),
    ("zeek_prefix", "/opt/$(reboot)", "pick a directory without them"),
    ("zeek_prefix", "/opt/zee'k", "a quote (' or \")"),
    ("zeek_prefix", "/opt/zeek\tx", "a control character"),
    ("zeek_prefix", "/opt/../etc", "'..'"),
    ("package", "zeek-8.0 && curl evil", "not a package name"),
    ("mac", "0a:1b:2c:3d:4e", "six hex pairs"),
    ("host", "-oProxyCommand=id", "not a host name"),
    ("workers", 0, "greater than or equal to 1"),
])
def test_bad_values_name_the_field_and_the_fix(field, value, hint):
    with pytest.raises(ValidationError) as err:
        ZeekPlan(**{field: value})
    problem = err.value.errors()[0]
    assert problem["loc"] == (field,)
    assert hint in problem["msg"]


def test_good_values_are_normalised():
    plan = ZeekPlan(mac="0A-1B-2C-3D-4E-5F", zeek_prefix="/srv/zeek install/", interface=None)
    assert plan.mac == "0a:1b:2c:3d:4e:5f" and plan.zeek_prefix == "/srv/zeek install"
    assert plan.package == "zeek-8.0" and plan.workers == 1


def test_interface_and_mac_together_are_refused():
    with pytest.raises(ValidationError, match="give one of them"):
        ZeekPlan(interface="ens6", mac="0a:1b:2c:3d:4e:5f")


@pytest.mark.parametrize("argv,message", [
    (["--host", "10.0.0.1", "--interface", "eth1;rm -rf /"], "--interface: 'eth1;rm -rf /' is not an interface"),
    (["--host", "10.0.0.1", "--accept-host-key", "MD5:aa"], "--accept-host-key"),
    (["--host", "10.0.0.1", "--zeek-prefix", "relative"], "--zeek-prefix: 'relative' is not an absolute path"),
    ([], "give a setup NAME or --host"),
])
def test_cli_bad_input_exits_2_before_connecting(argv, message, capsys):
    assert main(["--state-dir", "/nonexistent", "zeek", *argv]) == 2
    assert message in capsys.readouterr().err
