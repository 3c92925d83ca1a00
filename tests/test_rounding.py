"""Whole numbers (`optimize/rounding.py`): the plan a branch receives keeps every rule the LP kept.

On the random banks of `builders.plan_banks` (every rule binds in a fair share of examples):
clients are whole, loans multiples of the loan unit, each branch within one unit of the LP's own
value, bank totals equal to the sum of the branches, no hard rule broken and no floor the LP met
missed (the plan checker, exact), and the same plan twice.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import build, branch, plan_banks, raw_scenario
from hypothesis import HealthCheck, event, given, settings

from optimize.check import check_plan
from optimize.plan import make_plan
from optimize.rounding import apportion

ROUNDING = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@ROUNDING
@given(raw=plan_banks())
def test_rounded_plan_keeps_every_rule_within_one_unit(raw: dict) -> None:
    scenario = build(raw)
    plan = make_plan(scenario)
    exact = make_plan(scenario, whole=False)
    x = plan.targets["target_clients"].to_numpy()
    y = plan.targets["target_loan_increment"].to_numpy()
    assert np.array_equal(x, np.round(x)), "clients are whole"
    lp_x = plan.report.lp_x.reshape(-1)  # (n, T) branch-major, as the targets table
    moved = np.abs(x - lp_x)
    if (moved > 0).any():
        event("rounding moved some clients")
    # within one unit of the LP value the rounded plan was solved from
    assert (moved < 1 + 1e-6).all(), moved.max()
    assert plan.totals()["target_clients"] == pytest.approx(float(x[plan.targets["year"] == plan.plan_year].sum()))
    # no rule the exact plan keeps is broken by rounding (loans within their band stay at the LP value
    # where the band holds no multiple of the unit: nothing to check there)
    exact_breaches = {(b.rule, b.year, b.branch) for b in check_plan(scenario, exact.targets, exact.inputs.policy)}
    rounded = [b for b in check_plan(scenario, plan.targets, plan.inputs.policy)
               if b.severity == "hard" and (b.rule, b.year, b.branch) not in exact_breaches]
    # a box narrower than one client holds no whole number: the upper limit wins, smoothing's lower end
    # gives by less than one client (optimize/rounding.py)
    within_a_client = [b for b in rounded if b.quantity == "clients" and b.rule.startswith("smoothing") and b.amount < 1]
    if within_a_client:
        event("no whole number in a branch's box: smoothing gave by less than one client")
    assert [b for b in rounded if b not in within_a_client] == [], rounded
    if plan.status == "optimal":
        assert exact.status == "optimal" or plan.violations == []
    again = make_plan(scenario)
    assert np.array_equal(again.targets["target_clients"].to_numpy(), x)
    assert np.array_equal(again.targets["target_loan_increment"].to_numpy(), y)


def test_apportion_by_largest_remainder_ties_by_id() -> None:
    """Values 1.5, 1.5, 1.2 → floors 1, 1, 1 (sum 3); total 4 → one goes up: the largest remainder
    0.5 is a tie between A and B, broken by id → A. Total 5 → A and B."""
    value = np.array([1.5, 1.5, 1.2])
    low, high = np.floor(value), np.ceil(value)
    assert apportion(value, low, high, 4, ("A", "B", "C")).tolist() == [2, 1, 1]
    assert apportion(value, low, high, 4, ("B", "A", "C")).tolist() == [1, 2, 1]
    assert apportion(value, low, high, 5, ("A", "B", "C")).tolist() == [2, 2, 1]


def test_twins_differ_by_at_most_one_and_the_floor_is_kept() -> None:
    """Floor 0.112 × 1,000 = 112 clients over three identical branches (capacity 100 each, pace 0):
    37⅓ each in the LP; whole clients 38, 37, 37 (ids A < B < C: A takes the extra one), total 112."""
    rows = [branch(bid, achieved_clients=0, long_term_target=0, micro_clients=1000 // 3 + (1 if bid == "A" else 0),
                   last_year_target=None) for bid in ("A", "B", "C")]
    raw = raw_scenario(rows, preset="custom", rules={"borrower_count": {}})
    raw["bank"]["micro_client_attrition"] = 0.112
    plan = make_plan(build(raw))
    year = plan.targets[plan.targets["year"] == plan.plan_year].set_index("branch")["target_clients"]
    assert year.to_dict() == {"A": 38.0, "B": 37.0, "C": 37.0}
    assert plan.status == "optimal"
