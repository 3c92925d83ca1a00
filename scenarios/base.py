"""Shared pydantic base for every part of the scenario.

`StrictModel` forbids unknown keys (a typo in a scenario file is an error, not a silent
default) and freezes instances so a loaded scenario cannot drift while it is being planned.

It also refuses, for every field of every section, input that pydantic's lax mode would let
through with a changed meaning (README "Limits"):

- a boolean where a number belongs (`outlets: true` would become 1);
- NaN and ±infinity (`allow_inf_nan=False`), and any number larger in size than
  `MAX_MAGNITUDE` (1e308 passes a `ge=0` bound and then overflows the LP or the simulation);
- `-0.0`, which passes `ge=0` and then changes signs in numpy: it is read as `0.0`;
- control and format characters in text (terminal escapes, bidi overrides; `scenarios.text`).
"""

from __future__ import annotations

import math
import types
import typing
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from scenarios.text import describe_character, refused_character

#: Largest size of any number in a scenario, in any unit (10^15 元 is 100 times a big bank's book).
MAX_MAGNITUDE = 1e15
#: Text fields that may span lines (tab and newline allowed).
FREE_TEXT_FIELDS = frozenset({"description"})


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys rejected, instances immutable, numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_input(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is None:
            return value
        return plain_value(value, field.annotation, free_text=info.field_name in FREE_TEXT_FIELDS)


def plain_value(value: Any, annotation: Any, *, free_text: bool = False) -> Any:
    """`value` checked against the lenient readings above; numeric text (a CSV cell) becomes a number."""
    kinds = _kinds(annotation)
    if "free" in kinds:
        return value  # free-form mappings (variant patches) are checked where they are applied
    if isinstance(value, list) and "list" in kinds:
        item = _list_item(annotation)
        return [plain_value(v, item, free_text=free_text) for v in value] if item is not None else value
    numeric = bool(kinds & {"int", "float"}) and "bool" not in kinds
    if isinstance(value, bool):
        if numeric:
            raise ValueError(f"must be a number, not a boolean (got {str(value).lower()})")
        return value
    if isinstance(value, str):
        if numeric:
            return _number_from_text(value, whole="int" in kinds and "float" not in kinds)
        bad = refused_character(value, free_text=free_text)
        if bad is not None and "str" in kinds:
            raise ValueError(f"contains the control or format character {describe_character(bad)}; remove it")
        return value
    if numeric and isinstance(value, (int, float)):
        return checked_number(value)
    return value


def checked_number(value: int | float) -> int | float:
    """|value| ≤ MAX_MAGNITUDE; -0.0 → 0.0 (non-finite floats are left to `allow_inf_nan`)."""
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if abs(value) > MAX_MAGNITUDE:
        shown = f"{value:.3g}" if isinstance(value, float) or abs(value) < 10**300 else "a number of %d digits" % len(str(abs(value)))
        raise ValueError(f"must be at most {MAX_MAGNITUDE:g} in size (got {shown})")
    return 0.0 if value == 0 and isinstance(value, float) else value


def _number_from_text(text: str, *, whole: bool) -> Any:
    """A number written as text (CSV cells are text): parsed, then checked like any number."""
    stripped = text.strip()
    if not stripped or "_" in stripped or len(stripped) > 400:
        return text  # pydantic reports it as not a number
    try:
        number: int | float = int(stripped) if whole else float(stripped)
    except ValueError:
        try:
            number = float(stripped)
        except ValueError:
            return text
    return checked_number(number)


def _kinds(annotation: Any) -> set[str]:
    """What an annotation admits: 'int', 'float', 'bool', 'str', 'list', 'model', or 'free' (bare dict / Any)."""
    if annotation is Any or annotation is dict or typing.get_origin(annotation) is dict:
        return {"free"}
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _kinds(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in typing.get_args(annotation)))
    if origin is list:
        return {"list"}
    if origin is typing.Literal:
        return {"literal"}
    names = {bool: "bool", int: "int", float: "float", str: "str"}
    if annotation in names:
        return {names[annotation]}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"model"}
    return set()


def model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as `list[Branch]` or `X | None`, or None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = model_in(arg)
        if found is not None:
            return found
    return None


def _list_item(annotation: Any) -> Any:
    """The item annotation of `list[X]` inside an annotation (Optional / Annotated unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is list:
        args = typing.get_args(annotation)
        return args[0] if args else None
    for arg in typing.get_args(annotation):
        found = _list_item(arg)
        if found is not None:
            return found
    return None
