"""What every export format needs from the plan: text values as literals and Refs, tags, order."""

from __future__ import annotations

import json
import re
from typing import Any

from vpc_mirror.models.actions import Action, Joined, Ref
from vpc_mirror.steps.engine import waves

Piece = str | Ref


def pieces(value: str | Ref | Joined) -> list[Piece]:
    """A text value as literal strings and Refs: ``Joined((Ref("eni", "private_ip"), "/32"))`` -> its two parts."""
    if isinstance(value, Joined):
        return [p for p in value.parts if p != ""]
    return [value]


def tags(params: dict) -> list[dict]:
    """The tags a create call applies (the first TagSpecification's; all carry the same)."""
    specs = params.get("TagSpecifications") or []
    return list(specs[0]["Tags"]) if specs else []


def in_apply_order(actions: list[Action]) -> list[Action]:
    """The order apply uses: step by step, and within a step wave by wave."""
    steps: dict[str, list[Action]] = {}
    for action in actions:
        steps.setdefault(action.step, []).append(action)
    return [a for group in steps.values() for wave in waves(group) for a in wave]


def ident(key: str, style: str) -> str:
    """A resource key as an identifier: ``source-eni/i-0ab`` -> SOURCE_ENI_I_0AB, SourceEniI0ab, source_eni_i_0ab."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", key) if w]
    if style == "upper":
        return "_".join(w.upper() for w in words)
    if style == "camel":
        return "".join(w[:1].upper() + w[1:] for w in words)
    return "_".join(w.lower() for w in words)


def json_pieces(value: Any) -> list[Piece]:
    """``value`` as JSON text in pieces: the literal JSON (neighbours merged), and the Refs inside its strings."""
    out: list[Piece] = []
    for piece in _json(value):
        if out and isinstance(piece, str) and isinstance(out[-1], str):
            out[-1] += piece
        else:
            out.append(piece)
    return out


def _json(value: Any) -> list[Piece]:
    if isinstance(value, dict):
        out: list[Piece] = ["{"]
        for n, (key, item) in enumerate(value.items()):
            out += [("," if n else "") + json.dumps(key) + ":", *_json(item)]
        return out + ["}"]
    if isinstance(value, list):
        out = ["["]
        for n, item in enumerate(value):
            out += [","] * bool(n) + _json(item)
        return out + ["]"]
    if isinstance(value, (Ref, Joined)):
        return ['"', *(json.dumps(p)[1:-1] if isinstance(p, str) else p for p in pieces(value)), '"']
    return [json.dumps(value)]
