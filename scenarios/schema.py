"""The scenario a planner writes (CONTRACT.md), as pydantic models.

Every field carries its unit in the description. Money is in the scenario's money unit in the
file and in 万元 once loaded (`scenarios.loading` converts the fields named in `MONEY_FIELDS`).
Cross-field rules that a planner can get wrong are checked here, so the optimiser can trust
what it gets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from scenarios.base import StrictModel
from scenarios.simulation import MONEY_FIELDS as SIMULATION_MONEY_FIELDS
from scenarios.simulation import SimulationSettings

MoneyUnit = Literal["元", "万元", "亿元"]
#: 万元 per one unit of each money unit.
MONEY_FACTORS: dict[str, float] = {"元": 1e-4, "万元": 1.0, "亿元": 1e4}

PresetName = Literal["two_not_lower", "three_not_lower", "two_increase_two_control", "custom"]
RuleName = Literal[
    "growth_rate", "increment", "borrower_count", "approval_rate", "asset_quality", "all_in_cost"
]
PolicyName = Literal["catch_up", "ratchet", "proportional"]
SharingKey = Literal["spare_capacity", "outlets", "client_managers"]


class Units(StrictModel):
    """Units the file is written in; the engine works in 万元 and 户."""

    money: MoneyUnit = Field("万元", description="money unit of every money field: 元 | 万元 | 亿元")


class RuleSetting(StrictModel):
    """Override of one regulatory rule of the preset."""

    enabled: bool = Field(True, description="whether the rule applies")
    margin: float = Field(0.0, ge=-0.5, le=5.0, description="floor × (1 + margin); 0.05 = 5 % above the rule")


class Regulation(StrictModel):
    """Which regulator's rules set the bank-wide floors (see optimize/regulation.py)."""

    preset: PresetName = Field(..., description="two_not_lower (2008–2014) | three_not_lower (2015–2017) | two_increase_two_control (2018–) | custom")
    rules: dict[RuleName, RuleSetting] = Field(
        default_factory=dict,
        description="per-rule overrides; with preset custom, only the rules listed here apply",
    )
    micro_threshold: float | None = Field(
        None, gt=0, description="single-client credit limit of a micro loan, money unit (default by preset: 500万 / 1000万)"
    )
    npl_tolerance_pp: float = Field(
        0.03, ge=0, le=0.5, description="两增两控 asset-quality tolerance: micro NPL ≤ all-loan NPL + this (share, 0.03 = 3 pp)"
    )


class DepartmentTargets(StrictModel):
    """The department's own bank-wide targets, on top of the regulatory floors."""

    micro_loan_increment: float | None = Field(None, ge=0, description="explicit plan-year micro-loan increment target, money unit")
    micro_client_increment: float | None = Field(None, ge=0, description="explicit plan-year gross new micro clients target, 户")
    buffer: float = Field(0.0, ge=0, le=5.0, description="target = floor × (1 + buffer) where no explicit number is given")


class Bank(StrictModel):
    """Bank-wide figures at the end of the year before the plan year."""

    all_loans_prev: float = Field(..., gt=0, description="L0 各项贷款余额, money unit")
    all_loan_increment_plan: float = Field(..., description="ΔL 全行信贷增量目标 for the plan year, money unit")
    all_loan_growth_later: float | None = Field(
        None, ge=-0.5, le=2.0, description="all-loan growth rate assumed for the rolling years (default: the plan year's ΔL/L0)"
    )
    micro_loans_prev: float = Field(..., ge=0, description="M0 小微贷款余额, money unit")
    micro_loan_increment_prev: float = Field(..., description="ΔM of the previous year, money unit")
    micro_clients_prev: int = Field(..., ge=0, description="C 小微贷款户数 (borrowers with a balance), 户")
    micro_client_attrition: float = Field(..., ge=0, le=1, description="share of micro clients that leave in a year")
    approval_rate_prev: float | None = Field(None, ge=0, le=1, description="申贷获得率 of the previous year, optional")
    npl_ratio: float | None = Field(None, ge=0, le=1, description="all-loan NPL ratio, optional (两增两控 tolerance base)")

    @model_validator(mode="after")
    def _micro_within_all(self) -> "Bank":
        if self.micro_loans_prev > self.all_loans_prev:
            raise ValueError(
                f"micro_loans_prev must not exceed all_loans_prev, since all loans include micro loans "
                f"(got {self.micro_loans_prev} > {self.all_loans_prev})"
            )
        return self


class CycleWeights(StrictModel):
    """Weights of the long-term target split; they must sum to 1."""

    outlets: float = Field(0.4, ge=0, le=1, description="weight of the branch's share of outlets")
    client_managers: float = Field(0.6, ge=0, le=1, description="weight of the branch's share of client managers")
    market_potential: float = Field(0.0, ge=0, le=1, description="weight of the branch's share of market potential (branch column market_potential)")

    @model_validator(mode="after")
    def _sum_to_one(self) -> "CycleWeights":
        total = self.outlets + self.client_managers + self.market_potential
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"weights must sum to 1 (got {total:g})")
        return self


class Cycle(StrictModel):
    """The 3–5 year long-term micro-client target cycle."""

    start_year: int = Field(..., ge=2000, le=2100, description="first year of the cycle")
    horizon_years: int = Field(..., ge=3, le=5, description="length of the cycle, 3–5 years")
    micro_client_target: int = Field(..., ge=0, description="bank-wide new micro clients over the cycle, 户")
    weights: CycleWeights = CycleWeights()


class Capacity(StrictModel):
    """What a branch can do in a year."""

    new_clients_per_micro_client_manager: float = Field(..., gt=0, description="new micro clients one micro client manager can bring in a year, 户")
    max_change: float = Field(0.5, gt=0, le=10, description="year-to-year change of a branch's target, share of its capacity")


class Risk(StrictModel):
    """Measure 7: branches over the NPL tolerance grow their micro book slowly."""

    npl_tolerance: float = Field(0.03, ge=0, le=1, description="NPL ratio above which a branch is risk-capped (两增两控: bank NPL + npl_tolerance_pp when bank.npl_ratio is given)")
    capped_growth: float = Field(0.05, ge=-1, le=5, description="highest yearly growth of a risk-capped branch's micro book")
    book_change_min: float = Field(-0.05, ge=-1, le=5, description="lowest change of a branch's existing micro book in a year, share of its micro loans")
    book_change_max: float = Field(0.05, ge=-1, le=5, description="highest change of a branch's existing micro book in a year, share of its micro loans")

    @model_validator(mode="after")
    def _band_ordered(self) -> "Risk":
        if self.book_change_min > self.book_change_max:
            raise ValueError(f"book_change_min must be ≤ book_change_max (got {self.book_change_min} > {self.book_change_max})")
        return self


class Policy(StrictModel):
    """How the year's targets are split across branches."""

    name: PolicyName = Field("catch_up", description="catch_up (the memo's rule) | ratchet | proportional")
    sharing_key: SharingKey = Field("spare_capacity", description="what extra load demanded by the floors is shared by")
    ratchet_growth: float = Field(0.10, ge=-0.5, le=5, description="ratchet policy: next target = last actual × (1 + this)")


class Branch(StrictModel):
    """One managing branch (管辖行) — one row of the branch table."""

    id: str = Field(..., min_length=1, max_length=64, description="unique branch id")
    name: str = Field(..., min_length=1, max_length=200, description="branch name")
    outlets: int = Field(..., ge=0, description="outlets (网点)")
    client_managers: int = Field(..., ge=0, description="client managers (客户经理)")
    micro_client_managers: int = Field(..., ge=0, description="client managers dedicated to micro lending")
    micro_clients: int = Field(..., ge=0, description="micro borrowers with a balance, 户")
    micro_loans: float = Field(..., ge=0, description="micro-loan balance, money unit")
    achieved_clients: int = Field(..., ge=0, description="new micro clients since the cycle began, 户")
    long_term_target: int | None = Field(None, ge=0, description="cycle target, 户; empty → computed from outlets and client managers")
    last_year_target: float | None = Field(None, ge=0, description="last year's new-client target, 户")
    last_year_actual: float | None = Field(None, ge=0, description="last year's new clients, 户")
    loan_size_min: float = Field(..., ge=0, description="smallest average new loan per new client, money unit")
    loan_size_max: float = Field(..., ge=0, description="largest average new loan per new client, money unit")
    npl_ratio: float = Field(0.0, ge=0, le=1, description="micro NPL ratio of the branch")
    market_potential: float | None = Field(None, ge=0, description="optional market-potential score (e.g. registered small firms)")

    @model_validator(mode="after")
    def _consistent(self) -> "Branch":
        if self.micro_client_managers > self.client_managers:
            raise ValueError(
                f"micro_client_managers must be ≤ client_managers "
                f"(got {self.micro_client_managers} > {self.client_managers})"
            )
        if self.loan_size_min > self.loan_size_max:
            raise ValueError(f"loan_size_min must be ≤ loan_size_max (got {self.loan_size_min} > {self.loan_size_max})")
        return self


class Variant(StrictModel):
    """A policy option compared with the base scenario: a patch merged into it."""

    name: str = Field(..., min_length=1, max_length=100)
    description: str = ""
    patch: dict = Field(default_factory=dict, description="keys merged into the base scenario")


class Scenario(StrictModel):
    """A whole planning scenario."""

    name: str = Field(..., min_length=1, max_length=200, description="free text")
    plan_year: int = Field(..., ge=2000, le=2100, description="the year being planned")
    units: Units = Units()
    regulation: Regulation
    bank: Bank
    cycle: Cycle
    capacity: Capacity
    risk: Risk = Risk()
    targets: DepartmentTargets = DepartmentTargets()
    policy: Policy = Policy()
    branches: list[Branch] = Field(..., min_length=1, max_length=50_000, description="the branch table, inline or a CSV/XLSX path")
    simulation: SimulationSettings = SimulationSettings()
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("branches", mode="before")
    @classmethod
    def _table_loaded(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"a branch table path must be loaded from a scenario file (got {value!r})")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        ids = [b.id for b in self.branches]
        seen: set[str] = set()
        for b_id in ids:
            if b_id in seen:
                raise ValueError(f"branch ids must be unique (got {b_id!r} twice)")
            seen.add(b_id)
        end = self.cycle.start_year + self.cycle.horizon_years - 1
        if not self.cycle.start_year <= self.plan_year <= end:
            raise ValueError(
                f"plan_year must lie inside the cycle {self.cycle.start_year}–{end} (got {self.plan_year})"
            )
        return self

    @property
    def end_year(self) -> int:
        """Last year of the long-term cycle."""
        return self.cycle.start_year + self.cycle.horizon_years - 1

    @property
    def years_left(self) -> int:
        """Years of the cycle from the plan year on, the plan year included."""
        return self.end_year - self.plan_year + 1


#: Dotted paths of every money field; `branches.*` applies to each row.
MONEY_FIELDS: tuple[str, ...] = (
    "regulation.micro_threshold",
    "targets.micro_loan_increment",
    "bank.all_loans_prev",
    "bank.all_loan_increment_plan",
    "bank.micro_loans_prev",
    "bank.micro_loan_increment_prev",
    "branches.*.micro_loans",
    "branches.*.loan_size_min",
    "branches.*.loan_size_max",
    *(f"simulation.{path}" for path in SIMULATION_MONEY_FIELDS),
)
