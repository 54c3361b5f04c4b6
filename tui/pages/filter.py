"""Page 9 — filter: a preset, or the rules edited by hand, within AWS's 10 rules per filter."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Checkbox, Select, Static

from vpc_mirror.models.plan import FilterRule
from vpc_mirror.models.filter_presets import PRESETS, preset_of
from vpc_mirror.tui.screens.rule_dialog import RuleDialog
from vpc_mirror.tui.pages.form import StepForm
from vpc_mirror.tui.widgets.rule_editor import RuleEditor

CUSTOM = "custom"


def rule_answers(rules) -> list[dict]:
    return [r.model_dump(mode="json", exclude_none=True) for r in rules]


class FilterForm(StepForm):
    PAGE = "filter"

    def compose(self) -> ComposeResult:
        yield Static("Which traffic the sessions mirror. Rules are checked by number, lowest first, per "
                     "direction; traffic no rule accepts is not mirrored.", classes="intro")
        yield self.field("preset", "Preset", Select([(p.label, p.key) for p in PRESETS] + [("Custom rules", CUSTOM)],
                                                    allow_blank=False, compact=True, id="filter-preset"))
        yield self.field("mirror_amazon_dns", "Amazon DNS too", Checkbox(compact=True))
        yield self.field("rules", "Rules", RuleEditor(id="filter-rules"))
        yield self.section_error()

    @property
    def rules(self) -> list[dict]:
        return self.answers.setdefault("rules", rule_answers(PRESETS[0].rules))

    def activate(self) -> None:
        self.query_one("#filter-mirror_amazon_dns", Checkbox).value = self.value("mirror_amazon_dns")
        self._show()
        super().activate()

    def _show(self) -> None:
        self.query_one(RuleEditor).show(self.rules)
        select = self.query_one("#filter-preset", Select)
        preset = preset_of(self.rules, self.value("mirror_amazon_dns")) or CUSTOM
        if select.value != preset:
            select.value = preset

    @on(Select.Changed, "#filter-preset")
    def _preset(self, event: Select.Changed) -> None:
        event.stop()
        event.prevent_default()
        chosen = next((p for p in PRESETS if p.key == event.value), None)
        if chosen is None or preset_of(self.rules, self.value("mirror_amazon_dns")) == chosen.key:
            return
        self.answers.update(rules=rule_answers(chosen.rules), mirror_amazon_dns=chosen.amazon_dns)
        self.query_one("#filter-mirror_amazon_dns", Checkbox).value = chosen.amazon_dns
        self._show()
        self.changed()

    @on(Checkbox.Changed, "#filter-mirror_amazon_dns")
    def _dns(self, event: Checkbox.Changed) -> None:
        self.call_after_refresh(self._show)

    @on(RuleEditor.Edit)
    def _edit(self, event: RuleEditor.Edit) -> None:
        event.stop()
        current = self.rules[event.index] if event.index is not None else None
        others = [r for i, r in enumerate(self.rules) if i != event.index]

        def done(rule: FilterRule | None) -> None:
            if rule is None:
                return
            new = rule.model_dump(mode="json", exclude_none=True)
            if event.index is None:
                self.rules.append(new)
            else:
                self.rules[event.index] = new
            self._show()
            self.changed()

        self.app.push_screen(RuleDialog(current, others), done)

    @on(RuleEditor.Delete)
    def _delete(self, event: RuleEditor.Delete) -> None:
        event.stop()
        del self.rules[event.index]
        self._show()
        self.changed()
