"""The scenario a planner writes (README "The scenario file"), as pydantic models.

Every field carries its unit in the description and a range on both sides (README "Limits"):
a number outside it is a planner's slip, and an unbounded one could overflow the LP. Money is
in the scenario's money unit in the file and in 万元 once loaded (`scenarios.loading` converts
the fields named in `MONEY_FIELDS` with `to_wan`). Rules between fields are functions in
`scenarios.consistency`, called by the model validators here and by the loader, which reports
them in the same pass as the field problems.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from scenarios.base import StrictModel
from scenarios.consistency import model_messages
from scenarios.incentives import MONEY_FIELDS as INCENTIVE_MONEY_FIELDS
from scenarios.incentives import Incentives
from scenarios.markets import MONEY_FIELDS as MARKET_MONEY_FIELDS
from scenarios.markets import MarketsSection, market_problems
from scenarios.simulation import MONEY_FIELDS as SIMULATION_MONEY_FIELDS
from scenarios.simulation import SimulationSettings

MoneyUnit = Literal["元", "万元", "亿元"]
#: 万元 per one unit of each money unit (the only table of money units; use `to_wan` / `from_wan`).
MONEY_FACTORS: dict[str, float] = {"元": 1e-4, "万元": 1.0, "亿元": 1e4}

#: Largest money amount in any field of the plan sections, in the file's unit (checked again in 万元).
MAX_MONEY = 1e15
#: Largest money amount once converted to 万元 (10^15 元: above any bank's book, and above the
#: synthetic 50,000-branch bank of `scenarios generate`, 1.7·10^10 万元).
MAX_MONEY_WAN = 1e11
#: Most clients (户) in any count field.
MAX_CLIENTS = 1_000_000_000
#: Smallest loan rounding unit, in the file's money unit (a finer unit only makes the numbers longer).
MIN_LOAN_ROUNDING = 1e-4
#: Most variants in one scenario (each is validated as a whole scenario).
MAX_VARIANTS = 50
#: Most outlets of one branch, and most client managers of one branch.
MAX_OUTLETS, MAX_MANAGERS = 100_000, 1_000_000


def to_wan(amount: float, unit: str) -> float:
    """amount × 万元-per-unit: an amount in `unit` (元 / 万元 / 亿元) expressed in 万元."""
    return amount * MONEY_FACTORS[unit]


def from_wan(amount: float, unit: str) -> float:
    """amount ÷ 万元-per-unit: an amount in 万元 expressed in `unit` (the inverse of `to_wan`)."""
    return amount / MONEY_FACTORS[unit]


def raise_broken_rules(model: BaseModel, section: str) -> None:
    """Raise one pydantic error listing every cross-field rule of `section` the model breaks."""
    messages = model_messages(model, section)
    if messages:
        raise PydanticCustomError("cross_field", "{message}", {"message": "; ".join(messages)})

PresetName = Literal["two_not_lower", "three_not_lower", "two_increase_two_control", "custom"]
RuleName = Literal[
    "growth_rate", "increment", "borrower_count", "approval_rate", "asset_quality", "all_in_cost"
]
PolicyName = Literal["catch_up", "ratchet", "proportional"]
SharingKey = Literal["spare_capacity", "outlets", "client_managers"]


class Units(StrictModel):
    """Units the file is written in; the engine works in 万元 and 户."""

    money: MoneyUnit = Field("万元", description="money unit of every money field: 元 | 万元 | 亿元")
    loan_rounding: float | None = Field(
        None, ge=MIN_LOAN_ROUNDING, le=MAX_MONEY,
        description="loan targets are whole multiples of this, money unit (empty: 1 万元; e.g. 10 for 10 万元)",
    )


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
        None, gt=0, le=MAX_MONEY, description="single-client credit limit of a micro loan, money unit (default by preset: 500万 / 1000万)"
    )
    npl_tolerance_pp: float = Field(
        0.03, ge=0, le=0.5, description="两增两控 asset-quality tolerance: micro NPL ≤ all-loan NPL + this (share, 0.03 = 3 pp)"
    )


class DepartmentTargets(StrictModel):
    """The department's own bank-wide targets, on top of the regulatory floors."""

    micro_loan_increment: float | None = Field(None, ge=0, le=MAX_MONEY, description="explicit plan-year micro-loan increment target, money unit")
    micro_client_increment: float | None = Field(None, ge=0, le=MAX_CLIENTS, description="explicit plan-year gross new micro clients target, 户")
    buffer: float = Field(0.0, ge=0, le=5.0, description="target = floor × (1 + buffer) where no explicit number is given")


class Bank(StrictModel):
    """Bank-wide figures at the end of the year before the plan year."""

    all_loans_prev: float = Field(..., gt=0, le=MAX_MONEY, description="L0 各项贷款余额, money unit")
    all_loan_increment_plan: float = Field(..., ge=-MAX_MONEY, le=MAX_MONEY, description="ΔL 全行信贷增量目标 for the plan year, money unit")
    all_loan_growth_later: float | None = Field(
        None, ge=-0.5, le=2.0, description="all-loan growth rate assumed for the rolling years (default: the plan year's ΔL/L0)"
    )
    micro_loans_prev: float = Field(..., ge=0, le=MAX_MONEY, description="M0 小微贷款余额, money unit")
    micro_loan_increment_prev: float = Field(..., ge=-MAX_MONEY, le=MAX_MONEY, description="ΔM of the previous year, money unit")
    micro_clients_prev: int = Field(..., ge=0, le=MAX_CLIENTS, description="C 小微贷款户数 (borrowers with a balance), 户")
    micro_client_attrition: float = Field(..., ge=0, le=1, description="share of micro clients that leave in a year")
    approval_rate_prev: float | None = Field(None, ge=0, le=1, description="申贷获得率 of the previous year, optional")
    npl_ratio: float | None = Field(None, ge=0, le=1, description="all-loan NPL ratio, optional (两增两控 tolerance base)")

    @model_validator(mode="after")
    def _micro_within_all(self) -> "Bank":
        raise_broken_rules(self, "bank")
        return self


class CycleWeights(StrictModel):
    """Weights of the long-term target split; they must sum to 1."""

    outlets: float = Field(0.4, ge=0, le=1, description="weight of the branch's share of outlets")
    client_managers: float = Field(0.6, ge=0, le=1, description="weight of the branch's share of client managers")
    market_potential: float = Field(0.0, ge=0, le=1, description="weight of the branch's share of market potential (branch column market_potential)")

    @model_validator(mode="after")
    def _sum_to_one(self) -> "CycleWeights":
        raise_broken_rules(self, "cycle.weights")
        return self


class Cycle(StrictModel):
    """The 3–5 year long-term micro-client target cycle."""

    start_year: int = Field(..., ge=2000, le=2100, description="first year of the cycle")
    horizon_years: int = Field(..., ge=3, le=5, description="length of the cycle, 3–5 years")
    micro_client_target: int = Field(..., ge=0, le=MAX_CLIENTS, description="bank-wide new micro clients over the cycle, 户")
    weights: CycleWeights = CycleWeights()


class Capacity(StrictModel):
    """What a branch can do in a year."""

    new_clients_per_micro_client_manager: float = Field(..., gt=0, le=100_000, description="new micro clients one micro client manager can bring in a year, 户")
    max_change: float = Field(0.5, gt=0, le=10, description="year-to-year change of a branch's target, share of its capacity")


class Risk(StrictModel):
    """Measure 7: branches over the NPL tolerance grow their micro book slowly."""

    npl_tolerance: float = Field(0.03, ge=0, le=1, description="NPL ratio above which a branch is risk-capped (两增两控: bank NPL + npl_tolerance_pp when bank.npl_ratio is given)")
    capped_growth: float = Field(0.05, ge=-1, le=5, description="highest yearly growth of a risk-capped branch's micro book")
    book_change_min: float = Field(-0.05, ge=-1, le=5, description="lowest change of a branch's existing micro book in a year, share of its micro loans")
    book_change_max: float = Field(0.05, ge=-1, le=5, description="highest change of a branch's existing micro book in a year, share of its micro loans")

    @model_validator(mode="after")
    def _band_ordered(self) -> "Risk":
        raise_broken_rules(self, "risk")
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
    outlets: int = Field(..., ge=0, le=MAX_OUTLETS, description="outlets (网点)")
    client_managers: int = Field(..., ge=0, le=MAX_MANAGERS, description="client managers (客户经理)")
    micro_client_managers: int = Field(..., ge=0, le=MAX_MANAGERS, description="client managers dedicated to micro lending")
    micro_clients: int = Field(..., ge=0, le=MAX_CLIENTS, description="micro borrowers with a balance, 户")
    micro_loans: float = Field(..., ge=0, le=MAX_MONEY, description="micro-loan balance, money unit")
    achieved_clients: int = Field(..., ge=0, le=MAX_CLIENTS, description="new micro clients since the cycle began, 户")
    long_term_target: int | None = Field(None, ge=0, le=MAX_CLIENTS, description="cycle target, 户; empty → computed from outlets and client managers")
    last_year_target: float | None = Field(None, ge=0, le=MAX_CLIENTS, description="last year's new-client target, 户")
    last_year_actual: float | None = Field(None, ge=0, le=MAX_CLIENTS, description="last year's new clients, 户")
    loan_size_min: float = Field(..., ge=0, le=MAX_MONEY, description="smallest average new loan per new client, money unit")
    loan_size_max: float = Field(..., ge=0, le=MAX_MONEY, description="largest average new loan per new client, money unit")
    npl_ratio: float = Field(0.0, ge=0, le=1, description="micro NPL ratio of the branch")
    market_potential: float | None = Field(None, ge=0, le=1e12, description="optional market-potential score (e.g. registered small firms)")
    locked_target_clients: int | None = Field(
        None, ge=0, le=MAX_CLIENTS,
        description="negotiated plan-year new-client target, 户, kept exactly by the plan; empty → planned",
    )
    locked_target_loan_increment: float | None = Field(
        None, ge=-MAX_MONEY, le=MAX_MONEY,
        description="negotiated plan-year micro-loan increment target, money unit, kept exactly; empty → planned",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "Branch":
        raise_broken_rules(self, "branches.*")
        return self


class Variant(StrictModel):
    """A policy option compared with the base scenario: a patch merged into it."""

    name: str = Field(..., min_length=1, max_length=100)
    description: str = Field("", max_length=2000)
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
    incentives: Incentives = Incentives()
    branches: list[Branch] = Field(..., min_length=1, max_length=50_000, description="the branch table, inline or a CSV/XLSX path")
    simulation: SimulationSettings = SimulationSettings()
    markets: MarketsSection | None = Field(None, description="specialised markets and joint-marketing groups (README \"Joint marketing\")")
    variants: list[Variant] = Field(default_factory=list, max_length=MAX_VARIANTS, description="policy options to compare, at most 50")

    @field_validator("branches", mode="before")
    @classmethod
    def _table_loaded(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(f"a branch table path must be loaded from a scenario file (got {value!r})")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "Scenario":
        raise_broken_rules(self, "")
        return self

    @model_validator(mode="after")
    def _markets_reference_branches(self) -> "Scenario":
        if self.markets is not None:
            problems = market_problems(self.markets.model_dump(), "markets", [b.id for b in self.branches])
            if problems:
                raise PydanticCustomError("cross_field", "{message}", {"message": "; ".join(f"{p}: {m}" for p, m in problems)})
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
    "units.loan_rounding",
    "regulation.micro_threshold",
    "targets.micro_loan_increment",
    "bank.all_loans_prev",
    "bank.all_loan_increment_plan",
    "bank.micro_loans_prev",
    "bank.micro_loan_increment_prev",
    "branches.*.micro_loans",
    "branches.*.loan_size_min",
    "branches.*.loan_size_max",
    "branches.*.locked_target_loan_increment",
    *(f"simulation.{path}" for path in SIMULATION_MONEY_FIELDS),
    *(f"incentives.{path}" for path in INCENTIVE_MONEY_FIELDS),
    *(f"markets.{path}" for path in MARKET_MONEY_FIELDS),
)
