"""The scale-out answers in the wizard: a load-balancer target, a fleet of sensors, sources selected by tag."""

from __future__ import annotations

import contextlib

from textual.widgets import Button, Checkbox, Input, Select, TextArea

from tests.tui.wizard_pilot import Keys, demo_draft
from vpc_mirror.tui.drafts import load_draft

NLB_ARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/zeek/0123456789abcdef"


def shown(screen, selector: str) -> bool:
    """The widget is displayed and inside the visible part of its page (at 80x24 nothing is cut off)."""
    widget = screen.query_one(selector)
    page = screen.query_one(f"#page-{screen.current}")
    inside_page = [widget, *widget.ancestors[:widget.ancestors.index(page)]]
    return all(w.display for w in inside_page) and page.region.contains_region(widget.region)


@contextlib.asynccontextmanager
async def on_page(app, name: str, change=None):
    """The wizard at 80x24 on page ``name`` of an unanswered demo draft: (its screen, the keys to drive it)."""
    async with app.run_test(size=(80, 24)) as pilot:
        keys = Keys(pilot)
        await keys.settle()
        app.model.draft = demo_draft(answered=False, change=change)
        await app.screen.go(name)
        await keys.settle()
        yield app.screen, keys


async def type_into(keys: Keys, control: Input, text: str) -> None:
    """``text`` in the focused ``control``, as if typed (one change instead of one per key: faster)."""
    control.focus()
    control.value = text
    await keys.settle()


async def test_an_nlb_target_asks_for_its_arn_and_keeps_each_types_answers_apart(wizard, state_dir):
    async with on_page(wizard, "target") as (screen, keys):
        assert shown(screen, "#target-eni-note") and "on t3a.xlarge take up to 10 sources" in str(
            screen.query_one("#target-eni-note").content)
        assert not screen.query_one("#field-target-load_balancer_arn").display
        screen.query_one("#target-type", Select).value = "nlb"
        await keys.settle()
        assert not screen.query_one("#target-eni-note").display
        for field in ("load_balancer_arn", "cross_zone", "health_check_port"):
            assert shown(screen, f"#field-target-{field}"), field
        assert not screen.query_one("#field-target-gwlb_endpoint_id").display
        cross_zone_help = str(screen.query_one("#field-target-cross_zone .field-help").content)
        assert "AWS bills the part that crosses zones" in cross_zone_help
        await type_into(keys, screen.query_one("#target-load_balancer_arn", Input), "arn:aws:bad")
        assert "is not a Network Load Balancer ARN" in screen.query_one("#field-target-load_balancer_arn").error
        assert shown(screen, "#field-target-load_balancer_arn .field-error")
        assert screen.query_one("#next", Button).disabled
        await keys("ctrl+n")
        assert screen.current == "target"
        screen.query_one("#target-load_balancer_arn", Input).value = NLB_ARN
        screen.query_one("#target-cross_zone", Checkbox).value = True
        screen.query_one("#target-health_check_port", Input).value = "8080"
        await keys.settle()
        assert not screen.query_one("#next", Button).disabled
        screen.query_one("#target-type", Select).value = "eni"  # the ARN is put aside, not refused as eni's
        await keys.settle()
        assert "load_balancer_arn" not in wizard.model.draft.answers["target"]
        assert not screen.query_one("#next", Button).disabled
        screen.query_one("#target-type", Select).value = "nlb"  # and comes back with its type
        await keys.settle()
        await keys("ctrl+n")
        assert screen.current == "filter"
    saved = load_draft(state_dir, "demo").answers["target"]
    assert {k: saved[k] for k in ("type", "load_balancer_arn", "cross_zone", "health_check_port")} == {
        "type": "nlb", "load_balancer_arn": NLB_ARN, "cross_zone": True, "health_check_port": 8080}


async def test_a_gwlb_target_refuses_a_bad_endpoint_id(wizard, state_dir):
    async with on_page(wizard, "target") as (screen, keys):
        screen.query_one("#target-type", Select).value = "gwlb"
        await keys.settle()
        assert not screen.query_one("#target-eni-note").display
        assert not screen.query_one("#field-target-load_balancer_arn").display
        await type_into(keys, screen.query_one("#target-gwlb_endpoint_id", Input), "vpce-12")
        error = screen.query_one("#field-target-gwlb_endpoint_id").error
        assert "is not a VPC endpoint id; use vpce- followed by 8 or 17 hex digits" in error
        assert shown(screen, "#field-target-gwlb_endpoint_id .field-error")
        assert screen.query_one("#next", Button).disabled
        screen.query_one("#target-gwlb_endpoint_id", Input).value = ""  # blank: one is created
        await keys.settle()
        await keys("ctrl+n")
        assert screen.current == "filter"
    saved = load_draft(state_dir, "demo").answers["target"]
    assert saved["type"] == "gwlb" and "gwlb_endpoint_id" not in saved


async def test_the_sensor_count_is_checked_beside_its_field(wizard, state_dir):
    async with on_page(wizard, "sensor") as (screen, keys):
        count = screen.query_one("#sensor-count", Input)
        for bad, message in (("0", "0 is outside 1-20; use e.g. 1"), ("21", "21 is outside 1-20; use e.g. 1")):
            await type_into(keys, count, bad)
            assert message in screen.query_one("#field-sensor-count").error, bad
            assert shown(screen, "#field-sensor-count .field-error")
            assert screen.query_one("#next", Button).disabled
        await type_into(keys, count, "3")
        assert not screen.query_one("#field-sensor-count").error
        assert not screen.query_one("#next", Button).disabled
        picker_filter = screen.query_one("#sensor-instances Input", Input)
        picker_filter.focus()
        picker_filter.value = "web-1"
        await keys("enter")                                    # an existing instance: one sensor, not three
        assert wizard.model.draft.answers["sensor"]["mode"] == "existing"
        assert not screen.query_one("#sensor-launch").display
        assert screen.query_one("#field-sensor-count").display, "the count stays while it is wrong"
        assert ("count is 3 but mode is existing, which names one sensor"
                in screen.query_one("#field-sensor-count").error)
        assert screen.query_one("#next", Button).disabled
        picker_filter.focus()
        picker_filter.value = "launch"
        await keys("enter")                                    # back to launching: a fleet of three
        assert not screen.query_one("#field-sensor-count").error
        await keys("ctrl+n")
        assert screen.current == "test_beacon"
    saved = load_draft(state_dir, "demo").answers["sensor"]
    assert (saved["mode"], saved["count"]) == ("launch", 3) and "instance_id" not in saved


async def test_sources_selected_by_tag_alone_are_enough(wizard, state_dir):
    async with on_page(wizard, "sources", change=lambda answers: answers.update(sources={})) as (screen, keys):
        assert "choose at least one instance" in screen.query_one("#field-sources-instances").error
        assert screen.query_one("#next", Button).disabled
        selectors = screen.query_one("#sources-selectors", TextArea)
        selectors.focus()
        selectors.text = "tag:env=prod"
        selectors.move_cursor(selectors.document.end)
        await keys("enter")
        await keys.type("vpc:x")                               # checked as typed, line by line
        error = screen.query_one("#field-sources-select").error
        assert "'vpc:x' is not a source selector" in error and "tag:KEY=VALUE" in error
        assert shown(screen, "#field-sources-select .field-error")
        assert screen.query_one("#next", Button).disabled
        selectors.text = "tag:env=prod\ntag:env=prod"
        await keys.settle()
        assert "tag:env=prod is listed twice" in screen.query_one("#field-sources-select").error
        selectors.text = "tag:env=prod\ntag:team=blue, green"   # EC2 tag values may hold commas
        await keys.settle()
        assert not screen.query_one("#field-sources-instances").error, "a selector alone is a source"
        assert not screen.query_one("#next", Button).disabled
        await keys("ctrl+n")
        assert screen.current == "source_eni"
        note = str(screen.query_one("#source_eni-selected").content)
        assert "(tag:env=prod; tag:team=blue, green) are found when applied" in note
    saved = load_draft(state_dir, "demo").answers["sources"]
    assert saved == {"select": ["tag:env=prod", "tag:team=blue, green"]}
