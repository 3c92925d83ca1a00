"""The matrix path (`optimize.matrix`) against the Pyomo reference (`optimize.model`).

Both engines solve the same staged LP; the matrix path writes it in a smaller, equivalent form.
Asserted: the same optimum at every stage (relative `OBJECTIVE_RTOL`), the same plan-year targets
where the LP fixes them (floors, capacity, pace), and the properties of docs/model.md on the matrix
path's own table. Whole target vectors are not compared where the LP has several optima (rolling
years, loans of branches with slack), (STYLE: assert optima and invariants).
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import branch, build, raw_scenario, scenarios_raw
from hypothesis import HealthCheck, given, settings

from optimize.plan import make_plan
from scenarios import load_scenario, scenario_from_dict
from scenarios.generate import synthetic_bank

#: Stage optima agree to this relative tolerance (HiGHS's own tolerances are ~1e-9 here).
OBJECTIVE_RTOL = 1e-6
#: Absolute floor of the comparison, in the stage objective's units (clients, weighted).
OBJECTIVE_ATOL = 1e-4
TOL = 1e-3


def assert_same_stages(reference: dict[str, float], fast: dict[str, float]) -> None:
    """Same stages run, same optima (a stage with nothing to minimise is skipped by both)."""
    assert set(fast) == set(reference)
    for stage, value in reference.items():
        assert fast[stage] == pytest.approx(value, rel=OBJECTIVE_RTOL, abs=OBJECTIVE_ATOL), stage


def both(scenario, policy=None):
    return make_plan(scenario, policy, engine="pyomo"), make_plan(scenario, policy, engine="matrix")


def assert_same_plan(reference, fast) -> None:
    """Same stage optima, status, floors and plan-year totals; targets inside the same bounds."""
    assert_same_stages(reference.report.objectives, fast.report.objectives)
    assert fast.status == reference.status
    assert fast.floor_values["rule"].tolist() == reference.floor_values["rule"].tolist()
    plan_year = reference.plan_year
    ref_floor = reference.floor_values[reference.floor_values["year"] == plan_year]
    fast_floor = fast.floor_values[fast.floor_values["year"] == plan_year]
    np.testing.assert_allclose(fast_floor["required"].to_numpy(float), ref_floor["required"].to_numpy(float),
                               rtol=1e-6, atol=1e-3)
    assert fast.totals()["target_clients"] == pytest.approx(reference.totals()["target_clients"], rel=1e-6, abs=1e-3)
    assert {v["rule"] for v in fast.violations} == {v["rule"] for v in reference.violations}


def test_matrix_is_the_default_engine() -> None:
    plan = make_plan(load_scenario("city-2014"))
    assert type(plan.report).__name__ == "SolveReport"
    assert set(plan.seconds) >= {"inputs", "solve", "highs", "read", "total"}


def test_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="'gurobi'"):
        make_plan(load_scenario("city-2014"), engine="gurobi")


def test_engines_run_the_same_stage_table() -> None:
    """Both engines record one optimum per stage of `optimize.stages` that had something to minimise."""
    from optimize.stages import STAGES

    reference, fast = both(load_scenario("city-2014"))
    names = {s.name for s in STAGES}
    for plan in (reference, fast):
        assert {key.split("/")[1] for key in plan.report.objectives} <= names
        assert {"plan_year/violation_regulatory", "plan_year/client_load", "plan_year/loan_load"} <= set(plan.report.objectives)


@pytest.mark.parametrize("name", ["city-2014", "city-2016", "city-2019"])
@pytest.mark.parametrize("policy", ["catch_up", "ratchet", "proportional"])
def test_bundled_banks_same_as_pyomo(name: str, policy: str) -> None:
    reference, fast = both(load_scenario(name), policy)
    assert_same_plan(reference, fast)
    # where the clients LP has one optimum (every bundled bank), the plan year's targets agree
    ref_year = reference.targets[reference.targets["year"] == reference.plan_year]
    fast_year = fast.targets[fast.targets["year"] == fast.plan_year]
    np.testing.assert_allclose(fast_year["target_clients"], ref_year["target_clients"], atol=1e-3)


@pytest.mark.parametrize("n", [36, 300])
def test_synthetic_banks_same_as_pyomo(n: int) -> None:
    reference, fast = both(scenario_from_dict(synthetic_bank(n, 2014)))
    assert_same_plan(reference, fast)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios_raw())
def test_random_banks_same_stage_optima_as_pyomo(raw: dict) -> None:
    reference, fast = both(build(raw))
    assert_same_plan(reference, fast)
    # P2 on the matrix path's own table: capacity and loan bands, recomputed from the raw rows
    t = fast.targets.join(__import__("pandas").DataFrame(raw["branches"]).set_index("id"), on="branch")
    cap = raw["capacity"]["new_clients_per_micro_client_manager"] * t["micro_client_managers"]
    assert (t["target_clients"] >= -TOL).all() and (t["target_clients"] <= cap + TOL).all()
    lo = t["loan_size_min"] * t["target_clients"] + raw["risk"]["book_change_min"] * t["micro_loans"]
    hi = t["loan_size_max"] * t["target_clients"] + raw["risk"]["book_change_max"] * t["micro_loans"]
    assert (t["target_loan_increment"] >= lo - TOL * (1 + lo.abs())).all()
    assert (t["target_loan_increment"] <= hi + TOL * (1 + hi.abs())).all()


def test_risk_capped_branch_same_as_pyomo() -> None:
    """A risk-capped branch keeps its own loan columns in the clients LP (the others are summed)."""
    rows = [branch("B1", npl_ratio=0.05, micro_loans=1000.0), branch("B2"), branch("B3", npl_ratio=0.04)]
    raw = raw_scenario(rows, preset="two_not_lower", risk={"capped_growth": 0.05, "book_change_min": -0.02,
                                                           "book_change_max": 0.03})
    raw["bank"]["micro_loan_increment_prev"] = 2500.0
    reference, fast = both(build(raw))
    assert_same_plan(reference, fast)
    b1 = fast.targets[fast.targets["branch"] == "B1"].sort_values("year")
    book = 1000.0
    for y in b1["target_loan_increment"]:
        assert y <= 0.05 * book + 1e-6
        book += y


@pytest.mark.slow
def test_thousand_branches_same_as_pyomo() -> None:
    """A large bank: the two engines agree stage by stage."""
    reference, fast = both(scenario_from_dict(synthetic_bank(1000, 7)))
    assert_same_plan(reference, fast)
