"""The ratchet coefficient λ = ∂(next year's target)/∂(this year's actual) and the effective reward.

Hand-worked banks for each policy, then properties on random banks: catch-up never ratchets up
(λ ≤ 0), and the analytic λ read from the LP's structure equals a finite-difference re-solve.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from api.reports import plan_json
from api.terminal import plan_table_text
from optimize.plan import make_plan
from optimize.ratchet import analytic_coefficients, finite_difference_coefficients, ratchet_coefficients
from tests.builders import branch, build, exact_plan, plan_banks, raw_scenario

#: λ from the analytic and the finite difference agree to this (HiGHS keeps values to ~1e-7: over a step of 1e-3, ~1e-4).
AGREE = 1e-3


def coefficients(plan):
    return ratchet_coefficients(plan.inputs, plan.report.windows, plan.report.lp_x)


def test_ratchet_gives_one_plus_g_where_no_floor_binds() -> None:
    """Ratchet, no floor (custom preset without rules), g = 0.1.

    Plan year: target = last actual 40 × 1.1 = 44 (box [0, 100]: capacity 10 × 10, max_change 1).
    Next year: target = this year's actual × 1.1 = 48.4, inside its box [0, 100] around 44; one
    more client booked now → 1.1 more next year: λ = 1 + g = 1.1.
    """
    raw = raw_scenario([branch("B0", last_year_actual=40.0), branch("B1", last_year_actual=70.0)],
                       policy={"name": "ratchet", "ratchet_growth": 0.1})
    plan = exact_plan(build(raw))
    lam = coefficients(plan)
    assert lam.next_year == 2015
    assert not lam.finite_difference.any()
    np.testing.assert_allclose(lam.values, [1.1, 1.1], atol=1e-9)


def test_catch_up_gives_exactly_minus_one_over_years_left_without_extra_load() -> None:
    """Catch-up, no floor: L = 250, A = 0, plan year 2014 of 2014–2018 (n = 5 years left).

    Pace now 250/5 = 50; next year (250 − a)/4 with a this year's actual: ∂/∂a = −1/(n − 1) = −0.25,
    exactly, for every branch (nobody takes extra load).
    """
    raw = raw_scenario([branch("B0"), branch("B1", long_term_target=120, achieved_clients=20)])
    lam = coefficients(exact_plan(build(raw)))
    assert lam.values.tolist() == [-0.25, -0.25]


def test_catch_up_with_a_binding_floor_shares_the_cut() -> None:
    """Catch-up, borrower-count floor X_t ≥ a·C_{t−1} (a = 0.1, C0 = 1,200), two equal branches.

    Plan year: floor 120 > Σ pace 100 → 60 each. Next year: floor 0.1·(0.9·1,200 + 120) = 120;
    pace (250 − 60)/4 = 47.5 each, spare capacity 100 − 47.5 = 52.5, so 2·(47.5 + 52.5·θ) = 120,
    θ = 25/105 = 5/21. One more client by B0: its pace −1/4, its key +1/4, push
    c = −(1 − θ)/4; B1 absorbs half of it through θ (keys equal): λ = c·(1 − 1/2) = −(16/21)/8 = −2/21.
    """
    rows = [branch("B0", micro_clients=600), branch("B1", micro_clients=600)]
    raw = raw_scenario(rows, rules={"borrower_count": {"margin": 0.0}})
    plan = exact_plan(build(raw))
    np.testing.assert_allclose(plan.report.lp_x[:, 1], [60.0, 60.0], atol=1e-7)
    lam = coefficients(plan)
    np.testing.assert_allclose(lam.values, [-2 / 21, -2 / 21], atol=1e-7)


def test_proportional_gives_zero() -> None:
    """Proportional: the reference is 0 and the key client managers; nothing reads the actual: λ = 0."""
    raw = raw_scenario([branch("B0"), branch("B1", client_managers=30)], policy={"name": "proportional"})
    lam = coefficients(exact_plan(build(raw)))
    np.testing.assert_allclose(lam.values, [0.0, 0.0], atol=1e-12)


def test_at_capacity_the_next_target_does_not_move() -> None:
    """Ratchet, last actual 95 → next year's reference 95·1.1² > capacity 100: held at capacity, λ = 0."""
    raw = raw_scenario([branch("B0", last_year_actual=95.0, last_year_target=95.0), branch("B1", last_year_actual=40.0)],
                       policy={"name": "ratchet"})
    lam = coefficients(exact_plan(build(raw)))
    np.testing.assert_allclose(lam.values, [0.0, 1.1], atol=1e-9)


def test_null_in_the_cycles_last_year() -> None:
    """Plan year 2018 is the last of 2014–2018: no next year in the cycle, λ and the reward are null."""
    raw = raw_scenario([branch("B0"), branch("B1")], plan_year=2018)
    plan = make_plan(build(raw))
    assert plan.ratchet.next_year is None and np.isnan(plan.ratchet.values).all()
    data = plan_json(plan, "en")
    assert [b["ratchet_coefficient"] for b in data["branches"]] == [None, None]
    assert [b["effective_reward"] for b in data["branches"]] == [None, None]
    assert data["incentives"]["effective_reward"] is None


def test_plan_json_and_table_carry_lambda_and_the_effective_reward() -> None:
    """Ratchet λ = 1.1 with β = 0.2 万元, ρ = 0.5: β(1 − ρ)/(1 − ρ + ρλ) = 0.1/1.05 = 0.0952 → 0.10 万元.

    Catch-up λ = −0.25 (n = 5): 0.1/(0.5 − 0.125) = 0.2667 → 0.27 万元; with ρ = 0.9 the sum diverges
    (1 − 0.9 − 0.225 < 0): null and `effective_reward_unbounded`, ∞ in the table.
    """
    raw = raw_scenario([branch("B0", last_year_actual=40.0), branch("B1", last_year_actual=40.0)],
                       policy={"name": "ratchet"}, incentives={"bonus_per_client": 0.2, "discount_factor": 0.5})
    data = plan_json(make_plan(build(raw)), "en")
    assert [b["ratchet_coefficient"] for b in data["branches"]] == [1.1, 1.1]
    assert [b["effective_reward"] for b in data["branches"]] == [0.1, 0.1]
    assert data["incentives"]["effective_reward"]["p50"] == 0.1
    raw = raw_scenario([branch("B0"), branch("B1")], incentives={"discount_factor": 0.5})
    assert [b["effective_reward"] for b in plan_json(make_plan(build(raw)), "en")["branches"]] == [0.27, 0.27]
    raw["incentives"] = {"discount_factor": 0.9}
    plan = make_plan(build(raw))
    data = plan_json(plan, "en")
    assert [(b["effective_reward"], b["effective_reward_unbounded"]) for b in data["branches"]] == [(None, True)] * 2
    assert data["incentives"]["unbounded"] == 2
    text = plan_table_text(plan, "en", width=120)
    assert "Ratchet λ" in text and "∞" in text and "-0.25" in text


@pytest.mark.parametrize("lang,word", [("zh", "棘轮系数"), ("en", "Ratchet λ")])
def test_the_lambda_column_fits_80_columns(lang: str, word: str) -> None:
    """At 80 columns the table keeps id, name, this year's targets and λ, and no line is wider."""
    from scenarios.loading import load_scenario

    text = plan_table_text(make_plan(load_scenario("city-2014")), lang, width=80)
    assert word in text
    from rich.cells import cell_len

    assert max(cell_len(line) for line in text.splitlines()) <= 80


HYPOTHESIS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def next_year_events(plan, lam) -> None:
    window = plan.report.windows.get(f"rolling/{lam.next_year}")
    floors = [f.const for f in window.floors if f.row.quantity == "clients"]
    if floors and plan.report.lp_x[:, 1].sum() <= max(floors) + 1e-6:
        event("a client floor binds next year")
    if lam.finite_difference.any():
        event("finite difference used")
    if (lam.values < -1e-9).any():
        event("some λ < 0")
    if (lam.values > 1e-9).any():
        event("some λ > 0")


def held_above_pace(plan, lam) -> np.ndarray:
    """Branches whose next-year reference smoothing lifts above their pace while the key is spare capacity
    (their key once grew with what they booked: `test_smoothing_held_branch_does_not_ratchet_up`)."""
    window = plan.report.windows[f"rolling/{lam.next_year}"]
    from optimize.window import year_reference

    pace, _ = year_reference(plan.inputs, window.x_fixed)
    return (window.x_lo[:, 0] > pace + 1e-9) & (plan.inputs.key_name == "spare_capacity")


@HYPOTHESIS
@given(plan_banks(policy="catch_up"))
def test_catch_up_never_ratchets_up(raw) -> None:
    """P-λ: under catch-up no branch's next target rises with what it books now (λ ≤ 0), a branch
    smoothing holds above its pace included (labelled: the key is spare capacity above ref')."""
    plan = exact_plan(build(raw))
    lam = coefficients(plan)
    if not lam.defined:
        event("cycle's last year")
        assert np.isnan(lam.values).all()
        return
    next_year_events(plan, lam)
    held = held_above_pace(plan, lam)
    if held.any():
        event("branch held above its pace by smoothing")
    assert (lam.values <= 1e-7).all(), lam.values


def test_smoothing_held_branch_does_not_ratchet_up() -> None:
    """Catch-up with the spare-capacity key (a defect until the key became cap − ref'): smoothing (±10 % of capacity 100 around last
    target 100) holds B0 at 90 and more above its pace 50; the borrower-count floor (C0 = 1,500: 150
    > 90 + 50) asks for extra, shared by spare capacity cap − pace. Booking more lowers B0's pace but
    not its reference (held at 90), so its key — and its share of the extra — grows: its target
    rises with what it books (plan year: achieved 0 → 10 raises its target 95.000 → 95.098; next
    year λ_B0 ≈ +0.016). With the key cap − ref' (spare capacity above the clamped reference), the key
    of a held branch does not move with what it books.
    """
    def plan_for(achieved: int):
        rows = [branch("B0", last_year_target=100.0, achieved_clients=achieved, micro_clients=750),
                branch("B1", last_year_target=50.0, micro_clients=750)]
        raw = raw_scenario(rows, rules={"borrower_count": {"margin": 0.0}}, capacity={"max_change": 0.1})
        return exact_plan(build(raw))

    low, high = plan_for(0), plan_for(10)
    assert high.report.lp_x[0, 0] <= low.report.lp_x[0, 0] + 1e-9  # P4 on the plan year
    assert coefficients(low).values[0] <= 1e-9  # λ ≤ 0 next year


@HYPOTHESIS
@given(plan_banks(), st.data())
def test_analytic_lambda_equals_a_finite_difference(raw, data) -> None:
    """The λ read from the LP's structure equals re-solving next year's window with one branch's actual raised."""
    plan = exact_plan(build(raw))
    lam = coefficients(plan)
    if not lam.defined:
        event("cycle's last year")
        return
    next_year_events(plan, lam)
    event(f"policy {plan.inputs.policy}")
    window = plan.report.windows[f"rolling/{lam.next_year}"]
    actual = window.x_fixed[:, 0]
    j = data.draw(st.integers(0, len(actual) - 1), label="branch")
    analytic, exact = analytic_coefficients(plan.inputs, window, plan.report.lp_x[:, 1], actual)
    if not exact[j]:
        event("branch left to the finite difference")
    fd = finite_difference_coefficients(plan.inputs, window, actual, np.array([j]))[0]
    assert math.isclose(lam.values[j], fd, abs_tol=AGREE), (j, lam.values[j], fd)


def test_effective_reward_over_a_bank() -> None:
    """Weitzman per branch: ρ = 0.9, λ = 0.5 → 0.1/0.55 = 0.1818·β; λ = 0 → β; λ = −0.2 → 1 − 0.9 − 0.18 < 0:
    the sum diverges, +∞; λ NaN (cycle's last year) stays NaN."""
    from simulate.behaviour import effective_reward_per_unit

    reward = effective_reward_per_unit(2.0, 0.9, np.array([0.5, 0.0, -0.2, np.nan]))
    np.testing.assert_allclose(reward[:2], [2 * 0.1 / 0.55, 2.0])
    assert reward[2] == np.inf and np.isnan(reward[3])


def test_a_branch_without_key_still_gets_its_catch_up_cut() -> None:
    """Catch-up shared by outlets; B1 has none (key 0: no extra load). Borrower-count floor as above.

    Plan year: floor 120, paces 50 + 50: B0 takes the extra 20 → 70, B1 50. Next year: floor
    0.1·(0.9·1,200 + 120) = 120; B1's pace (250 − 50)/4 = 50, so B0 = 120 − 50 = 70. One more client
    by B1: its pace falls by 1/4 and B0 absorbs it (λ_B1 = −0.25); one more by B0: its pace falls but
    it is the only branch with a key, the floor puts it back (λ_B0 = 0).
    """
    rows = [branch("B0", micro_clients=600), branch("B1", micro_clients=600, outlets=0)]
    raw = raw_scenario(rows, rules={"borrower_count": {"margin": 0.0}}, policy={"name": "catch_up", "sharing_key": "outlets"})
    plan = exact_plan(build(raw))
    np.testing.assert_allclose(plan.report.lp_x[:, 1], [70.0, 50.0], atol=1e-7)
    np.testing.assert_allclose(coefficients(plan).values, [0.0, -0.25], atol=1e-9)


def test_a_loan_floor_that_sets_the_clients_weighs_keys_by_loan_size() -> None:
    """Catch-up, only the increment floor (Y_t ≥ Y_{t−1}, ΔM_prev = 5,000 万元), no book band; B0 lends
    at most 30 万元 a client, B1 50. Clients carry loans, so the loan floor sets the clients.

    Plan year: pace 50 each, keys (spare capacity) 50: 30·(50 + 50θ) + 50·(50 + 50θ) = 5,000 → θ = 1/4,
    x = 62.5 each, loans 5,000. Next year: pace (250 − 62.5)/4 = 46.875, key 53.125, and
    80·46.875 + 80·53.125·θ = 5,000 → θ = 5/17; push c = −(1 − θ)/4 = −3/17; one unit of θ adds
    s_max·key loans, so B0 (30 of 80) passes 5/8 of its cut to its target, B1 3/8:
    λ_B0 = −3/17·5/8 = −0.1103, λ_B1 = −3/17·3/8 = −0.0662.
    """
    rows = [branch("B0", loan_size_max=30.0), branch("B1", loan_size_max=50.0)]
    raw = raw_scenario(rows, rules={"increment": {"margin": 0.0}}, bank={"micro_loan_increment_prev": 5000.0})
    plan = exact_plan(build(raw))
    np.testing.assert_allclose(plan.report.lp_x[:, :2], [[62.5, 62.5], [62.5, 62.5]], atol=1e-6)
    lam = coefficients(plan)
    assert not lam.finite_difference.any()
    np.testing.assert_allclose(lam.values, [-3 / 17 * 5 / 8, -3 / 17 * 3 / 8], atol=1e-7)
