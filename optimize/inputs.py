"""Everything the allocation LP needs, computed in plain Python before the model is built.

The policy decides three things per branch (docs/model.md §3): the reference `ref_b` a target is
pulled towards, the sharing key `key_b` by which extra load demanded by the floors is shared,
and whether the long-term completion rule applies.

| policy        | ref_b                           | key_b                         | completion |
|---------------|---------------------------------|-------------------------------|------------|
| catch_up      | pace p_b = max(0, L_b − A_b)/years_left | spare capacity cap_b − p_b (or outlets / client managers); in the LP cap_b − ref'_b (`window.window_key`) | yes |
| ratchet       | last actual × (1 + g)           | ref_b (scaled to the floors)  | no         |
| proportional  | 0                               | outlets / client managers / capacity | no, but the bank total keeps the schedule |
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from optimize.long_term import capacities, long_term_targets
from optimize.regulation import FloorRow, Floors, bank_floors
from scenarios.schema import PolicyName, Scenario


@dataclass(frozen=True)
class PlanInputs:
    """Data of the allocation LP; arrays are indexed like `branch_ids`, money in 万元."""

    scenario_name: str
    policy: PolicyName
    branch_ids: tuple[str, ...]
    years: tuple[int, ...]  # calendar years, the plan year first
    capacity: np.ndarray  # cap_b, new clients a year
    long_term_target: np.ndarray  # L_b
    achieved: np.ndarray  # A_b
    pace: np.ndarray  # p_b, the catch-up pace (reported under every policy)
    reference: np.ndarray  # ref_b, what the policy pulls a target towards
    key: np.ndarray  # key_b ÷ key_scale: the sharing key of extra load, mean 1 over keyed branches
    key_name: str  # what the key is: spare_capacity | outlets | client_managers | reference
    key_scale: float  # the mean raw key (户, outlets or client managers); θ in the LP is θ_raw × key_scale
    completion_need: np.ndarray | None  # L_b − A_b for the completion rule; None: rule off
    size_min: np.ndarray  # 万元 of new loans per new client
    size_max: np.ndarray
    book_min: np.ndarray  # 万元, lowest change of the existing book in a year
    book_max: np.ndarray
    micro_loans: np.ndarray  # 万元, balance at the start of the plan year
    risk_capped: np.ndarray  # bool, NPL over the tolerance
    capped_growth: float  # highest yearly growth of a risk-capped book
    max_change: float  # |x_t − x_{t−1}| ≤ max_change · cap_b
    last_target: np.ndarray  # last year's target per branch (NaN: none), the plan year's smoothing base
    locked_clients: np.ndarray  # negotiated plan-year client target (NaN: none), kept exactly
    locked_loans: np.ndarray  # negotiated plan-year loan target, 万元 (NaN: none), kept exactly
    loan_unit: float  # loan targets are multiples of this, 万元
    ratchet_growth: float  # g of the ratchet policy
    raw_key: np.ndarray  # the sharing key before normalisation (outlets, client managers, spare capacity, reference)
    floors: Floors

    @property
    def size_mid(self) -> np.ndarray:
        """Mid loan size per new client, 万元."""
        return (self.size_min + self.size_max) / 2

    @property
    def book_mid(self) -> np.ndarray:
        """Mid change of the existing book, 万元."""
        return (self.book_min + self.book_max) / 2


def normalised(values: np.ndarray) -> tuple[np.ndarray, float]:
    """`values` ÷ their mean over positive entries, and that mean (1 when none is positive).

    Keys enter the LP as coefficients of θ; scaled to mean 1 they keep θ's column near unit size,
    so HiGHS's dual tolerance is met where the rolling years weigh little (measured: raw loan keys
    of ~10⁴ 万元 let the rolling years' load stage stop at θ 0.90 where 0.41 was optimal).
    """
    positive = values[values > 0]
    scale = float(positive.mean()) if positive.size else 1.0
    return values / scale, scale


def catch_up_pace(long_term_target: np.ndarray, achieved: np.ndarray, years_left: int) -> np.ndarray:
    """p_b = max(0, L_b − A_b) / years_left — the memo's rule (years_left counts the plan year).

    Achieving more lowers the pace: no branch is punished for running fast (anti-ratchet).
    """
    return np.maximum(long_term_target - achieved, 0.0) / years_left


def schedule_position(pace: np.ndarray, long_term_target: np.ndarray, horizon_years: int) -> np.ndarray:
    """`behind` when p_b > L_b / horizon (more than an even share left), `ahead` when below, else `on`."""
    even = long_term_target / horizon_years
    return np.where(pace > even + 1e-9, "behind", np.where(pace < even - 1e-9, "ahead", "on"))


def sharing_key(scenario: Scenario, name: str, capacity: np.ndarray, pace: np.ndarray) -> np.ndarray:
    """key_b: spare capacity cap_b − p_b (default), outlets, or client managers."""
    if name == "outlets":
        return np.array([b.outlets for b in scenario.branches], dtype=float)
    if name == "client_managers":
        return np.array([b.client_managers for b in scenario.branches], dtype=float)
    return np.maximum(capacity - pace, 0.0)


def ratchet_reference(scenario: Scenario, pace: np.ndarray) -> np.ndarray:
    """Next target = last actual × (1 + g); a branch without history starts at its pace."""
    g = scenario.policy.ratchet_growth
    last = [b.last_year_actual if b.last_year_actual is not None else b.last_year_target for b in scenario.branches]
    return np.array([p if v is None else v * (1 + g) for v, p in zip(last, pace)], dtype=float)


def optional_column(branches: list, name: str) -> np.ndarray:
    """A branch-table column that may be empty, as floats with NaN for empty (or absent) cells."""
    values = [getattr(b, name, None) for b in branches]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def loan_rounding_unit(scenario: Scenario) -> float:
    """The multiple loan targets are rounded to, 万元 (`units.loan_rounding`, default 1 万元)."""
    unit = getattr(scenario.units, "loan_rounding", None)
    return 1.0 if unit is None else float(unit)


def plan_inputs(scenario: Scenario, policy: PolicyName | None = None, whole: bool = True) -> PlanInputs:
    """The LP's data for a scenario under a policy (the scenario's own by default)."""
    policy = policy or scenario.policy.name
    branches = scenario.branches
    years_left = scenario.years_left
    capacity = capacities(scenario)
    target = long_term_targets(scenario, whole)
    achieved = np.array([b.achieved_clients for b in branches], dtype=float)
    pace = catch_up_pace(target, achieved, years_left)
    floors = bank_floors(scenario)
    completion: np.ndarray | None = None
    if policy == "catch_up":
        reference = pace
        key_name = scenario.policy.sharing_key
        key = sharing_key(scenario, key_name, capacity, pace)
        completion = np.maximum(target - achieved, 0.0)
    elif policy == "ratchet":
        reference = ratchet_reference(scenario, pace)
        key_name = "reference"
        key = reference.copy()
    else:  # proportional: the schedule's bank total, shared by the key alone
        reference = np.zeros(len(branches))
        key_name = "client_managers" if scenario.policy.sharing_key == "spare_capacity" else scenario.policy.sharing_key
        key = sharing_key(scenario, key_name, capacity, pace)
        schedule = tuple(FloorRow("cycle_schedule", "department", "clients", t, float(pace.sum())) for t in range(years_left))
        floors = replace(floors, rows=floors.rows + schedule)
    micro_loans = np.array([b.micro_loans for b in branches], dtype=float)
    raw_key = key.copy()
    key, key_scale = normalised(key)
    return PlanInputs(
        scenario_name=scenario.name,
        policy=policy,
        branch_ids=tuple(b.id for b in branches),
        years=tuple(range(scenario.plan_year, scenario.end_year + 1)),
        capacity=capacity,
        long_term_target=target,
        achieved=achieved,
        pace=pace,
        reference=reference,
        key=key,
        key_name=key_name,
        key_scale=key_scale,
        completion_need=completion,
        size_min=np.array([b.loan_size_min for b in branches], dtype=float),
        size_max=np.array([b.loan_size_max for b in branches], dtype=float),
        book_min=scenario.risk.book_change_min * micro_loans,
        book_max=scenario.risk.book_change_max * micro_loans,
        micro_loans=micro_loans,
        risk_capped=np.array([b.npl_ratio > floors.npl_tolerance for b in branches]),
        capped_growth=scenario.risk.capped_growth,
        max_change=scenario.capacity.max_change,
        last_target=optional_column(branches, "last_year_target"),
        locked_clients=optional_column(branches, "locked_target_clients"),
        locked_loans=optional_column(branches, "locked_target_loan_increment"),
        loan_unit=loan_rounding_unit(scenario),
        ratchet_growth=scenario.policy.ratchet_growth,
        raw_key=raw_key,
        floors=floors,
    )
