"""The revolving-credit model: hand-worked interest, invariants, and checks against theory.

Tiers (docs/simulation.md, "How it is tested"): schedules a reader can verify on paper;
invariants on random parameters (hypothesis); statistical checks against closed forms with
warm-up, replications and named tolerances — never a number pinned to one seed. The money
metrics of the whole model on hand-worked portfolios are in tests/test_sim_money.py.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
import simpy
from hypothesis import HealthCheck, event, given, settings, target
from hypothesis import strategies as st

from scenarios.simulation import SimulationSettings
from sim_scripted import make_params
from simulate.credit_book import CreditBook
from simulate.dates import SimulationCalendar
from simulate.revolving_credit import (
    Portfolio,
    RevolvingCreditParams,
    Streams,
    interest_settlement,
    open_portfolio,
    run_portfolio,
    simulate_portfolio,
)
from simulate.stats import summarise

#: 7.2 % a year on a 360-day basis: 0.0002 per day.
RATE, BASIS = 0.072, 360
DAILY = RATE / BASIS
#: Relative tolerance of exact accounting identities (floating-point rounding only).
EXACT = 1e-9
#: Theory checks accept the closed form inside the 95 % CI widened by this factor, so that a
#: correct model fails for about 1 seed in 100 rather than 1 in 20.
CI_SLACK = 1.3


def quiet(**overrides) -> dict:
    """A portfolio without defaults, reviews or binding limits, flat seasonality, all online."""
    base = {
        "limit": {"median": 1e6, "sigma": 0.0, "max": 1e7},
        "seasonality": [1.0] * 12,
        "default": {"annual_pd": 0.0},
        "limit_review": {"enabled": False},
        "online_share": 1.0,
    }
    return {**base, **overrides}


def assert_in_ci(expected: float, values: list[float], what: str) -> None:
    s = summarise(values)
    half = (s.ci95[1] - s.ci95[0]) / 2 * CI_SLACK
    assert abs(s.mean - expected) <= half, (
        f"{what}: closed form {expected:.4f} outside the mean {s.mean:.4f} ± {half:.4f} ({s.n} replications)"
    )


# -- tier 1: interest by hand -------------------------------------------------------------------

def test_draw_on_day_3_repaid_on_day_33_earns_30_days():
    book = CreditBook([1000.0], [DAILY])
    book.draw(0, 100.0, 3)
    book.repay(0, 100.0, 33)
    assert book.interest_accrued() == pytest.approx(100 * 30 * 0.0002, rel=EXACT)  # 0.6


def test_same_day_draw_and_repay_earns_nothing():
    book = CreditBook([1000.0], [DAILY])
    book.draw(0, 100.0, 7)
    book.repay(0, 100.0, 7)
    assert book.interest_accrued() == 0.0
    assert book.outstanding == 0.0


def test_partial_repayments_earn_on_each_end_of_day_balance():
    book = CreditBook([1000.0], [DAILY])
    book.draw(0, 100.0, 0)
    book.repay(0, 40.0, 10)   # 10 days at 100
    book.repay(0, 60.0, 25)   # 15 days at 60
    assert book.interest_accrued() == pytest.approx((100 * 10 + 60 * 15) * DAILY, rel=EXACT)  # 0.38


def test_booked_repayments_are_posted_in_time_order_on_their_own_days():
    book = CreditBook([1000.0], [DAILY])
    book.draw(0, 100.0, 3)
    book.schedule_repayment(33.5, 0, 100.0)
    book.post_due(33.0)            # not yet due
    assert book.balance[0] == 100.0
    book.post_due(40.0)
    book.accrue_all(40)
    assert book.interest_accrued() == pytest.approx(0.6, rel=EXACT)


def test_draw_takes_what_the_limit_allows():
    book = CreditBook([30.0], [DAILY])
    assert book.draw(0, 20.0, 1) == 20.0
    assert book.draw(0, 20.0, 1) == 10.0       # only 10 left
    assert book.balance[0] == book.limit[0]
    assert book.draw(0, 5.0, 2) == 0.0


def test_booked_online_drawdown_comes_after_the_repayment_due_before_it():
    book = CreditBook([150.0], [DAILY])
    book.draw(0, 100.0, 1)
    book.schedule_repayment(5.2, 0, 100.0)
    book.book_drawdown(5.5, 0, 100.0, (30.0,))  # all 100 fit the limit of 150 only after the repayment
    book.post_due(5.5)                          # strictly before 5.5: the repayment, not the drawdown
    assert book.balance[0] == 0.0
    book.post_due(6.0)
    assert book.balance[0] == 100.0 and book.declined == 0.0
    book.post_due(40.0)                         # repaid at 35.5
    book.accrue_all(40)
    # days 1–4 at 100, then days 5–34 at 100: 34 end-of-day balances of 100
    assert book.interest_accrued() == pytest.approx(100 * 34 * DAILY, rel=EXACT)  # 0.68
    assert book.outstanding == 0.0 and book.bookings_pending == 0


def test_booked_drawdown_books_its_parts_and_they_are_posted_in_the_same_pass():
    book = CreditBook([1000.0], [DAILY])
    book.book_drawdown(3.0, 0, 100.0, (0.25, 0.5))  # 50 repaid at 3.25, 50 at 3.5
    book.post_due(3.4)
    assert book.balance[0] == 50.0
    book.post_due(4.0)
    assert book.balance[0] == 0.0 and book.repayments_booked == 2
    assert book.interest_accrued() == 0.0           # drawn and repaid on day 3: no end-of-day balance


def test_booked_drawdown_takes_what_the_limit_allows_at_its_own_time():
    book = CreditBook([30.0], [DAILY])
    book.book_drawdown(1.5, 0, 50.0, (10.0,))
    book.set_limit(0, 40.0)                         # raised before the drawdown is due
    book.post_due(2.0)
    assert book.balance[0] == 40.0 and book.declined == 10.0


def test_booked_drawdown_on_a_line_written_off_before_it_is_skipped():
    book = CreditBook([100.0], [DAILY])
    book.book_drawdown(10.5, 0, 50.0, (5.0,))
    book.post_due(10.0)
    book.write_off(0, 10)
    book.post_due(20.0)
    assert book.drawn == 0.0 and book.declined == 0.0 and book.bookings_pending == 0


def test_online_drawdowns_must_be_booked_in_time_order():
    book = CreditBook([100.0], [DAILY])
    book.book_drawdown(2.0, 0, 1.0, (1.0,))
    with pytest.raises(ValueError, match="time order"):
        book.book_drawdown(1.0, 0, 1.0, (1.0,))


def run_scripted(params: RevolvingCreditParams, schedule: list[tuple[float, str, float]],
                 until: float | None = None) -> CreditBook:
    """One account, the bank's settlement actor, and a borrower following `schedule`, run to `until`
    (default: the horizon)."""
    book = CreditBook([1e6], [params.daily_rate])
    env = simpy.Environment()

    def borrower(env: simpy.Environment):
        for time, action, amount in schedule:
            yield env.timeout(time - env.now)
            if action == "draw":
                book.draw(0, amount, int(env.now))
            else:
                book.repay(0, amount, int(env.now))

    env.process(borrower(env))
    env.process(interest_settlement(env, book, params))
    env.run(until=params.calendar.horizon if until is None else until)
    return book


def day_of(params: RevolvingCreditParams, date: dt.date) -> int:
    return (date - params.calendar.first_date).days


@pytest.mark.parametrize(
    ("year", "settlement", "settled_days"),
    [
        # monthly: draw on 5 Jan → the 20 Jan settlement covers 5–20 Jan (16 end-of-day balances)
        (2014, "monthly", 16),
        # quarterly: the first settlement is 20 Mar, covering 5 Jan – 20 Mar: 27 + 28 + 20 days
        (2014, "quarterly", 27 + 28 + 20),
        # leap year: February has 29 days
        (2016, "quarterly", 27 + 29 + 20),
    ],
)
def test_first_settlement_covers_the_days_up_to_and_including_the_20th(year, settlement, settled_days):
    params = make_params(simulation={"start_year": year, "days": 200}, settlement=settlement,
                         annual_rate=RATE, day_count_basis=BASIS)
    draw_day = day_of(params, dt.date(year, 1, 5))
    schedule = [(draw_day + 0.5, "draw", 100.0)]
    first_settlement, second_settlement = params.calendar.settlement_days(settlement)[:2]
    assert params.calendar.date_of(first_settlement) == dt.date(year, 3 if settlement == "quarterly" else 1, 20)
    # the first settlement runs at the start of the 21st; stop a day later, long before the second
    assert first_settlement + 2 < second_settlement + 1
    book = run_scripted(params, schedule, until=first_settlement + 2)
    assert book.interest_settled == pytest.approx(100 * settled_days * DAILY, rel=EXACT)
    book = run_scripted(params, schedule)
    book.accrue_all(params.calendar.horizon)
    assert book.interest_accrued() == pytest.approx(book.interest_settled + book.interest_unsettled(), rel=EXACT)


def test_monthly_settlements_split_the_interest_at_each_20th():
    params = make_params(simulation={"start_year": 2014, "days": 60}, annual_rate=RATE, day_count_basis=BASIS)
    book = run_scripted(params, [(3.5, "draw", 100.0), (33.5, "repay", 100.0)])
    # settled on 20 Jan: EOD 4–20 Jan = 17 days; on 20 Feb: EOD 21 Jan – 2 Feb = 13 days; total 30 days
    assert book.interest_settled == pytest.approx(100 * 30 * DAILY, rel=EXACT)
    assert book.interest_unsettled() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("year", "frequency", "expected"),
    [
        (2014, "monthly", [dt.date(2014, m, 20) for m in range(1, 13)]),
        (2014, "quarterly", [dt.date(2014, m, 20) for m in (3, 6, 9, 12)]),
        (2016, "monthly", [dt.date(2016, m, 20) for m in range(1, 13)]),
    ],
)
def test_settlement_dates(year, frequency, expected):
    days = 366 if year % 4 == 0 else 365
    calendar = SimulationCalendar(year, 0, days)
    assert [calendar.date_of(d) for d in calendar.settlement_days(frequency)] == expected


def test_leap_year_and_warm_up_calendar():
    calendar = SimulationCalendar(2016, 31, 366)
    assert calendar.first_date == dt.date(2015, 12, 1)          # warm-up runs in December 2015
    assert calendar.date_of(31) == dt.date(2016, 1, 1)          # measurement starts on 1 January
    assert calendar.date_of(31 + 365) == dt.date(2016, 12, 31)  # 366 measured days end on 31 December
    assert calendar.date_of(31 + 59) == dt.date(2016, 2, 29)
    assert calendar.settlement_days("monthly")[0] == 19         # 20 December 2015, in the warm-up


# -- tier 2: invariants on random parameters ---------------------------------------------------

class AuditedBook(CreditBook):
    """The real credit book, checking 0 ≤ balance ≤ limit after every change to an account.

    A subclass handed to the model through `run_portfolio`, not a patch: every rule is the
    book's own; only the check after each change is added.
    """

    __slots__ = ("violations",)

    def __init__(self, limits, daily_rates) -> None:
        super().__init__(limits, daily_rates)
        self.violations: list[str] = []

    def _check(self, what: str, account: int) -> None:
        balance, limit = self.balance[account], self.limit[account]
        if balance > limit or balance < 0:
            self.violations.append(f"{what}: account {account} balance {balance} limit {limit}")

    def draw(self, account, amount, day):
        granted = super().draw(account, amount, day)
        self._check("draw", account)
        return granted

    def repay(self, account, amount, day):
        paid = super().repay(account, amount, day)
        self._check("repay", account)
        return paid

    def write_off(self, account, day):
        ead = super().write_off(account, day)
        self._check("write_off", account)
        return ead

    def set_limit(self, account, limit):
        super().set_limit(account, limit)
        self._check("set_limit", account)


def simulate_audited(params: RevolvingCreditParams, seed: int):
    """`simulate_portfolio(params, seed)` — same portfolio, same streams — on an `AuditedBook`."""
    setup_seed, streams_seed = np.random.SeedSequence(seed).spawn(2)
    opened = open_portfolio(params, np.random.default_rng(setup_seed))
    book = AuditedBook(opened.book.limit, opened.book.daily_rate)
    portfolio = Portfolio(book, opened.online, opened.outlet, opened.review_day)
    return run_portfolio(params, portfolio, Streams.spawn(params, streams_seed))


def assert_money_conserved(run) -> None:
    book, tally = run.portfolio.book, run.tally
    scale = max(1.0, book.drawn)
    assert book.drawn - book.repaid - book.written_off == pytest.approx(book.outstanding, abs=EXACT * scale)
    assert sum(book.balance) == pytest.approx(book.outstanding, abs=EXACT * scale)
    accrued = book.interest_accrued()
    assert accrued == pytest.approx(
        book.interest_settled + book.interest_unsettled() + book.interest_written_off, abs=EXACT * max(1.0, accrued)
    )
    assert all(b <= lim for b, lim in zip(book.balance, book.limit))
    assert min(book.balance) >= 0.0
    # interest by the 积数 method equals the end-of-day balances × daily rate (one rate for all)
    metrics = run.output.metrics
    assert metrics["interest_income"] == pytest.approx(
        metrics["mean_outstanding"] * run.params.days * run.params.daily_rate, rel=EXACT, abs=1e-12
    )
    assert len(tally.eod_outstanding) == run.params.days


random_portfolios = st.fixed_dictionaries({
    "accounts": st.integers(1, 120),
    "limit": st.fixed_dictionaries({"median": st.floats(1, 60), "sigma": st.floats(0, 1.5), "max": st.floats(60, 200)}),
    "draws_per_month": st.floats(0, 8),
    "draw_amount": st.fixed_dictionaries({"mean": st.floats(0.5, 30), "sigma": st.floats(0, 1.5)}),
    "holding_days_mean": st.floats(0.5, 60),
    "repayment_instalments": st.integers(1, 4),
    "settlement": st.sampled_from(["monthly", "quarterly"]),
    "day_count_basis": st.sampled_from([360, 365]),
    "online_share": st.floats(0, 1),
    "counter": st.fixed_dictionaries({"outlets": st.integers(1, 3), "tellers_per_outlet": st.integers(1, 2)}),
    "default": st.fixed_dictionaries({"annual_pd": st.sampled_from([0.0, 0.05, 0.5]),
                                      "utilisation_sensitivity": st.floats(0, 8)}),
    "limit_review": st.fixed_dictionaries({"enabled": st.booleans(), "raise_above": st.floats(0, 1),
                                           "cut_below": st.floats(0, 0.5)}),
})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    revolving=random_portfolios,
    warmup=st.integers(0, 60),
    days=st.integers(1, 400),
    year=st.integers(2012, 2020),
    seed=st.integers(0, 2**32),
)
def test_money_is_conserved_and_balances_stay_within_limits(revolving, warmup, days, year, seed):
    params = make_params(simulation={"warmup_days": warmup, "days": days, "start_year": year}, **revolving)
    run = simulate_audited(params, seed)
    m = run.output.metrics
    # what this example exercised, so a run that checked only empty books is visible in the statistics
    event("drawn" if run.portfolio.book.drawn > 0 else "nothing drawn")
    event("limits bound (declines)" if m["declined_draw_amount"] > 0 else "no declines")
    event("defaults" if m["defaults"] > 0 else "no defaults")
    event("counter visits" if m["counter_visits"] > 0 else "no counter visits")
    event("total limit moved (reviews, defaults)" if run.tally.eod_limit[0] != run.tally.eod_limit[-1] else "total limit unchanged")
    target(float(run.portfolio.book.drawn), label="amount drawn")
    assert run.portfolio.book.violations == []
    assert_money_conserved(run)


def test_parameters_are_the_scenarios_settings_themselves():
    """One declaration per parameter: the model holds the scenario's section, not a copy of its fields."""
    settings = SimulationSettings.model_validate({"warmup_days": 7, "days": 30, "revolving_credit": {"accounts": 12}})
    params = RevolvingCreditParams.from_settings(settings, start_year=2016)
    assert params.card is settings.revolving_credit
    assert (params.warmup_days, params.days, params.start_year) == (7, 30, 2016)


def test_same_seed_same_replication_and_different_seed_differs():
    params = make_params(accounts=200, simulation={"days": 60})
    a = simulate_portfolio(params, 7).output
    b = simulate_portfolio(params, 7).output
    c = simulate_portfolio(params, 8).output
    assert a.metrics == b.metrics and np.array_equal(a.series, b.series)
    assert a.metrics != c.metrics


def test_tight_limits_decline_draws_and_the_book_still_balances():
    params = make_params(accounts=50, limit={"median": 2.0, "sigma": 0.0, "max": 2.0}, simulation={"days": 90})
    run = simulate_portfolio(params, 3)
    assert run.output.metrics["declined_draw_amount"] > 0
    assert run.output.metrics["peak_outstanding"] <= 50 * 2.0 + EXACT
    assert_money_conserved(run)


# -- tier 3: against theory ---------------------------------------------------------------------

#: Little's law test: warm-up of ten mean holding times, so the start-up transient (e^-10) is gone.
LITTLE_HOLDING_DAYS = 10.0
LITTLE_WARMUP_DAYS = 100
LITTLE_REPLICATIONS = 12


@pytest.mark.slow
def test_mean_outstanding_follows_littles_law():
    params = make_params(**quiet(accounts=300, holding_days_mean=LITTLE_HOLDING_DAYS, repayment_instalments=2),
                         simulation={"warmup_days": LITTLE_WARMUP_DAYS, "days": 365})
    card = params.card
    expected = card.accounts * params.draws_per_day * card.draw_amount.mean * card.holding_days_mean
    runs = [simulate_portfolio(params, np.random.SeedSequence(2014, spawn_key=(i,))) for i in range(LITTLE_REPLICATIONS)]
    assert_in_ci(expected, [r.output.metrics["mean_outstanding"] for r in runs], "mean outstanding (Little's law)")
    for run in runs:
        m = run.output.metrics
        assert m["declined_draw_amount"] == 0 and m["defaults"] == 0
        assert m["interest_income"] == pytest.approx(m["mean_outstanding"] * 365 * params.daily_rate, rel=EXACT)


#: M/M/1 test: one outlet, one teller, every draw at the counter; utilisation ρ ≈ 0.55.
MM1_ACCOUNTS, MM1_SERVICE_MINUTES, MM1_HOURS = 200, 20.0, 8.0


@pytest.mark.slow
def test_counter_wait_matches_the_mm1_queue():
    params = make_params(**quiet(
        accounts=MM1_ACCOUNTS, online_share=0.0,
        counter={"outlets": 1, "tellers_per_outlet": 1, "service_minutes_mean": MM1_SERVICE_MINUTES,
                 "opening_hours": MM1_HOURS},
    ), simulation={"warmup_days": 10, "days": 200})
    arrivals_per_minute = MM1_ACCOUNTS * params.draws_per_day / (MM1_HOURS * 60)
    service_rate = 1 / MM1_SERVICE_MINUTES
    rho = arrivals_per_minute / service_rate
    expected_wait = rho / (service_rate - arrivals_per_minute)   # W_q of M/M/1
    waits = [simulate_portfolio(params, np.random.SeedSequence(5, spawn_key=(i,))).output.metrics["counter_wait_minutes"]
             for i in range(10)]
    assert_in_ci(expected_wait, waits, "counter wait (M/M/1)")


@pytest.mark.slow
def test_without_utilisation_sensitivity_defaults_follow_the_annual_pd():
    pd, accounts, days = 0.3, 400, 365
    params = make_params(**quiet(accounts=accounts, default={"annual_pd": pd, "utilisation_sensitivity": 0.0}),
                         simulation={"days": days})
    expected = accounts * (1 - (1 - pd) ** (days / 365))
    counts = [simulate_portfolio(params, np.random.SeedSequence(9, spawn_key=(i,))).output.metrics["defaults"]
              for i in range(10)]
    assert_in_ci(expected, counts, "defaults at β = 0")


def default_portfolio(beta: float) -> RevolvingCreditParams:
    return make_params(
        accounts=1500, draws_per_month=4.0, limit_review={"enabled": False},
        default={"annual_pd": 0.2, "utilisation_sensitivity": beta},
        simulation={"warmup_days": 60, "days": 180},
    )


@pytest.mark.slow
def test_usage_rises_before_default():
    runs = [simulate_portfolio(default_portfolio(4.0), np.random.SeedSequence(11, spawn_key=(i,))) for i in range(3)]
    defaults = [d for run in runs for d in run.tally.defaults if not math.isnan(d.utilisation_before)]
    assert len(defaults) > 30
    rise = summarise([d.utilisation - d.utilisation_before for d in defaults])
    assert rise.ci95[0] > 0, f"utilisation at default is not above its earlier average: {rise}"
    portfolio_mean = np.mean([run.output.metrics["mean_utilisation"] for run in runs])
    assert np.mean([d.utilisation for d in defaults]) > portfolio_mean


@pytest.mark.slow
def test_higher_utilisation_sensitivity_means_more_defaults():
    seeds = [np.random.SeedSequence(13, spawn_key=(i,)) for i in range(4)]
    low = [simulate_portfolio(default_portfolio(0.0), s).output.metrics["defaults"] for s in seeds]
    high = [simulate_portfolio(default_portfolio(6.0), s).output.metrics["defaults"] for s in seeds]
    difference = summarise([h - lo for h, lo in zip(high, low)])   # common random numbers: paired
    assert difference.ci95[0] > 0, f"defaults did not rise with sensitivity: {low} → {high}"
