"""Diagnostics are true: every marginal-cost sentence checked by re-solving with the floor raised.

A sentence says who takes one more unit of a binding plan-year floor (`moves`: branch → clients per
100 more clients, or 万元 per 1 亿元 more loans). Here the same bank is planned again with the floor
raised by a small step (an explicit department target just above it) and each branch's change must be
its `moves` scaled to the step; a branch not named must not move; "cannot be placed" must appear
exactly when nobody can move. Plans are the LP's values (`builders.exact_plan`). Also: the cause
named for a shortfall, the warning for a cycle target above capacity, money rounded by unit, and
whether a floor binds is the same in 元, 万元 and 亿元.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from builders import branch, build, exact_plan, raw_scenario, wide
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from optimize.plan import make_plan
from scenarios import Scenario
from scenarios.loading import scenario_to_dict

ENGINES = ("matrix", "pyomo")
YI = 10_000.0  # 万元 per 亿元


def year_values(plan, column: str) -> dict[str, float]:
    return wide(plan, column)[plan.plan_year].to_dict()


def sentence(plan, quantity: str) -> dict:
    [cost] = [c for c in plan.diagnostics.marginal_costs if c["quantity"] == quantity]
    return cost


def client_bank(attrition: float = 0.14) -> dict:
    """B1 pace 40 (spare 60), B2 pace 60 (spare 40): both open. B3 pace 120 > capacity 100: at capacity.
    B4 pace 100 but last year's target 10 with max_change 0.5 → at most 60: held by smoothing.
    Borrower floor attrition × 1,000 − the 160 that B3 and B4 bring."""
    rows = [branch("B1", achieved_clients=50, long_term_target=250, last_year_target=None),
            branch("B2", long_term_target=300, last_year_target=None),
            branch("B3", long_term_target=600, last_year_target=None),
            branch("B4", long_term_target=500, last_year_target=10.0)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, capacity={"max_change": 0.5})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=attrition)
    return raw


def raised(raw: dict, quantity: str, total: float) -> dict:
    """The same bank with an explicit department target of `total` for `quantity`."""
    again = copy.deepcopy(raw)
    again.setdefault("targets", {})["micro_client_increment" if quantity == "clients" else "micro_loan_increment"] = total
    return again


@pytest.mark.parametrize("engine", ENGINES)
def test_client_sentence_matches_a_resolve_with_the_floor_raised(engine: str) -> None:
    """Floor 0.3 × 1,000 = 300 = 40 + 60 + 100 + 60 + 40 extra: B1, B2 take it by spare 60 : 40 →
    moves per 100 clients {B1: 60, B2: 40}; B3 (capacity) and B4 (smoothing) are not named. Raised by
    2 clients (department target 302): B1 +1.2, B2 +0.8, B3 and B4 unchanged."""
    raw = client_bank(0.3)
    plan = exact_plan(build(raw), engine=engine)
    cost = sentence(plan, "clients")
    assert cost["rule"] == "borrower_count" and cost["per"] == 100
    assert cost["moves"] == pytest.approx({"B1": 60.0, "B2": 40.0})
    step = 2.0
    again = exact_plan(build(raised(raw, "clients", 300 + step)), engine=engine)
    before, after = year_values(plan, "target_clients"), year_values(again, "target_clients")
    change = {b: after[b] - before[b] for b in before}
    assert change == pytest.approx({b: cost["moves"].get(b, 0.0) * step / cost["per"] for b in before}, abs=1e-6)
    assert "cannot be placed" not in cost["text"] and "B1 +60.0" in cost["text"]


@pytest.mark.parametrize("engine", ENGINES)
def test_client_sentence_says_nobody_can_move_when_all_are_full(engine: str) -> None:
    """Floor = 100 + 100 + 100 + 60 = 360, what every branch can do (B4 held at 60): binding, nobody
    open → "cannot be placed", no moves; raised by 5 the plan is unchanged and 5 short."""
    raw = client_bank(0.36)
    plan = exact_plan(build(raw), engine=engine)
    cost = sentence(plan, "clients")
    assert cost["moves"] == {} and "cannot be placed" in cost["text"]
    again = exact_plan(build(raised(raw, "clients", 365)), engine=engine)
    assert year_values(again, "target_clients") == pytest.approx(year_values(plan, "target_clients"), abs=1e-6)
    assert [(v["rule"], round(v["shortfall"], 6)) for v in again.violations] == [("department_target", 5.0)]


def loan_bank(increment_prev: float = 2500.0) -> dict:
    """Clients at pace: B1 40, B2 60 (mid 800, 1,200; room above mid 400, 600). B3 risk-capped (NPL 5 %,
    book 10,000, capped growth 5 % → ≤ 500, below its mid 20 × 50 = 1,000): at its cap. Increment floor
    = last year's increment."""
    rows = [branch("B1", achieved_clients=50, long_term_target=250, last_year_target=None),
            branch("B2", long_term_target=300, last_year_target=None),
            branch("B3", long_term_target=250, npl_ratio=0.05, last_year_target=None)]
    raw = raw_scenario(rows, rules={"increment": {}}, risk={"capped_growth": 0.05})
    raw["bank"].update(micro_loan_increment_prev=increment_prev, all_loan_increment_plan=0.0)
    return raw


@pytest.mark.parametrize("engine", ENGINES)
def test_loan_sentence_matches_a_resolve_with_the_floor_raised(engine: str) -> None:
    """Floor 3,000 = 500 (B3 capped) + mid 2,000 + 500 extra shared by room 400 : 600 → λ 0.5;
    per 1 亿元 (10,000 万元): B1 4,000, B2 6,000; B3 not named. Raised by 10 万元: +4, +6, B3 0."""
    raw = loan_bank(3000.0)
    plan = exact_plan(build(raw), engine=engine)
    assert year_values(plan, "target_loan_increment") == pytest.approx({"B1": 1000.0, "B2": 1500.0, "B3": 500.0}, abs=1e-4)
    cost = sentence(plan, "loans")
    assert cost["moves"] == pytest.approx({"B1": 4000.0, "B2": 6000.0})
    step = 10.0
    again = exact_plan(build(raised(raw, "loans", 3000 + step)), engine=engine)
    before, after = year_values(plan, "target_loan_increment"), year_values(again, "target_loan_increment")
    change = {b: after[b] - before[b] for b in before}
    assert change == pytest.approx({b: cost["moves"].get(b, 0.0) * step / YI for b in before}, abs=1e-5)
    assert year_values(again, "target_clients") == pytest.approx(year_values(plan, "target_clients"), abs=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
def test_loan_sentence_says_nobody_can_move_at_the_top_of_every_band(engine: str) -> None:
    """B1, B2 with paces 120 above capacity → 100 clients each, band tops 30 × 100 = 3,000; B3 at its
    risk cap 500: a floor of exactly 6,500 binds with nobody open → "cannot be placed", no moves;
    raised to 6,510 the loans do not move and the plan is 10 short."""
    raw = loan_bank(6500.0)
    for row in raw["branches"][:2]:
        row.update(achieved_clients=0, long_term_target=600)
    plan = exact_plan(build(raw), engine=engine)
    assert year_values(plan, "target_loan_increment") == pytest.approx({"B1": 3000.0, "B2": 3000.0, "B3": 500.0}, abs=1e-4)
    cost = sentence(plan, "loans")
    assert cost["moves"] == {} and "cannot be placed" in cost["text"]
    again = exact_plan(build(raised(raw, "loans", 6510.0)), engine=engine)
    assert year_values(again, "target_loan_increment") == pytest.approx(year_values(plan, "target_loan_increment"), abs=1e-4)
    assert [(v["rule"], round(v["shortfall"], 3)) for v in again.violations] == [("department_target", 10.0)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(managers=st.lists(st.integers(1, 12), min_size=2, max_size=5),
       achieved=st.lists(st.integers(0, 300), min_size=5, max_size=5),
       lasts=st.lists(st.one_of(st.none(), st.integers(0, 120)), min_size=5, max_size=5),
       key=st.sampled_from(["spare_capacity", "outlets", "client_managers"]),
       attrition=st.floats(0.05, 0.6), step=st.sampled_from([0.5, 3.0]))
def test_client_sentences_on_random_banks(managers: list, achieved: list, lasts: list, key: str,
                                          attrition: float, step: float) -> None:
    """Random banks with a binding or short borrower floor: the re-solve with the floor raised by
    `step` moves exactly the named branches by moves × step / 100 (or nobody, when the sentence
    says it cannot be placed)."""
    rows = [branch(f"B{i}", micro_client_managers=m, client_managers=m + 2, outlets=i % 3 + 1,
                   achieved_clients=achieved[i], long_term_target=300, last_year_target=None if lasts[i] is None else float(lasts[i]))
            for i, m in enumerate(managers)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, capacity={"max_change": 0.3}, policy={"sharing_key": key})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=attrition)
    plan = exact_plan(build(raw))
    costs = [c for c in plan.diagnostics.marginal_costs if c["quantity"] == "clients"]
    event(f"client floor binds: {bool(costs)}")
    if not costs:
        return
    cost = costs[0]
    event(f"branches named: {len(cost['moves'])}")
    # a marginal statement: keep the step inside every named branch's room (capacity, smoothing)
    before = year_values(plan, "target_clients")
    x_hi = dict(zip(plan.inputs.branch_ids, plan.report.windows["plan_year"].x_hi[:, 0]))
    rooms = [(x_hi[b] - before[b]) * 100 / m for b, m in cost["moves"].items() if m > 0]
    step = min([step] + [0.5 * r for r in rooms])
    event(f"step shortened to stay inside the named branches' room: {step < 0.5}")
    assume(step > 1e-3 or not cost["moves"])
    total = sum(before.values())
    again = exact_plan(build(raised(raw, "clients", total + step)))
    before, after = year_values(plan, "target_clients"), year_values(again, "target_clients")
    change = {b: after[b] - before[b] for b in before}
    assert change == pytest.approx({b: cost["moves"].get(b, 0.0) * step / 100 for b in before}, abs=1e-6)
    assert ("cannot be placed" in cost["text"]) == (not cost["moves"])


# ---------------------------------------------------------------- shortfall causes and warnings


def test_client_shortfall_names_capacity_and_smoothing() -> None:
    """B1 last year 10, max_change 0.1 → at most 20 (smoothing); B2 capacity 100. Floor 200 → 80 short:
    "1 at capacity (B2)" and "1 held by smoothing from last year's target (B1)"."""
    rows = [branch("B1", last_year_target=10.0), branch("B2", last_year_target=100.0)]
    raw = raw_scenario(rows, rules={"borrower_count": {}}, capacity={"max_change": 0.1})
    raw["bank"].update(micro_clients_prev=1000, micro_client_attrition=0.2)
    plan = exact_plan(build(raw))
    [message] = [m for m in plan.diagnostics.messages if "cannot be met" in m]
    assert "short by 80" in message and "1 at capacity (B2)" in message
    assert "1 held by smoothing from last year's target (B1)" in message


def test_loan_shortfall_names_the_risk_cap() -> None:
    """loan_bank with a floor of 7,000: the clients rise to capacity for it, B1, B2 at 100 clients × 30
    = 3,000 each, B3 at its risk cap 500 → 6,500, 500 short: B1, B2 "at the top of their loan band",
    B3 "held by the risk cap" (not blamed on its band or capacity)."""
    plan = exact_plan(build(loan_bank(7000.0)))
    [message] = [m for m in plan.diagnostics.messages if "cannot be met" in m]
    assert "short by 500" in message
    assert "2 at the top of their loan band at these client targets (B1, B2)" in message
    assert "1 held by the risk cap (B3)" in message


def test_cycle_target_above_total_capacity_is_warned() -> None:
    """Two branches of capacity 100, horizon 5: at most 1,000 new clients in the cycle; a target of 1,500
    cannot be split — the diagnostics say so."""
    rows = [branch("B1", long_term_target=None), branch("B2", long_term_target=None)]
    plan = exact_plan(build(raw_scenario(rows, cycle={"micro_client_target": 1500})))
    assert any("cycle target of 1,500" in m and "1,000" in m for m in plan.diagnostics.messages)
    fits = exact_plan(build(raw_scenario(rows, cycle={"micro_client_target": 1000})))
    assert not any("cycle target" in m for m in fits.diagnostics.messages)


# ---------------------------------------------------------------- units


def in_unit(raw: dict, unit: str) -> dict:
    """The same bank written in `unit` (every money field converted)."""
    scenario = build(raw)
    return scenario_to_dict(Scenario.model_validate({**scenario.model_dump(), "units": {"money": unit}}))


def test_yi_yuan_outputs_are_rounded_to_4_decimals() -> None:
    """loan_bank(3,000) in 亿元: B1's 1,000 万元 = 0.1 亿元; with an odd floor 3,001.23 万元 the extra
    501.23 splits 0.4 : 0.6 → B1 1,000.492 万元 = 0.1000492 亿元 → printed 0.1000 (4 decimals, 1 万元)."""
    raw = loan_bank(3001.23)
    body = make_plan(build(in_unit(raw, "亿元"))).to_json()
    assert body["money_unit"] == "亿元"
    loans = [b["target_loan_increment"] for b in body["branches"]]
    assert all(round(v, 4) == v for v in loans)
    plan = exact_plan(build(raw))
    expected = year_values(plan, "target_loan_increment")
    assert loans == pytest.approx([expected[b] / YI for b in ("B1", "B2", "B3")], abs=0.6e-4)
    assert body["floors"]["micro_loan_increment"]["value"] == pytest.approx(0.3001, abs=1e-12)


@pytest.mark.parametrize("increment_prev", [2500.0, 2500.004, 2999.99, 2499.9995, 2498.0])
def test_whether_a_floor_binds_does_not_depend_on_the_money_unit(increment_prev: float) -> None:
    """loan_bank's loans without a floor: mid 2,000 + B3's cap 500 = 2,500. A floor of 2,500 binds exactly,
    2,500.004 binds with 0.004 万元 (40 元) of extra load, 2,999.99 with 499.99. Written in 元, 万元
    and 亿元, `binds` (loans and clients) and the binding rule are the same."""
    raw = loan_bank(increment_prev)
    answers = set()
    for unit in ("元", "万元", "亿元"):
        floors = make_plan(build(in_unit(raw, unit))).to_json()["floors"]
        answers.add((floors["micro_loan_increment"]["binds"], floors["micro_client_increment"]["binds"],
                     floors["micro_loan_increment"]["binding_rule"]))
    assert len(answers) == 1, answers


def test_slack_floor_is_not_binding_in_any_unit() -> None:
    """Floor 2,400 under loans of 2,500 (mid 2,000 + capped 500): 100 万元 of slack — binds is False in
    元, 万元 and 亿元 alike."""
    raw = loan_bank(2400.0)
    for unit in ("元", "万元", "亿元"):
        assert make_plan(build(in_unit(raw, unit))).to_json()["floors"]["micro_loan_increment"]["binds"] is False, unit
