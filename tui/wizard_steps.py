"""The wizard's pages in order, the answers section each edits, and per-field validation.

Kept free of boto3 (steps.setup imports it), and pydantic is imported when a
page is first checked, so the first screen shows fast; a test checks that the
step names match ``steps.setup.STEP_NAMES``.
"""

from __future__ import annotations

from dataclasses import dataclass



@dataclass(frozen=True)
class Page:
    name: str  # the engine's step name, or "review" / "apply"
    title: str
    section: str | None = None  # the Plan field this page edits

    @property
    def label(self) -> str:
        return self.name.replace("_", "-")


PAGES: list[Page] = [
    Page("account", "AWS account", "account"),
    Page("vpc", "VPC", "vpc"),
    Page("sensor", "Zeek sensor", "sensor"),
    Page("test_beacon", "Test beacon", "test_beacon"),
    Page("sources", "Sources", "sources"),
    Page("source_eni", "Source ENIs", "source_eni"),
    Page("sensor_eni", "Capture ENI", "sensor_eni"),
    Page("target", "Mirror target", "target"),
    Page("filter", "Mirror filter", "filter"),
    Page("session", "Mirror sessions", "session"),
    Page("review", "Review"),
    Page("apply", "Apply"),
    Page("zeek", "Zeek on the sensor", "zeek"),
    Page("verify", "Verify"),
    Page("hunt", "Hunt beacons"),
    Page("ship", "Ship logs to AI-Hunter / RITA"),
]
#: The fourteen setup steps of docs/design.md (pages without review and apply).
STEP_NAMES: list[str] = [p.name for p in PAGES if p.name not in ("review", "apply")]
#: The steps answered before the review: the AWS ones.
FORM_PAGES: list[Page] = PAGES[:PAGES.index(next(p for p in PAGES if p.name == "review"))]

def page(name: str) -> Page:
    return next(p for p in PAGES if p.name == name)


def section_model(section: str):
    from vpc_mirror.models.plan import Plan  # pydantic: when a page is first checked (start-up time)

    return Plan.model_fields[section].annotation


def field_problems(section: str, data: dict) -> dict[str, str]:
    """Field name -> the model's message for each bad field of one answers section ("" = the section)."""
    # pydantic: when a page is first checked (start-up time)
    from pydantic import ValidationError

    from vpc_mirror.models.answers import problems_of

    model = section_model(section)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return _by_field(problems_of(exc), set(model.model_fields))
    return {}


def setup_name_problem(value: str) -> str | None:
    # pydantic: when a page is first checked (start-up time)
    from pydantic import TypeAdapter, ValidationError

    from vpc_mirror.models.answers import problems_of
    from vpc_mirror.models.ids import SetupName

    try:
        TypeAdapter(SetupName).validate_python(value)
    except ValidationError as exc:
        return problems_of(exc)[0].split(": ", 1)[1]
    return None


def _by_field(lines: list[str], fields: set[str]) -> dict[str, str]:
    """``"cidr: …"`` -> {"cidr": "…"}; a model-level message goes to the field it starts with."""
    out: dict[str, str] = {}
    for line in lines:
        where, message = line.split(": ", 1)
        name = where.split(".", 1)[0]
        if name not in fields:
            first = message.split(" ", 1)[0]
            name = first if first in fields else ""
        out.setdefault(name, message)
    return out
