"""Properties P1–P7 of the plan on generated banks where every rule binds in a fair share of examples.

The banks come from `builders.plan_banks` (smoothing below capacity, risk caps, the book band,
margins, every preset and policy and sharing key, department targets and buffers, floors above
total capacity); each example is labelled with hypothesis `event()` by what bound in it
(`builders.rule_events`), so `--hypothesis-show-statistics` shows whether a property checked
anything; `assume` discards examples a property cannot judge (they show as invalid), `target`
steers where a larger value points at a failure. What the plan must be is recomputed here from the
raw scenario and the independent checker (`optimize.check`); only the long-term targets L_b are
taken from the engine (their split has its own hand cases). Plans are the LP's values
(`builders.exact_plan`).

Engines: every property runs on the default (matrix) engine; P1/P2 (with the checker) and P3 run on
the Pyomo reference too, with fewer examples (it is ~10× slower); the slow tier runs more.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from builders import (
    PER_MANAGER, branch, build, exact_plan, exact_plan_inputs, plan_banks, raw_scenario, rule_events, scenarios_raw,
    smoothing_bounds, wide,
)
from hypothesis import HealthCheck, assume, event, given, settings, target
from hypothesis import strategies as st

from optimize import check
from optimize.check import check_plan
from optimize.plan import make_plan

TOL = 1e-3
FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
REFERENCE = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SLOW = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def label(raw: dict, plan) -> int:
    """Hypothesis events for what bound in this example; returns how many rules bound.

    (Not a `target()`: steering every property towards "more rules binding" narrowed the examples
    to one policy and preset; targets are set where they point at a failure, e.g. P4, P7.)
    """
    labels = rule_events(raw, plan)
    for text in labels:
        event(text)
    return sum(text.startswith("binds") for text in labels)


# ---------------------------------------------------------------- independent limits of the plan year


def client_ceiling(scenario, raw: dict) -> np.ndarray:
    """Most clients a branch can take in the plan year: capacity, smoothing from last year's target,
    and for a risk-capped branch the band's low end under its cap: s_min·x + e_min ≤ r·M."""
    c = raw["capacity"]["max_change"]
    ncpm = raw["capacity"]["new_clients_per_micro_client_manager"]
    capped = check.risk_capped(scenario)
    r = raw["risk"]["capped_growth"]
    result = []
    for b, row in enumerate(raw["branches"]):
        cap = ncpm * row["micro_client_managers"]
        _, hi = smoothing_bounds(row.get("last_year_target"), cap, c)
        if capped[b] and row["loan_size_min"] > 0:
            hi = min(hi, (r * row["micro_loans"] - raw["risk"]["book_change_min"] * row["micro_loans"]) / row["loan_size_min"])
        result.append(hi)
    return np.array(result)


def loan_ceiling(scenario, raw: dict) -> np.ndarray:
    """Most loans a branch can take in the plan year: s_max·x_max + e_max, at most r·M if risk-capped."""
    x_max = client_ceiling(scenario, raw)
    capped = check.risk_capped(scenario)
    rows = raw["branches"]
    high = np.array([r["loan_size_max"] * x + raw["risk"]["book_change_max"] * r["micro_loans"] for r, x in zip(rows, x_max)])
    cap = np.array([raw["risk"]["capped_growth"] * r["micro_loans"] for r in rows])
    return np.where(capped, np.minimum(high, cap), high)


def long_term(scenario) -> np.ndarray:
    """L_b as the engine splits the cycle target for `exact_plan` (not made whole), the split having
    its own hand cases (tests/test_plan_cases.py, tests/test_plan_rules.py): the allocation is under test."""
    return exact_plan_inputs(scenario).long_term_target


def pace(scenario, raw: dict) -> np.ndarray:
    """max(0, L_b − A_b) / years left — the catch-up pace written out again."""
    years_left = raw["cycle"]["start_year"] + raw["cycle"]["horizon_years"] - raw["plan_year"]
    achieved = np.array([r["achieved_clients"] for r in raw["branches"]], dtype=float)
    return np.maximum(long_term(scenario) - achieved, 0.0) / years_left


def plan_year_floors(scenario, raw: dict, policy: str) -> list[tuple[str, str, float]]:
    """(rule, quantity, required) of every plan-year floor, from the README's closed forms.

    k = 1 + margin; the buffer's department floor uses k = (1 + margin)(1 + buffer); explicit
    department targets; under `proportional` the schedule's bank total Σ pace.
    """
    bank = raw["bank"]
    forms = {
        "growth_rate": ("loans", lambda k: k * bank["micro_loans_prev"] * bank["all_loan_increment_plan"] / bank["all_loans_prev"]),
        "increment": ("loans", lambda k: k * bank["micro_loan_increment_prev"]),
        "borrower_count": ("clients", lambda k: (bank["micro_client_attrition"] + k - 1) * bank["micro_clients_prev"]),
    }
    floors = []
    buffer = raw.get("targets", {}).get("buffer", 0.0)
    for rule, margin in check.rules_in_force(scenario).items():
        if rule in forms:
            quantity, form = forms[rule]
            floors.append((rule, quantity, form(1 + margin)))
            if buffer > 0:
                floors.append((f"department_{rule}", quantity, form((1 + margin) * (1 + buffer))))
    for key, quantity in (("micro_client_increment", "clients"), ("micro_loan_increment", "loans")):
        if raw.get("targets", {}).get(key) is not None:
            floors.append(("department_target", quantity, float(raw["targets"][key])))
    if policy == "proportional":
        floors.append(("cycle_schedule", "clients", float(pace(scenario, raw).sum())))
    return floors


def engine_reports(plan) -> set[tuple]:
    """(rule, year, branch) of every shortfall the engine reports, violations and warnings."""
    return {(v["rule"], int(v["year"]), v.get("branch")) for v in plan.violations + plan.warnings}


# ---------------------------------------------------------------- P1, P2 and the checker


def assert_p1_p2(raw: dict, engine: str) -> None:
    """P1: each plan-year floor is met, or its shortfall is exactly what nobody can place
    (required − the most the branches can do); P2: no hard rule broken (checker), and the checker's
    floor and schedule breaches are exactly what the engine reports."""
    scenario = build(raw)
    plan = exact_plan(scenario, engine=engine)
    label(raw, plan)
    policy = plan.inputs.policy
    most = {"clients": float(client_ceiling(scenario, raw).sum()), "loans": float(loan_ceiling(scenario, raw).sum())}
    expected = {}
    for rule, quantity, required in plan_year_floors(scenario, raw, policy):
        short = required - most[quantity]
        if short > TOL * max(1.0, abs(required)):
            expected[(rule, quantity)] = short
    reported = {(v["rule"], v["quantity"]): v["shortfall"] for v in plan.violations}
    assert reported.keys() == expected.keys()
    for key, short in expected.items():
        assert reported[key] == pytest.approx(short, rel=1e-6, abs=1e-3), key
    assert plan.status == ("relaxed" if expected else "optimal")
    breaches = check_plan(scenario, plan.targets, policy)
    assert [b for b in breaches if b.severity == "hard"] == []
    # the checker's long-term targets are whole clients (as the default plan's): completion is compared
    # on the default plan below
    schedule = ("long_term_completion", "cycle_schedule")
    assert ({(b.rule, b.year, b.branch) for b in breaches if b.severity != "hard" and b.rule not in schedule}
            == {r for r in engine_reports(plan) if r[0] not in schedule})


@FAST
@given(raw=plan_banks())
def test_p1_p2_floors_exact_and_every_rule_checked(raw: dict) -> None:
    assert_p1_p2(raw, "matrix")


@REFERENCE
@given(raw=plan_banks(n_max=4))
def test_p1_p2_on_the_pyomo_reference(raw: dict) -> None:
    assert_p1_p2(raw, "pyomo")


@pytest.mark.slow
@SLOW
@given(raw=plan_banks())
def test_p1_p2_many_banks(raw: dict) -> None:
    assert_p1_p2(raw, "matrix")


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(raw=plan_banks(n_max=4))
def test_p1_p2_many_banks_on_the_pyomo_reference(raw: dict) -> None:
    assert_p1_p2(raw, "pyomo")


@FAST
@given(raw=plan_banks())
def test_checker_agrees_with_the_default_plan(raw: dict) -> None:
    """The plan as `microplan plan` gives it (whole clients, loans to the unit where the engine rounds):
    no hard rule broken, and the checker's floor and schedule breaches are what the engine reports."""
    scenario = build(raw)
    plan = make_plan(scenario)
    label(raw, plan)
    breaches = check_plan(scenario, plan.targets, plan.inputs.policy)
    assert [b for b in breaches if b.severity == "hard"] == []
    assert {(b.rule, b.year, b.branch) for b in breaches if b.severity != "hard"} == engine_reports(plan)


# ---------------------------------------------------------------- P3: twins and order


#: Twins and shuffled tables agree to HiGHS's tolerances (primal 1e-7 on rows of weighted sums):
#: measured differences reach ~7e-5 clients on targets of ~30; the printed targets are whole numbers.
P3_TOL = 1e-4
P3_OBJECTIVE_RTOL, P3_OBJECTIVE_ATOL = 1e-4, 1e-4


def assert_p3(raw: dict, twin_of: int, seed: int, engine: str) -> None:
    """Twins get identical client and loan targets in every year, and a shuffled table gives the same
    plan with the same stage optima — also where a loan floor pushes some branch's clients up (the
    `client_fill` stage of optimize/stages.py settles that branch and water-fills the rest; before it,
    the rest split by branch order). The one optimum allowed to differ is the loan_load θy where it
    does not decide the loans (found: 21.25 against 42.50 with the same targets): counted as an event."""
    rows = raw["branches"]
    if rows[twin_of % len(rows)]["long_term_target"] is None:
        # a computed L is made whole by largest remainder, ties by id: twins' L may differ by one
        # client (optimize/long_term.py); the allocation's fairness is tested on equal L
        rows[twin_of % len(rows)]["long_term_target"] = 100
    twin = copy.deepcopy(rows[twin_of % len(rows)])
    original = twin["id"]
    twin["id"] = "TWIN"
    rows.append(twin)
    plan = exact_plan(build(raw), engine=engine)
    label(raw, plan)
    floors = plan.floor_values
    pulled = floors[(floors["quantity"] == "loans") & (floors["total"] <= floors["required"] + 1e-6 * floors["required"].abs().clip(lower=1))]
    event(f"P3: a loan floor binds or is short in some year: {len(pulled) > 0}")
    for column in ("target_clients", "target_loan_increment"):
        table = wide(plan, column)
        scale = max(1.0, float(table.abs().max().max()))
        assert table.loc["TWIN"].to_numpy() == pytest.approx(table.loc[original].to_numpy(), abs=P3_TOL * scale), column
    shuffled = copy.deepcopy(raw)
    np.random.default_rng(seed).shuffle(shuffled["branches"])
    assume(shuffled["branches"] != raw["branches"])
    again = exact_plan(build(shuffled), engine=engine)
    for column in ("target_clients", "target_loan_increment"):
        a, b = wide(plan, column), wide(again, column).loc[wide(plan, column).index]
        scale = max(1.0, float(a.abs().max().max()))
        assert b.to_numpy() == pytest.approx(a.to_numpy(), abs=P3_TOL * scale), column
    for stage, value in plan.report.objectives.items():
        same = again.report.objectives.get(stage) == pytest.approx(value, rel=P3_OBJECTIVE_RTOL, abs=P3_OBJECTIVE_ATOL)
        if stage.endswith("loan_load"):
            if not same:
                event(f"P3: {stage} optimum depends on the branch order (targets equal)")
            continue
        assert same, stage


@FAST
@given(raw=plan_banks(n_max=4), twin_of=st.integers(0, 4), seed=st.integers(0, 10_000))
def test_p3_twins_and_shuffled_tables_same_targets(raw: dict, twin_of: int, seed: int) -> None:
    assert_p3(raw, twin_of, seed, "matrix")


@REFERENCE
@given(raw=plan_banks(n_max=3), twin_of=st.integers(0, 3), seed=st.integers(0, 10_000))
def test_p3_on_the_pyomo_reference(raw: dict, twin_of: int, seed: int) -> None:
    assert_p3(raw, twin_of, seed, "pyomo")


@FAST
@given(raw=plan_banks(n_max=4))
def test_engines_give_the_same_plan_year(raw: dict) -> None:
    """The plan year is unique by construction: both engines give the same clients and loans."""
    scenario = build(raw)
    fast, reference = exact_plan(scenario, engine="matrix"), exact_plan(scenario, engine="pyomo")
    label(raw, fast)
    year = raw["plan_year"]
    for column in ("target_clients", "target_loan_increment"):
        a, b = wide(fast, column)[year].to_numpy(), wide(reference, column)[year].to_numpy()
        assert a == pytest.approx(b, abs=1e-5 * max(1.0, float(np.abs(b).max()))), column


# ---------------------------------------------------------------- P4: anti-ratchet


def assert_p4(raw: dict, which: int, raise_by: int, engine: str) -> None:
    """Raising A_b (achieved clients) never raises branch b's plan-year target, whatever binds."""
    b = which % len(raw["branches"])
    row = raw["branches"][b]
    if row["long_term_target"] is not None:
        # all else equal: a given long-term target stays as it is (raising it would shrink the others'
        # share of the cycle target and move the floors' extra — not achievement)
        raise_by = min(raise_by, row["long_term_target"] - row["achieved_clients"])
        if raise_by <= 0:
            event("P4: the branch has already achieved its given long-term target (nothing checked)")
            return
    before = exact_plan(build(raw), engine=engine)
    label(raw, before)
    row["achieved_clients"] += raise_by
    after = exact_plan(build(raw), engine=engine)
    bid, year = raw["branches"][b]["id"], raw["plan_year"]
    moved = wide(after)[year][bid] - wide(before)[year][bid]
    target(-moved, label="target change when achieving more")
    assert moved <= 1e-6 * max(1.0, wide(before)[year][bid])


@FAST
@given(raw=plan_banks(policy="catch_up"), which=st.integers(0, 4), raise_by=st.integers(1, 200))
def test_p4_anti_ratchet_more_achievement_never_raises_target(raw: dict, which: int, raise_by: int) -> None:
    assert_p4(raw, which, raise_by, "matrix")


@pytest.mark.slow
@REFERENCE
@given(raw=plan_banks(policy="catch_up", n_max=4), which=st.integers(0, 3), raise_by=st.integers(1, 200))
def test_p4_on_the_pyomo_reference(raw: dict, which: int, raise_by: int) -> None:
    assert_p4(raw, which, raise_by, "pyomo")


def test_p4_contrast_ratchet_punishes_the_fast_horse() -> None:
    """Under `ratchet`, a higher last-year actual raises that branch's next target: 40·1.1 → 70·1.1 = 77."""
    rows = [branch("B1", last_year_actual=40.0), branch("B2", last_year_actual=40.0)]
    raw = raw_scenario(rows)
    before = exact_plan(build(raw), "ratchet")
    raw["branches"][0]["last_year_actual"] = 70.0
    after = exact_plan(build(raw), "ratchet")
    assert wide(before)[2014]["B1"] == pytest.approx(44.0)
    assert wide(after)[2014]["B1"] == pytest.approx(77.0)


# ---------------------------------------------------------------- P5: nothing binds → the reference


def assert_p5(raw: dict, engine: str) -> None:
    """When the clamped paces and mid loans already meet every plan-year floor, the plan is exactly
    x_b = clamp(pace_b, box_b) and y_b = clamp(mid_b, band_b) (risk cap included); behind-schedule
    branches get at least an even share L/h, ahead ones at most, where the box allows."""
    scenario = build(raw)
    x_hi = client_ceiling(scenario, raw)
    ncpm, c = raw["capacity"]["new_clients_per_micro_client_manager"], raw["capacity"]["max_change"]
    rows = raw["branches"]
    x_lo = np.array([smoothing_bounds(r["last_year_target"], ncpm * r["micro_client_managers"], c)[0] for r in rows])
    p = pace(scenario, raw)
    x = np.clip(p, x_lo, np.maximum(x_hi, x_lo))
    s_min, s_max = (np.array([r[k] for r in rows]) for k in ("loan_size_min", "loan_size_max"))
    book = np.array([r["micro_loans"] for r in rows])
    low = s_min * x + raw["risk"]["book_change_min"] * book
    high = s_max * x + raw["risk"]["book_change_max"] * book
    mid = (low + high) / 2
    high = np.where(check.risk_capped(scenario), np.minimum(high, raw["risk"]["capped_growth"] * book), high)
    y = np.clip(mid, low, high)
    totals = {"clients": x.sum(), "loans": y.sum()}
    slack = [totals[q] - req for _, q, req in plan_year_floors(scenario, raw, "catch_up")]
    applies = all(s > 1e-6 * max(1.0, abs(totals["loans"])) for s in slack)
    event(f"P5 applies: {applies}")
    assume(applies)
    plan = exact_plan(scenario, engine=engine)
    label(raw, plan)
    year = raw["plan_year"]
    assert wide(plan)[year].to_numpy() == pytest.approx(x, abs=1e-6)
    assert wide(plan, "target_loan_increment")[year].to_numpy() == pytest.approx(y, abs=1e-5 * max(1.0, float(np.abs(y).max())))
    h = raw["cycle"]["horizon_years"]
    even = long_term(scenario) / h
    inside = (p >= x_lo) & (p <= x_hi)
    behind = inside & (p > even + 1e-9)
    ahead = inside & (p < even - 1e-9)
    event(f"behind: {behind.any()}, ahead: {ahead.any()}")
    assert (x[behind] >= np.minimum(even, x_hi)[behind] - 1e-6).all()
    assert (x[ahead] <= even[ahead] + 1e-6).all()


@FAST
@given(raw=plan_banks(policy="catch_up", pressures=(0.0, 0.3, 0.8)))
def test_p5_without_binding_floors_targets_are_the_clamped_pace_and_mid_loans(raw: dict) -> None:
    assert_p5(raw, "matrix")


@pytest.mark.slow
@REFERENCE
@given(raw=plan_banks(policy="catch_up", n_max=4, pressures=(0.0, 0.3)))
def test_p5_on_the_pyomo_reference(raw: dict) -> None:
    assert_p5(raw, "pyomo")


# ---------------------------------------------------------------- P6: scale


@FAST
@given(raw=scenarios_raw(), k=st.sampled_from([0.5, 2.0, 10.0]))
def test_p6_scaling_volumes_scales_targets(raw: dict, k: float) -> None:
    base = exact_plan(build(raw))
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
    after = exact_plan(build(scaled))
    label(raw, base)
    year = raw["plan_year"]
    for column in ("target_clients", "target_loan_increment"):
        expected = wide(base, column)[year].to_numpy() * k
        # HiGHS stops within absolute tolerances that do not scale with k (measured ~5e-4 relative)
        assert wide(after, column)[year].to_numpy() == pytest.approx(expected, rel=2e-3, abs=1e-2 * k)


# ---------------------------------------------------------------- P7: shares of extra load


def raw_key(scenario, raw: dict, policy: str) -> np.ndarray:
    """The sharing key from the raw scenario: spare capacity cap − pace, outlets or client managers
    (ratchet: its reference last actual × (1 + g), or the pace without history)."""
    rows = raw["branches"]
    ncpm = raw["capacity"]["new_clients_per_micro_client_manager"]
    name = raw["policy"]["sharing_key"]
    p = pace(scenario, raw)
    if policy == "ratchet":
        g = raw["policy"]["ratchet_growth"]
        last = [r["last_year_actual"] if r["last_year_actual"] is not None else r["last_year_target"] for r in rows]
        return np.array([pb if v is None else v * (1 + g) for v, pb in zip(last, p)])
    if policy == "proportional" and name == "spare_capacity":
        name = "client_managers"
    if name in ("outlets", "client_managers"):
        return np.array([r[name] for r in rows], dtype=float)
    return np.maximum(ncpm * np.array([r["micro_client_managers"] for r in rows]) - p, 0.0)


def assert_p7(raw: dict, engine: str) -> None:
    """Plan year: (x_b − ref'_b)/key_b is the same for every keyed branch strictly inside its box
    (ref' = the reference clamped to the box); a zero-key branch takes load only when every keyed
    branch is at the top of its box; loans: (y_b − mid_b)/room_b the same for every branch strictly
    inside its band and risk cap (room = (s_max − s_mid)·x + (e_max − e_mid))."""
    scenario = build(raw)
    plan = exact_plan(scenario, engine=engine)
    label(raw, plan)
    policy = plan.inputs.policy
    rows = raw["branches"]
    ncpm, c = raw["capacity"]["new_clients_per_micro_client_manager"], raw["capacity"]["max_change"]
    x_lo = np.array([smoothing_bounds(r["last_year_target"], ncpm * r["micro_client_managers"], c)[0] for r in rows])
    x_hi = np.maximum(client_ceiling(scenario, raw), x_lo)
    ref = {"catch_up": pace(scenario, raw), "proportional": np.zeros(len(rows))}.get(policy)
    if ref is None:
        ref = raw_key(scenario, raw, "ratchet")
    ref = np.clip(ref, x_lo, x_hi)
    key = raw_key(scenario, raw, policy)
    x = wide(plan)[raw["plan_year"]].to_numpy()
    year_floors = plan.floor_values[(plan.floor_values["year"] == raw["plan_year"]) & (plan.floor_values["quantity"] == "loans")]
    loans_pull = bool((year_floors["total"] <= year_floors["required"] + 1e-6 * year_floors["required"].abs().clip(lower=1)).any())
    event(f"P7: a loan floor binds or is short in the plan year: {loans_pull}")
    if loans_pull:
        # clients may rise for a loan floor (a branch with loan room), not for a client floor: the
        # shares below are those of client floors
        return
    extra = x - ref
    inside = (x > x_lo + 1e-6) & (x < x_hi - 1e-6)
    keyed_open = inside & (key > 0)
    target(float(keyed_open.sum()), label="keyed branches inside their box")
    loads = extra[keyed_open] / key[keyed_open]
    event(f"P7 clients: {min(keyed_open.sum(), 2)}+ keyed branches inside their box")
    if keyed_open.sum() >= 2:
        assert loads.max() - loads.min() <= 1e-6 * max(1.0, float(np.abs(loads).max()))
    zero_loaded = (key <= 0) & (extra > 1e-6)
    if zero_loaded.any():
        event("P7: zero-key branch took load")
        assert (x[key > 0] >= x_hi[key > 0] - 1e-6).all()
    s_min, s_max = (np.array([r[k] for r in rows]) for k in ("loan_size_min", "loan_size_max"))
    book = np.array([r["micro_loans"] for r in rows])
    e_min, e_max = raw["risk"]["book_change_min"] * book, raw["risk"]["book_change_max"] * book
    low, high = s_min * x + e_min, s_max * x + e_max
    high = np.where(check.risk_capped(scenario), np.minimum(high, raw["risk"]["capped_growth"] * book), high)
    mid = (s_min + s_max) / 2 * x + (e_min + e_max) / 2
    room = (s_max - s_min) / 2 * x + (e_max - e_min) / 2
    y = wide(plan, "target_loan_increment")[raw["plan_year"]].to_numpy()
    scale = max(1.0, float(np.abs(y).max()))
    open_loans = (y > low + 1e-6 * scale) & (y < high - 1e-6 * scale) & (room > 1e-9)
    event(f"P7 loans: {min(open_loans.sum(), 2)}+ branches inside their band")
    if open_loans.sum() >= 2:
        ratio = (y - mid)[open_loans] / room[open_loans]
        assert ratio.max() - ratio.min() <= 1e-6 * max(1.0, float(np.abs(ratio).max()))


@FAST
@given(raw=plan_banks())
def test_p7_extra_load_proportional_to_the_key(raw: dict) -> None:
    assert_p7(raw, "matrix")


@pytest.mark.slow
@REFERENCE
@given(raw=plan_banks(n_max=4))
def test_p7_on_the_pyomo_reference(raw: dict) -> None:
    assert_p7(raw, "pyomo")
