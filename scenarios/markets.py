"""The `markets:` section: specialised markets (专业市场) and the joint-marketing groups (联合营销小组).

Measures 1, 5 and 6 of the department's memo: three groups, each led by senior client managers
of the department, with micro client managers of the managing branches as members; every
market goes to one group (`optimize.markets` assigns those the file leaves open), with phased
targets derived from the market's merchants. README.md, "Joint marketing", explains every field
and the source of the bundled numbers.

Rules between fields (ids unique, references known, phases rising to 1) are plain functions
over the raw mapping (`market_problems`), so the loader reports each with its field path in the
same pass as the field problems; the model validator runs the same function on built models.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from scenarios.base import StrictModel
from scenarios.text import id_key

MarketKind = Literal[
    "wholesale", "building_materials", "auto_parts", "agricultural_produce", "small_commodities",
    "textiles", "furniture", "electronics", "other",
]

#: Most markets and groups in one scenario.
MAX_MARKETS, MAX_GROUPS = 2_000, 100
#: Money fields below `markets` (dotted, `*` = every list item), converted to 万元 on load.
MONEY_FIELDS: tuple[str, ...] = ("markets.*.average_loan", "targets.average_loan", "targets.settlement_per_account")


class GroupMember(StrictModel):
    """Micro client managers one managing branch seconds to a group."""

    branch: str = Field(..., min_length=1, max_length=64, description="managing branch id (a row of the branch table)")
    managers: int = Field(..., ge=1, le=1_000, description="micro client managers of that branch in the group, 人; 1–1,000")


class MarketingGroup(StrictModel):
    """A joint-marketing group: department leaders and branch members."""

    id: str = Field(..., min_length=1, max_length=64, description="unique group id")
    name: str = Field(..., min_length=1, max_length=200, description="group name")
    leaders: int = Field(1, ge=0, le=100, description="senior client managers of the department leading the group, 人; 0–100")
    members: list[GroupMember] = Field(..., min_length=1, max_length=200, description="the branches' micro client managers in the group")

    @property
    def member_count(self) -> int:
        """Σ managers over the members (the leaders not included)."""
        return sum(m.managers for m in self.members)


class Market(StrictModel):
    """One specialised market (专业市场)."""

    id: str = Field(..., min_length=1, max_length=64, description="unique market id")
    name: str = Field(..., min_length=1, max_length=200, description="market name")
    kind: MarketKind = Field("other", description="wholesale | building_materials | auto_parts | agricultural_produce | "
                             "small_commodities | textiles | furniture | electronics | other")
    district: str = Field(..., min_length=1, max_length=100, description="city district (区/县) the market lies in")
    merchants: int = Field(..., ge=1, le=1_000_000, description="merchants (商户) trading in the market, 户; 1–1,000,000")
    existing_clients: int = Field(0, ge=0, le=1_000_000, description="merchants already borrowing from the bank, 户; ≤ merchants")
    average_loan: float | None = Field(None, gt=0, le=1e6, description="typical loan to a merchant here, money unit; empty → targets.average_loan")
    group: str | None = Field(None, max_length=64, description="group id given by the department (kept by the assignment); empty → assigned")
    branch: str | None = Field(None, max_length=64, description="home branch where the market's loans are booked; empty → the group's first member's branch")


class PhaseTargets(StrictModel):
    """Phased targets per market: a cumulative share of the end-state reached by each phase (year)."""

    phases: list[float] = Field(
        default=[0.4, 0.7, 1.0], min_length=1, max_length=10,
        description="cumulative share of the end-state target reached by the end of each phase (year), rising to 1; each 0–1",
    )
    client_penetration: float = Field(0.06, ge=0, le=1, description="share of merchants who borrow from the bank at the end; 0–1")
    account_penetration: float = Field(0.25, ge=0, le=1, description="share of merchants with a settlement account at the end; 0–1")
    average_loan: float = Field(35.0, gt=0, le=1e6, description="loan per borrowing merchant where the market gives none, money unit")
    settlement_per_account: float = Field(150.0, ge=0, le=1e9, description="yearly settlement volume through one account, money unit")


class AssignmentSettings(StrictModel):
    """Weights of the assignment MIP's objective."""

    balance_weight: float = Field(1.0, ge=0, le=1e6, description="weight of the largest relative gap of potential per member from the average; ≥ 0")
    district_weight: float = Field(0.05, ge=0, le=1e6, description="weight of each (group, district) pair a group covers: fewer → markets closer; ≥ 0")
    time_limit_seconds: float = Field(30.0, gt=0, le=3_600, description="HiGHS time limit, seconds; > 0, ≤ 3,600")


class MarketsSection(StrictModel):
    """Markets, groups, phased targets and the assignment's weights."""

    groups: list[MarketingGroup] = Field(..., min_length=1, max_length=MAX_GROUPS, description="joint-marketing groups")
    markets: list[Market] = Field(..., min_length=1, max_length=MAX_MARKETS, description="specialised markets")
    targets: PhaseTargets = PhaseTargets()
    assignment: AssignmentSettings = AssignmentSettings()

    @model_validator(mode="after")
    def _consistent(self) -> "MarketsSection":
        problems = market_problems(self.model_dump(), prefix="markets")
        if problems:
            raise PydanticCustomError("cross_field", "{message}", {"message": "; ".join(f"{p}: {m}" for p, m in problems)})
        return self

    def group(self, group_id: str) -> MarketingGroup:
        return next(g for g in self.groups if g.id == group_id)


def market_problems(raw: Any, prefix: str = "markets", branch_ids: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(path, message) of every rule between the section's fields that `raw` breaks.

    Ids unique (as `id_key` compares them); a market's `group` names a group; `existing_clients ≤
    merchants`; phases non-decreasing and ending at 1; with `branch_ids`, every member's branch
    and market's home branch is a row of the branch table. Fields that are themselves malformed
    are skipped (their own problem is reported by the schema).
    """
    if not isinstance(raw, dict):
        return []
    problems: list[tuple[str, str]] = []
    groups = raw.get("groups") if isinstance(raw.get("groups"), list) else []
    markets = raw.get("markets") if isinstance(raw.get("markets"), list) else []
    problems += _duplicates(groups, f"{prefix}.groups")
    problems += _duplicates(markets, f"{prefix}.markets")
    group_ids = {id_key(g["id"]): g["id"] for g in groups if isinstance(g, dict) and isinstance(g.get("id"), str)}
    branches = None if branch_ids is None else {id_key(b) for b in branch_ids if isinstance(b, str)}
    for i, market in enumerate(markets):
        if not isinstance(market, dict):
            continue
        given = market.get("group")
        if isinstance(given, str) and id_key(given) not in group_ids:
            problems.append((f"{prefix}.markets.{i}.group",
                             f"unknown group {given!r}; allowed: {', '.join(group_ids.values())}"))
        merchants, existing = market.get("merchants"), market.get("existing_clients")
        if _number(merchants) and _number(existing) and existing > merchants:
            problems.append((f"{prefix}.markets.{i}.existing_clients",
                             f"must be ≤ merchants ({merchants:g}) (got {existing:g})"))
        home = market.get("branch")
        if branches is not None and isinstance(home, str) and id_key(home) not in branches:
            problems.append((f"{prefix}.markets.{i}.branch", f"unknown branch {home!r}: not in the branch table"))
    if branches is not None:
        for g, group in enumerate(groups):
            members = group.get("members") if isinstance(group, dict) else None
            for j, member in enumerate(members if isinstance(members, list) else []):
                branch = member.get("branch") if isinstance(member, dict) else None
                if isinstance(branch, str) and id_key(branch) not in branches:
                    problems.append((f"{prefix}.groups.{g}.members.{j}.branch",
                                     f"unknown branch {branch!r}: not in the branch table"))
    targets = raw.get("targets")
    phases = targets.get("phases") if isinstance(targets, dict) else None
    if isinstance(phases, list) and phases and all(_number(p) for p in phases):
        if any(b < a for a, b in zip(phases, phases[1:])):
            problems.append((f"{prefix}.targets.phases", f"cumulative shares must not fall from one phase to the next (got {phases})"))
        if abs(phases[-1] - 1.0) > 1e-9:
            problems.append((f"{prefix}.targets.phases", f"the last phase must reach 1 (the whole target) (got {phases[-1]:g})"))
    return problems


def _duplicates(items: list[Any], path: str) -> list[tuple[str, str]]:
    seen: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        ident = item.get("id") if isinstance(item, dict) else None
        if not isinstance(ident, str):
            continue
        key = id_key(ident)
        if key in seen:
            problems.append((f"{path}.{i}.id", f"duplicate id: row {seen[key]} has the same id {ident!r}"))
        else:
            seen[key] = i
    return problems


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
