"""Properties P1–P7 of docs/model.md on random valid scenarios, checked on the returned table.

Floors, capacity and bands are recomputed here from the raw scenario with pandas, never with
the model code. Tolerances: `TOL` clients / 万元 of solver noise.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from builders import branch, build, raw_scenario, scenarios_raw
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from optimize.plan import make_plan

TOL = 1e-3
PROPERTY_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def plan_year_targets(raw: dict, policy: str | None = None) -> tuple[pd.DataFrame, dict]:
    plan = make_plan(build(raw), policy)
    return plan.targets, plan.to_json()


def independent_floors(raw: dict) -> dict[str, float]:
    """Plan-year floors from the raw scenario: growth, increment, borrower count."""
    bank = raw["bank"]
    preset = raw["regulation"]["preset"]
    floors = {}
    if preset in ("two_not_lower", "three_not_lower"):
        floors["growth_rate"] = bank["micro_loans_prev"] * bank["all_loan_increment_plan"] / bank["all_loans_prev"]
    if preset == "two_not_lower":
        floors["increment"] = bank["micro_loan_increment_prev"]
    if preset == "three_not_lower":
        floors["borrower_count"] = bank["micro_client_attrition"] * bank["micro_clients_prev"]
    return floors


@PROPERTY_SETTINGS
@given(raw=scenarios_raw())
def test_p1_floors_met_or_shortfall_reported_exactly(raw: dict) -> None:
    targets, body = plan_year_targets(raw)
    year = targets[targets["year"] == raw["plan_year"]]
    totals = {"clients": year["target_clients"].sum(), "loans": year["target_loan_increment"].sum()}
    reported = {v["rule"]: v["shortfall"] for v in body["violations"] if v["year"] == raw["plan_year"]}
    for rule, floor in independent_floors(raw).items():
        total = totals["clients" if rule == "borrower_count" else "loans"]
        if rule == "growth_rate" and raw["plan_year"] > 2014:
            continue  # later plan years of the cycle use the same closed form, checked in year 0 only
        if total >= floor - TOL:
            assert rule not in reported
        else:
            assert reported[rule] == pytest.approx(floor - total, abs=0.02)
    assert body["status"] == ("relaxed" if body["violations"] else "optimal")


@PROPERTY_SETTINGS
@given(raw=scenarios_raw())
def test_p2_capacity_bands_and_bounds(raw: dict) -> None:
    targets, _ = plan_year_targets(raw)
    rows = pd.DataFrame(raw["branches"]).set_index("id")
    ncpm = raw["capacity"]["new_clients_per_micro_client_manager"]
    t = targets.join(rows, on="branch")
    cap = ncpm * t["micro_client_managers"]
    assert (t["target_clients"] >= -TOL).all()
    assert (t["target_clients"] <= cap + TOL).all()
    book = t["micro_loans"]
    lo = t["loan_size_min"] * t["target_clients"] + raw["risk"]["book_change_min"] * book
    hi = t["loan_size_max"] * t["target_clients"] + raw["risk"]["book_change_max"] * book
    assert (t["target_loan_increment"] >= lo - TOL * (1 + lo.abs())).all()
    assert (t["target_loan_increment"] <= hi + TOL * (1 + hi.abs())).all()
    wide = t.pivot(index="branch", columns="year", values="target_clients")
    step = raw["capacity"]["max_change"] * ncpm * rows.loc[wide.index, "micro_client_managers"]
    assert (wide.diff(axis=1).abs().iloc[:, 1:].max(axis=1) <= step + TOL).all()


@PROPERTY_SETTINGS
@given(raw=scenarios_raw(), twin_of=st.integers(0, 5), seed=st.integers(0, 10_000))
def test_p3_identical_branches_identical_targets_order_irrelevant(raw: dict, twin_of: int, seed: int) -> None:
    rows = raw["branches"]
    twin = copy.deepcopy(rows[twin_of % len(rows)])
    original_id = twin["id"]
    twin["id"] = "TWIN"
    rows.append(twin)
    targets, _ = plan_year_targets(raw)
    year = targets[targets["year"] == raw["plan_year"]].set_index("branch")
    assert year.at["TWIN", "target_clients"] == pytest.approx(year.at[original_id, "target_clients"], abs=1e-3)
    shuffled = copy.deepcopy(raw)
    np.random.default_rng(seed).shuffle(shuffled["branches"])
    again, _ = plan_year_targets(shuffled)
    again_year = again[again["year"] == raw["plan_year"]].set_index("branch")
    assert again_year.loc[year.index, "target_clients"].to_numpy() == pytest.approx(year["target_clients"].to_numpy(), abs=1e-3)


@PROPERTY_SETTINGS
@given(raw=scenarios_raw(), which=st.integers(0, 5), raise_by=st.integers(1, 200))
def test_p4_anti_ratchet_more_achievement_never_raises_target(raw: dict, which: int, raise_by: int) -> None:
    b = which % len(raw["branches"])
    row = raw["branches"][b]
    before, _ = plan_year_targets(raw)
    row["achieved_clients"] += raise_by
    after, _ = plan_year_targets(raw)
    pick = lambda t: t[(t["branch"] == row["id"]) & (t["year"] == raw["plan_year"])]["target_clients"].item()  # noqa: E731
    assert pick(after) <= pick(before) + 1e-3


def test_p4_contrast_ratchet_punishes_the_fast_horse() -> None:
    """Under `ratchet`, a higher last-year actual raises that branch's next target."""
    rows = [branch("B1", last_year_actual=40.0), branch("B2", last_year_actual=40.0)]
    raw = raw_scenario(rows)
    before, _ = plan_year_targets(raw, "ratchet")
    raw["branches"][0]["last_year_actual"] = 70.0
    after, _ = plan_year_targets(raw, "ratchet")
    pick = lambda t: t[(t["branch"] == "B1") & (t["year"] == 2014)]["target_clients"].item()  # noqa: E731
    assert pick(after) > pick(before) + 1.0
    assert pick(after) == pytest.approx(70 * 1.1)


@PROPERTY_SETTINGS
@given(raw=scenarios_raw(preset="custom"))
def test_p5_without_binding_floors_targets_equal_capped_pace(raw: dict) -> None:
    targets, body = plan_year_targets(raw)
    h = raw["cycle"]["horizon_years"]
    years_left = raw["cycle"]["start_year"] + h - raw["plan_year"]
    for b, row in zip(body["branches"], raw["branches"]):
        cap = raw["capacity"]["new_clients_per_micro_client_manager"] * row["micro_client_managers"]
        pace = max(0, row["long_term_target"] - row["achieved_clients"]) / years_left
        # the plan year is also held within max_change·cap of last year's target (smoothing)
        step = raw["capacity"]["max_change"] * cap
        last = row.get("last_year_target")
        lo, hi = (0.0, cap) if last is None else (min(cap, max(0.0, last - step)), min(cap, last + step))
        assert b["target_clients"] == pytest.approx(min(max(min(pace, cap), lo), max(hi, lo)), abs=0.01)
        if not lo <= min(pace, cap) <= hi:
            continue  # smoothing overrides the pace: the schedule claims below do not apply
        schedule = row["long_term_target"] / h
        behind = row["achieved_clients"] < row["long_term_target"] * (raw["plan_year"] - raw["cycle"]["start_year"]) / h
        if behind:
            assert b["target_clients"] >= min(schedule, cap) - 0.01
        elif row["achieved_clients"] > row["long_term_target"] * (raw["plan_year"] - raw["cycle"]["start_year"]) / h:
            assert b["target_clients"] <= schedule + 0.01


@PROPERTY_SETTINGS
@given(raw=scenarios_raw(), k=st.sampled_from([0.5, 2.0, 10.0]))
def test_p6_scaling_volumes_scales_targets(raw: dict, k: float) -> None:
    base, _ = plan_year_targets(raw)
    scaled = copy.deepcopy(raw)
    for row in scaled["branches"]:
        for key in ("achieved_clients", "long_term_target", "micro_clients"):
            row[key] = row[key] * k
        row["micro_loans"] *= k
        row["last_year_actual"] *= k
        row["last_year_target"] *= k
    assume(all(float(row[key]).is_integer() for row in scaled["branches"]
               for key in ("achieved_clients", "long_term_target", "micro_clients")))
    for row in scaled["branches"]:
        for key in ("achieved_clients", "long_term_target", "micro_clients"):
            row[key] = int(row[key])
    scaled["capacity"]["new_clients_per_micro_client_manager"] *= k
    for key in ("all_loans_prev", "all_loan_increment_plan", "micro_loans_prev", "micro_loan_increment_prev"):
        scaled["bank"][key] *= k
    scaled["bank"]["micro_clients_prev"] = int(scaled["bank"]["micro_clients_prev"] * k)
    assume(scaled["bank"]["micro_clients_prev"] == raw["bank"]["micro_clients_prev"] * k)
    after, _ = plan_year_targets(scaled)
    first = lambda t: t[t["year"] == raw["plan_year"]].set_index("branch")  # noqa: E731
    for col in ("target_clients", "target_loan_increment"):
        expected = first(base)[col].to_numpy() * k
        # HiGHS stops within its (absolute) optimality tolerances, which do not scale with k:
        # measured differences reach ~5e-4 relative on tiny targets, so compare at 2e-3.
        assert first(after)[col].to_numpy() == pytest.approx(expected, rel=2e-3, abs=1e-2 * k)


@PROPERTY_SETTINGS
@given(rows=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 400), st.integers(0, 300)), min_size=2, max_size=6),
       attrition=st.floats(0.05, 0.5))
def test_p7_extra_load_proportional_to_spare_capacity(rows: list, attrition: float) -> None:
    """With a binding borrower-count floor, (x − pace)/spare is the same for every branch with room."""
    branches = [branch(f"B{i}", micro_client_managers=m, client_managers=m + 5, long_term_target=t,
                       achieved_clients=min(a, t), micro_clients=400, last_year_target=None)  # no smoothing base
                for i, (m, t, a) in enumerate(rows)]
    raw = raw_scenario(branches, preset="custom", rules={"borrower_count": {}})
    raw["bank"]["micro_client_attrition"] = attrition
    plan = make_plan(build(raw))
    table = plan.branch_table()
    floor = attrition * raw["bank"]["micro_clients_prev"]
    if table["pace"].clip(upper=table["capacity"]).sum() >= floor - TOL:
        return  # the floor does not bind: P5's territory
    spare = (table["capacity"] - table["pace"]).clip(lower=0)
    room = (table["target_clients"] < table["capacity"] - 1e-4) & (spare > 0)
    loads = (table["target_clients"] - table["pace"])[room] / spare[room]
    if len(loads) >= 2:
        assert loads.max() - loads.min() <= 1e-4
    # every branch without room is at capacity (or has no spare to share)
    assert ((table["target_clients"] >= table["capacity"] - 1e-4) | (spare <= 0) | room).all()
