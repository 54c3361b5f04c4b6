"""Every page: an invalid answer shows the model's message beside its field and disables Next."""

from __future__ import annotations

from textual.widgets import Button, Checkbox, Input

from vpc_mirror.models.plan import TCP
from tests.tui.wizard_pilot import Keys
from vpc_mirror.tui.screens.rule_dialog import RuleDialog
from vpc_mirror.tui.pages.vpc import CREATE

#: page -> (control id, invalid value, field id, part of the model's message)
INVALID = [
    ("account", "#account-setup", "Prod_Zeek!", "#field-account-setup", "is not a setup name"),
    ("vpc", "#vpc-ssh_from", "0.0.0.0/0", "#field-vpc-ssh_from", "whole internet"),
    ("vpc", "#vpc-cidr", "10.0.0.0/8", "#field-vpc-cidr", "AWS allows VPC blocks from /16 to /28"),
    ("sensor", "#sensor-instance_type", "xlarge", "#field-sensor-instance_type", "is not an instance type"),
    ("sensor", "#sensor-root_volume_gib", "4", "#field-sensor-root_volume_gib", "4 is outside 8-16384; use e.g. 32"),
    ("test_beacon", "#test_beacon-destination", "not a host!", "#field-test_beacon-destination",
     "neither a host name nor an IP address"),
    ("test_beacon", "#test_beacon-interval_seconds", "1", "#field-test_beacon-interval_seconds",
     "1 is outside 5-3600; use e.g. 34"),
    ("sensor_eni", "#sensor_eni-device_index", "0", "#field-sensor_eni-device_index", "0 is outside 1-15; use e.g. 1"),
    ("sensor_eni", "#sensor_eni-vxlan_port", "70000", "#field-sensor_eni-vxlan_port", "70000 is outside 1-65535; use e.g. 4789"),
    ("target", "#target-description", "x" * 256, "#field-target-description", "is 256 characters long; use at most 255"),
    ("session", "#session-vni", "0", "#field-session-vni", "0 is outside 1-16777215; use e.g. 4242"),
    ("session", "#session-packet_length", "9000", "#field-session-packet_length", "9000 is outside 1-8500; use e.g. 1500"),
    ("session", "#session-session_number", "40000", "#field-session-session_number", "40000 is outside 1-32766; use e.g. 1"),
]


async def test_invalid_answers_show_the_message_and_block_next(wizard):
    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        screen = wizard.screen
        for page, control, bad, field, message in INVALID:
            await screen.go(page)
            await keys.settle()
            if page == "vpc" and control == "#vpc-cidr":
                screen.pane("vpc").query_one("#vpc-vpcs").choose([CREATE])
                screen.pane("vpc").answers["mode"] = "create"
                screen.pane("vpc").activate()
            if page == "test_beacon":
                screen.query_one("#test_beacon-enabled", Checkbox).value = True
            await keys.settle()
            good = screen.query_one(control, Input).value
            screen.query_one(control, Input).value = bad
            await keys.settle()
            assert message in screen.query_one(field).error, (page, control)
            assert screen.query_one("#next", Button).disabled, (page, control)
            await keys("ctrl+n")
            assert screen.current == page, "Next must not leave an invalid page"
            screen.query_one(control, Input).value = good
            await keys.settle()
            assert not screen.query_one(field).error


async def test_sources_refuse_an_unsupported_instance_with_its_reason(wizard, sandbox):
    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        wizard.model.draft.answers["vpc"] = {"vpc_id": sandbox.seed_info.vpc_id}
        await wizard.screen.go("sources")
        await keys.settle()
        assert "choose at least one instance" in wizard.screen.query_one("#field-sources-instances").error
        assert wizard.screen.query_one("#next", Button).disabled
        table = wizard.screen.query_one("#sources-picker").table
        shown = {str(table.get_row_at(i)[1]): str(table.get_row_at(i)[2]) for i in range(table.row_count)}
        assert shown == {"api-1": "✓ Nitro", "batch-1": "✓ Xen", "db-1": "✗ excluded", "legacy-1": "✗ old Xen",
                         "web-1": "✓ Nitro"}                   # the mirroring badge beside each name
        await keys.type("db-1")
        await keys("enter")                                    # m6i: a Nitro family AWS does not mirror
        assert wizard.model.draft.answers["sources"].get("instances", []) == []
        note = str(wizard.screen.query_one("#sources-picker .picker-note").content)
        assert "m6i" in note and "not supported" in note


async def test_a_filter_rule_is_checked_as_aws_checks_it_within_the_budget(wizard):
    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        await wizard.screen.go("filter")
        await keys.settle()
        wizard.screen.query_one("#filter-preset").value = "internet"  # 10 rules: the whole budget
        await keys.settle()
        assert "10 of 10 rules" in str(wizard.screen.query_one(".budget").content)
        wizard.screen.query_one("RuleTable").focus()
        await keys("a")
        dialog = wizard.screen
        assert isinstance(dialog, RuleDialog)
        assert "at most 10 items" in str(dialog.query_one(".rule-error").content)
        assert dialog.query_one("#ok", Button).disabled
        await keys("escape")
        wizard.screen.query_one("#filter-preset").value = "everything"
        await keys.settle()
        wizard.screen.query_one("RuleTable").focus()
        await keys("a")
        dialog = wizard.screen
        dialog.query_one("#rule-destination", Input).value = "::/0"
        await keys.settle()
        assert "same family" in str(dialog.query_one(".rule-error").content)
        dialog.query_one("#rule-destination", Input).value = "0.0.0.0/0"
        dialog.query_one("#rule-dport", Input).value = "22"
        await keys.settle()
        assert "ports need protocol 6" in str(dialog.query_one(".rule-error").content)
        dialog.query_one("#rule-protocol").value = str(TCP)
        await keys.settle()
        assert not dialog.query_one("#ok", Button).disabled
        await keys("escape")


async def test_the_profile_picker_lists_the_config_profiles_and_checks_the_chosen_one(wizard, tmp_path, monkeypatch):
    config, credentials = tmp_path / "config", tmp_path / "credentials"
    config.write_text("[profile hunter]\nregion = us-east-1\n[profile prod]\nregion = us-east-1\n")
    credentials.write_text("[prod]\naws_access_key_id = AKIAPRODEXAMPLE00000\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    from vpc_mirror.tui.pages.account import DEFAULT_PROFILE
    from vpc_mirror.tui.widgets.picker import Picker

    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        picker = wizard.screen.query_one("#account-profile", Picker)
        assert [r.key for r in picker.rows] == [DEFAULT_PROFILE, "hunter", "prod"]
        assert picker.chosen == [DEFAULT_PROFILE]
        picker.query_one(Input).focus()
        await keys.type("prod")
        await keys("enter")
        assert wizard.model.draft.answers["account"]["profile"] == "prod"
        identity = str(wizard.screen.query_one("#account-identity").render())
        assert identity.startswith("account 123456789012"), identity   # checked again with prod's keys
        assert not wizard.screen.query_one("#next", Button).disabled


async def test_a_primary_eni_with_no_session_left_asks_for_a_dedicated_eni(wizard, sandbox):
    from tests.awsfacts import ec2

    client = ec2(sandbox)
    web = sandbox.seed_info.instances["web-1"]
    eni = client.describe_instances(InstanceIds=[web])["Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]
    target_eni = client.describe_instances(InstanceIds=[sandbox.seed_info.instances["api-1"]])[
        "Reservations"][0]["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    target = client.create_traffic_mirror_target(NetworkInterfaceId=target_eni)["TrafficMirrorTarget"]
    mirror_filter = client.create_traffic_mirror_filter()["TrafficMirrorFilter"]
    for number in (1, 2, 3):  # AWS's three sessions per source ENI, all taken
        client.create_traffic_mirror_session(
            NetworkInterfaceId=eni["NetworkInterfaceId"], TrafficMirrorTargetId=target["TrafficMirrorTargetId"],
            TrafficMirrorFilterId=mirror_filter["TrafficMirrorFilterId"], SessionNumber=number)
    async with wizard.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        wizard.model.draft.answers["sources"] = {"instances": [web]}
        await wizard.screen.go("source_eni")
        await keys.settle()
        picker = wizard.screen.query_one("#source_eni-enis")
        assert [str(c) for c in picker.table.get_row_at(0)][1:] == [
            eni["NetworkInterfaceId"], web, "0", eni["PrivateIpAddress"], "3 of 3"]
        error = wizard.screen.query_one("#field-source_eni-mode").error
        assert eni["NetworkInterfaceId"] in error and "dedicated" in error
        assert wizard.screen.query_one("#next", Button).disabled
        next(b for b in wizard.screen.query("RadioButton") if b.name == "dedicated").value = True
        await keys.settle()
        assert not wizard.screen.query_one("#field-source_eni-mode").error
        assert not wizard.screen.query_one("#next", Button).disabled
