"""Scripted runs of the revolving-credit model: chosen accounts, arrivals, holding times, defaults.

The whole model runs (`simulate.revolving_credit.run_portfolio`: every actor, the book, the
metrics); only its random numbers are chosen by the test instead of drawn, so a reader can
work out every metric by hand. How the choices map onto the model's streams:

- a cash need at time `t` in a month whose rate is `r` is a unit exponential gap of `(t − t_prev) · r`
  (the model divides by `r`); each month is closed by an infinite gap, which the model consumes
  when it moves to the next month (memorylessness: each month starts afresh);
- a default candidate at time `t` is a unit gap of `(t − t_prev) · R`, `R` = accounts × the hazard
  bound, with an acceptance draw of 0 (always accepted while the line is open);
- holding times and teller minutes are taken in the order the model asks for them (online needs
  in arrival order; counter visits when served); after the script, infinite ones (never repaid,
  never served).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

from scenarios.simulation import SimulationSettings
from simulate.credit_book import CreditBook
from simulate.revolving_credit import (
    Portfolio,
    PortfolioRun,
    RevolvingCreditParams,
    Streams,
    run_portfolio,
)


def make_params(*, simulation: dict | None = None, **revolving: Any) -> RevolvingCreditParams:
    """Parameters from a `simulation:` section written as in a scenario file (money in 万元)."""
    section = {"revolving_credit": revolving, **(simulation or {})}
    return RevolvingCreditParams.from_settings(SimulationSettings.model_validate(section))


@dataclass(frozen=True)
class Need:
    """A scripted cash need: at `time`, `account` wants `amount`, repaid `holding` days after it is drawn."""

    time: float
    account: int
    amount: float
    holding: float = math.inf


@dataclass(frozen=True)
class Account:
    """A scripted account: its limit, channel and review day (day of the year, 0–364)."""

    limit: float
    online: bool = True
    review_day: int = 364
    outlet: int = 0


def need_gaps(params: RevolvingCreditParams, needs: Sequence[Need]) -> Iterator[tuple[float, int, float]]:
    """The unit gaps that make the model's cash-need process arrive exactly at `needs` (sorted by time)."""
    calendar = params.calendar
    month_of_day = calendar.month_of_each_day()
    per_day = params.card.accounts * params.draws_per_day
    gaps: list[tuple[float, int, float]] = []
    previous, month_start = 0.0, 0
    for month_end in calendar.month_starts():
        rate = per_day * params.season(month_of_day[month_start])
        in_month = [n for n in needs if month_start <= n.time < month_end]
        if in_month and rate <= 0.0:
            raise ValueError(f"a need at {in_month[0].time} falls in a month with no cash needs")
        for need in in_month:
            gaps.append(((need.time - previous) * rate, need.account, need.amount))
            previous = need.time
        if rate > 0.0:
            gaps.append((math.inf, 0, 0.0))
        previous, month_start = float(month_end), month_end
    return chain(gaps, repeat((math.inf, 0, 0.0)))


def default_gaps(params: RevolvingCreditParams, times: Iterable[float], reference: float) -> Iterator[float]:
    """Unit gaps that put default candidates at `times` (the model divides by accounts × hazard bound)."""
    beta = params.card.default.utilisation_sensitivity
    rate = params.card.accounts * params.hazard_at_reference() * math.exp(beta * (1.0 - reference))
    out, previous = [], 0.0
    for t in times:
        out.append((t - previous) * rate)
        previous = t
    return chain(out, repeat(math.inf))


def scripted_run(params: RevolvingCreditParams, accounts: Sequence[Account], needs: Sequence[Need] = (),
                 defaults: Sequence[tuple[float, int]] = (), service_minutes: Sequence[float] = ()) -> PortfolioRun:
    """Run the model on `accounts` with the scripted needs, defaults `(time, account)` and teller minutes."""
    if len(accounts) != params.card.accounts:
        raise ValueError(f"{len(accounts)} scripted accounts for a portfolio of {params.card.accounts}")
    needs = sorted(needs, key=lambda n: n.time)
    book = CreditBook([a.limit for a in accounts], [params.daily_rate] * len(accounts))
    portfolio = Portfolio(book, [a.online for a in accounts], [a.outlet for a in accounts],
                          [a.review_day for a in accounts])
    channels = {accounts[n.account].online for n in needs}
    if len(channels) > 1:
        raise ValueError("script online and counter needs in separate runs (they share the holding-time stream)")
    reference = params.card.default.reference_utilisation
    if defaults and reference is None:
        raise ValueError("set default.reference_utilisation when scripting defaults (it fixes the hazard bound)")
    times = [t for t, _ in sorted(defaults)]
    streams = Streams(
        needs=need_gaps(params, needs),
        holding_days=chain([n.holding for n in needs], repeat(math.inf)),
        service_minutes=chain(service_minutes, repeat(math.inf)),
        default_gaps=default_gaps(params, times, reference or 0.0),
        default_accounts=chain([a for _, a in sorted(defaults)], repeat(0)),
        default_draws=repeat(0.0),
    )
    return run_portfolio(params, portfolio, streams)
