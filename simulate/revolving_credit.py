"""Revolving credit on the businessman card (生意人卡循环贷): a card portfolio in SimPy.

Actors (generator functions named for who acts):

- `borrowers_cash_needs` — the portfolio's cash needs, a Poisson process of rate
  `accounts × draws_per_month × 12 / 365 × season[month]`; each need falls on an account picked
  at random (superposition of the accounts' own Poisson processes) and is drawn online at once
  (booked in the book's calendar at its own time) or at the counter after queueing;
- `CounterVisit` — a counter-channel client queueing for a teller (a SimPy `Resource` per outlet);
- `borrower_defaults` — defaults by thinning: candidate times at the largest possible portfolio
  hazard, each accepted with probability `hazard(utilisation) / hazard(1)` of a random account;
- `interest_settlement` — the bank settles accrued interest on the 20th (monthly or quarterly);
- `credit_review` — the yearly limit review on each account's anniversary;
- `end_of_day_books` — the day's closing portfolio balance and limit, for the metrics.

Repayments and online drawdowns are booked in the `CreditBook`'s own time-ordered calendar (see
`simulate.credit_book`) and posted by every actor before it acts, so each still happens at its
own time, in time order with everything else; only what needs a queue or a decision — counter
visits, defaults, reviews, settlements, the end of day — is a SimPy event. Why: online drawdowns
are 70 % of the cash needs, and a booked entry costs less than a SimPy timeout and a process
resume (100,000 accounts × 365 days: 78 s → 69 s, bench/README.md). Interest accrues lazily
(积数 method) — nothing ticks per account.

Default hazard per day of an account with utilisation `u` (drawn ÷ limit):
`h(u) = h0 · exp(β · (u − u_ref))`, `h0 = −ln(1 − annual_pd) / 365`, `β` the utilisation
sensitivity and `u_ref` the reference utilisation (by default the portfolio's expected
utilisation, Little's law). Usage therefore climbs before default, as Jiménez, Lopez & Saurina
(RFS 2009) and Norden & Weber (RFS 2010) observe in credit-line data.

The model's maths, the metrics' formulas and the sources of the defaults: docs/simulation.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from statistics import NormalDist

import numpy as np
import simpy
from simpy.core import NORMAL

from scenarios.simulation import RevolvingCreditSettings, SimulationSettings
from simulate.credit_book import CreditBook
from simulate.dates import SimulationCalendar
from simulate.records import ReplicationOutput

# -- constants of the model ---------------------------------------------------------------------

#: Calendar year of the measured period when neither the settings nor the scenario give one.
DEFAULT_START_YEAR = 2014
#: Calendar days per year, for converting annual draw rates and default probabilities.
DAYS_PER_YEAR = 365
#: Random numbers are drawn in blocks of this size (numpy is fast per block, slow per scalar).
RANDOM_BLOCK = 16_384
#: Reviews are skipped for accounts reviewed (or opened) fewer days ago than this.
MIN_REVIEW_INTERVAL_DAYS = 180
#: Points of the limit distribution used to compute the expected utilisation.
UTILISATION_QUADRATURE_POINTS = 2_000

#: Metric name → (unit, description). Money is in 万元 inside the engine.
METRICS: dict[str, tuple[str, str]] = {
    "mean_outstanding": ("money", "time-average of the end-of-day portfolio balance over the measured days"),
    "peak_outstanding": ("money", "largest end-of-day portfolio balance"),
    "mean_utilisation": ("ratio", "time-average of portfolio balance ÷ portfolio limit"),
    "interest_income": ("money", "interest accrued over the measured days (积数 method), settled or not"),
    "funding_cost": ("money", "funding cost of the end-of-day balances at the funding rate"),
    "net_interest_income": ("money", "interest income − funding cost − loss"),
    "defaults": ("count", "accounts defaulting in the measured days"),
    "ead": ("money", "exposure at default: balances of the defaulting accounts"),
    "loss": ("money", "realised loss: EAD × LGD"),
    "ccf": ("ratio", "credit conversion factor: Σ(EAD − drawn) ÷ Σ(limit − drawn), drawn and limit at the start of measurement"),
    "declined_draw_amount": ("money", "cash needs the available limit did not cover"),
    "counter_visits": ("count", "counter visits arriving in the measured days (served, or still queueing at the end)"),
    "counter_wait_minutes": ("minutes", "mean wait for a teller per counter visit of the measured days; "
                             "a visit still queueing at the end counts with its wait so far (online: no wait)"),
}


# -- parameters ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RevolvingCreditParams:
    """Everything one replication needs: the card's settings and the simulated period.

    The card's parameters are the scenario's `RevolvingCreditSettings` themselves (money already
    in 万元), not a copy field by field: a new parameter is declared once, in
    `scenarios/simulation.py`, with its unit, range and description. Time is in days.
    """

    card: RevolvingCreditSettings        # the `simulation.revolving_credit` section, money in 万元
    warmup_days: int                     # days simulated before measurement
    days: int                            # measured days
    start_year: int                      # the measured period starts on 1 January of this year

    @classmethod
    def from_settings(cls, settings: SimulationSettings, start_year: int | None = None) -> "RevolvingCreditParams":
        """Parameters from the scenario's `simulation` section (money already in 万元)."""
        return cls(
            card=settings.revolving_credit, warmup_days=settings.warmup_days, days=settings.days,
            start_year=settings.start_year or start_year or DEFAULT_START_YEAR,
        )

    @property
    def calendar(self) -> SimulationCalendar:
        return SimulationCalendar(self.start_year, self.warmup_days, self.days)

    @property
    def daily_rate(self) -> float:
        """annual rate ÷ day-count basis: interest per 万元 of end-of-day balance per day."""
        return self.card.annual_rate / self.card.day_count_basis

    @property
    def funding_daily_rate(self) -> float:
        """funding rate ÷ day-count basis: funding cost per 万元 of end-of-day balance per day."""
        return self.card.funding_rate / self.card.day_count_basis

    @property
    def draws_per_day(self) -> float:
        """draws per month × 12 ÷ 365: cash needs per account per day at a season multiplier of 1."""
        return self.card.draws_per_month * 12 / DAYS_PER_YEAR

    def season(self, month: int) -> float:
        """The draw-rate multiplier of calendar month `month` (1 = January)."""
        return self.card.seasonality[month - 1]

    def expected_balance(self) -> float:
        """万元 per account by Little's law, limits ignored: draw rate × mean need × mean holding time."""
        season = sum(self.card.seasonality) / len(self.card.seasonality)
        return self.draws_per_day * season * self.card.draw_amount.mean * self.card.holding_days_mean

    def expected_utilisation(self) -> float:
        """Mean over accounts of min(1, expected balance ÷ limit), by quadrature over the limit law."""
        normal = NormalDist()
        points = UTILISATION_QUADRATURE_POINTS
        balance = self.expected_balance()
        law = self.card.limit
        total = 0.0
        for k in range(points):
            z = normal.inv_cdf((k + 0.5) / points)
            limit = min(law.max, law.median * math.exp(law.sigma * z))
            total += min(1.0, balance / limit)
        return total / points

    def hazard_at_reference(self) -> float:
        """h0: default hazard per day at the reference utilisation."""
        pd = min(self.card.default.annual_pd, 1.0 - 1e-12)
        return -math.log1p(-pd) / DAYS_PER_YEAR


# -- records ------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class DefaultRecord:
    """One default, as booked on its day."""

    day: int                     # simulation day
    account: int
    ead: float                   # 万元, balance at default
    limit: float                 # 万元, limit at default
    utilisation: float           # ead ÷ limit
    utilisation_before: float    # average utilisation from the start of measurement to the default day
    reference_balance: float     # 万元, balance at the start of measurement (CCF reference)
    reference_limit: float       # 万元, limit at the start of measurement


@dataclass(slots=True)
class Tally:
    """What the actors count during the measured days (everything before is warm-up)."""

    measuring: bool = False
    counter_visits: int = 0          # counter visits arriving in the measured days
    wait_minutes: float = 0.0        # Σ minutes those of them who reached a teller waited
    queueing: dict["CounterVisit", None] = field(default_factory=dict)  # measured visits not served yet, by arrival
    censored_wait_minutes: float = 0.0  # Σ waits so far of the visits still queueing at the end
    cash_needs_per_month: list[tuple[int, int]] = field(default_factory=list)  # (first day of the month, cash needs)
    defaults: list[DefaultRecord] = field(default_factory=list)
    eod_outstanding: list[float] = field(default_factory=list)  # 万元, per measured day
    eod_limit: list[float] = field(default_factory=list)        # 万元, open limits per measured day
    interest_at_start: float = 0.0   # 万元 interest accrued before measurement
    declined_at_start: float = 0.0   # 万元 of cash needs declined before measurement
    balance_days_at_start: list[float] = field(default_factory=list)
    balance_at_start: list[float] = field(default_factory=list)
    limit_at_start: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A card portfolio at the start of a replication: the book and each account's fixed traits."""

    book: CreditBook
    online: list[bool]           # draws online (else at the counter)
    outlet: list[int]            # the counter it queues at
    review_day: list[int]        # day of the year (0–364) of its limit review


def open_portfolio(params: RevolvingCreditParams, rng: np.random.Generator) -> Portfolio:
    """Limits (lognormal, capped), channels, outlets and review days of `params.card.accounts` accounts."""
    card = params.card
    n = card.accounts
    limits = np.minimum(card.limit.max, card.limit.median * np.exp(card.limit.sigma * rng.standard_normal(n)))
    online = (rng.random(n) < card.online_share).tolist()
    review_day = rng.integers(0, DAYS_PER_YEAR, n).tolist()
    outlet = [i % card.counter.outlets for i in range(n)]
    book = CreditBook(limits.tolist(), [params.daily_rate] * n)
    return Portfolio(book, online, outlet, review_day)


# -- random streams -----------------------------------------------------------------------------

def _floats(draw: Callable[[int], np.ndarray]) -> Iterator:
    """An endless stream of Python numbers drawn from `draw(size)` in blocks."""
    while True:
        yield from draw(RANDOM_BLOCK).tolist()


def _tuples(*draws: Callable[[int], np.ndarray]) -> Iterator[tuple]:
    """An endless stream of tuples, one number from each `draw(size)`, drawn in blocks."""
    while True:
        yield from zip(*(draw(RANDOM_BLOCK).tolist() for draw in draws))


@dataclass(frozen=True, slots=True)
class Streams:
    """Independent random streams of one replication, one per purpose (common random numbers)."""

    needs: Iterator[tuple[float, int, float]]  # (unit exponential gap, account, 万元 amount) per cash need
    holding_days: Iterator[float]    # days each drawn part is held
    service_minutes: Iterator[float]  # teller minutes per counter drawdown
    default_gaps: Iterator[float]    # unit exponentials between default candidates
    default_accounts: Iterator[int]  # account of each default candidate
    default_draws: Iterator[float]   # uniforms for accepting a candidate

    @classmethod
    def spawn(cls, params: RevolvingCreditParams, seed: np.random.SeedSequence) -> "Streams":
        g = [np.random.default_rng(s) for s in seed.spawn(8)]
        card = params.card
        n = card.accounts
        sigma = card.draw_amount.sigma
        mu = math.log(card.draw_amount.mean) - sigma ** 2 / 2  # lognormal with mean draw_amount.mean
        return cls(
            needs=_tuples(g[0].standard_exponential, lambda size: g[1].integers(0, n, size),
                          lambda size: g[2].lognormal(mu, sigma, size)),
            holding_days=_floats(lambda size: g[3].exponential(card.holding_days_mean, size)),
            service_minutes=_floats(lambda size: g[4].exponential(card.counter.service_minutes_mean, size)),
            default_gaps=_floats(g[5].standard_exponential),
            default_accounts=_floats(lambda size: g[6].integers(0, n, size)),
            default_draws=_floats(g[7].random),
        )


# -- actors -------------------------------------------------------------------------------------

def repayment_plan(holding: Iterator[float], parts: int) -> tuple[float, ...]:
    """Days until each of the `parts` equal parts of a drawdown is repaid (drawn when the need arises)."""
    return (next(holding),) if parts == 1 else tuple(islice(holding, parts))


def borrowers_cash_needs(env: simpy.Environment, portfolio: Portfolio, tellers: list[simpy.Resource],
                         params: RevolvingCreditParams, streams: Streams, tally: Tally):
    """Cash needs of all accounts: a Poisson process, piecewise constant by calendar month.

    An online need is drawn by the client at once, with no queue and no decision by anyone, so
    it is booked in the book's calendar at its own arrival time (`CreditBook.book_drawdown`) and
    posted, in time order, by whichever actor acts next; the process itself only wakes — one
    SimPy event — for the counter needs, which queue for a teller. Why this is exact: each time
    it wakes, it books every online need up to its next counter need and sleeps until then, so
    whenever any actor acts at time `T`, every online need before `T` is already booked and its
    `post_due(T)` applies it, at its own time, in order with the repayments.

    Each month's count of cash needs goes to `tally.cash_needs_per_month` (whether the line is
    open or not), so a test can hold it against the month's rate.
    """
    calendar = params.calendar
    month_of_day = calendar.month_of_each_day()
    book = portfolio.book
    online, outlet, is_open = portfolio.online, portfolio.outlet, book.is_open
    needs = streams.needs
    holding, parts = streams.holding_days, params.card.repayment_instalments
    book_drawdown, post_due, timeout = book.book_drawdown, book.post_due, env.timeout
    per_day = params.card.accounts * params.draws_per_day
    arrival = 0.0  # time of the latest cash need
    month_start = 0
    for month_end in calendar.month_starts():
        rate = per_day * params.season(month_of_day[month_start])
        count = 0
        while rate > 0.0:
            unit_gap, account, amount = next(needs)
            next_arrival = arrival + unit_gap / rate
            if next_arrival >= month_end:
                break  # memoryless: the next month starts afresh at its own rate
            arrival = next_arrival
            count += 1
            if online[account]:
                book_drawdown(arrival, account, amount, repayment_plan(holding, parts))
                continue
            yield timeout(max(0.0, arrival - env.now))  # max: SimPy's clock may be an ulp ahead
            if not is_open[account]:
                continue  # a closed line has no cash needs the bank sees
            post_due(env.now)
            CounterVisit(env, tellers[outlet[account]], book, tally, streams, params, account, amount)
        tally.cash_needs_per_month.append((month_start, count))
        arrival = float(month_end)
        month_start = month_end


class CounterVisit:
    """A counter-channel client: queues for a teller (SimPy `Resource`), is served, then draws.

    Written as event callbacks (turn granted → service over → drawdown) rather than as a
    generator process: a process per visit costs two more SimPy events and a generator —
    measured 24 µs against 15.5 µs per visit (bench/README.md), with 700,000 counter visits in a
    100,000-account year. The queue discipline is the `Resource`'s own (first come, first served).

    A visit arriving in the measured days is counted when it arrives and waits in
    `tally.queueing` until a teller is free; whoever is still there at the end is counted with
    the wait so far (`close_books`), so the mean wait is not biased towards those served.
    """

    __slots__ = ("env", "teller", "book", "tally", "streams", "params", "account", "amount", "arrived",
                 "measured", "turn")

    def __init__(self, env: simpy.Environment, teller: simpy.Resource, book: CreditBook, tally: Tally,
                 streams: Streams, params: RevolvingCreditParams, account: int, amount: float) -> None:
        self.env, self.teller, self.book, self.tally = env, teller, book, tally
        self.streams, self.params, self.account, self.amount = streams, params, account, amount
        self.arrived = env.now
        self.measured = tally.measuring
        if self.measured:
            tally.counter_visits += 1
            tally.queueing[self] = None
        self.turn = teller.request()
        self.turn.callbacks.append(self.served)

    def served(self, _turn: simpy.Event) -> None:
        """A teller is free: count the wait, serve for an exponential time."""
        minutes_per_day = self.params.card.counter.opening_hours * 60
        if self.measured:
            del self.tally.queueing[self]
            self.tally.wait_minutes += (self.env.now - self.arrived) * minutes_per_day
        service = self.env.timeout(next(self.streams.service_minutes) / minutes_per_day)
        service.callbacks.append(self.leave)

    def leave(self, _service: simpy.Event) -> None:
        """Service over: free the teller and draw (if the line is still open)."""
        self.teller.release(self.turn)
        book, now = self.book, self.env.now
        book.post_due(now)
        if book.is_open[self.account]:
            plan = repayment_plan(self.streams.holding_days, self.params.card.repayment_instalments)
            book.draw_and_book_repayments(self.account, self.amount, now, plan)


def borrower_defaults(env: simpy.Environment, portfolio: Portfolio, params: RevolvingCreditParams,
                      streams: Streams, tally: Tally, reference_utilisation: float):
    """Defaults with hazard h0·exp(β(u − u_ref)), by thinning at the bound h0·exp(β(1 − u_ref))."""
    beta = params.card.default.utilisation_sensitivity
    bound = params.hazard_at_reference() * math.exp(beta * (1.0 - reference_utilisation))
    rate = params.card.accounts * bound
    if rate <= 0.0:
        return
    book = portfolio.book
    while True:
        yield env.timeout(next(streams.default_gaps) / rate)
        account = next(streams.default_accounts)
        accept = next(streams.default_draws)
        if not book.is_open[account]:
            continue
        now = env.now
        book.post_due(now)
        utilisation = book.balance[account] / book.limit[account]
        if accept >= math.exp(beta * (utilisation - 1.0)):
            continue
        day = int(now)
        limit = book.limit[account]
        ead = book.write_off(account, day)
        if tally.measuring:
            start = params.warmup_days
            before = (
                (book.balance_days[account] - tally.balance_days_at_start[account]) / (day - start) / limit
                if day > start else math.nan
            )
            tally.defaults.append(DefaultRecord(
                day=day, account=account, ead=ead, limit=limit, utilisation=utilisation,
                utilisation_before=before, reference_balance=tally.balance_at_start[account],
                reference_limit=tally.limit_at_start[account],
            ))


def interest_settlement(env: simpy.Environment, book: CreditBook, params: RevolvingCreditParams):
    """The bank settles the interest of the days up to and including each 20th, at the start of the 21st."""
    for settlement_day in params.calendar.settlement_days(params.card.settlement):
        yield env.timeout(settlement_day + 1 - env.now)
        book.post_due(env.now)
        book.settle_interest(settlement_day + 1)


def credit_review(env: simpy.Environment, portfolio: Portfolio, params: RevolvingCreditParams):
    """Each account's limit reviewed yearly on its anniversary by its average utilisation since the last review."""
    book = portfolio.book
    review = params.card.limit_review
    by_day: list[list[int]] = [[] for _ in range(DAYS_PER_YEAR)]
    for account, review_day in enumerate(portfolio.review_day):
        by_day[review_day].append(account)
    last_review = [0] * len(book)
    balance_days_at_review = [0.0] * len(book)
    for day in range(1, params.calendar.horizon):
        yield env.timeout(day - env.now)
        book.post_due(env.now)
        for account in by_day[day % DAYS_PER_YEAR]:
            if not book.is_open[account] or day - last_review[account] < MIN_REVIEW_INTERVAL_DAYS:
                continue
            book.accrue(account, day)
            limit = book.limit[account]
            usage = (book.balance_days[account] - balance_days_at_review[account]) / (day - last_review[account]) / limit
            if usage > review.raise_above:
                book.set_limit(account, raised_limit(limit, review.raise_by, params.card.limit.max))
            elif usage < review.cut_below:
                book.set_limit(account, cut_limit(limit, review.cut_by, book.balance[account]))
            last_review[account] = day
            balance_days_at_review[account] = book.balance_days[account]


def raised_limit(limit: float, raise_by: float, limit_max: float) -> float:
    """max(limit, min(limit_max, limit × (1 + raise_by))): a raise, capped, that never lowers a limit above the cap."""
    return max(limit, min(limit_max, limit * (1 + raise_by)))


def cut_limit(limit: float, cut_by: float, balance: float) -> float:
    """max(balance, limit × (1 − cut_by)): a cut that never takes the limit below the balance."""
    return max(balance, limit * (1 - cut_by))


def start_measuring(book: CreditBook, tally: Tally, day: int) -> None:
    """Snapshot the book at the start of the measured period and switch the tally on."""
    book.post_due(day)
    book.accrue_all(day)
    tally.interest_at_start = book.interest_accrued()
    tally.declined_at_start = book.declined
    tally.balance_days_at_start = list(book.balance_days)
    tally.balance_at_start = list(book.balance)
    tally.limit_at_start = list(book.limit)
    tally.measuring = True


def end_of_day_books(env: simpy.Environment, book: CreditBook, params: RevolvingCreditParams, tally: Tally):
    """Starts the measurement after the warm-up, then records each measured day's closing balance.

    The closing balance of day `d` is read at time `d + 1`, after the repayments due before it
    and before anything else happens at `d + 1` (a limit review of day `d + 1` belongs to that
    day): SimPy runs the events due at one time in the order they were scheduled, and this
    process is started first and never waits a zero delay, so at every whole day its timeout was
    scheduled before the other daily actors'. The last day's closing balance is read by
    `close_books` after the run.
    """
    if params.warmup_days:
        yield env.timeout(params.warmup_days)
    start_measuring(book, tally, params.warmup_days)
    for day in range(params.warmup_days, params.calendar.horizon - 1):
        yield env.timeout(day + 1 - env.now)
        book.post_due(env.now)
        tally.eod_outstanding.append(book.outstanding)
        tally.eod_limit.append(book.total_limit)


def close_books(book: CreditBook, tally: Tally, params: RevolvingCreditParams) -> None:
    """After the run: post what is due, record the last closing balance, accrue to the horizon,
    and count the waits so far of the counter visits still queueing at the end."""
    horizon = params.calendar.horizon
    book.post_due(horizon)
    tally.eod_outstanding.append(book.outstanding)
    tally.eod_limit.append(book.total_limit)
    book.accrue_all(horizon)
    minutes_per_day = params.card.counter.opening_hours * 60
    tally.censored_wait_minutes = sum((horizon - visit.arrived) * minutes_per_day for visit in tally.queueing)


# -- one replication ----------------------------------------------------------------------------

class EventCountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events scheduled on it (for the benchmark).

    Counts through `Environment.schedule`, SimPy's public hook every event passes through.
    """

    def __init__(self, initial_time: float = 0) -> None:
        super().__init__(initial_time)
        self.scheduled = 0

    def schedule(self, event: simpy.Event, priority: int = NORMAL, delay: float = 0) -> None:
        self.scheduled += 1
        super().schedule(event, priority, delay)


@dataclass(frozen=True, slots=True)
class PortfolioRun:
    """Everything a replication produced, for tests and analysis; `output` is what the runner keeps."""

    params: RevolvingCreditParams
    portfolio: Portfolio
    tally: Tally
    output: ReplicationOutput
    simpy_events: int | None     # events scheduled on the SimPy calendar, when counted (the benchmark)

    @property
    def booked_events_posted(self) -> int:
        """Online drawdowns and repayments applied from the book's own calendar (for the benchmark)."""
        book = self.portfolio.book
        return book.drawdowns_booked + book.repayments_booked - book.bookings_pending


def simulate_portfolio(params: RevolvingCreditParams, seed: np.random.SeedSequence | int,
                       index: int = 0, *, count_events: bool = False) -> PortfolioRun:
    """Run one replication on its own random streams; `seed` fixes them completely."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    setup_seed, streams_seed = seed.spawn(2)
    portfolio = open_portfolio(params, np.random.default_rng(setup_seed))
    streams = Streams.spawn(params, streams_seed)
    return run_portfolio(params, portfolio, streams, index, count_events=count_events)


def run_portfolio(params: RevolvingCreditParams, portfolio: Portfolio, streams: Streams, index: int = 0,
                  *, count_events: bool = False) -> PortfolioRun:
    """Run one replication of `portfolio` drawing its randomness from `streams`.

    `simulate_portfolio` passes the seeded streams; a test may pass a portfolio and streams of
    its own (chosen limits, channels, review days; scripted arrivals and holding times) to run
    the whole model on a case it can work out by hand.
    """
    book = portfolio.book
    tally = Tally()
    card = params.card
    reference = card.default.reference_utilisation
    if reference is None:
        reference = params.expected_utilisation()

    env = EventCountingEnvironment() if count_events else simpy.Environment()
    tellers = [simpy.Resource(env, capacity=card.counter.tellers_per_outlet) for _ in range(card.counter.outlets)]
    env.process(end_of_day_books(env, book, params, tally))
    env.process(borrowers_cash_needs(env, portfolio, tellers, params, streams, tally))
    env.process(interest_settlement(env, book, params))
    if card.default.annual_pd > 0.0:
        env.process(borrower_defaults(env, portfolio, params, streams, tally, reference))
    if card.limit_review.enabled:
        env.process(credit_review(env, portfolio, params))
    env.run(until=params.calendar.horizon)
    close_books(book, tally, params)

    output = ReplicationOutput(index, replication_metrics(params, book, tally),
                               np.asarray(tally.eod_outstanding, dtype=float))
    simpy_events = env.scheduled if isinstance(env, EventCountingEnvironment) else None
    return PortfolioRun(params, portfolio, tally, output, simpy_events)


def run_replication(params: RevolvingCreditParams, seed: np.random.SeedSequence, index: int) -> ReplicationOutput:
    """The runner's entry point: one replication's metrics and series."""
    return simulate_portfolio(params, seed, index).output


def replication_metrics(params: RevolvingCreditParams, book: CreditBook, tally: Tally) -> dict[str, float]:
    """The metrics of METRICS from a finished replication's book and tally."""
    eod = np.asarray(tally.eod_outstanding, dtype=float)
    limits = np.asarray(tally.eod_limit, dtype=float)
    interest = book.interest_accrued() - tally.interest_at_start
    funding = float(eod.sum()) * params.funding_daily_rate
    defaults = tally.defaults
    ead = sum(d.ead for d in defaults)
    loss = ead * params.card.default.lgd
    undrawn = sum(d.reference_limit - d.reference_balance for d in defaults)
    ccf = sum(d.ead - d.reference_balance for d in defaults) / undrawn if undrawn > 0 else math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        utilisation = np.where(limits > 0, eod / limits, 0.0)
    return {
        "mean_outstanding": float(eod.mean()),
        "peak_outstanding": float(eod.max()),
        "mean_utilisation": float(utilisation.mean()),
        "interest_income": interest,
        "funding_cost": funding,
        "net_interest_income": interest - funding - loss,
        "defaults": float(len(defaults)),
        "ead": ead,
        "loss": loss,
        "ccf": ccf,
        "declined_draw_amount": book.declined - tally.declined_at_start,
        "counter_visits": float(tally.counter_visits),
        "counter_wait_minutes": counter_wait_minutes(tally),
    }


def counter_wait_minutes(tally: Tally) -> float:
    """(Σ waits of the served + Σ waits so far of those still queueing) ÷ visits: mean wait of the measured visits.

    Every counter visit arriving in the measured days counts once: a served visit with its wait
    for a teller, a visit still queueing when the period ends with its wait so far (censored,
    not dropped). NaN without visits.
    """
    if not tally.counter_visits:
        return math.nan
    return (tally.wait_minutes + tally.censored_wait_minutes) / tally.counter_visits
