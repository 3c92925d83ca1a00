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


def floor_within_cap(floor: float, cap: float) -> str | None:
    """floor ≤ cap: effort without reward cannot exceed the largest effort."""
    if floor > cap:
        return f"floor must be ≤ cap (got {floor:g} > {cap:g})"
    return None


def contribution_weights_sum_to_one(deposit_weight: float, pos_weight: float, payroll_weight: float) -> str | None:
    """w_deposit + w_pos + w_payroll = 1 (within 1e-6): the contribution score runs from 0 to 1."""
    total = deposit_weight + pos_weight + payroll_weight
    if abs(total - 1.0) > WEIGHT_SUM_TOLERANCE:
        return f"contribution weights must sum to 1 (got {total:g})"
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
    CrossRule("simulation.joint_marketing.effort", ("floor", "cap"), floor_within_cap),
    CrossRule("simulation.joint_marketing.cross_sell", ("deposit_weight", "pos_weight", "payroll_weight"),
              contribution_weights_sum_to_one),
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


# ---------------------------------------------------------------- reconciliation (warnings)

#: Largest relative gap between a bank figure and its branch-table total that passes unremarked:
#: |bank − Σ branches| ≤ 5 % × max(|bank|, |Σ branches|). Branch tables are often cut on another
#: day than the bank's report or leave out a sub-branch, so a few per cent is normal; a typo of a
#: digit or a unit (a balance in 元 under 万元) is far beyond it.
RECONCILIATION_TOLERANCE = 0.05


@dataclass(frozen=True)
class Reconciliation:
    """A bank figure that should equal the sum of a branch-table column."""

    bank_field: str        # field of `bank`
    branch_field: str      # column of the branch table
    money: bool            # shown in the scenario's money unit (else 户)
    zh: str                # what the figure is, in Chinese
    en: str


#: Bank figures checked against the branch table (`reconciliation_warnings`).
RECONCILIATIONS: tuple[Reconciliation, ...] = (
    Reconciliation("micro_loans_prev", "micro_loans", True, "全行小微贷款余额", "the bank's micro-loan balance"),
    Reconciliation("micro_clients_prev", "micro_clients", False, "全行小微贷款户数", "the bank's micro borrowers"),
)


def relative_gap(bank: float, branches: float) -> float:
    """|bank − Σ| / max(|bank|, |Σ|): the gap as a share of the larger figure (0 when both are 0)."""
    larger = max(abs(bank), abs(branches))
    return abs(bank - branches) / larger if larger > 0 else 0.0


def reconciliation_warnings(scenario: Any, lang: str = "en", tolerance: float = RECONCILIATION_TOLERANCE) -> list[str]:
    """One line per bank figure that differs from its branch-table total by more than `tolerance`.

    Each line names both numbers (money in the scenario's unit) and the gap; `microplan validate`
    prints them (errors with `--strict`) and `microplan plan` can show them beside the plan. In
    English a line starts with the field path (`bank.micro_loans_prev: …`), in Chinese with words.
    """
    from scenarios.schema import from_wan  # the schema imports this module

    unit = scenario.units.money
    lines = []
    for rule in RECONCILIATIONS:
        bank = float(getattr(scenario.bank, rule.bank_field))
        total = float(sum(getattr(b, rule.branch_field) for b in scenario.branches))
        gap = relative_gap(bank, total)
        if gap <= tolerance:
            continue
        shown_unit = unit if rule.money else "户"
        shown_bank, shown_total = (from_wan(bank, unit), from_wan(total, unit)) if rule.money else (bank, total)
        if lang == "zh":
            lines.append(f"{rule.zh} {_number(shown_bank)} {shown_unit} 与分行表合计 {_number(shown_total)} {shown_unit} "
                         f"相差 {gap:.1%}（容差 {tolerance:.0%}），请核对")
        else:
            lines.append(f"bank.{rule.bank_field}: {rule.en} {_number(shown_bank)} {shown_unit} differs from the branch "
                         f"table's total {rule.branch_field} {_number(shown_total)} {shown_unit} by {gap:.1%} "
                         f"(tolerance {tolerance:.0%}); check both")
    return lines


def _number(value: float) -> str:
    """1234567.0 → '1,234,567'; 12.5 → '12.5' (thousands separators, no needless decimals)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")
