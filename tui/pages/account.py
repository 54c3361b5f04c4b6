"""Page 1 — account: the setup's name, the AWS profile and region, and whose account that is."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.lazy import Lazy
from textual.widgets import Input, Static

from vpc_mirror.steps import inventory
from vpc_mirror.tui.model import WizardModel
from vpc_mirror.tui.pages.form import Loaded, StepForm
from vpc_mirror.tui.widgets.picker import Picker, Row
from vpc_mirror.tui.wizard_steps import setup_name_problem

DEFAULT_PROFILE = "(default credential chain)"


class AccountForm(StepForm):
    PAGE = "account"
    DEFAULT_CSS = "AccountForm #account-identity { padding-left: 20; color: $text-muted; }"

    def __init__(self, model: WizardModel) -> None:
        super().__init__(model)
        self.identity: dict | None = None
        self.identity_error: str | None = None
        # mounted a frame after the page (Lazy): the name field is usable at once; kept here for that frame
        self.profiles = Picker(["profile"], id="account-profile")
        self.regions = Picker(["region"], id="account-regions")

    def compose(self) -> ComposeResult:
        yield Static("Name this setup (its tags and saved state carry the name), then choose whose AWS "
                     "credentials to use and the region to mirror in.", classes="intro")
        yield self.field("setup", "Setup name", Input(placeholder="e.g. prod-zeek", compact=True))
        yield Static("", id="account-identity")  # above the pickers: seen at 80x24 without scrolling
        yield Lazy(self.field("profile", "AWS profile", self.profiles))
        yield Lazy(self.field("region", "Region", self.regions))
        yield self.section_error()

    def activate(self) -> None:
        name_input = self.query_one("#account-setup", Input)
        if name_input.value != self.model.draft.answers.get("setup", ""):
            name_input.value = self.model.draft.answers.get("setup", "")
        self.regions.choose([self.value("region")])
        self.regions.start_loading()
        self.profiles.choose([self.value("profile") or DEFAULT_PROFILE])
        self.profiles.start_loading()
        self.load("profiles", lambda aws: inventory.profiles())
        self._check_account()
        super().activate()

    def _check_account(self) -> None:
        self.identity, self.identity_error = None, None
        self.query_one("#account-identity", Static).update("checking the credentials…")
        self.load("regions", inventory.regions)
        self.load("identity", inventory.identity)

    @on(Input.Changed, "#account-setup")
    def _name(self, event: Input.Changed) -> None:
        event.stop()
        event.prevent_default()
        self.model.draft.answers["setup"] = event.value.strip()
        self.model.draft.setup = event.value.strip()
        self.changed()

    @on(Picker.Changed, "#account-profile")
    def _profile(self, event: Picker.Changed) -> None:
        event.stop()
        profile = None if event.picker.chosen[0] == DEFAULT_PROFILE else event.picker.chosen[0]
        if profile != self.answers.get("profile"):
            self.set_answer("profile", profile)
            self._check_account()

    @on(Picker.Changed, "#account-regions")
    def _region(self, event: Picker.Changed) -> None:
        event.stop()
        self.set_answer("region", event.picker.chosen[0])
        self._check_account()

    def on_loaded(self, event: Loaded) -> None:
        event.stop()
        if event.what == "profiles":
            picker = self.profiles
            if event.error:
                picker.set_error(event.error)
                return
            note = "environment variables, the default profile, SSO or the instance role, in AWS's order"
            picker.set_rows([Row(DEFAULT_PROFILE, (DEFAULT_PROFILE,), note=note),
                             *(Row(p, (p,), note="from ~/.aws/config and ~/.aws/credentials")
                               for p in event.result or [])])
        elif event.what == "regions":
            picker = self.regions
            if event.error:
                picker.set_error(event.error)
            else:
                picker.set_rows([Row(r, (r,)) for r in event.result])
        elif event.what == "identity":
            self.identity, self.identity_error = event.result, event.error
            text = (f"account {event.result['account']} as {event.result['arn']}" if event.result
                    else f"cannot use these credentials: {event.error}")
            self.query_one("#account-identity", Static).update(text)
            self.changed()

    def problems(self) -> dict[str, str]:
        problems = super().problems()
        name = self.model.draft.answers.get("setup", "")
        problem = setup_name_problem(name) if name else "is required; e.g. prod-zeek"
        if problem is None and name in self.model.taken_names():
            problem = f"a setup named {name!r} exists already; resume it from the start screen, or pick another name"
        if problem:
            problems["setup"] = problem
        if self.identity_error:
            problems["profile"] = self.identity_error
        elif self.identity is None:
            problems.setdefault("", "checking the credentials…")
        return problems
