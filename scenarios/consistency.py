"""Rules between fields of a scenario, one function per rule, checked in the same pass as the fields.

pydantic runs a model's own validators only once every field of it is valid, so a scenario with
a bad outlet count would hide an upside-down loan-size band until the count was fixed. The
rules live here as plain functions over values; `cross_field_problems` evaluates them on the raw
mapping a file gave, wherever the fields a rule needs are themselves valid, and the schema's
model validators call the same functions on built models. A planner sees every problem at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from scenarios.base import model_in
from scenarios.text import id_key

#: Tolerance of the weights' sum.
WEIGHT_SUM_TOLERANCE = 1e-6


def micro_loans_within_all_loans(micro_loans_prev: float, all_loans_prev: float) -> str | None:
    """M0 ≤ L0: the micro book is part of all loans."""
    if micro_loans_prev > all_loans_prev:
        return (f"micro_loans_prev must not exceed all_loans_prev, since all loans include micro loans "
                f"(got {micro_loans_prev:g} > {all_loans_prev:g})")
    return None


def weights_sum_to_one(outlets: float, client_managers: float, market_potential: float) -> str | None:
    """w_outlets + w_managers + w_potential = 1 (within 1e-6)."""
    total = outlets + client_managers + market_potential
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        return f"weights must sum to 1 (got {total:g})"
    return None


def book_band_ordered(book_change_min: float, book_change_max: float) -> str | None:
    """book_change_min ≤ book_change_max."""
    if book_change_min > book_change_max:
        return f"book_change_min must be ≤ book_change_max (got {book_change_min:g} > {book_change_max:g})"
    return None


def micro_managers_within_managers(micro_client_managers: float, client_managers: float) -> str | None:
    """micro_client_managers ≤ client_managers: micro managers are client managers."""
    if micro_client_managers > client_managers:
        return (f"micro_client_managers must be ≤ client_managers "
                f"(got {micro_client_managers:g} > {client_managers:g})")
    return None


def loan_size_band_ordered(loan_size_min: float, loan_size_max: float) -> str | None:
    """loan_size_min ≤ loan_size_max."""
    if loan_size_min > loan_size_max:
        return f"loan_size_min must be ≤ loan_size_max (got {loan_size_min:g} > {loan_size_max:g})"
    return None


def plan_year_in_cycle(plan_year: float, start_year: float, horizon_years: float) -> str | None:
    """start_year ≤ plan_year ≤ start_year + horizon_years − 1."""
    end = start_year + horizon_years - 1
    if not start_year <= plan_year <= end:
        return f"plan_year must lie inside the cycle {start_year:g}–{end:g} (got {plan_year:g})"
    return None


@dataclass(frozen=True)
class CrossRule:
    """A rule between fields of one section: where it applies, what it reads, where it reports."""

    section: str                   # dotted section path; "branches.*" = every row; "" = the top
    fields: tuple[str, ...]        # dotted paths inside the section, in the rule's argument order
    check: Callable[..., str | None]

    @property
    def report_at(self) -> str:
        """The field a problem is reported on: the rule's first argument."""
        return self.fields[0]


#: Every cross-field rule of the scenario (duplicate branch ids: `duplicate_branch_ids`).
CROSS_RULES: tuple[CrossRule, ...] = (
    CrossRule("bank", ("micro_loans_prev", "all_loans_prev"), micro_loans_within_all_loans),
    CrossRule("cycle.weights", ("outlets", "client_managers", "market_potential"), weights_sum_to_one),
    CrossRule("risk", ("book_change_min", "book_change_max"), book_band_ordered),
    CrossRule("branches.*", ("micro_client_managers", "client_managers"), micro_managers_within_managers),
    CrossRule("branches.*", ("loan_size_min", "loan_size_max"), loan_size_band_ordered),
    CrossRule("", ("plan_year", "cycle.start_year", "cycle.horizon_years"), plan_year_in_cycle),
)


def duplicate_branch_ids(ids: list[Any]) -> Iterator[tuple[int, str]]:
    """(row, message) for every id whose `id_key` (NFKC, casefolded) an earlier row already has."""
    first: dict[str, tuple[int, str]] = {}
    for row, branch_id in enumerate(ids):
        if not isinstance(branch_id, str):
            continue
        key = id_key(branch_id)
        if key in first:
            where, earlier = first[key]
            same = "" if earlier == branch_id else f" (the same as {earlier!r} once normalised: NFKC, case-folded)"
            yield row, f"branch ids must be unique: {branch_id!r} repeats row {where}{same}"
        else:
            first[key] = (row, branch_id)


# ---------------------------------------------------------------- rules on built models


def model_messages(model: BaseModel, section: str) -> list[str]:
    """Messages of every rule of `section` broken by a built (field-valid) model."""
    messages = []
    for rule in CROSS_RULES:
        if rule.section == section:
            values = [_attribute(model, f) for f in rule.fields]
            message = rule.check(*values)
            if message:
                messages.append(message)
    if section == "" and hasattr(model, "branches"):
        messages += [m for _, m in duplicate_branch_ids([b.id for b in model.branches])]
    return messages


def _attribute(model: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        model = getattr(model, part)
    return model


# ---------------------------------------------------------------- rules on raw mappings


def cross_field_problems(raw: Any, root: type[BaseModel], errored: set[str]) -> list[tuple[str, str]]:
    """(path, message) of every cross-field rule broken in the raw mapping `raw`.

    A rule is skipped where a field it reads is missing without a default, not a number, or
    has a field problem itself (`errored`: dotted paths pydantic reported): that problem is
    reported already and the rule cannot be judged.
    """
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, dict):
        return problems
    for rule in CROSS_RULES:
        for prefix, section in _sections(raw, rule.section):
            values = [_raw_number(section, root, rule.section, f, prefix, errored) for f in rule.fields]
            if any(v is None for v in values):
                continue
            message = rule.check(*values)
            if message:
                problems.append((_join(prefix, rule.report_at), message))
    branches = raw.get("branches")
    if isinstance(branches, list):
        ids = [b.get("id") if isinstance(b, dict) else None for b in branches]
        problems += [(f"branches.{row}.id", message) for row, message in duplicate_branch_ids(ids)
                     if f"branches.{row}.id" not in errored]
    return problems


def _sections(raw: dict, section: str) -> Iterator[tuple[str, Any]]:
    """(path prefix, mapping) of each place a rule's section names in the raw mapping."""
    if section == "":
        yield "", raw
        return
    head, _, rest = section.partition(".*")
    node: Any = raw
    for part in head.split("."):
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            node = {}  # a missing section: its fields take their defaults
    if section.endswith(".*"):
        for i, row in enumerate(node if isinstance(node, list) else []):
            if isinstance(row, dict):
                yield f"{head}.{i}", row
    elif isinstance(node, dict):
        yield head, node


def _raw_number(section: dict, root: type[BaseModel], section_path: str, dotted: str,
                prefix: str, errored: set[str]) -> float | None:
    """The field's number as pydantic would read it (numeric text included), its default if absent, else None."""
    full = _join(prefix, dotted)
    parts = full.split(".")
    if any(".".join(parts[:i]) in errored for i in range(1, len(parts) + 1)):
        return None
    node: Any = section
    for part in dotted.split("."):
        node = node.get(part, PydanticUndefined) if isinstance(node, dict) else PydanticUndefined
    if node is PydanticUndefined:
        node = _default(root, section_path.replace(".*", "") + ("." if section_path else "") + dotted)
    if isinstance(node, bool) or node is None or node is PydanticUndefined:
        return None
    if isinstance(node, str):
        try:
            node = float(node.strip())
        except ValueError:
            return None
    if not isinstance(node, (int, float)) or not math.isfinite(node):
        return None
    return float(node) + 0.0  # -0.0 reads as 0.0, as the schema does


def _default(root: type[BaseModel], dotted: str) -> Any:
    """The default of a field by its dotted path below `root` (list items by their model)."""
    model: Any = root
    default: Any = PydanticUndefined
    for part in dotted.split("."):
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            return PydanticUndefined
        field = model.model_fields[part]
        default = field.get_default(call_default_factory=True) if not field.is_required() else PydanticUndefined
        model = model_in(field.annotation)
    return default


def _join(prefix: str, path: str) -> str:
    return f"{prefix}.{path}" if prefix else path
