"""What a step would do: the single list that review, apply and exports share.

An action ensures one resource (or relationship) exists. ``params`` are the API
call's parameters; a ``Ref`` among them stands for the id of the resource with
that key (or, with ``attr``, one of its recorded attributes), and a ``Joined``
for text made of literal pieces and Refs (``Joined((Ref("eni", "private_ip"),
"/32"))``), so the plan can be shown (and exported) before the resources it
refers to exist. They are types of their own, never a pattern in a string:
text the user typed (a description with ``${team}`` in it) reaches AWS and
every export exactly as typed. For ``reuse`` actions, ``params`` are the known
attributes of the existing resource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

Verb = Literal["create", "reuse", "check"]


@dataclass(frozen=True)
class Ref:
    """The id of the resource ``key`` (or its recorded attribute ``attr``), known once it exists."""

    key: str
    attr: str | None = None


@dataclass(frozen=True)
class Joined:
    """Text made of literal strings and Refs, e.g. an address Ref followed by ``"/32"``."""

    parts: tuple[str | Ref, ...]


def refs_in(value: Any) -> Iterator[Ref]:
    """Every Ref in a parameter value (dicts, lists and Joined are searched)."""
    if isinstance(value, Ref):
        yield value
    elif isinstance(value, Joined):
        yield from (p for p in value.parts if isinstance(p, Ref))
    elif isinstance(value, dict):
        for item in value.values():
            yield from refs_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from refs_in(item)


def substitute(value: Any, lookup: Callable[[Ref], Any]) -> Any:
    """``value`` with each Ref replaced by ``lookup(ref)`` and each Joined by its text; strings stay as they are."""
    if isinstance(value, Ref):
        return lookup(value)
    if isinstance(value, Joined):
        return "".join(p if isinstance(p, str) else str(lookup(p)) for p in value.parts)
    if isinstance(value, dict):
        return {k: substitute(v, lookup) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, lookup) for v in value]
    return value


class Action(BaseModel):
    step: str
    key: str = Field(description="stable within a setup; names the resource in state")
    kind: str = Field(description="resource kind, e.g. vpc, mirror-session")
    verb: Verb
    summary: str = Field(description="one line for the review screen")
    name: str | None = Field(None, description="its Name tag, vpc-mirror/<setup>/<role>")
    api: str | None = Field(None, description="the API call that creates it")
    service: Literal["ec2", "elbv2"] = Field("ec2", description="whose call ``api`` is: EC2, or Elastic Load "
                                                                  "Balancing v2 (load balancers, target groups)")
    params: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(None, description="for reuse: the existing resource's id")

    def refs(self) -> set[str]:
        """Keys of the resources this action's parameters refer to."""
        return {ref.key for ref in refs_in(self.params)}
