"""The pages that edit an answers section: per-field messages, Next's validity, background loads.

Controls are named ``<section>-<field>``; edits of Inputs, Checkboxes, Selects
and RadioSets are written to the draft answers generically (blank = omitted),
then the section is validated with its model and each message is shown under
its field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Checkbox, Input, RadioSet, Select, Static

from vpc_mirror.tui.pages.base import HINT, PageChanged, WizardPage
from vpc_mirror.tui.widgets.field import Field
from vpc_mirror.tui.widgets.picker import Picker
from vpc_mirror.tui.widgets.rule_editor import RuleEditor
from vpc_mirror.tui.wizard_steps import field_problems, section_model


class StepForm(WizardPage, VerticalScroll):
    DEFAULT_CSS = """
    StepForm { height: 1fr; padding: 0 1; }
    StepForm .intro { color: $text-muted; padding-bottom: 1; }
    StepForm .section-error { color: $error; }
    StepForm .subhead { text-style: bold; padding-top: 1; }
    """

    # -- answers ------------------------------------------------------------
    @property
    def section(self) -> str:
        return self.page.section or ""

    @property
    def answers(self) -> dict:
        return self.model.draft.answers.setdefault(self.section, {})

    def value(self, field: str) -> Any:
        """The answer, or the model's default."""
        if field in self.answers:
            return self.answers[field]
        info = section_model(self.section).model_fields[field]
        return None if info.is_required() else info.get_default(call_default_factory=True)

    def set_answer(self, field: str, value: Any) -> None:
        if value is None or value == "":
            self.answers.pop(field, None)
        else:
            self.answers[field] = value
        self.changed()

    def changed(self) -> None:
        self.show_problems()
        self.post_message(PageChanged())

    # -- validity ----------------------------------------------------------
    def problems(self) -> dict[str, str]:
        """Field -> message; forms add checks the section model cannot make (look-ups, choices)."""
        return field_problems(self.section, self.answers)

    def can_advance(self) -> bool:
        return not self.problems()

    def hint(self, can_advance: bool) -> str:
        return HINT if can_advance else "fix the marked fields"

    def confirm_next(self) -> bool:
        """The page is answered: the draft is saved."""
        self.model.answered(self.PAGE)
        return True

    def show_problems(self) -> None:
        problems = self.problems()
        for field in self.query(Field):
            name = (field.id or "").removeprefix(f"field-{self.section}-")
            message = problems.pop(name, None)
            field.set_error(message)
            if message and field.has_focus_within:  # the message of the field being typed in stays on screen
                self.call_after_refresh(self._bring_into_view, field)
        rest = "\n".join(f"{k}: {v}" if k else v for k, v in problems.items())
        for box in self.query(".section-error"):
            box.update(rest)

    def _bring_into_view(self, field: Field) -> None:
        """After the refresh that lays the new message out: before it, the field's height is the old one."""
        self.call_after_refresh(field.scroll_visible, animate=False)

    def field(self, name: str, label: str, control, help: str = "") -> Field:
        if control.id is None:
            control.id = f"{self.section}-{name}"
        stacked = isinstance(control, (Picker, RuleEditor))
        return Field(label, control, help=help, stacked=stacked, id=f"field-{self.section}-{name}")

    def section_error(self) -> Static:
        return Static("", classes="section-error")

    # -- lifecycle -----------------------------------------------------------
    def activate(self) -> None:
        """Called when the page is shown: fill the controls, start loads."""
        self.show_problems()

    def focus_first(self) -> None:
        for widget in self.query("Input, Checkbox, Select, RadioSet, DataTable"):
            if widget.focusable and widget.display:
                widget.focus()
                return

    def _field_of(self, control) -> str | None:
        name = (control.id or "").removeprefix(f"{self.section}-")
        return name if name in section_model(self.section).model_fields else None

    @on(Input.Changed)
    def _input(self, event: Input.Changed) -> None:
        name = self._field_of(event.input)
        if name is not None:
            event.stop()
            value = event.value.strip()
            self.set_answer(name, int(value) if event.input.type == "integer" and value.isdigit() else value)

    @on(Checkbox.Changed)
    def _checkbox(self, event: Checkbox.Changed) -> None:
        name = self._field_of(event.checkbox)
        if name is not None:
            event.stop()
            self.set_answer(name, event.value)

    @on(Select.Changed)
    def _select(self, event: Select.Changed) -> None:
        name = self._field_of(event.select)
        if name is not None:
            event.stop()
            self.set_answer(name, None if event.value is Select.NULL else event.value)

    @on(RadioSet.Changed)
    def _radio(self, event: RadioSet.Changed) -> None:
        name = self._field_of(event.radio_set)
        if name is not None and event.pressed.name:
            event.stop()
            self.set_answer(name, event.pressed.name)

    # -- background loads ------------------------------------------------------
    @work(thread=True, group="load", exit_on_error=False)
    def load(self, what: str, fn: Callable[[Any], Any]) -> None:
        """Run ``fn(aws)`` for the account's profile and region; answer with a Loaded message."""
        account = self.model.draft.answers.get("account", {})
        try:
            aws = self.model.backend.aws(account.get("profile"), account.get("region", "us-east-1"))
            result, error = fn(aws), None
        except Exception as exc:  # shown beside the picker; the wizard stays usable
            result, error = None, _explain(exc)
        self.post_message(Loaded(self, what, result, error))


class Loaded(Message):
    """A background load finished: ``result``, or ``error`` (a message for the user)."""

    def __init__(self, form: StepForm, what: str, result: Any, error: str | None) -> None:
        super().__init__()
        self.form, self.what, self.result, self.error = form, what, result, error


def _explain(exc: Exception) -> str:
    from vpc_mirror.steps.aws_errors import describe  # boto3: only ever called from a worker (start-up time)

    return describe(exc)
