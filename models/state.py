"""What a setup has done so far: per step, its status and every resource it touched.

Saved after every action (see steps.state_store) so that resume and teardown
know exactly what this setup created. Never holds secrets.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, Field

SCHEMA_VERSION = 1

StepStatus = Literal["pending", "in-progress", "done", "failed", "skipped"]
#: intended: the create call may have been sent, its id is not known yet;
#: created: we made it (teardown deletes it); reused: it existed before us (never deleted);
#: deleted: teardown removed it.
ResourceStatus = Literal["intended", "created", "reused", "deleted"]


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_nonce() -> str:
    """128 random bits: no other run, on any machine, makes the same."""
    return secrets.token_hex(16)


class Resource(BaseModel):
    """One AWS resource (or relationship, such as an attachment) that a step needs."""

    key: str
    kind: str
    status: ResourceStatus
    id: str | None = None
    name: str | None = None
    attrs: dict[str, Any] = Field(default_factory=dict)
    #: random, saved with the intent before the create call and part of its ClientToken (steps.context):
    #: a retried or resumed create repeats it; a new one is made when the resource is deleted or vanished
    nonce: str = Field(default_factory=new_nonce)


class StepState(BaseModel):
    name: str
    status: StepStatus = "pending"
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    resources: dict[str, Resource] = Field(default_factory=dict)
    facts: dict[str, Any] = Field(default_factory=dict)


class State(BaseModel):
    schema_version: int = SCHEMA_VERSION
    setup: str
    region: str | None = None
    account_id: str | None = None
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    steps: dict[str, StepState] = Field(default_factory=dict)

    def step(self, name: str) -> StepState:
        if name not in self.steps:
            self.steps[name] = StepState(name=name)
        return self.steps[name]

    def resource(self, key: str) -> Resource | None:
        for step in self.steps.values():
            if key in step.resources:
                return step.resources[key]
        return None

    def made(self) -> list[Resource]:
        """What this setup created (or may have: an intent with no result yet), which teardown deletes."""
        return [r for s in self.steps.values() for r in s.resources.values() if r.status in ("created", "intended")]

    def done_count(self) -> int:
        return sum(1 for s in self.steps.values() if s.status in ("done", "skipped"))

    def failed_step(self) -> str | None:
        return next((s.name for s in self.steps.values() if s.status == "failed"), None)
