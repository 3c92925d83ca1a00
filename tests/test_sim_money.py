"""Every money metric of the revolving-credit model against a hand computation.

Each case runs the whole model (all actors, the book, the metrics) on a portfolio and random
numbers chosen so that the result can be worked out on paper (tests/sim_scripted.py); the hand
computation is in the docstring. docs/simulation.md gives the formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim_scripted import Account, Need, make_params, scripted_run
from simulate.revolving_credit import cut_limit, raised_limit, simulate_portfolio

#: Relative tolerance of the hand computations: floating-point rounding only.
EXACT = 1e-9
#: Defaults of a hand case: no reviews, flat seasonality (the scripted times need no season).
QUIET = {"seasonality": [1.0] * 12, "limit_review": {"enabled": False}, "default": {"annual_pd": 0.0}}


def card(**overrides) -> dict:
    """A quiet card section with `overrides` merged in (one level deep for the nested sections)."""
    out = {**QUIET}
    for key, value in overrides.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


# -- interest and funding on the day-count basis -------------------------------------------------

@pytest.mark.parametrize(
    ("basis", "interest", "funding"),
    [
        (360, 100 * 30 * 0.072 / 360, 100 * 30 * 0.035 / 360),   # 0.6 and 0.291666…
        (365, 100 * 30 * 0.072 / 365, 100 * 30 * 0.035 / 365),   # 0.591781 and 0.287671
    ],
    ids=["basis-360", "basis-365"],
)
def test_interest_and_funding_cost_on_the_day_count_basis(basis, interest, funding):
    """100 drawn on day 3 (t = 3.5), repaid on day 33 (t = 33.5): end-of-day balances of 100 on days 3–32.

    积数 = 100 × 30 = 3,000 balance-days. Interest = 3,000 × 7.2 % ÷ basis: 0.6 at 360, 0.591781
    at 365; funding = 3,000 × 3.5 % ÷ basis: 0.291667 at 360, 0.287671 at 365. Mean outstanding
    3,000 ÷ 60 days = 50; peak 100; utilisation 50 ÷ 1,000 = 0.05. Settled on 20 Jan (days 3–19,
    17 days) and 20 Feb (days 20–32, 13 days): all 30 days, so settled = accrued.
    """
    params = make_params(**card(accounts=1, annual_rate=0.072, funding_rate=0.035, day_count_basis=basis),
                         simulation={"start_year": 2014, "days": 60})
    run = scripted_run(params, [Account(limit=1000.0)], [Need(3.5, 0, 100.0, holding=30.0)])
    m = run.output.metrics
    assert m["interest_income"] == pytest.approx(interest, rel=EXACT)
    assert m["funding_cost"] == pytest.approx(funding, rel=EXACT)
    assert run.portfolio.book.interest_settled == pytest.approx(interest, rel=EXACT)
    assert (m["mean_outstanding"], m["peak_outstanding"]) == pytest.approx((50.0, 100.0), rel=EXACT)
    assert m["mean_utilisation"] == pytest.approx(0.05, rel=EXACT)
    assert m["net_interest_income"] == pytest.approx(interest - funding, rel=EXACT)
    assert m["defaults"] == 0 and m["loss"] == 0 and math.isnan(m["ccf"])


def test_a_drawdown_repaid_the_same_day_costs_nothing():
    """Drawn at t = 5.2 and repaid at 5.7, both on day 5: no end-of-day balance, no interest, no funding."""
    params = make_params(**card(accounts=1), simulation={"days": 20})
    m = scripted_run(params, [Account(limit=100.0)], [Need(5.2, 0, 50.0, holding=0.5)]).output.metrics
    assert (m["interest_income"], m["funding_cost"], m["peak_outstanding"]) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("basis", [360, 365])
def test_funding_cost_is_the_end_of_day_balances_at_the_daily_funding_rate(basis):
    """On a seeded random portfolio: funding = Σ end-of-day balances × 3.5 % ÷ basis, interest likewise × 7.2 %.

    The series is the model's own end-of-day balance of each measured day, so this holds exactly
    whatever the seed; the rates are the constants written here, not the model's daily rate.
    """
    params = make_params(accounts=200, day_count_basis=basis, annual_rate=0.072, funding_rate=0.035,
                         simulation={"days": 90, "warmup_days": 20})
    out = simulate_portfolio(params, 3).output
    balance_days = float(out.series.sum())
    assert balance_days > 0
    assert out.metrics["funding_cost"] == pytest.approx(balance_days * 0.035 / basis, rel=EXACT)
    assert out.metrics["interest_income"] == pytest.approx(balance_days * 0.072 / basis, rel=EXACT)


# -- loss, EAD and CCF -----------------------------------------------------------------------------

def default_case(lgd: float = 0.45):
    """Three accounts, 10 warm-up days, 30 measured days (1–30 January 2014), defaults accepted when proposed.

    - account 0, limit 100: draws 40 at t = 2.5 (warm-up) and 30 at 12.5; defaults at 15.5 with EAD 70;
      drawn 40 and limit 100 at the start of measurement (t = 10);
    - account 1, limit 50: wants 80 at 13.5, gets 50 (30 declined); defaults at 16.5 with EAD 50;
      drawn 0, limit 50 at the start;
    - account 2, limit 200: never draws, never defaults.
    """
    params = make_params(**card(accounts=3, default={"annual_pd": 0.5, "utilisation_sensitivity": 2.0,
                                                    "reference_utilisation": 0.5, "lgd": lgd}),
                         simulation={"start_year": 2014, "warmup_days": 10, "days": 30})
    accounts = [Account(100.0), Account(50.0), Account(200.0)]
    needs = [Need(2.5, 0, 40.0), Need(12.5, 0, 30.0), Need(13.5, 1, 80.0)]
    return scripted_run(params, accounts, needs, defaults=[(15.5, 0), (16.5, 1)])


def test_loss_is_ead_times_lgd():
    """EAD = 70 + 50 = 120; loss = 120 × 0.45 = 54; 2 defaults; 30 declined."""
    m = default_case().output.metrics
    assert m["defaults"] == 2
    assert m["ead"] == pytest.approx(120.0, rel=EXACT)
    assert m["loss"] == pytest.approx(54.0, rel=EXACT)
    assert m["declined_draw_amount"] == pytest.approx(30.0, rel=EXACT)


def test_loss_scales_with_lgd():
    """The same defaults with LGD 0.8: loss = 120 × 0.8 = 96 (an LGD of 0.45 hard-wired would give 54)."""
    assert default_case(lgd=0.8).output.metrics["loss"] == pytest.approx(96.0, rel=EXACT)


def test_ccf_from_its_definition():
    """CCF = Σ(EAD − drawn) ÷ Σ(limit − drawn), drawn and limit at the start of measurement.

    = ((70 − 40) + (50 − 0)) ÷ ((100 − 40) + (50 − 0)) = 80 ÷ 110 = 0.727273. Without the drawn
    balance in the numerator it would be 120 ÷ 110 = 1.0909; without it in the denominator
    80 ÷ 150 = 0.5333.
    """
    run = default_case()
    assert run.output.metrics["ccf"] == pytest.approx(80 / 110, rel=EXACT)
    first, second = run.tally.defaults
    assert (first.reference_balance, first.reference_limit, first.ead) == pytest.approx((40.0, 100.0, 70.0))
    assert (second.reference_balance, second.reference_limit, second.ead) == pytest.approx((0.0, 50.0, 50.0))


def test_net_interest_income_of_the_default_case():
    """End-of-day balances, days 10–15 of the run: 40, 40, 70, 120, 120, 50 (account 0 gone on day 15) = 440.

    Interest 440 × 0.072 ÷ 360 = 0.088; funding 440 × 0.035 ÷ 360 = 0.0427778; loss 54;
    net = 0.088 − 0.0427778 − 54 = −53.9547778.
    """
    m = default_case().output.metrics
    assert m["mean_outstanding"] * 30 == pytest.approx(440.0, rel=EXACT)
    assert m["interest_income"] == pytest.approx(0.088, rel=EXACT)
    assert m["funding_cost"] == pytest.approx(440 * 0.035 / 360, rel=EXACT)
    assert m["net_interest_income"] == pytest.approx(0.088 - 440 * 0.035 / 360 - 54.0, rel=EXACT)


# -- the yearly limit review ------------------------------------------------------------------------

def test_limit_review_raises_cuts_and_keeps_the_balance():
    """Six accounts reviewed on day 200 (raise above 80 % by 20 %, cut below 5 % by 20 %, cap 500).

    Average utilisation over days 0–199 = 积数 ÷ 200 days ÷ limit:

    | account | limit | drawn (time) | usage | new limit |
    |---|---|---|---|---|
    | 0 | 100 | 90 (0.5) | 0.9 | 100 × 1.2 = 120 |
    | 1 | 450 | 420 (0.5) | 0.933 | min(500, 540) = 500 |
    | 2 | 100 | 50 (0.5) | 0.5 | 100 (between the thresholds) |
    | 3 | 100 | 4 (0.5) | 0.04 | 100 × 0.8 = 80 |
    | 4 | 100 | 90 (199.5) | 90 ÷ 200 ÷ 100 = 0.0045 | max(balance 90, 80) = 90 |
    | 5 | 100 | — | 0 | 80 |
    """
    params = make_params(**card(accounts=6, limit={"median": 100.0, "sigma": 0.0, "max": 500.0},
                                limit_review={"enabled": True, "raise_above": 0.8, "raise_by": 0.2,
                                              "cut_below": 0.05, "cut_by": 0.2}),
                         simulation={"start_year": 2014, "days": 210})
    limits = [100.0, 450.0, 100.0, 100.0, 100.0, 100.0]
    needs = [Need(0.5, 0, 90.0), Need(0.5, 1, 420.0), Need(0.5, 2, 50.0), Need(0.5, 3, 4.0), Need(199.5, 4, 90.0)]
    run = scripted_run(params, [Account(limit, review_day=200) for limit in limits], needs)
    assert run.portfolio.book.limit == pytest.approx([120.0, 500.0, 100.0, 80.0, 90.0, 80.0], rel=EXACT)
    assert run.tally.eod_limit[199] == pytest.approx(950.0) and run.tally.eod_limit[200] == pytest.approx(970.0)


@pytest.mark.parametrize(
    ("limit", "raise_by", "cap", "expected"),
    [
        (100.0, 0.2, 500.0, 120.0),   # 100 × 1.2
        (450.0, 0.2, 500.0, 500.0),   # 540 capped at 500
        (600.0, 0.2, 500.0, 600.0),   # already above the cap: a raise never lowers a limit
    ],
)
def test_raised_limit(limit, raise_by, cap, expected):
    assert raised_limit(limit, raise_by, cap) == pytest.approx(expected, rel=EXACT)


@pytest.mark.parametrize(
    ("limit", "cut_by", "balance", "expected"),
    [
        (100.0, 0.2, 4.0, 80.0),      # 100 × 0.8
        (100.0, 0.2, 90.0, 90.0),     # 80 would be below the balance of 90
        (100.0, 1.0, 0.0, 0.0),       # a full cut of an empty line closes it to 0
    ],
)
def test_cut_limit_never_goes_below_the_balance(limit, cut_by, balance, expected):
    assert cut_limit(limit, cut_by, balance) == pytest.approx(expected, rel=EXACT, abs=EXACT)


def test_random_reviews_keep_every_balance_within_its_limit():
    """A seeded portfolio with aggressive cuts (every line below 90 % usage cut by 90 %): limits end ≥ balances."""
    params = make_params(accounts=300, limit_review={"enabled": True, "cut_below": 0.9, "cut_by": 0.9},
                         default={"annual_pd": 0.0}, simulation={"days": 400})
    run = simulate_portfolio(params, 4)
    book = run.portfolio.book
    assert np.all(np.asarray(book.limit) >= np.asarray(book.balance))
    cut = sum(1 for lim in book.limit if lim < params.card.limit.max)
    assert cut > 0
    assert any(b > 0 and lim == pytest.approx(b) for b, lim in zip(book.balance, book.limit)), \
        "no cut was held up by a balance: the floor was not exercised"
