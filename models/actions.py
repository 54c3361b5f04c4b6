"""What a step would do: the single list that review, apply and exports share.

An action ensures one resource (or relationship) exists. ``params`` are the API
call's parameters; a value ``"${key}"`` stands for the id of the resource with
that key, ``"${key.attr}"`` for one of its recorded attributes (also inside a
longer string, as in ``"${eni.private_ip}/32"``), so the plan can be shown (and
exported) before the resources it refers to exist. For ``reuse`` actions,
``params`` are the known attributes of the existing resource.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

Verb = Literal["create", "reuse", "check"]

REF = re.compile(r"\$\{([^}.]+)(?:\.([^}]+))?\}")


class Action(BaseModel):
    step: str
    key: str = Field(description="stable within a setup; names the resource in state")
    kind: str = Field(description="resource kind, e.g. vpc, mirror-session")
    verb: Verb
    summary: str = Field(description="one line for the review screen")
    name: str | None = Field(None, description="its Name tag, vpc-mirror/<setup>/<role>")
    api: str | None = Field(None, description="the EC2 API call that creates it")
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(None, description="for reuse: the existing resource's id")

    def refs(self) -> set[str]:
        """Keys of the resources this action's parameters refer to."""
        found: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, str):
                found.update(match.group(1) for match in REF.finditer(value))
            elif isinstance(value, dict):
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        walk(self.params)
        return found
