"""Regulatory floors on the bank's micro lending (measure 2 of the memo), by preset and year.

Closed forms (all loans include micro loans; M0 micro balance and L0 all-loan balance at the end
of last year, ΔL the planned all-loan increment, a the client attrition, k = 1 + margin):

- growth_rate     ΔM_t ≥ k · g_t · M_{t−1}, g_t = ΔL/L0 in the plan year (all-loan growth rate)
- increment       ΔM_t ≥ k · ΔM_{t−1}
- borrower_count  C_t ≥ k · C_{t−1}, with C_t = (1 − a)·C_{t−1} + X_t, i.e. X_t ≥ (a + k − 1)·C_{t−1}
- approval_rate   checked against the simulated rate, reported, not allocated
- asset_quality   (两增两控) branches whose NPL ratio exceeds the tolerance are risk-capped in the
                  allocation; tolerance = bank NPL + npl_tolerance_pp − margin (a margin tightens
                  a rule, as it raises a floor)
- all_in_cost     (两增两控) in force but not allocated: the plan JSON says so (`floors.all_in_cost`)

Each rule becomes `FloorRow`s: a linear row over the bank totals of the plan years, so the
allocation LP can enforce floors of later years that depend on the plan (the growing micro
balance, last year's increment) without knowing any rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from scenarios.schema import RuleName, Scenario

Quantity = Literal["loans", "clients"]
Tier = Literal["regulatory", "department"]

#: The rules each preset switches on.
PRESETS: dict[str, tuple[RuleName, ...]] = {
    "two_not_lower": ("growth_rate", "increment"),
    "three_not_lower": ("growth_rate", "borrower_count", "approval_rate"),
    "two_increase_two_control": ("growth_rate", "borrower_count", "asset_quality", "all_in_cost"),
    "custom": (),
}
#: Single-client credit limit of a micro loan by preset, 万元.
MICRO_THRESHOLDS: dict[str, float] = {
    "two_not_lower": 500.0, "three_not_lower": 500.0, "two_increase_two_control": 1000.0, "custom": 1000.0,
}
LOAN_RULES: tuple[RuleName, ...] = ("growth_rate", "increment")
CLIENT_RULES: tuple[RuleName, ...] = ("borrower_count",)


@dataclass(frozen=True)
class FloorRow:
    """`total[t] − Σ_s coupling[s]·total[s] ≥ const` over the bank totals of one quantity.

    Years are indices into the plan years (0 = plan year); coupling only looks back.
    """

    rule: str
    tier: Tier
    quantity: Quantity
    year: int
    const: float
    coupling: dict[int, float] = field(default_factory=dict)

    def required(self, totals: list[float]) -> float:
        """The floor's value given the totals of earlier years."""
        return self.const + sum(c * totals[s] for s, c in self.coupling.items())


@dataclass(frozen=True)
class Floors:
    """The floors that apply to a scenario: the LP rows and what is reported only."""

    preset: str
    active_rules: tuple[str, ...]
    rows: tuple[FloorRow, ...]
    micro_threshold: float  # 万元, single-client credit limit of a micro loan
    npl_tolerance: float  # NPL ratio above which a branch is risk-capped
    approval_rate_floor: float | None  # reported, not allocated

    def rows_for(self, year: int, quantity: Quantity | None = None) -> list[FloorRow]:
        """The rows of one year (and one quantity)."""
        return [r for r in self.rows if r.year == year and (quantity is None or r.quantity == quantity)]


def active_rules(scenario: Scenario) -> dict[str, float]:
    """Rules in force and their margins: the preset's, then the scenario's overrides."""
    reg = scenario.regulation
    rules = {name: 0.0 for name in PRESETS[reg.preset]}
    for name, setting in reg.rules.items():
        if setting.enabled:
            rules[name] = setting.margin
        else:
            rules.pop(name, None)
    return rules


def growth_rates(scenario: Scenario) -> list[float]:
    """All-loan growth rate g_t of each plan year: ΔL/L0, then the assumed later rate."""
    bank = scenario.bank
    first = bank.all_loan_increment_plan / bank.all_loans_prev
    later = first if bank.all_loan_growth_later is None else bank.all_loan_growth_later
    return [first] + [later] * (scenario.years_left - 1)


def growth_rate_rows(scenario: Scenario, margin: float, tier: Tier, rule: str = "growth_rate") -> list[FloorRow]:
    """ΔM_t ≥ k·g_t·(M0 + Σ_{s<t} ΔM_s)."""
    k = 1.0 + margin
    m0 = scenario.bank.micro_loans_prev
    return [
        FloorRow(rule, tier, "loans", t, k * g * m0, {s: k * g for s in range(t)})
        for t, g in enumerate(growth_rates(scenario))
    ]


def increment_rows(scenario: Scenario, margin: float, tier: Tier, rule: str = "increment") -> list[FloorRow]:
    """ΔM_0 ≥ k·ΔM_prev; ΔM_t ≥ k·ΔM_{t−1} for later years."""
    k = 1.0 + margin
    rows = [FloorRow(rule, tier, "loans", 0, k * scenario.bank.micro_loan_increment_prev)]
    rows += [FloorRow(rule, tier, "loans", t, 0.0, {t - 1: k}) for t in range(1, scenario.years_left)]
    return rows


def borrower_count_rows(scenario: Scenario, margin: float, tier: Tier, rule: str = "borrower_count") -> list[FloorRow]:
    """X_t ≥ (a + k − 1)·C_{t−1}, C_{t−1} = (1−a)^t·C0 + Σ_{s<t} (1−a)^{t−1−s}·X_s."""
    a = scenario.bank.micro_client_attrition
    need = a + margin  # gross new clients per client at the start of the year
    c0 = scenario.bank.micro_clients_prev
    return [
        FloorRow(rule, tier, "clients", t, need * (1 - a) ** t * c0,
                 {s: need * (1 - a) ** (t - 1 - s) for s in range(t)})
        for t in range(scenario.years_left)
    ]


ROW_BUILDERS = {"growth_rate": growth_rate_rows, "increment": increment_rows, "borrower_count": borrower_count_rows}


def department_rows(scenario: Scenario, rules: dict[str, float]) -> list[FloorRow]:
    """The department's own targets: explicit plan-year numbers, or each floor × (1 + buffer)."""
    targets = scenario.targets
    rows: list[FloorRow] = []
    if targets.buffer > 0:
        for name, margin in rules.items():
            if name in ROW_BUILDERS:
                k = (1 + margin) * (1 + targets.buffer) - 1
                rows += ROW_BUILDERS[name](scenario, k, "department", rule=f"department_{name}")
    if targets.micro_loan_increment is not None:
        rows.append(FloorRow("department_target", "department", "loans", 0, targets.micro_loan_increment))
    if targets.micro_client_increment is not None:
        rows.append(FloorRow("department_target", "department", "clients", 0, targets.micro_client_increment))
    return rows


def asset_quality_tolerance(bank_npl: float, tolerance_pp: float, margin: float) -> float:
    """NPL tolerance of 两增两控: micro NPL ≤ all-loan NPL + pp; a margin makes it stricter (− margin)."""
    return bank_npl + tolerance_pp - margin


def bank_floors(scenario: Scenario) -> Floors:
    """Every floor of the scenario's preset and overrides, as LP rows plus reported values."""
    rules = active_rules(scenario)
    rows: list[FloorRow] = []
    for name, margin in rules.items():
        if name in ROW_BUILDERS:
            rows += ROW_BUILDERS[name](scenario, margin, "regulatory")
    rows += department_rows(scenario, rules)
    reg = scenario.regulation
    tolerance = scenario.risk.npl_tolerance
    if "asset_quality" in rules and scenario.bank.npl_ratio is not None:
        tolerance = asset_quality_tolerance(scenario.bank.npl_ratio, reg.npl_tolerance_pp, rules["asset_quality"])
    approval = None
    if "approval_rate" in rules and scenario.bank.approval_rate_prev is not None:
        approval = scenario.bank.approval_rate_prev * (1 + rules["approval_rate"])
    return Floors(
        preset=reg.preset,
        active_rules=tuple(rules),
        rows=tuple(rows),
        micro_threshold=reg.micro_threshold or MICRO_THRESHOLDS[reg.preset],
        npl_tolerance=tolerance,
        approval_rate_floor=approval,
    )
