"""Counter visits and their wait for a teller, including those still queueing at the end.

`counter_wait_minutes` = (Σ waits of the visits served + Σ waits so far of the visits still
queueing when the period ends) ÷ counter visits, over the visits arriving in the measured days
(docs/simulation.md). Times: a counter day has `opening_hours × 60` minutes (8 h → 480).
"""

from __future__ import annotations

import math

import pytest

from sim_scripted import Account, Need, make_params, scripted_run
from simulate.revolving_credit import RevolvingCreditParams

EXACT = 1e-9


def counter_params(**simulation) -> RevolvingCreditParams:
    """Three counter accounts at one outlet with one teller open 8 hours; no defaults, reviews or season."""
    return make_params(accounts=3, online_share=0.0, seasonality=[1.0] * 12, default={"annual_pd": 0.0},
                       limit_review={"enabled": False},
                       counter={"outlets": 1, "tellers_per_outlet": 1, "opening_hours": 8.0},
                       simulation={"start_year": 2014, **simulation})


def counter_accounts() -> list[Account]:
    return [Account(100.0, online=False) for _ in range(3)]


def test_wait_of_visitors_served():
    """One teller. A at t = 0.1 served at once for 48 min (0.1 day); B at 0.15 waits until 0.2: 0.05 × 480 = 24 min.

    Mean wait (0 + 24) ÷ 2 = 12 minutes; 2 visits; both served, both draw.
    """
    params = counter_params(days=5)
    run = scripted_run(params, counter_accounts(), [Need(0.1, 0, 10.0), Need(0.15, 1, 20.0)],
                       service_minutes=[48.0, 48.0])
    m = run.output.metrics
    assert m["counter_visits"] == 2
    assert m["counter_wait_minutes"] == pytest.approx(12.0, rel=EXACT)
    assert run.portfolio.book.drawn == pytest.approx(30.0)


def test_visitors_still_queueing_at_the_end_count_with_their_wait_so_far():
    """One teller busy for 10,000 minutes (20.8 days) with A (t = 0.1); B arrives at 0.2, C at 4.5; the run ends at 5.

    Waits: A 0; B so far (5 − 0.2) × 480 = 2,304; C so far (5 − 4.5) × 480 = 240.
    Mean (0 + 2,304 + 240) ÷ 3 = 848 minutes. Averaging only the served would give 0.
    """
    params = counter_params(days=5)
    run = scripted_run(params, counter_accounts(), [Need(0.1, 0, 10.0), Need(0.2, 1, 10.0), Need(4.5, 2, 10.0)],
                       service_minutes=[10_000.0])
    m = run.output.metrics
    assert m["counter_visits"] == 3
    assert run.tally.censored_wait_minutes == pytest.approx(2304.0 + 240.0, rel=EXACT)
    assert m["counter_wait_minutes"] == pytest.approx((0 + 2304.0 + 240.0) / 3, rel=EXACT)


def test_visits_arriving_in_the_warm_up_are_not_counted():
    """10 warm-up days. A arrives at 2.5 (warm-up) and holds the teller for 10 days (4,800 min) until 12.5;
    B arrives at 11.0 (measured) and waits 1.5 × 480 = 720 minutes. Only B is counted: 1 visit, 720 minutes.
    """
    params = counter_params(warmup_days=10, days=10)
    run = scripted_run(params, counter_accounts(), [Need(2.5, 0, 10.0), Need(11.0, 1, 10.0)],
                       service_minutes=[4800.0, 1.0])
    m = run.output.metrics
    assert m["counter_visits"] == 1
    assert m["counter_wait_minutes"] == pytest.approx(720.0, rel=EXACT)


def test_no_visits_no_wait():
    """All online: no counter visit, and the mean wait is undefined (NaN, shown empty)."""
    params = make_params(accounts=1, online_share=1.0, default={"annual_pd": 0.0}, simulation={"days": 10})
    m = scripted_run(params, [Account(100.0)], [Need(1.5, 0, 10.0)]).output.metrics
    assert m["counter_visits"] == 0 and math.isnan(m["counter_wait_minutes"])
