"""The plan checker (`optimize/check.py`) and `microplan check`.

Three kinds of test: hand-worked cases for each rule (the numbers worked out in the docstring);
every plan the engine makes on the bundled and generated banks, read back from its JSON and its
workbook, must pass — except what the engine itself reports, which the checker must name exactly;
and workbooks a planner edited with openpyxl, whose breaches are worked out by hand.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from builders import branch, build, raw_scenario, scenarios_raw
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from api.plan_files import PlanFileError, read_plan
from api.reports import plan_xlsx
from optimize import check
from optimize.check import Breach, Resolution, check_plan
from optimize.plan import Plan, make_plan
from scenarios import Scenario, load_scenario
from scenarios.generate import synthetic_bank
from scenarios.loading import scenario_from_dict, scenario_to_dict

BUNDLED = ("city-2014", "city-2016", "city-2019")
POLICIES = ("catch_up", "ratchet", "proportional")
#: The rule the engine enforces since issue 8 (db89254); before, catch_up plans broke it.
NEW_SMOOTHING_RULE = "smoothing_from_last_year"


def in_yi_yuan(scenario: Scenario) -> dict:
    """The scenario as a raw mapping written in 亿元 (the same bank, every money field ÷ 10,000)."""
    relabelled = Scenario.model_validate({**scenario.model_dump(), "units": {"money": "亿元"}})
    return scenario_to_dict(relabelled)


def targets_frame(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["branch", "year", "target_clients", "target_loan_increment"])


def found(breaches: list[Breach]) -> set[tuple]:
    """(rule, year, branch, side, amount rounded to 4 decimals) of each breach."""
    return {(b.rule, b.year, b.branch, b.side, round(b.amount, 4)) for b in breaches}


# ---------------------------------------------------------------- a one-year bank worked by hand


def one_year_raw(**changes: object) -> dict:
    """Plan year 2014 = the last year of the 2010–2014 cycle, so the plan has one year only.

    B1 and B2: capacity 10 managers × 10 = 100; loan size 10–30 (mid 20); book band 0.
    B1: L 160, A 100 → pace 60; B2: L 100, A 40 → pace 60. Borrower floor 0.1 × 1,000 = 100 ≤ 120;
    growth floor 0.05 × M0 20,000 = 1,000 ≤ 2 × 60 × 20. The engine's plan: x = 60, 60 at pace and
    y = 1,200, 1,200 at mid size. Last year's targets 50, max_change 1.0 → band [0, 150].
    """
    rows = [branch("B1", achieved_clients=100, long_term_target=160),
            branch("B2", achieved_clients=40, long_term_target=100)]
    raw = raw_scenario(rows, rules={"borrower_count": {}, "growth_rate": {}}, cycle={"start_year": 2010})
    raw["bank"].update(micro_client_attrition=0.1, all_loan_increment_plan=50_000.0, micro_clients_prev=1000)
    for key, value in changes.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


def one_year_targets(x: tuple[float, float] = (60, 60), y: tuple[float, float] = (1200, 1200)) -> pd.DataFrame:
    return targets_frame([("B1", 2014, x[0], y[0]), ("B2", 2014, x[1], y[1])])


def test_the_one_year_plan_keeps_every_rule() -> None:
    """The engine's plan of `one_year_raw` (worked out in its docstring) breaks nothing."""
    scenario = build(one_year_raw())
    assert check_plan(scenario, one_year_targets()) == []
    engine = make_plan(scenario).targets
    assert engine["target_clients"].tolist() == pytest.approx([60, 60], abs=1e-6)
    assert engine["target_loan_increment"].tolist() == pytest.approx([1200, 1200], abs=1e-4)


# ---------------------------------------------------------------- regulatory floors


def test_growth_rate_floor_grows_with_the_planned_balance() -> None:
    """M0 1,000, g = 10 %, 20 %, k 1.05, Y = 120, 50: 1.05·0.1·1,000 = 105; 1.05·0.2·(1,000 + 120) = 235.2."""
    required = check.growth_rate_floor(np.array([120.0, 50.0]), 1000.0, np.array([0.1, 0.2]), 1.05)
    assert required.tolist() == pytest.approx([105.0, 235.2])


def test_increment_floor_follows_last_years_increment() -> None:
    """ΔM_prev 100, k 1.1, Y = 120, 50, 80: 110, then 1.1·120 = 132, then 1.1·50 = 55."""
    assert check.increment_floor(np.array([120.0, 50.0, 80.0]), 100.0, 1.1).tolist() == pytest.approx([110.0, 132.0, 55.0])


def test_borrower_count_floor_carries_the_borrowers_forward() -> None:
    """C 1,000, a 0.1, k 1.02 → need 0.12 per borrower: 0.12·1,000 = 120; C = 0.9·1,000 + 150 = 1,050 → 126."""
    required = check.borrower_count_floor(np.array([150.0, 100.0]), 1000, 0.1, 1.02)
    assert required.tolist() == pytest.approx([120.0, 126.0])


def test_all_loan_growth_later_applies_after_the_plan_year() -> None:
    """ΔL/L0 = 50,000/1,000,000 = 5 % in the plan year; 8 % later when set, 5 % when not."""
    raw = raw_scenario([branch("B1")])
    raw["bank"]["all_loan_increment_plan"] = 50_000.0
    assert check.all_loan_growth(build(raw), 3).tolist() == pytest.approx([0.05, 0.05, 0.05])
    raw["bank"]["all_loan_growth_later"] = 0.08
    assert check.all_loan_growth(build(raw), 3).tolist() == pytest.approx([0.05, 0.08, 0.08])


def test_rules_in_force_are_the_presets_with_the_overrides() -> None:
    """three_not_lower + increment on (margin 10 %) − approval_rate off; custom: only the listed ones."""
    raw = raw_scenario([branch("B1")], preset="three_not_lower",
                       rules={"increment": {"margin": 0.1}, "approval_rate": {"enabled": False}})
    assert check.rules_in_force(build(raw)) == {"growth_rate": 0.0, "borrower_count": 0.0, "increment": 0.1}
    assert check.rules_in_force(build(raw_scenario([branch("B1")], preset="two_not_lower"))) == {"growth_rate": 0.0, "increment": 0.0}
    assert check.rules_in_force(build(raw_scenario([branch("B1")], rules={"borrower_count": {}}))) == {"borrower_count": 0.0}


def test_borrower_count_margin_raises_the_floor() -> None:
    """Margin 5 %: X ≥ (a + k − 1)·C = (0.1 + 0.05)·1,000 = 150; the plan's 60 + 80 = 140 is 10 short."""
    scenario = build(one_year_raw(regulation={"preset": "custom", "rules": {"borrower_count": {"margin": 0.05}}}))
    assert found(check_plan(scenario, one_year_targets(x=(60, 80), y=(1200, 1600)))) == {
        ("borrower_count", 2014, None, "min", 10.0)}


def test_floors_of_later_years_use_the_plan_itself() -> None:
    """Cycle 2014–2015, increment rule alone, ΔM_prev 0: 2014 needs ≥ 0, 2015 needs Y_2015 ≥ Y_2014.

    One branch, x 50 and y 1,000 in 2014, x 50 and y 900 in 2015 (band 500–1,500): 2015 is 100 short.
    """
    raw = raw_scenario([branch("B1")], rules={"increment": {}}, cycle={"horizon_years": 3, "start_year": 2013})
    scenario = build(raw)
    plan = targets_frame([("B1", 2014, 50, 1000.0), ("B1", 2015, 50, 900.0)])
    breaches = check_plan(scenario, plan, policy="ratchet")
    assert found(breaches) == {("increment", 2015, None, "min", 100.0)}
    assert breaches[0].indicative and not breaches[0].blocking  # a rolling year's floor: a warning


# ---------------------------------------------------------------- department targets


def test_department_buffer_composes_multiplicatively() -> None:
    """Growth margin 10 %, buffer 20 %: regulatory 1.1 × 1,000 = 1,100; department 1.1 × 1.2 × 1,000 = 1,320.

    Y = 1,310 meets the regulator and misses the department by 10 (an additive 1 + 0.1 + 0.2 would
    give 1,300 and no breach).
    """
    scenario = build(one_year_raw(regulation={"preset": "custom", "rules": {"growth_rate": {"margin": 0.1}}},
                                  targets={"buffer": 0.2}))
    breaches = check_plan(scenario, one_year_targets(y=(710, 600)))
    assert found(breaches) == {("department_growth_rate", 2014, None, "min", 10.0)}
    assert breaches[0].severity == "department" and breaches[0].required == pytest.approx(1320.0)


def test_explicit_department_targets_bind_the_plan_year() -> None:
    """Department targets 130 clients and 2,500 万元; the plan's 120 and 2,400 miss both by 10 and 100."""
    scenario = build(one_year_raw(targets={"micro_client_increment": 130, "micro_loan_increment": 2500.0}))
    assert found(check_plan(scenario, one_year_targets())) == {
        ("department_target", 2014, None, "min", 10.0), ("department_target", 2014, None, "min", 100.0)}


# ---------------------------------------------------------------- hard rules of each branch


def test_capacity_bounds_each_branch() -> None:
    """Capacity 100: x = 101 is 1 over; x = −2 is 2 under zero."""
    plan = check.PlanArrays(("B1", "B2"), (2014,), np.array([[101.0], [-2.0]]), np.zeros((2, 1)))
    assert found(check.capacity_breaches(plan, np.array([100.0, 100.0]), Resolution())) == {
        ("capacity", 2014, "B1", "max", 1.0), ("capacity", 2014, "B2", "min", 2.0)}
    assert check.capacities(build(one_year_raw())).tolist() == [100.0, 100.0]


def test_smoothing_between_plan_years() -> None:
    """Capacity 100, max_change 0.3 → ±30 a year: 50 → 85 is 5 too fast up; 50 → 15 is 5 too fast down."""
    raw = raw_scenario([branch("B1"), branch("B2")], capacity={"max_change": 0.3},
                       cycle={"horizon_years": 3, "start_year": 2013})
    plan = targets_frame([("B1", 2014, 50, 1000.0), ("B1", 2015, 85, 1700.0),
                          ("B2", 2014, 50, 1000.0), ("B2", 2015, 15, 300.0)])
    breaches = check_plan(build(raw), plan, policy="ratchet")
    assert found(breaches) == {("smoothing", 2015, "B1", "max", 5.0), ("smoothing", 2015, "B2", "min", 5.0)}


def test_last_year_band_is_cut_to_capacity() -> None:
    """T 10, cap 100, c 0.1 → [0, 20]; T 250, c 0.5 → [200, 300] lies above cap 100, so [100, 300]."""
    lo, hi = check.last_year_band(np.array([10.0, 250.0]), np.array([100.0, 100.0]), 0.1)
    assert lo.tolist() == [0.0, 100.0] and hi.tolist() == [20.0, 260.0]
    lo, hi = check.last_year_band(np.array([250.0]), np.array([100.0]), 0.5)
    assert lo.tolist() == [100.0] and hi.tolist() == [300.0]


def test_smoothing_from_last_years_target() -> None:
    """New rule. max_change 0.1, cap 100, last targets 10 and 250: B1 10 → 100 is 80 above 10 + 10;
    B2 must sit at capacity (its band 240–260 lies above 100), so 90 is 10 short."""
    scenario = build(one_year_raw(capacity={"max_change": 0.1},
                                  branches=[branch("B1", achieved_clients=100, long_term_target=160, last_year_target=10),
                                            branch("B2", achieved_clients=40, long_term_target=100, last_year_target=250)]))
    breaches = check_plan(scenario, one_year_targets(x=(100, 90), y=(2000, 1800)), policy="ratchet")
    assert found(breaches) == {("smoothing_from_last_year", 2014, "B1", "max", 80.0),
                               ("smoothing_from_last_year", 2014, "B2", "min", 10.0)}


def test_loan_band_adds_the_existing_book() -> None:
    """Size 10–30, book 10,000 × ±5 % = ±500; x 50 → y in [500 − 500, 1,500 + 500] = [0, 2,000].

    y = 2,100 is 100 over; y = −10 is 10 under.
    """
    scenario = build(one_year_raw(risk={"book_change_min": -0.05, "book_change_max": 0.05}))
    assert found(check_plan(scenario, one_year_targets(x=(50, 50), y=(2100, -10)), policy="ratchet")) == {
        ("loan_band", 2014, "B1", "max", 100.0), ("loan_band", 2014, "B2", "min", 10.0)}


def test_risk_cap_limits_growth_of_a_risky_book() -> None:
    """B1 NPL 4 % > 3 %: y ≤ 5 % × (10,000 + earlier y); 600 is 100 over 500; then 5 % × 10,600 = 530 ≥ 400."""
    raw = raw_scenario([branch("B1", npl_ratio=0.04), branch("B2")], cycle={"horizon_years": 3, "start_year": 2013},
                       risk={"book_change_min": -1.0, "book_change_max": 1.0})
    plan = targets_frame([("B1", 2014, 30, 600.0), ("B1", 2015, 20, 400.0),
                          ("B2", 2014, 30, 600.0), ("B2", 2015, 20, 400.0)])
    assert found(check_plan(build(raw), plan, policy="ratchet")) == {("risk_cap", 2014, "B1", "max", 100.0)}


@pytest.mark.parametrize("margin, capped", [(0.0, False), (0.01, True)])
def test_npl_tolerance_of_two_increase_two_control(margin: float, capped: bool) -> None:
    """两增两控, bank NPL 1.6 % + 3 pp = 4.6 %: a branch at 4 % is not capped; a margin of 1 pp tightens
    the tolerance to 3.6 %, and it is (its y 1,200 then 700 over 5 % × 10,000)."""
    raw = one_year_raw(regulation={"preset": "two_increase_two_control"},
                       branches=[branch("B1", achieved_clients=100, long_term_target=160, npl_ratio=0.04),
                                 branch("B2", achieved_clients=40, long_term_target=100)])
    raw["bank"]["npl_ratio"] = 0.016
    if margin:
        raw["regulation"]["rules"] = {"asset_quality": {"margin": margin}}
    scenario = build(raw)
    assert check.npl_tolerance(scenario) == pytest.approx(0.046 - margin)
    risk = {b for b in found(check_plan(scenario, one_year_targets())) if b[0] == "risk_cap"}
    assert risk == ({("risk_cap", 2014, "B1", "max", 700.0)} if capped else set())


# ---------------------------------------------------------------- the long-term schedule


def test_water_fill_redistributes_above_capacity() -> None:
    """T 100 by shares ½, ¼, ¼ with caps 30, 100, 100 → 30, then 70 split ½:½ → 35, 35."""
    assert check.water_fill(100.0, np.array([0.5, 0.25, 0.25]), np.array([30.0, 100.0, 100.0])).tolist() == pytest.approx([30, 35, 35])


def test_whole_clients_by_largest_remainder() -> None:
    """2.5, 2.5, 1.0 (Σ 6) → 2, 2, 1 and one more to the largest remainder, a tie broken by id: B1 → 3, 2, 1.

    With B1's room 2 the extra client goes to B2: 2, 3, 1.
    """
    split, ids = np.array([2.5, 2.5, 1.0]), ["B1", "B2", "B3"]
    assert check.whole_clients(split, np.array([10.0, 10.0, 10.0]), ids).tolist() == [3, 2, 1]
    assert check.whole_clients(split, np.array([2.0, 10.0, 10.0]), ids).tolist() == [2, 3, 1]


def test_long_term_targets_split_the_rest_over_the_branches_without_one() -> None:
    """T 200, B1 given 100 → 100 left for B2 and B3, weighted ½ outlets + ½ client managers among them:
    B2 (1 outlet, 30 cms), B3 (3 outlets, 10 cms) → ½·¼ + ½·¾ = ½ each → 50, 50."""
    rows = [branch("B1", outlets=4, client_managers=10, long_term_target=100),
            branch("B2", outlets=1, client_managers=30, long_term_target=None),
            branch("B3", outlets=3, client_managers=10, long_term_target=None)]
    raw = raw_scenario(rows, cycle={"micro_client_target": 200, "weights": {"outlets": 0.5, "client_managers": 0.5}})
    assert check.long_term_targets(build(raw)).tolist() == pytest.approx([100, 50, 50])


def test_completion_is_a_warning() -> None:
    """B2: L 100, A 40, x 30 → 70, 30 short: a schedule warning, not a breach that rejects the plan.

    B1 takes 70 so that the borrower floor (100) holds."""
    breaches = check_plan(build(one_year_raw()), one_year_targets(x=(70, 30), y=(1400, 600)), policy="catch_up")
    assert found(breaches) == {("long_term_completion", 2014, "B2", "min", 30.0)}
    assert not any(b.blocking for b in breaches)


def test_cycle_schedule_of_the_proportional_policy() -> None:
    """Paces 60 + 60 = 120 a year; the plan's 60 + 50 = 110 is 10 short: a department floor in the plan year."""
    breaches = check_plan(build(one_year_raw()), one_year_targets(x=(60, 50), y=(1200, 1000)), policy="proportional")
    assert found(breaches) == {("cycle_schedule", 2014, None, "min", 10.0)}
    assert breaches[0].severity == "department" and breaches[0].blocking


# ---------------------------------------------------------------- tolerance of printed numbers


def test_rounding_tolerance_grows_with_the_branches_summed() -> None:
    """Floor 0.1 × 1,000 = 100 on three branches of 33.334 (100.002) printed as 33.33 (99.99).

    Printed to 0.01, each may be 0.005 off: 3 × 0.005 = 0.015 ≥ the 0.01 gap → accepted. Read as
    exact, the same numbers are 0.01 short; 0.05 short is short at either resolution.
    """
    rows = [branch(f"B{i}", micro_clients=0) for i in (1, 2, 3)]
    raw = raw_scenario(rows, rules={"borrower_count": {}})
    raw["bank"].update(micro_client_attrition=0.1, micro_clients_prev=1000)
    scenario = build(raw)
    years = range(2014, 2019)
    printed = targets_frame([(f"B{i}", t, 33.33, 666.6) for i in (1, 2, 3) for t in years])
    rules = {b.rule for b in check_plan(scenario, printed, "ratchet", Resolution(0.01, 0.01))}
    assert "borrower_count" not in rules
    assert ("borrower_count", 2014, None, "min", 0.01) in found(check_plan(scenario, printed, "ratchet"))
    short = printed.assign(target_clients=33.3)
    assert ("borrower_count", 2014, None, "min", 0.1) in found(check_plan(scenario, short, "ratchet", Resolution(0.01, 0.01)))


def test_shape_problems_name_the_branches_and_years() -> None:
    scenario = build(raw_scenario([branch("B1"), branch("B2")]))
    plan = targets_frame([("B1", 2014, 1, 1), ("BX", 2014, 1, 1), ("B1", 2015, 1, 1)])
    assert check.shape_problems(scenario, plan) == [
        "branches not in the scenario: BX", "scenario branches missing from the plan: B2",
        "years missing: 2016, 2017, 2018 (the plan must cover 2014–2018)"]
    with pytest.raises(ValueError, match="BX"):
        check_plan(scenario, plan)


# ---------------------------------------------------------------- every plan the engine makes


@functools.cache
def engine_plan(source: str, policy: str) -> tuple[Scenario, Plan]:
    scenario = load_scenario(source) if source in BUNDLED else scenario_from_dict(json.loads(source))
    return scenario, make_plan(scenario, policy)


def round_trip(plan: Plan, fmt: str, folder: Path, lang: str = "zh") -> Path:
    """The plan written as `microplan plan` writes it (--format json, or the workbook)."""
    path = folder / f"plan.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps(plan.to_json(), ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_bytes(plan_xlsx(plan, lang))
    return path


def engine_reports(plan: Plan) -> tuple[set[tuple], set[tuple]]:
    """(rule, year, branch) of what the engine reports: its violations (exit 1) and its warnings."""
    body = plan.to_json()

    def keys(items: list) -> set[tuple]:
        return {(v["rule"], int(v["year"]), v.get("branch")) for v in items if isinstance(v, dict) and "rule" in v and "year" in v}

    return keys(body.get("violations", [])), keys(body.get("warnings", []))


def assert_agrees(breaches: list[Breach], plan: Plan) -> None:
    """No hard breach; what rejects the plan = the engine's violations; the rest = its warnings."""
    assert [b for b in breaches if b.severity == "hard"] == []
    violations, warnings = engine_reports(plan)
    assert {(b.rule, b.year, b.branch) for b in breaches if b.blocking} == violations
    assert {(b.rule, b.year, b.branch) for b in breaches if not b.blocking} == warnings


def assert_checker_agrees(scenario: Scenario, plan: Plan, path: Path) -> None:
    """`assert_agrees` on the plan read back from `path`."""
    plan_file = read_plan(path, scenario.units.money)
    assert_agrees(check_plan(scenario, plan_file.targets, plan_file.policy, plan_file.resolution), plan)


@pytest.mark.parametrize("fmt", ["json", "xlsx"])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("bank", BUNDLED)
def test_checker_accepts_the_engines_plans_of_the_bundled_banks(bank: str, policy: str, fmt: str, tmp_path: Path) -> None:
    scenario, plan = engine_plan(bank, policy)
    assert_checker_agrees(scenario, plan, round_trip(plan, fmt, tmp_path))


#: (branches, seed, preset, patch): plain generated banks, and ones where a margin, the department
#: buffer, explicit department targets or a slow smoothing bind.
GENERATED = [
    (24, 1, "two_not_lower", {}),
    (30, 7, "three_not_lower", {}),
    (40, 11, "two_increase_two_control", {}),
    (20, 3, "three_not_lower", {"regulation": {"preset": "three_not_lower", "rules": {"borrower_count": {"margin": 0.5}}}}),
    (20, 4, "two_not_lower", {"regulation": {"preset": "two_not_lower", "rules": {"increment": {"margin": 0.1}}},
                              "targets": {"buffer": 0.2}}),
    (20, 5, "two_increase_two_control", {"targets": {"micro_client_increment": 3300}, "capacity": {"max_change": 0.1}}),
    (20, 6, "two_not_lower", {"bank": {"all_loan_growth_later": 0.3}, "capacity": {"max_change": 0.1}}),
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("n, seed, preset, patch", GENERATED)
def test_checker_accepts_the_engines_plans_of_generated_banks(n: int, seed: int, preset: str, patch: dict, policy: str,
                                                               tmp_path: Path) -> None:
    raw = synthetic_bank(n, seed, preset=preset, plan_year=2015)
    for key, value in patch.items():
        raw[key] = {**raw.get(key, {}), **value}
    scenario, plan = engine_plan(json.dumps(raw, ensure_ascii=False), policy)
    assert_checker_agrees(scenario, plan, round_trip(plan, "json" if seed % 2 else "xlsx", tmp_path))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=scenarios_raw(), policy=st.sampled_from(POLICIES))
def test_checker_agrees_with_the_engine_on_random_banks(raw: dict, policy: str) -> None:
    """Random small banks (tests/builders.py): the engine's own plan, unrounded, breaks no hard rule,
    what the checker rejects is the engine's violations and what it warns of the engine's warnings."""
    scenario = build(raw)
    plan = make_plan(scenario, policy)
    breaches = check_plan(scenario, plan.targets, policy)
    for rule in sorted({b.rule for b in breaches}) or ["none"]:
        event(f"breach: {rule}")
    target(float(len(breaches)), label="breaches found")
    assert_agrees(breaches, plan)


def test_checker_reads_a_plan_in_yi_yuan(tmp_path: Path) -> None:
    """city-2014 with money in 亿元: the JSON's loans are printed in 亿元, to 0.01 亿元 (100 万元) or finer."""
    raw = in_yi_yuan(load_scenario("city-2014"))
    scenario, plan = engine_plan(json.dumps(raw, ensure_ascii=False), "ratchet")
    plan_file = read_plan(round_trip(plan, "json", tmp_path), "亿元")
    assert plan_file.money_unit == "亿元" and plan_file.resolution.loans <= 100.0
    plan_year = plan_file.targets[plan_file.targets["year"] == 2014]
    assert plan_year["target_loan_increment"].sum() == pytest.approx(plan.totals()["target_loan_increment"], abs=36 * 50)
    assert_checker_agrees(scenario, plan, tmp_path / "plan.json")


@pytest.mark.parametrize("bank, policy", [(bank, policy) for bank in BUNDLED for policy in POLICIES])
def test_engine_plans_keep_smoothing_from_last_years_target(bank: str, policy: str) -> None:
    """The new rule alone: x[b, plan year] within max_change × capacity of last year's target.

    Before the engine enforced it, every bundled catch_up plan broke it (city-2016: B14 at 3
    new clients where last year's target 132 less 0.5 × capacity 90 asks at least 87)."""
    scenario, plan = engine_plan(bank, policy)
    assert [b for b in check_plan(scenario, plan.targets, policy) if b.rule == NEW_SMOOTHING_RULE] == []


# ---------------------------------------------------------------- workbooks a planner edited


def edited_workbook(tmp_path: Path, lang: str, edits: dict[tuple[str, str], float], raw: dict | None = None) -> Path:
    """The engine's workbook of `one_year_raw` with {(branch, field): value} written into the branch sheet."""
    scenario, plan = engine_plan(json.dumps(raw or one_year_raw()), "catch_up")
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan, lang)))
    ws = book.worksheets[0]
    header = [c.value for c in ws[1]]
    column = {"clients": next(i for i, h in enumerate(header) if h in ("新增小微户数目标", "Target new micro clients")),
              "loans": next(i for i, h in enumerate(header) if str(h).startswith(("小微贷款增量目标", "Target micro-loan increment")))}
    for row in ws.iter_rows(min_row=2):
        for (bid, field), value in edits.items():
            if row[0].value == bid:
                row[column[field]].value = value
    path = tmp_path / f"edited-{lang}.xlsx"
    book.save(path)
    return path


def check_file(path: Path, raw: dict | None = None) -> list[Breach]:
    scenario = build(raw or one_year_raw())
    plan_file = read_plan(path, scenario.units.money)
    return check_plan(scenario, plan_file.targets, plan_file.policy, plan_file.resolution)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_edited_branch_above_capacity(lang: str, tmp_path: Path) -> None:
    """B1 set to 130 clients and 2,600 万元 (130 × mid 20, inside the band 1,300–3,900): capacity 100, 30 over."""
    breaches = check_file(edited_workbook(tmp_path, lang, {("B1", "clients"): 130, ("B1", "loans"): 2600}))
    assert found(breaches) == {("capacity", 2014, "B1", "max", 30.0)}
    assert (breaches[0].required, breaches[0].planned, breaches[0].severity) == (100.0, 130.0, "hard")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_edited_bank_total_below_a_floor(lang: str, tmp_path: Path) -> None:
    """B2 set to 30 clients and 600 万元: X = 60 + 30 = 90 < 0.1 × 1,000 = 100 → borrower_count short by 10.

    B2's completion (L 100, A 40 + 30 = 70) is 30 short: a warning only.
    """
    breaches = check_file(edited_workbook(tmp_path, lang, {("B2", "clients"): 30, ("B2", "loans"): 600}))
    assert found(breaches) == {("borrower_count", 2014, None, "min", 10.0), ("long_term_completion", 2014, "B2", "min", 30.0)}
    floor = next(b for b in breaches if b.rule == "borrower_count")
    assert (floor.required, floor.planned, floor.severity) == (pytest.approx(100.0), 90.0, "regulatory")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_edited_loan_below_the_band(lang: str, tmp_path: Path) -> None:
    """B1's loans set to 500: the band's low end is 10 × 60 clients + 0 = 600, 100 below."""
    breaches = check_file(edited_workbook(tmp_path, lang, {("B1", "loans"): 500}))
    assert found(breaches) == {("loan_band", 2014, "B1", "min", 100.0)}


def test_edited_workbook_in_yi_yuan_converts_money(tmp_path: Path) -> None:
    """Money in 亿元: B1's loans typed as 0.05 亿元 = 500 万元 → the band (600 万元) is 100 万元 short."""
    raw = in_yi_yuan(build(one_year_raw()))
    breaches = check_file(edited_workbook(tmp_path, "zh", {("B1", "loans"): 0.05}, raw), raw)
    assert found(breaches) == {("loan_band", 2014, "B1", "min", 100.0)}


def test_workbook_with_a_title_block_totals_row_and_text_numbers(tmp_path: Path) -> None:
    """Rows above the header, a 合计 row, reordered columns and '1,30' style text are all read."""
    path = edited_workbook(tmp_path, "zh", {("B1", "clients"): "130", ("B1", "loans"): "2,600"})
    book = openpyxl.load_workbook(path)
    for ws in book.worksheets[:2]:
        ws.insert_rows(1, 2)
        ws["A1"] = "城商行 2014 年度小微计划"
        ws.append(["合计", None, 9999, 9999])
        ws.move_range("A3:B99", cols=ws.max_column + 1)  # the id column moves to the right
    book.save(path)
    assert found(check_file(path)) == {("capacity", 2014, "B1", "max", 30.0)}


def test_branch_sheet_wins_over_a_stale_rolling_sheet(tmp_path: Path) -> None:
    """city-2014, ratchet (every rule holds): B01 edited to 145 in the branch sheet only → capacity 135, 10 over;
    the rolling sheet's 2014 row still says the engine's value, which is reported as a note."""
    scenario, plan = engine_plan("city-2014", "ratchet")
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan, "en")))
    ws = book["Branch targets"]
    col = [c.value for c in ws[1]].index("Target new micro clients") + 1
    ws.cell(row=2, column=col).value = 145
    path = tmp_path / "plan.xlsx"
    book.save(path)
    plan_file = read_plan(path, scenario.units.money)
    breaches = check_plan(scenario, plan_file.targets, plan_file.policy, plan_file.resolution)
    assert found(breaches) == {("capacity", 2014, "B01", "max", 10.0)}
    assert len(plan_file.notes) == 1 and "B01 2014 target_clients" in plan_file.notes[0]


def test_a_lone_branch_sheet_is_the_scenarios_plan_year(tmp_path: Path) -> None:
    """Only the branch sheet left (rolling plan and diagnostics deleted): read as the scenario's plan year."""
    path = edited_workbook(tmp_path, "en", {("B1", "clients"): 130, ("B1", "loans"): 2600})
    book = openpyxl.load_workbook(path)
    for name in book.sheetnames[1:]:
        del book[name]
    book.save(path)
    scenario = build(one_year_raw())
    plan_file = read_plan(path, scenario.units.money, scenario.plan_year)
    assert found(check_plan(scenario, plan_file.targets, None, plan_file.resolution)) == {("capacity", 2014, "B1", "max", 30.0)}
    with pytest.raises(PlanFileError, match="cannot tell the plan year"):
        read_plan(path, scenario.units.money)


def test_unreadable_cells_are_named(tmp_path: Path) -> None:
    path = edited_workbook(tmp_path, "zh", {("B1", "clients"): "abc"})
    with pytest.raises(PlanFileError) as exc:
        read_plan(path, "万元")
    assert [str(p) for p in exc.value.problems] == [f"{path}: 分行目标!H2: B1 2014 target_clients is not a number (got 'abc')"]


# ---------------------------------------------------------------- the command


def write_raw(raw: dict, folder: Path) -> Path:
    path = folder / "bank.json"
    path.write_text(json.dumps(raw, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_exit_0_when_every_rule_holds(cli, tmp_path: Path) -> None:
    scenario_path = write_raw(one_year_raw(), tmp_path)
    assert cli("plan", scenario_path, "--format", "json", "--out", tmp_path / "plan.json").code == 0
    result = cli("check", scenario_path, tmp_path / "plan.json", "--lang", "en")
    assert result.code == 0, result.err
    assert result.out.startswith("every rule holds") and result.out.count("\n") == 1


def test_cli_exit_1_names_rule_year_branch_and_amount(cli, tmp_path: Path) -> None:
    path = edited_workbook(tmp_path, "zh", {("B1", "clients"): 130, ("B1", "loans"): 2600})
    scenario_path = write_raw(one_year_raw(), tmp_path)
    table = cli("check", scenario_path, path, "--lang", "en")
    assert table.code == 1
    assert "capacity" in table.out and "B1" in table.out and "30.00" in table.out and "2014" in table.out
    body = json.loads(cli("check", scenario_path, path, "--format", "json").out)
    assert body["ok"] is False
    assert [(b["rule"], b["year"], b["branch"], b["amount"], b["unit"]) for b in body["breaches"]] == [
        ("capacity", 2014, "B1", 30.0, "户")]


def test_cli_reports_money_in_the_scenarios_unit(cli, tmp_path: Path) -> None:
    """The loan band 100 万元 short is 0.01 亿元 in a 亿元 scenario."""
    raw = in_yi_yuan(build(one_year_raw()))
    path = edited_workbook(tmp_path, "zh", {("B1", "loans"): 0.05}, raw)
    result = cli("check", write_raw(raw, tmp_path), path, "--format", "json")
    assert result.code == 1
    [breach] = json.loads(result.out)["breaches"]
    assert (breach["rule"], breach["unit"]) == ("loan_band", "亿元")
    assert breach["amount"] == pytest.approx(0.01) and breach["required"] == pytest.approx(0.06)


def test_cli_agrees_with_plan_on_rolling_year_shortfalls(cli, tmp_path: Path) -> None:
    """All-loan growth of 30 % after the plan year: the rolling years' growth floors cannot be met.

    `microplan plan` reports them as warnings and exits 0; `microplan check` lists the same floors
    as warnings (rolling years are indicative) and exits 0 too.
    """
    raw = synthetic_bank(20, 6, plan_year=2015)
    raw["bank"]["all_loan_growth_later"] = 0.3
    scenario_path = write_raw(raw, tmp_path)
    planned = cli("plan", scenario_path, "--format", "json", "--out", tmp_path / "plan.json")
    body = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    rolling = {(w["rule"], w["year"]) for w in body.get("warnings", []) if w.get("tier") == "regulatory"}
    assert rolling == {("growth_rate", 2016), ("growth_rate", 2017)}
    checked = cli("check", scenario_path, tmp_path / "plan.json", "--format", "json")
    assert (planned.code, checked.code) == (0, 0)
    report = json.loads(checked.out)
    assert report["breaches"] == []
    assert {(w["rule"], w["year"]) for w in report["warnings"] if w["indicative"]} == rolling


def test_cli_exit_2_for_a_file_that_is_no_workbook(cli, tmp_path: Path) -> None:
    path = tmp_path / "plan.xlsx"
    path.write_bytes(b"not a workbook")
    result = cli("check", write_raw(one_year_raw(), tmp_path), path)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines() == [f"{path}: not a readable .xlsx table: not a zip archive"]


def test_cli_exit_2_names_mismatched_branches_and_missing_years(cli, tmp_path: Path) -> None:
    scenario, plan = engine_plan("city-2014", "ratchet")
    body = plan.to_json()
    body["branches"][0]["id"] = "B99"
    for item in body["branches"]:
        item["rolling"] = [r for r in item["rolling"] if r["year"] != 2016]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    result = cli("check", "city-2014", path)
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.splitlines() == [
        f"{path}: branches not in the scenario: B99",
        f"{path}: scenario branches missing from the plan: B01",
        f"{path}: years missing: 2016 (the plan must cover 2014–2017)",
    ]


def test_cli_exit_2_one_line_per_bad_json_field(cli, tmp_path: Path) -> None:
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"plan_year": 2014, "branches": [{"id": "B1", "target_clients": "x", "target_loan_increment": 1}]}))
    result = cli("check", write_raw(one_year_raw(), tmp_path), path)
    assert result.code == 2
    assert result.err.splitlines() == [f"{path}: branches.0.target_clients: required: a number (got 'x')"]
    missing = cli("check", write_raw(one_year_raw(), tmp_path), tmp_path / "nowhere.json")
    assert (missing.code, missing.err.strip()) == (2, f"{tmp_path / 'nowhere.json'}: file not found")
    path.write_text('{"plan_year": 2014, "branches": [{"id": "B1", "target_clients": NaN, "target_loan_increment": 1}]}')
    nan = cli("check", write_raw(one_year_raw(), tmp_path), path)
    assert nan.code == 2 and len(nan.err.splitlines()) == 1 and "NaN is not a JSON number" in nan.err
