"""Seasonality: each month's count of cash needs against the month's multiplier of the draw rate.

The rate of cash needs in calendar month m is `accounts × draws_per_month × 12 ÷ 365 × season[m]`
per day (docs/simulation.md). Two checks: a deterministic count on a controlled generator, and a
statistical one on the seeded generator.
"""

from __future__ import annotations

import math
from itertools import repeat

import pytest

from sim_scripted import make_params
from simulate.credit_book import CreditBook
from simulate.revolving_credit import Portfolio, RevolvingCreditParams, Streams, run_portfolio, simulate_portfolio

#: Multipliers with a peak, an empty month and a trough, so a rule that ignores them cannot pass.
SEASON = [1.5, 0.0, 0.25, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0]
#: A month's Poisson count is accepted within this many standard deviations of its mean
#: (12 months: a correct model fails for about 1 seed in 1,000 or fewer).
Z_TOLERANCE = 4.0


def month_segments(params: RevolvingCreditParams, counts: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """(calendar month, days simulated in it, cash needs) for each month segment of the run."""
    firsts = [first for first, _ in counts] + [params.calendar.horizon]
    return [(params.calendar.date_of(first).month, firsts[k + 1] - first, count)
            for k, (first, count) in enumerate(counts)]


def evenly_spaced_needs(params: RevolvingCreditParams):
    """Run the model with every unit gap equal to 1: within a month of rate r, needs at 1/r, 2/r, …"""
    n = params.card.accounts
    book = CreditBook([1e9] * n, [params.daily_rate] * n)
    portfolio = Portfolio(book, [True] * n, [0] * n, [0] * n)
    streams = Streams(needs=repeat((1.0, 0, 1e-3)), holding_days=repeat(0.5), service_minutes=repeat(1.0),
                      default_gaps=repeat(math.inf), default_accounts=repeat(0), default_draws=repeat(1.0))
    return run_portfolio(params, portfolio, streams)


def test_each_months_count_follows_its_multiplier_exactly_on_an_even_generator():
    """365 accounts × 1 draw a month = 12 cash needs a day at a multiplier of 1.

    With needs exactly 1/r apart, a month of d days at rate r holds r·d of them (±1 at the month's
    end): January 12 × 1.5 × 31 = 558, February 0, March 12 × 0.25 × 31 = 93, December
    12 × 2 × 31 = 744, a 30-day month at 1: 360. Ignoring the multipliers would give 372 in
    January and 336 in February.
    """
    params = make_params(accounts=365, draws_per_month=1.0, seasonality=SEASON, default={"annual_pd": 0.0},
                         limit_review={"enabled": False}, simulation={"start_year": 2014, "days": 365})
    segments = month_segments(params, evenly_spaced_needs(params).tally.cash_needs_per_month)
    assert [month for month, _, _ in segments] == list(range(1, 13))
    for month, days, count in segments:
        expected = 12 * SEASON[month - 1] * days
        assert abs(count - expected) <= 1, f"month {month}: {count} cash needs, expected {expected:.1f} ± 1"
    assert segments[1][2] == 0, "a month with multiplier 0 has no cash needs"


def test_monthly_counts_are_poisson_with_the_seasonal_rate():
    """Seeded generator, 2 replications × 2,000 accounts × 2 draws a month, with a 45-day warm-up.

    Month m's count is Poisson with mean 2,000 × 2 × 12 ÷ 365 × season[m] × days; summed over the
    replications, each month's count lies within Z_TOLERANCE standard deviations (√mean) of its
    mean. January: mean 2 × 4,076 = 8,153 × 1.5 = 12,230 (sd 111); ignoring the multiplier gives
    8,153, 37 sd away.
    """
    params = make_params(accounts=2000, draws_per_month=2.0, seasonality=SEASON, online_share=1.0,
                         default={"annual_pd": 0.0}, limit_review={"enabled": False},
                         simulation={"start_year": 2014, "warmup_days": 45, "days": 365})
    replications = [simulate_portfolio(params, seed) for seed in (21, 22)]
    per_day = params.card.accounts * 2.0 * 12 / 365
    totals: dict[int, list[float]] = {}
    for run in replications:
        for k, (month, days, count) in enumerate(month_segments(params, run.tally.cash_needs_per_month)):
            expected = per_day * SEASON[month - 1] * days
            total = totals.setdefault(k, [month, 0.0, 0])
            total[1] += expected
            total[2] += count
    assert len(totals) == 14   # 17–30 Nov, December (warm-up), then January–December
    for month, mean, count in totals.values():
        if mean == 0:
            assert count == 0, f"month {month}: {count} cash needs at multiplier 0"
            continue
        z = (count - mean) / math.sqrt(mean)
        assert abs(z) <= Z_TOLERANCE, f"month {month}: {count} cash needs, Poisson mean {mean:.0f} (z = {z:.1f})"


def test_the_draw_count_moves_the_outstanding_balance():
    """Doubling every multiplier doubles the cash needs, and by Little's law roughly the balance too.

    Same seed (common random numbers): the ratio of mean outstanding lies between 1.8 and 2.2.
    """
    def mean_outstanding(scale: float) -> float:
        params = make_params(accounts=500, seasonality=[scale] * 12, online_share=1.0,
                             limit={"median": 1e6, "sigma": 0.0, "max": 1e7}, default={"annual_pd": 0.0},
                             limit_review={"enabled": False}, simulation={"warmup_days": 100, "days": 120})
        return simulate_portfolio(params, 5).output.metrics["mean_outstanding"]

    ratio = mean_outstanding(2.0) / mean_outstanding(1.0)
    assert ratio == pytest.approx(2.0, abs=0.2)
