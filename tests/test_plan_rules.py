"""One hand-worked bank per rule of the memo (oemof-style: the optimum is worked out in the docstring).

Each case is small enough to solve on paper, and each fails when its rule is changed by one line
(the rows of `bench/mutations.py` name the case that catches them). Plans are the LP's values
(`builders.exact_plan`), on both engines where the rule lives in the engines' own code.

Defaults (`builders.branch`): capacity 10 micro managers × 10 = 100 a year, loan size 10–30 万元
(mid 20), micro book 10,000 万元, NPL 1 %, last year's target 50, max_change 1.0 (no smoothing
below capacity), book band 0; the cycle is 2014–2018, so the plan year 2014 has 5 years left.
"""

from __future__ import annotations

import numpy as np
import pytest
from builders import branch, build, exact_plan, raw_scenario, wide

from optimize.check import check_plan
from optimize.plan import make_plan

ENGINES = ("matrix", "pyomo")


def plan_year(plan, column: str = "target_clients") -> dict[str, float]:
    return wide(plan, column)[plan.plan_year].to_dict()


def two_branches(**sections) -> dict:
    """B1: L 250, A 50 → pace 40, spare 60, outlets 1, client managers 30.
    B2: L 300, A 0 → pace 60, spare 40, outlets 3, client managers 10. No last year's target.
    Borrowers C0 = 1,000, attrition 10 % (floors only where a case switches a rule on)."""
    rows = [branch("B1", achieved_clients=50, long_term_target=250, outlets=1, client_managers=30, last_year_target=None),
            branch("B2", achieved_clients=0, long_term_target=300, outlets=3, client_managers=10, last_year_target=None)]
    rules = sections.pop("rules", {})
    raw = raw_scenario(rows, rules=rules, **sections)
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=0.1)
    return raw


# ---------------------------------------------------------------- smoothing


@pytest.mark.parametrize("engine", ENGINES)
def test_smoothing_from_last_years_target_both_ways(engine: str) -> None:
    """max_change 0.1, capacity 100 → a plan-year target within ±10 of last year's.

    B1: pace 50 (L 250), last year 10 → box [0, 20] → 20.  B2: pace 20 (L 100), last year 90 →
    box [80, 100] → 80.  B3: pace 50, last year 250 → box [240, 260] ∩ [0, 100] = capacity wins → 100.
    No floor, so each branch sits at its pace clamped to its box.
    """
    rows = [branch("B1", long_term_target=250, last_year_target=10.0),
            branch("B2", long_term_target=100, last_year_target=90.0),
            branch("B3", long_term_target=250, last_year_target=250.0)]
    plan = exact_plan(build(raw_scenario(rows, capacity={"max_change": 0.1})), engine=engine)
    assert plan_year(plan) == pytest.approx({"B1": 20.0, "B2": 80.0, "B3": 100.0}, abs=1e-6)
    messages = " ".join(plan.diagnostics.messages)
    assert "B1 (50 → ≤ 20)" in messages and "B2 (20 → ≥ 80)" in messages


@pytest.mark.parametrize("engine", ENGINES)
def test_smoothing_holds_a_branch_while_a_floor_binds(engine: str) -> None:
    """B1 pace 20 (L 100), last year 10, max_change 0.1 → at most 20; B2 pace 20, no last target →
    [0, 100]. Borrower floor 10 % × 1,000 = 100: 60 extra, B1 cannot move, so B2 takes it all → 20, 80,
    no shortfall. (Sharing by spare capacity 80 : 80 as if B1 could move would give 50, 50.)"""
    rows = [branch("B1", long_term_target=100, last_year_target=10.0), branch("B2", long_term_target=100, last_year_target=None)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, capacity={"max_change": 0.1})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=0.1)
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan) == pytest.approx({"B1": 20.0, "B2": 80.0}, abs=1e-6)
    assert plan.violations == []


@pytest.mark.parametrize("engine", ENGINES)
def test_smoothing_between_years_after_a_plan_year_pushed_up(engine: str) -> None:
    """One branch, pace 20 (L 100), capacity 100, max_change 0.2 (±20 a year); the department asks
    for 80 new clients in the plan year. Each rolling year re-applies the catch-up pace to the planned
    path — 2015: (100 − 80)/4 = 5, then 0 — and falls towards it no faster than 20 a year:
    80, 60, 40, 20, 0."""
    raw = raw_scenario([branch("B1", long_term_target=100, last_year_target=None)],
                       capacity={"max_change": 0.2}, targets={"micro_client_increment": 80})
    plan = exact_plan(build(raw), engine=engine)
    assert wide(plan).loc["B1"].to_numpy() == pytest.approx([80, 60, 40, 20, 0], abs=1e-6)


# ---------------------------------------------------------------- long-term completion


def test_long_term_completion_is_a_warning_not_a_violation() -> None:
    """L 600, A 0, capacity 100, 5 years → pace 120 above capacity: 100 a year, 500 in all, so the
    long-term target is 100 short — a warning (schedule), the plan stays `optimal`, nothing violated."""
    raw = raw_scenario([branch("B1", long_term_target=600, last_year_target=None)])
    plan = exact_plan(build(raw))
    assert wide(plan).loc["B1"].to_numpy() == pytest.approx([100] * 5, abs=1e-6)
    assert plan.violations == [] and plan.status == "optimal"
    [warning] = plan.warnings
    assert (warning["rule"], warning["branch"], warning["year"]) == ("long_term_completion", "B1", 2018)
    assert warning["shortfall"] == pytest.approx(100.0, abs=1e-6)
    assert any("cannot finish" in m and "B1" in m for m in plan.diagnostics.messages)


def test_completion_in_the_cycles_last_year_pulls_to_the_need() -> None:
    """Plan year 2018 = the cycle's last: B1 L 250, A 190 → needs 60 (its pace), B2 L 250, A 100 →
    needs 150 but has capacity 100: 60 and 100, B2 short by 50 (a warning)."""
    rows = [branch("B1", achieved_clients=190), branch("B2", achieved_clients=100)]
    plan = exact_plan(build(raw_scenario(rows, plan_year=2018)))
    assert plan_year(plan) == pytest.approx({"B1": 60.0, "B2": 100.0}, abs=1e-6)
    assert [(w["rule"], w["branch"], round(w["shortfall"], 6)) for w in plan.warnings] == [("long_term_completion", "B2", 50.0)]
    assert plan.status == "optimal"


# ---------------------------------------------------------------- margins (k = 1 + margin)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("margin, expected", [(0.0, {"B1": 40.0, "B2": 60.0}), (0.05, {"B1": 70.0, "B2": 80.0})])
def test_borrower_count_margin(engine: str, margin: float, expected: dict) -> None:
    """X ≥ (a + margin)·C0: margin 0 → 0.1 × 1,000 = 100 = the paces 40 + 60 (no extra);
    margin 5 % → 150: 50 extra by spare capacity 60 : 40 → +30, +20 → 70, 80."""
    plan = exact_plan(build(two_branches(rules={"borrower_count": {"margin": margin}})), engine=engine)
    assert plan_year(plan) == pytest.approx(expected, abs=1e-6)
    assert plan.floor_values.query("year == 2014")["required"].max() == pytest.approx(1000 * (0.1 + margin))


@pytest.mark.parametrize("rule", ["growth_rate", "increment"])
def test_loan_rule_margin(rule: str) -> None:
    """Floor 2,000 × k, k = 1.25 → 2,500. Clients at pace 40, 60 → mid loans 20 × 100 = 2,000, loan room
    above mid (30 − 20)·x = 400, 600: the extra 500 is shared by room → λ = 0.5 → 1,000, 1,500.
    growth: ΔL/L0 = 100,000/1,000,000 = 10 % of M0 20,000; increment: last year's 2,000."""
    raw = two_branches(rules={rule: {"margin": 0.25}})
    raw["bank"].update(all_loan_increment_plan=100_000.0 if rule == "growth_rate" else 0.0,
                       micro_loan_increment_prev=2_000.0 if rule == "increment" else 0.0)
    plan = exact_plan(build(raw))
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 1000.0, "B2": 1500.0}, abs=1e-4)


# ---------------------------------------------------------------- the department's own targets


def test_department_buffer_composes_multiplicatively_on_loans() -> None:
    """Growth floor 2,000 (10 % of 20,000), margin 10 % → 2,200; buffer 20 % → 1.1 × 1.2 × 2,000 = 2,640
    (additive 1 + 0.1 + 0.2 would be 2,600). Extra over mid 2,000: 640 by room 400 : 600 → 256, 384
    → 1,056 and 1,584."""
    raw = two_branches(rules={"growth_rate": {"margin": 0.1}}, targets={"buffer": 0.2})
    raw["bank"]["all_loan_increment_plan"] = 100_000.0
    plan = exact_plan(build(raw))
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 1056.0, "B2": 1584.0}, abs=1e-4)


@pytest.mark.parametrize("engine", ENGINES)
def test_department_buffer_composes_multiplicatively_on_borrowers(engine: str) -> None:
    """C0 300, a 10 %, margin 5 %, buffer 20 %: k − 1 = 1.05 × 1.2 − 1 = 0.26 → (0.1 + 0.26) × 300 = 108
    (regulatory 0.15 × 300 = 45; additive k − 1 = 0.25 would give 105). Paces 100, 8 extra by spare
    60 : 40 → 44.8, 63.2."""
    raw = two_branches(rules={"borrower_count": {"margin": 0.05}}, targets={"buffer": 0.2})
    raw["bank"]["micro_clients_prev"] = 300
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan) == pytest.approx({"B1": 44.8, "B2": 63.2}, abs=1e-6)


def test_explicit_department_targets() -> None:
    """Department asks 150 clients: 50 extra by spare 60 : 40 → 70, 80. Asks 3,500 万元 of loans: mid on
    those clients 20 × 150 = 3,000, room 700 + 800; the extra 500 at λ = 1/3 → 1,633.33, 1,866.67."""
    plan = exact_plan(build(two_branches(targets={"micro_client_increment": 150, "micro_loan_increment": 3500.0})))
    assert plan_year(plan) == pytest.approx({"B1": 70.0, "B2": 80.0}, abs=1e-6)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 1400 + 700 / 3, "B2": 1600 + 800 / 3}, abs=1e-4)


# ---------------------------------------------------------------- sharing keys


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("key, expected", [
    ("spare_capacity", {"B1": 64.0, "B2": 76.0}),
    ("outlets", {"B1": 50.0, "B2": 90.0}),
    ("client_managers", {"B1": 70.0, "B2": 70.0}),
])
def test_each_sharing_key_splits_a_binding_floor(engine: str, key: str, expected: dict) -> None:
    """Borrower floor 14 % × 1,000 = 140 over paces 40 + 60: 40 extra, shared by
    spare capacity 60 : 40 → +24, +16; outlets 1 : 3 → +10, +30; client managers 30 : 10 → +30, +10."""
    raw = two_branches(rules={"borrower_count": {}}, policy={"sharing_key": key})
    raw["bank"]["micro_client_attrition"] = 0.14
    assert plan_year(exact_plan(build(raw), engine=engine)) == pytest.approx(expected, abs=1e-6)


def zero_outlet_bank(floor: int) -> dict:
    """B1: 0 outlets (key 0), pace 20 (L 100), capacity 100; B2, B3: 2 outlets, pace 20, capacity 50
    (5 micro managers); key outlets; borrower floor `floor` (C0 1,000, attrition floor/1,000)."""
    rows = [branch("B1", outlets=0, long_term_target=100, last_year_target=None),
            branch("B2", outlets=2, long_term_target=100, micro_client_managers=5, last_year_target=None),
            branch("B3", outlets=2, long_term_target=100, micro_client_managers=5, last_year_target=None)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, policy={"sharing_key": "outlets"})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=floor / 1000)
    return raw


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("floor, expected", [(100, {"B1": 20.0, "B2": 40.0, "B3": 40.0}),
                                             (120, {"B1": 20.0, "B2": 50.0, "B3": 50.0}),
                                             (130, {"B1": 30.0, "B2": 50.0, "B3": 50.0})])
def test_zero_key_branch_takes_load_only_when_keyed_ones_are_full(engine: str, floor: int, expected: dict) -> None:
    """Paces 20 each = 60. Floor 100: 40 extra to B2, B3 (2 : 2), B1 (no outlet) keeps its pace;
    floor 120: B2, B3 full at 50; floor 130: the last 10 can only go to B1 → 30, no shortfall."""
    plan = exact_plan(build(zero_outlet_bank(floor)), engine=engine)
    assert plan_year(plan) == pytest.approx(expected, abs=1e-6)
    assert plan.violations == []


@pytest.mark.parametrize("engine", ENGINES)
def test_ratchet_with_last_actual_zero_takes_load_when_the_others_are_full(engine: str) -> None:
    """Ratchet, g 10 %: B1 last actual 0 → reference 0 and key 0; B2, B3 last actual 50 → 55, capacity 60.
    Floor 130 over 0 + 55 + 55: B2, B3 fill to 60 (+5 each), B1 takes the remaining 10."""
    rows = [branch("B1", last_year_actual=0.0, last_year_target=None),
            branch("B2", last_year_actual=50.0, micro_client_managers=6, last_year_target=None),
            branch("B3", last_year_actual=50.0, micro_client_managers=6, last_year_target=None)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, policy={"name": "ratchet"})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=0.13)
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan) == pytest.approx({"B1": 10.0, "B2": 60.0, "B3": 60.0}, abs=1e-6)


@pytest.mark.parametrize("key, expected", [("spare_capacity", {"B1": 75.0, "B2": 25.0}),
                                           ("outlets", {"B1": 25.0, "B2": 75.0})])
def test_proportional_policy_shares_the_schedules_bank_total_by_the_key(key: str, expected: dict) -> None:
    """Proportional: reference 0; the schedule's bank total Σ pace = 40 + 60 = 100 is shared by the key
    alone, ignoring progress: client managers 30 : 10 (what spare_capacity means here) → 75, 25;
    outlets 1 : 3 → 25, 75."""
    plan = exact_plan(build(two_branches(policy={"name": "proportional", "sharing_key": key})))
    assert plan_year(plan) == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- the catch-up pace


def test_catch_up_pace_never_negative() -> None:
    """B1 passed its target (L 100, A 150): pace max(0, −50)/5 = 0, spare 100; B2 pace 60 (L 300),
    spare 40. Borrower floor 110: 50 extra by 100 : 40 → +35.71, +14.29. (A pace of −10 would give
    B1 a spare of 110: +27.5 → 27.5 and 82.5.)"""
    rows = [branch("B1", achieved_clients=150, long_term_target=100, last_year_target=None),
            branch("B2", long_term_target=300, last_year_target=None)]
    raw = raw_scenario(rows, rules={"borrower_count": {}})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=0.11)
    plan = exact_plan(build(raw))
    assert plan.branch_table()["pace"].tolist() == pytest.approx([0.0, 60.0])
    assert plan_year(plan) == pytest.approx({"B1": 50 * 100 / 140, "B2": 60 + 50 * 40 / 140}, abs=1e-6)


# ---------------------------------------------------------------- risk: 两增两控's NPL tolerance


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("npl, margin, capped", [(0.04, 0.0, False), (0.045, 0.0, True), (0.04, 0.005, True)])
def test_npl_tolerance_of_two_increase_two_control(engine: str, npl: float, margin: float, capped: bool) -> None:
    """两增两控: tolerance = bank NPL 1.2 % + 3 pp = 4.2 % (risk.npl_tolerance 3 % is not used);
    a margin on asset_quality tightens it: 4.2 − 0.5 = 3.7 %. A capped B1 (book 10,000, capped growth
    5 %) gets at most 500 万元 against mid 20 × 50 = 1,000; uncapped it keeps mid 1,000."""
    rows = [branch("B1", npl_ratio=npl, long_term_target=250), branch("B2")]
    raw = raw_scenario(rows, preset="two_increase_two_control", rules={"asset_quality": {"margin": margin}},
                       regulation={"preset": "two_increase_two_control", "npl_tolerance_pp": 0.03},
                       risk={"capped_growth": 0.05, "npl_tolerance": 0.03})
    raw["bank"].update(npl_ratio=0.012, micro_clients_prev=0, all_loan_increment_plan=0.0)
    plan = exact_plan(build(raw), engine=engine)
    assert plan.diagnostics.risk_capped == (["B1"] if capped else [])
    assert plan_year(plan, "target_loan_increment")["B1"] == pytest.approx(500.0 if capped else 1000.0, abs=1e-4)


def test_risk_cap_holds_in_every_year() -> None:
    """Risk-capped B1 (NPL 5 % > 3 %), book 1,000, capped growth 5 %: y_t ≤ 5 % of (1,000 + earlier y):
    50, 52.5, 55.125, 57.88, 60.78 (its band 10–30 × 50 clients is far above; clients are free)."""
    rows = [branch("B1", npl_ratio=0.05, micro_loans=1000.0, long_term_target=250, loan_size_min=0.0), branch("B2")]
    plan = exact_plan(build(raw_scenario(rows, risk={"capped_growth": 0.05})))
    assert wide(plan, "target_loan_increment").loc["B1"].to_numpy() == pytest.approx(1000 * 0.05 * 1.05 ** np.arange(5), abs=1e-4)


@pytest.mark.parametrize("engine", ENGINES)
def test_risk_cap_limits_the_clients_of_a_capped_branch(engine: str) -> None:
    """B1 risk-capped (NPL 5 %), book 1,000, capped growth 5 % → y ≤ 50; loan size exactly 10 → its band
    asks y = 10·x, so x ≤ 5 although its pace is 50 (L 250): 5 clients and 50 万元; B2 keeps its pace 50
    and mid loans 20 × 50 = 1,000. (Without the cap in the client stage B1 would get 50 clients and a
    loan below its band.)"""
    rows = [branch("B1", npl_ratio=0.05, micro_loans=1000.0, loan_size_min=10.0, loan_size_max=10.0, last_year_target=None),
            branch("B2", last_year_target=None)]
    plan = exact_plan(build(raw_scenario(rows, risk={"capped_growth": 0.05})), engine=engine)
    assert plan_year(plan) == pytest.approx({"B1": 5.0, "B2": 50.0}, abs=1e-6)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 50.0, "B2": 1000.0}, abs=1e-4)


# ---------------------------------------------------------------- the existing-book band


@pytest.mark.parametrize("engine", ENGINES)
def test_book_band_shifts_the_loan_band(engine: str) -> None:
    """Book 10,000, book change 0 to +10 % → e in [0, 1,000], mid 500; 50 clients × mid size 20 = 1,000:
    y = 1,500 (without the book change: 1,000). With a floor of 3,400 over two such branches the band's
    top 30 × 50 + 1,000 = 2,500 each bounds the extra: λ = 200 / 1,000 → 1,700 each."""
    rows = [branch("B1", long_term_target=250), branch("B2", long_term_target=250)]
    raw = raw_scenario(rows, risk={"book_change_min": 0.0, "book_change_max": 0.1})
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 1500.0, "B2": 1500.0}, abs=1e-4)
    raw["targets"] = {"micro_loan_increment": 3400.0}
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 1700.0, "B2": 1700.0}, abs=1e-4)


@pytest.mark.parametrize("engine", ENGINES)
def test_book_band_can_shrink_the_existing_book(engine: str) -> None:
    """Book change −10 % to 0 of 10,000 → e in [−1,000, 0], mid −500: 50 clients × 20 − 500 = 500 each
    (the existing book runs down while new clients borrow)."""
    rows = [branch("B1", long_term_target=250), branch("B2", long_term_target=250)]
    plan = exact_plan(build(raw_scenario(rows, risk={"book_change_min": -0.1, "book_change_max": 0.0})), engine=engine)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 500.0, "B2": 500.0}, abs=1e-4)


# ---------------------------------------------------------------- the plan year comes first


@pytest.mark.parametrize("engine", ENGINES)
def test_plan_year_is_not_made_worse_to_ease_a_rolling_year(engine: str) -> None:
    """Issue 8's twins: pace = capacity = 100, mid loans 20 × 100 = 2,000 each, increment floor 3,500
    (last year's increment). The plan year alone asks nothing above mid → 2,000 each. Lowering them
    to 1,750 would lower next year's increment floor (Y_2015 ≥ Y_2014) and the growing-balance
    floors, but the plan year is never traded for a rolling year."""
    rows = [branch("B1", long_term_target=500, last_year_target=None), branch("B2", long_term_target=500, last_year_target=None)]
    raw = raw_scenario(rows, preset="two_not_lower")
    raw["bank"].update(micro_loan_increment_prev=3500.0, all_loan_increment_plan=0.0, all_loan_growth_later=0.5)
    plan = exact_plan(build(raw), engine=engine)
    assert plan_year(plan, "target_loan_increment") == pytest.approx({"B1": 2000.0, "B2": 2000.0}, abs=1e-4)
    assert plan.violations == []


# ---------------------------------------------------------------- engine defects found by these cases


@pytest.mark.parametrize("engine", ENGINES)
def test_risk_cap_below_the_band_still_gives_a_plan(engine: str) -> None:
    """B1 risk-capped (NPL 5 %), book 0 → cap 5 % × 0 = 0; last year's target 100 with max_change 0.1
    keeps x ≥ 90, so its band asks y ≥ 10 × 90 = 900 > 0. Two hard rules conflict; a valid scenario
    must still give a plan (README: exit 3 is a bug) that names the conflict. (Ended in SolveError
    until cac1e4a: the risk cap now comes before smoothing.)"""
    rows = [branch("B1", npl_ratio=0.05, micro_loans=0.0, last_year_target=100.0), branch("B2")]
    plan = exact_plan(build(raw_scenario(rows, capacity={"max_change": 0.1})), engine=engine)
    assert any("B1" in m for m in plan.diagnostics.messages)


def test_long_term_split_of_the_rest_uses_the_branches_without_a_target() -> None:
    """T 200, B1 given 100 → 100 left for B2 and B3, weights ½ outlets + ½ client managers among them:
    B2 (1 outlet, 30 managers), B3 (3 outlets, 10 managers) → ½·¼ + ½·¾ = ½ each → 50, 50.
    (Shares over all three — outlets /8, managers /50 → 0.3625 : 0.2875 → 55.8, 44.2 — was the
    engine's split before this case: the weights were not kept and the checker disagreed.)"""
    rows = [branch("B1", outlets=4, client_managers=10, long_term_target=100),
            branch("B2", outlets=1, client_managers=30, long_term_target=None),
            branch("B3", outlets=3, client_managers=10, long_term_target=None)]
    raw = raw_scenario(rows, cycle={"micro_client_target": 200, "weights": {"outlets": 0.5, "client_managers": 0.5}})
    plan = exact_plan(build(raw))
    assert plan.branch_table()["long_term_target"].tolist() == pytest.approx([100, 50, 50], abs=0.5)


def test_hand_cases_keep_every_rule() -> None:
    """The checker accepts the plan of the busiest case above (margin, buffer, keys)."""
    raw = two_branches(rules={"borrower_count": {"margin": 0.05}}, targets={"buffer": 0.2})
    raw["bank"]["micro_clients_prev"] = 300
    scenario = build(raw)
    plan = exact_plan(scenario)
    assert [b for b in check_plan(scenario, plan.targets) if b.blocking] == []


def order_bank(order: list[str]) -> dict:
    """Found by P3 (shuffled tables): 两增两控, C0 800 × 5 % = 40 new clients a year, growth floors the
    branches cannot reach; B1 capacity 10 (size 0–10), B2 capacity 30 (size 0–30, risk-capped with
    capped growth 0), B3 capacity 10 (size 0); no outlets, long-term split evenly (T 75), max_change 0.05."""
    common = dict(outlets=0, micro_loans=0.0, long_term_target=None, last_year_target=None, last_year_actual=None,
                  loan_size_min=0.0, npl_ratio=0.0)
    rows = {"B1": branch("B1", **common | {"client_managers": 1, "micro_client_managers": 1, "loan_size_max": 10.0}),
            "B2": branch("B2", **common | {"client_managers": 3, "micro_client_managers": 3, "loan_size_max": 30.0,
                                           "npl_ratio": 0.01}),
            "B3": branch("B3", **common | {"client_managers": 1, "micro_client_managers": 1, "loan_size_max": 0.0})}
    return raw_scenario([rows[b] for b in order], preset="two_increase_two_control",
                        regulation={"preset": "two_increase_two_control", "npl_tolerance_pp": 0.0},
                        bank={"all_loans_prev": 10_000.0, "all_loan_increment_plan": 1500.0, "micro_loans_prev": 1000.0,
                              "micro_loan_increment_prev": 0.0, "micro_clients_prev": 800, "micro_client_attrition": 0.05,
                              "npl_ratio": 0.005},
                        risk={"capped_growth": 0.0, "npl_tolerance": 0.015}, capacity={"max_change": 0.05},
                        cycle={"horizon_years": 3, "micro_client_target": 75})


def rolling_client_load(plan) -> float:
    return sum(v for k, v in plan.report.objectives.items() if k.endswith("client_load") and not k.startswith("plan_year"))


def test_rolling_stage_optimum_does_not_depend_on_the_branch_order() -> None:
    """The same LP up to a permutation of its branches has one optimum: the rolling years' client_load
    stage must reach the same value in table order and reordered, on either engine. B1's clients are
    pushed to its capacity 10 by the loan floors (it is the only branch whose loans count), which sets
    θ*; before `client_fill` the rest of the borrower floor split between B2 and B3 by branch order
    (2015: 23.33/6.67 in table order, 23.67/6.33 reordered — the L1 deviation is the same), and the
    2016 window then differed (client_load 1.8476 against 1.7126). Now B1's row is settled at θ*
    and B2/B3 water-fill by their keys (2014: x − ref = 9.385 and 1.948 for keys 2.12 and 0.44, both
    4.427·key): one split in every order, on both engines."""
    values = [rolling_client_load(exact_plan(build(order_bank(order)), engine=engine))
              for order in (["B1", "B2", "B3"], ["B2", "B3", "B1"]) for engine in ENGINES]
    assert values == pytest.approx([values[-1]] * 4, rel=1e-6)


def test_twins_equal_when_a_loan_floor_pushes_clients_up() -> None:
    """Found by P3. 三个不低于, cycle 2014–2016 (T 45): B0 and its twin TWIN (L 0, capacity 10, no loans),
    B1 (capacity 10, no loans), B2 (capacity 10, loans 5 per client). Growth floor 4 % × 1,000 = 40 万元
    each year needs B2 at ≥ 8 clients; the borrower floor (5 % of 480 = 24, then of the grown book)
    needs the rest from B0, TWIN and B1. B0 and TWIN are the same branch: they must get the same
    targets in every year (2015 and 2016 differed, 3.23 against 4.10, before `client_fill` settled
    B2's load and water-filled the rest)."""
    common = dict(outlets=0, client_managers=1, micro_client_managers=1, micro_loans=0.0, long_term_target=None,
                  last_year_target=None, last_year_actual=None, loan_size_min=0.0, loan_size_max=0.0, npl_ratio=0.0)
    rows = [branch("B0", **common | {"long_term_target": 0}), branch("B1", **common),
            branch("B2", **common | {"loan_size_min": 5.0, "loan_size_max": 5.0}),
            branch("B3", **common | {"client_managers": 0, "micro_client_managers": 0}),
            branch("TWIN", **common | {"long_term_target": 0})]
    raw = raw_scenario(rows, preset="three_not_lower", regulation={"preset": "three_not_lower", "npl_tolerance_pp": 0.0},
                       bank={"all_loans_prev": 10_000.0, "all_loan_increment_plan": 400.0, "micro_loans_prev": 1000.0,
                             "micro_loan_increment_prev": 0.0, "micro_clients_prev": 480, "micro_client_attrition": 0.05,
                             "npl_ratio": 0.005},
                       risk={"capped_growth": 0.0, "npl_tolerance": 0.015}, capacity={"max_change": 0.05},
                       cycle={"horizon_years": 3, "micro_client_target": 45})
    for engine in ENGINES:
        table = wide(exact_plan(build(raw), engine=engine))
        assert table.loc["TWIN"].to_numpy() == pytest.approx(table.loc["B0"].to_numpy(), abs=1e-6), engine


def test_rounding_keeps_a_risk_capped_branch_inside_its_band() -> None:
    """B1 risk-capped (NPL 5 %): book 1,000, capped growth 5 % → y ≤ 50; loan size exactly 20 → clients
    ≤ 50 / 20 = 2.5 (the LP's value, its pace 5 being higher). Whole clients: 2 (band 40–40 ≤ 50),
    never 3 (band 60 > 50). Every year, the checker finds no hard breach in the default plan. (Rounded
    to 3 until cac1e4a.)"""
    rows = [branch("B1", micro_client_managers=1, client_managers=1, micro_loans=1000.0, long_term_target=15,
                   last_year_target=None, loan_size_min=20.0, loan_size_max=20.0, npl_ratio=0.05)]
    raw = raw_scenario(rows, cycle={"horizon_years": 3}, risk={"capped_growth": 0.05})
    scenario = build(raw)
    plan = make_plan(scenario)
    assert wide(plan).loc["B1", 2014] == 2.0
    assert [b for b in check_plan(scenario, plan.targets) if b.severity == "hard"] == []


# ---------------------------------------------------------------- tiers are strict


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unmeetable_regulatory_floor_does_not_loosen_a_department_target(engine: str) -> None:
    """Tiers are stages of their own, so slack kept on one tier's optimum cannot buy another's shortfall.

    Four branches with 0/1/3/1 micro managers (capacity 0/10/30/10), no loan room at all (sizes 0,
    book band 0), so loans are 0 whatever the clients. 两个不低于: the increment floor asks ≥ last
    year's 30 万元 → short 30, unmeetable. Cycle target 75 over 3 years (no achievements) → the
    department's schedule is 25 clients in 2014, which the 50 of capacity meets: 0 short.
    Found by the P1/P2 property: with one weighted violation stage (1000 × 30 = 30,000), HiGHS
    retried a later stage with the bound loosened by 1e-6 relative (0.03), and the schedule fell
    0.003 clients short — a department violation the plan reported and nobody could explain.
    """
    rows = [branch(f"B{i}", outlets=o, client_managers=m, micro_client_managers=m, micro_loans=0.0, achieved_clients=0,
                   long_term_target=None, last_year_target=None, last_year_actual=None,
                   loan_size_min=0.0, loan_size_max=0.0, npl_ratio=0.0)
            for i, (o, m) in enumerate([(0, 0), (0, 1), (1, 3), (0, 1)])]
    rules = {"growth_rate": {"margin": 0.0}, "increment": {"margin": 0.0}}
    raw = raw_scenario(rows, preset="two_not_lower", rules=rules, plan_year=2014,
                       regulation={"preset": "two_not_lower", "rules": rules, "npl_tolerance_pp": 0.0},
                       cycle={"start_year": 2014, "horizon_years": 3, "micro_client_target": 75},
                       capacity={"new_clients_per_micro_client_manager": 10, "max_change": 0.05},
                       risk={"book_change_min": 0.0, "book_change_max": 0.0, "capped_growth": 0.0, "npl_tolerance": 0.015},
                       targets={"buffer": 0.0, "micro_client_increment": 0},
                       policy={"name": "proportional", "sharing_key": "outlets", "ratchet_growth": 0.1})
    raw["bank"].update(all_loans_prev=10_000.0, all_loan_increment_plan=0.0, micro_loans_prev=1_000.0,
                       micro_loan_increment_prev=30.0, micro_clients_prev=0, micro_client_attrition=0.05)
    plan = exact_plan(build(raw), engine=engine)
    assert [(v["rule"], v["year"]) for v in plan.violations] == [("increment", 2014)]
    assert plan.violations[0]["shortfall"] == pytest.approx(30.0)
    assert sum(plan_year(plan).values()) == pytest.approx(25.0, abs=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_progressive_filling_survives_a_tight_round(engine: str) -> None:
    """Found by the ratchet property (random banks): 两个不低于, ratchet policy (last actuals unknown but
    B1's 0, so keys are 0 but for nothing — every branch is keyed by its reference), five branches of
    which B1 (capacity 10, size 0–30) and B4 (capacity 10, size 0–10) can carry loans. The increment
    floor (≥ 60 万元) pushes both to lend; `client_fill`'s second round was declared infeasible by
    HiGHS against the tight earlier bounds, and the plan exited 3. It must plan (retrying with the
    stage bounds loosened, as every stage does) with no hard breach."""
    common = dict(outlets=0, micro_clients=100, micro_loans=0.0, achieved_clients=0, long_term_target=None,
                  last_year_target=None, last_year_actual=None, loan_size_min=0.0, loan_size_max=0.0, npl_ratio=0.0)
    rows = [branch("B0", **common | {"client_managers": 0, "micro_client_managers": 0}),
            branch("B1", **common | {"client_managers": 1, "micro_client_managers": 1, "last_year_actual": 0.0, "loan_size_max": 30.0}),
            branch("B2", **common | {"client_managers": 1, "micro_client_managers": 1}),
            branch("B3", **common | {"client_managers": 0, "micro_client_managers": 0}),
            branch("B4", **common | {"client_managers": 1, "micro_client_managers": 1, "loan_size_max": 10.0})]
    rules = {"growth_rate": {"margin": 0.0}, "increment": {"margin": 0.0}}
    raw = raw_scenario(rows, preset="two_not_lower", rules=rules, plan_year=2014,
                       regulation={"preset": "two_not_lower", "rules": rules, "npl_tolerance_pp": 0.0},
                       cycle={"start_year": 2014, "horizon_years": 3, "micro_client_target": 45},
                       capacity={"new_clients_per_micro_client_manager": 10, "max_change": 0.05},
                       risk={"book_change_min": 0.0, "book_change_max": 0.0, "capped_growth": 0.0, "npl_tolerance": 0.015},
                       targets={"buffer": 0.0, "micro_client_increment": 0, "micro_loan_increment": 0.0},
                       policy={"name": "ratchet", "sharing_key": "spare_capacity", "ratchet_growth": 0.1})
    raw["bank"].update(all_loans_prev=10_000.0, all_loan_increment_plan=0.0, micro_loans_prev=1_000.0,
                       micro_loan_increment_prev=60.0, micro_clients_prev=0, micro_client_attrition=0.05)
    scenario = build(raw)
    plan = exact_plan(scenario, engine=engine)
    assert [b for b in check_plan(scenario, plan.targets, plan.inputs.policy) if b.severity == "hard"] == []
    assert plan.violations == []
