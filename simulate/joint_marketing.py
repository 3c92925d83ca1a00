"""Joint marketing, profit sharing (分润) and contribution-based pricing: the groups' year in SimPy.

Measures 1, 5 and 6 of the department's memo. Three joint-marketing groups — senior client
managers of the department as leaders, micro client managers of the managing branches as
members — work the specialised markets assigned to them (`optimize.markets`).

Actors (generator functions named for who acts):

- `client_manager` — one per leader and per member: each week a Poisson number of market visits
  (the member's micro share of the week × effort), spread over the group's markets in proportion
  to their prospects; visits yield leads (more rarely as a market fills up), leads apply;
- `credit_application` — review days later the credit decision (the approval rate is the
  申贷获得率 of 三个不低于); an approved applicant takes the loan and, with it, cross-sold
  products (settlement deposit, POS acquiring, payroll), which make up its contribution;
- `borrower` — a loan runs to maturity or default; at maturity (还后再贷) a low-contribution
  client pays a surcharge or gets a smaller quota, some clients leave, product bundles (产品包)
  keep more of them.

Behaviour (simulate/behaviour.py): a manager's effort answers his reward per unit of profit,
`clamp(ability · (reward ÷ reference)^η, floor, cap)`; a member's reward is `incentive_rate ×
(1 − department_share) × member_share`, a leader's `incentive_rate × department_share ×
leader_share`, both thinned by free-riding when part of the credit is pooled over the group;
volume pay raises loans, loan size and defaults by the measured multipliers.

Money (万元), accrued over each loan's days in the measured period (annual rates, 360-day basis
for interest and funding, 365 for fees and expected loss): simulated profit = interest − funding
(FTP) + deposit margin + fees − operating cost (visits, bookings) − expected loss. The incentive
pool is `incentive_rate × max(0, group profit)`, split department / branch by the sharing rule;
a group's branch part is split over its branches by their positive profit (by members when no
branch has any), and each branch passes `member_share` of its part to its members.

The maths, metrics and the sources of the defaults: docs/simulation.md and README.md ("Joint marketing").
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import simpy

from optimize.markets import AssignmentInputs, assign_markets, phased_targets
from scenarios.marketing_settings import JointMarketingSettings
from scenarios.simulation import SimulationSettings
from scenarios.text import id_key
from simulate.behaviour import effort_response, free_riding_share, volume_pay_multipliers
from simulate.records import ReplicationOutput

# -- constants of the model ---------------------------------------------------------------------

#: Calendar year of the measured period when neither the settings nor the scenario give one.
DEFAULT_START_YEAR = 2014
#: Days per week (a manager plans his visits week by week).
WEEK_DAYS = 7.0
#: Day-count basis of interest and funding (PBoC: 360); fees and expected loss use the calendar year.
INTEREST_BASIS, DAYS_PER_YEAR = 360.0, 365.0
#: Separator of breakdown metric names: "group/G1/new_clients", "branch/B03/new_clients".
BREAKDOWN_SEPARATOR = "/"

#: Metric name → (unit, description). Money is in 万元 inside the engine.
METRICS: dict[str, tuple[str, str]] = {
    "new_clients": ("count", "new borrowers booked in the measured days, 户"),
    "new_loans": ("money", "amount of the new borrowers' loans"),
    "approval_rate": ("ratio", "approvals ÷ decided applications (申贷获得率), applications of the measured days"),
    "cross_sell_rate": ("ratio", "share of new borrowers taking at least one cross-sold product"),
    "bundle_rate": ("ratio", "share of new borrowers holding a product bundle (产品包)"),
    "loan_margin": ("ratio", "amount-weighted rate − FTP of the new loans"),
    "simulated_profit": ("money", "interest − funding + deposit margin + fees − operating cost − expected loss"),
    "department_payout": ("money", "the department's part of the incentive pool"),
    "branch_payout": ("money", "the branches' part of the incentive pool"),
    "member_payout": ("money", "what the branches pass on to their member client managers"),
    "profit_after_incentives": ("money", "simulated profit − incentive pool"),
    "default_rate": ("ratio", "defaults ÷ borrowers with a loan in the measured days"),
    "defaults": ("count", "loans defaulting in the measured days, 户"),
    "loss": ("money", "realised loss of those defaults: loan × LGD"),
    "leads": ("count", "leads from market visits, 户"),
    "applications": ("count", "credit applications, 户"),
    "approvals": ("count", "approved applications, 户"),
    "renewals": ("count", "loans renewed at maturity (还后再贷), 户"),
    "attrition": ("count", "borrowers leaving at maturity, 户"),
    "visits": ("count", "market visits, 次"),
    "effort": ("ratio", "members' visits ÷ their visits at reference effort (1 = reference)"),
    "leader_effort": ("ratio", "leaders' visits ÷ their visits at reference effort"),
    "large_sme_hours": ("hours", "members' hours on large-SME work"),
}
#: Metrics reported per group and per branch.
GROUP_METRICS = ("new_clients", "new_loans", "approval_rate", "cross_sell_rate", "simulated_profit",
                 "department_payout", "branch_payout", "profit_after_incentives", "default_rate", "effort")
BRANCH_METRICS = ("new_clients", "new_loans", "approval_rate", "cross_sell_rate", "simulated_profit",
                  "branch_payout", "member_payout", "default_rate")

# -- parameters ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketSpec:
    id: str
    group: int                 # position in JointMarketingParams.groups
    branch: int                # home branch (position in .branches): leaders' and existing clients' loans are booked there
    merchants: int             # 户
    existing_clients: int      # 户, borrowing at the start
    average_loan: float        # 万元


@dataclass(frozen=True, slots=True)
class ManagerSpec:
    group: int
    branch: int                # -1 for a leader (the department)
    leader: bool


@dataclass(frozen=True, slots=True)
class JointMarketingParams:
    """Everything one replication needs; the market assignment is solved once, here."""

    jm: JointMarketingSettings           # `simulation.joint_marketing`, money in 万元
    groups: tuple[str, ...]              # group ids
    branches: tuple[str, ...]            # branch ids taking part (members' and markets' home branches)
    markets: tuple[MarketSpec, ...]
    managers: tuple[ManagerSpec, ...]
    warmup_days: int
    days: int
    start_year: int
    group_of: dict[str, str] = field(default_factory=dict)   # market id → group id (the assignment)
    targets: tuple[dict, ...] = ()       # phased targets per market and year (optimize.markets.phased_targets), money in 万元

    @classmethod
    def from_scenario(cls, settings: SimulationSettings, start_year: int | None, scenario) -> "JointMarketingParams":
        """From the scenario's `simulation` settings and its `markets:` section (money in 万元)."""
        section = getattr(scenario, "markets", None)
        if section is None:
            raise ValueError("the joint_marketing model needs the scenario's markets: section (markets and groups)")
        assignment = assign_markets(AssignmentInputs.from_section(section))
        groups = tuple(g.id for g in section.groups)
        group_index = {g: i for i, g in enumerate(groups)}
        branch_ids: list[str] = []
        canonical = {id_key(b.id): b.id for b in scenario.branches}

        def branch_index(raw: str) -> int:
            bid = canonical.get(id_key(raw), raw)
            if bid not in branch_ids:
                branch_ids.append(bid)
            return branch_ids.index(bid)

        managers: list[ManagerSpec] = []
        first_branch: dict[int, int] = {}
        for g, group in enumerate(section.groups):
            managers += [ManagerSpec(g, -1, True)] * group.leaders
            for member in group.members:
                b = branch_index(member.branch)
                first_branch.setdefault(g, b)
                managers += [ManagerSpec(g, b, False)] * member.managers
        markets = []
        for market in section.markets:
            g = group_index[assignment.group_of[market.id]]
            home = branch_index(market.branch) if market.branch else first_branch[g]
            markets.append(MarketSpec(market.id, g, home, market.merchants, market.existing_clients,
                                      market.average_loan or section.targets.average_loan))
        first_year = settings.start_year or start_year or DEFAULT_START_YEAR
        targets = phased_targets(section, assignment.group_of, first_year).to_dict("records")
        return cls(settings.joint_marketing, groups, tuple(branch_ids), tuple(markets), tuple(managers),
                   settings.warmup_days, settings.days, first_year, dict(assignment.group_of), tuple(targets))

    def details(self) -> dict:
        """The market assignment and the phased targets, for the JSON output (money in 万元)."""
        return {"assignment": dict(self.group_of), "phased_targets": [dict(row) for row in self.targets]}

    @property
    def horizon(self) -> float:
        return float(self.warmup_days + self.days)

    def group_size(self, g: int) -> int:
        """Leaders + members of group g (the team free-riding spreads credit over)."""
        return sum(1 for m in self.managers if m.group == g)

    def reward(self, leader: bool, g: int) -> float:
        """Reward per unit of profit a manager acts on, after free-riding (see the module docstring)."""
        s = self.jm.sharing
        own = s.incentive_rate * (s.department_share * s.leader_share if leader
                                  else (1 - s.department_share) * s.member_share)
        return float(free_riding_share(own, self.group_size(g), s.team_credit))

    def weekly_visits_at_reference(self, leader: bool) -> float:
        """Visits per week at reference effort: a leader's, or a member's micro share of a full week."""
        card = self.jm.scorecard
        return card.leader_visits_per_week if leader else card.micro_visits_per_week * card.micro_weight


# -- the state of one replication ---------------------------------------------------------------


class Loan:
    """One loan of a borrower: from booking (or renewal) to maturity, default or the end of the run."""

    __slots__ = ("client", "group", "branch", "start", "end", "amount", "rate", "products", "score",
                 "kind", "defaulted", "manager")

    def __init__(self, client: int, group: int, branch: int, start: float, amount: float, rate: float,
                 products: tuple[bool, bool, bool], score: float, kind: int, manager: int) -> None:
        self.client, self.group, self.branch, self.start = client, group, branch, start
        self.end = math.inf
        self.amount, self.rate, self.products, self.score = amount, rate, products, score
        self.kind = kind                       # EXISTING, NEW or RENEWED
        self.defaulted = False
        self.manager = manager                 # who booked it (−1: already a client)


EXISTING, NEW, RENEWED = 0, 1, 2


@dataclass
class Tally:
    """Counts by manager and by application, appended during the run."""

    visits: np.ndarray                         # per manager, measured weeks
    reference_visits: np.ndarray               # per manager: visits at reference effort over the measured weeks
    large_sme_hours: np.ndarray                # per manager
    leads: np.ndarray                          # per manager
    applications: np.ndarray                   # per manager
    decided: np.ndarray                        # per manager: measured applications decided before the end
    approvals: np.ndarray                      # per manager (of measured applications)
    renewals: int = 0
    attrition: int = 0
    clients: int = 0                           # borrower ids handed out


@dataclass
class World:
    params: JointMarketingParams
    rng: np.random.Generator
    effort: np.ndarray                         # per manager
    prospects: np.ndarray                      # per market: merchants neither borrowing nor applying
    tally: Tally
    loans: list[Loan] = field(default_factory=list)
    group_markets: list[np.ndarray] = field(default_factory=list)

    def measured(self, t: float) -> bool:
        return t >= self.params.warmup_days


# -- actors -------------------------------------------------------------------------------------


def client_manager(env: simpy.Environment, world: World, k: int):
    """Week by week: visits → leads → applications, on the group's markets."""
    p = world.params
    spec = p.managers[k]
    jm = p.jm
    rng = world.rng
    reference = p.weekly_visits_at_reference(spec.leader)
    rate = reference * world.effort[k]
    markets = world.group_markets[spec.group]
    merchants = np.array([p.markets[j].merchants for j in markets], dtype=float)
    count_mult = volume_pay_multipliers(jm.sharing.volume_pay_weight)[0]
    apply_p = min(1.0, jm.funnel.application_per_lead * count_mult)
    while True:
        measured = world.measured(env.now)
        visits = int(rng.poisson(rate)) if rate > 0 else 0
        open_ = world.prospects[markets].astype(float)
        if measured:
            world.tally.visits[k] += visits
            world.tally.reference_visits[k] += reference
            if not spec.leader:
                world.tally.large_sme_hours[k] += jm.scorecard.hours_per_week * world.effort[k] * (1 - jm.scorecard.micro_weight)
        if visits and open_.sum() > 0:
            per_market = rng.multinomial(visits, open_ / open_.sum())
            for i in np.flatnonzero(per_market):
                j = int(markets[i])
                leads = int(rng.binomial(per_market[i], jm.funnel.lead_per_visit * open_[i] / merchants[i]))
                leads = min(leads, int(world.prospects[j]))
                applications = int(rng.binomial(leads, apply_p)) if leads else 0
                world.prospects[j] -= applications
                if measured:
                    world.tally.leads[k] += leads
                    world.tally.applications[k] += applications
                for _ in range(applications):
                    env.process(credit_application(env, world, k, j, rng.uniform(0, WEEK_DAYS), measured))
        yield env.timeout(WEEK_DAYS)


def credit_application(env: simpy.Environment, world: World, k: int, j: int, offset: float, measured: bool):
    """Review, decision, and (if approved and taken up) a booked borrower with cross-sold products."""
    jm = world.params.jm
    rng = world.rng
    yield env.timeout(offset + jm.funnel.review_days)
    approved = rng.random() < jm.funnel.approval_rate
    if measured:
        world.tally.decided[k] += 1
        world.tally.approvals[k] += approved
    if not (approved and rng.random() < jm.funnel.take_up):
        world.prospects[j] += 1
        return
    market = world.params.markets[j]
    spec = world.params.managers[k]
    branch = market.branch if spec.leader else spec.branch
    size_mult = volume_pay_multipliers(jm.sharing.volume_pay_weight)[1]
    amount = loan_amount(rng, market.average_loan * size_mult, jm.risk.loan_sigma)
    loan = open_loan(world, market.group, branch, env.now, amount, NEW, k)
    env.process(borrower(env, world, loan, jm.renewal.term_days, j))


def borrower(env: simpy.Environment, world: World, loan: Loan, first_term: float, j: int):
    """Loan after loan: default or maturity; at maturity renew (还后再贷) or leave."""
    jm = world.params.jm
    rng = world.rng
    hazard = daily_default_hazard(jm.risk.annual_pd * volume_pay_multipliers(jm.sharing.volume_pay_weight)[2])
    term = first_term
    while True:
        to_default = rng.exponential(1 / hazard) if hazard > 0 else math.inf
        if to_default < term:
            yield env.timeout(to_default)
            loan.end, loan.defaulted = env.now, True
            return
        yield env.timeout(term)
        loan.end = env.now
        low = loan.score < jm.renewal.low_contribution
        if rng.random() < leaving_probability(jm, loan.score, sum(loan.products)):
            if world.measured(env.now):
                world.tally.attrition += 1
            world.prospects[j] += 1
            return
        if world.measured(env.now):
            world.tally.renewals += 1
        amount = loan.amount * (jm.renewal.quota_share if low and jm.renewal.low_contribution_policy == "quota" else 1.0)
        surcharge = jm.renewal.surcharge if low and jm.renewal.low_contribution_policy == "surcharge" else 0.0
        renewed = Loan(loan.client, loan.group, loan.branch, env.now, amount, loan_rate(jm, loan.score) + surcharge,
                       loan.products, loan.score, RENEWED, loan.manager)
        world.loans.append(renewed)
        loan = renewed
        term = jm.renewal.term_days


# -- rules --------------------------------------------------------------------------------------


def loan_amount(rng: np.random.Generator, mean: float, sigma: float) -> float:
    """A lognormal loan with the given mean: exp(N(ln mean − σ²/2, σ))."""
    return float(rng.lognormal(math.log(mean) - sigma * sigma / 2, sigma)) if sigma > 0 else mean


def daily_default_hazard(annual_pd: float) -> float:
    """h = −ln(1 − PD) / 365: a constant daily hazard with the given annual default probability."""
    if annual_pd >= 1:
        return math.inf
    return -math.log1p(-annual_pd) / DAYS_PER_YEAR


def cross_sell_probabilities(jm: JointMarketingSettings) -> tuple[float, float, float]:
    """p_k = min(1, base_k + discount_response × contribution_discount) for deposit, POS, payroll."""
    uplift = jm.cross_sell.discount_response * jm.pricing.contribution_discount
    c = jm.cross_sell
    return tuple(min(1.0, base + uplift) for base in (c.deposit, c.pos, c.payroll))  # type: ignore[return-value]


def contribution_score(jm: JointMarketingSettings, products: tuple[bool, bool, bool]) -> float:
    """Σ w_k · has_k over deposit, POS, payroll (0–1)."""
    c = jm.cross_sell
    return c.deposit_weight * products[0] + c.pos_weight * products[1] + c.payroll_weight * products[2]


def loan_rate(jm: JointMarketingSettings, score: float) -> float:
    """rate = base + risk premium − contribution discount × score."""
    p = jm.pricing
    return p.base_rate + p.risk_premium - p.contribution_discount * score


def leaving_probability(jm: JointMarketingSettings, score: float, products: int) -> float:
    """(attrition + low-contribution extra) × (1 − bundle cut if the client holds a bundle), at most 1."""
    r = jm.renewal
    base = r.attrition + (r.low_contribution_attrition if score < r.low_contribution else 0.0)
    if products >= r.bundle_products:
        base *= 1 - r.bundle_attrition_cut
    return min(1.0, base)


def open_loan(world: World, group: int, branch: int, start: float, amount: float, kind: int, manager: int) -> Loan:
    """A new borrower: cross-sold products drawn, contribution scored, loan priced, booked."""
    jm = world.params.jm
    probabilities = cross_sell_probabilities(jm)
    products = tuple(bool(world.rng.random() < p) for p in probabilities)
    score = contribution_score(jm, products)  # type: ignore[arg-type]
    loan = Loan(world.tally.clients, group, branch, start, amount, loan_rate(jm, score), products, score, kind, manager)  # type: ignore[arg-type]
    world.tally.clients += 1
    world.loans.append(loan)
    return loan


# -- a replication ------------------------------------------------------------------------------


def abilities(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Lognormal abilities with mean 1: exp(N(−σ²/2, σ))."""
    return rng.lognormal(-sigma * sigma / 2, sigma, n) if sigma > 0 else np.ones(n)


def efforts(params: JointMarketingParams, ability: np.ndarray) -> np.ndarray:
    """Each manager's effort: effort_response(reward, reference, η, floor, cap, ability)."""
    e = params.jm.effort
    return np.array([
        effort_response(params.reward(m.leader, m.group), e.reference_reward, e.elasticity, e.floor, e.cap, float(a))
        for m, a in zip(params.managers, ability)
    ])


@dataclass(frozen=True, slots=True)
class MarketingRun:
    """Everything a replication produced, for tests and analysis; `output` is what the runner keeps."""

    params: JointMarketingParams
    world: World
    output: ReplicationOutput
    simpy_events: int | None


class CountingEnvironment(simpy.Environment):
    """Counts events through SimPy's public `schedule` hook (for the benchmark)."""

    def __init__(self) -> None:
        super().__init__()
        self.scheduled = 0

    def schedule(self, event, priority=1, delay=0):  # noqa: ANN001 — SimPy's signature
        self.scheduled += 1
        super().schedule(event, priority, delay)


def simulate_marketing(params: JointMarketingParams, seed: np.random.SeedSequence | int, index: int = 0,
                       *, count_events: bool = False) -> MarketingRun:
    """Run one replication on its own random stream; `seed` fixes it completely."""
    if not isinstance(seed, np.random.SeedSequence):
        seed = np.random.SeedSequence(seed)
    rng = np.random.default_rng(seed)
    n = len(params.managers)
    tally = Tally(*(np.zeros(n) for _ in range(7)))
    prospects = np.array([m.merchants - m.existing_clients for m in params.markets], dtype=np.int64)
    world = World(params, rng, efforts(params, abilities(rng, n, params.jm.effort.ability_sigma)), prospects, tally)
    world.group_markets = [np.array([j for j, m in enumerate(params.markets) if m.group == g], dtype=np.int64)
                           for g in range(len(params.groups))]
    env = CountingEnvironment() if count_events else simpy.Environment()
    for j, market in enumerate(params.markets):
        for _ in range(market.existing_clients):
            loan = open_loan(world, market.group, market.branch, 0.0, loan_amount(rng, market.average_loan, params.jm.risk.loan_sigma), EXISTING, -1)
            env.process(borrower(env, world, loan, float(rng.uniform(0, params.jm.renewal.term_days)), j))
    for k in range(n):
        env.process(client_manager(env, world, k))
    env.run(until=params.horizon)
    metrics, series = replication_metrics(world)
    return MarketingRun(params, world, ReplicationOutput(index, metrics, series),
                        env.scheduled if isinstance(env, CountingEnvironment) else None)


def run_replication(params: JointMarketingParams, seed: np.random.SeedSequence, index: int) -> ReplicationOutput:
    """The runner's entry point: one replication's metrics (overall, per group, per branch) and series."""
    return simulate_marketing(params, seed, index).output


# -- metrics (after the run) --------------------------------------------------------------------


def loan_frame(world: World) -> dict[str, np.ndarray]:
    """The loans as numpy columns, with their days inside the measured period."""
    p = world.params
    loans = world.loans
    start = np.array([x.start for x in loans], dtype=float)
    end = np.array([x.end for x in loans], dtype=float)          # inf: still open at the end of the run
    days = np.clip(np.minimum(end, p.horizon) - np.maximum(start, p.warmup_days), 0.0, None)
    products = np.array([x.products for x in loans], dtype=float).reshape(-1, 3)
    return {
        "group": np.array([x.group for x in loans], dtype=np.int64),
        "branch": np.array([x.branch for x in loans], dtype=np.int64),
        "start": start, "end": end, "days": days,
        "amount": np.array([x.amount for x in loans], dtype=float),
        "rate": np.array([x.rate for x in loans], dtype=float),
        "products": products,
        "kind": np.array([x.kind for x in loans], dtype=np.int64),
        "defaulted": np.array([x.defaulted and x.end <= p.horizon and x.end >= p.warmup_days for x in loans], dtype=bool),
        "booked": (start >= p.warmup_days) & (start < p.horizon),
    }


def loan_profit(params: JointMarketingParams, f: dict[str, np.ndarray]) -> np.ndarray:
    """Per loan: interest − funding + deposit margin + fees − expected loss over its measured days − booking cost."""
    jm = params.jm
    pr = jm.pricing
    pd = jm.risk.annual_pd * volume_pay_multipliers(jm.sharing.volume_pay_weight)[2]
    d = f["days"]
    interest = f["amount"] * f["rate"] * d / INTEREST_BASIS
    funding = f["amount"] * pr.funding_rate * d / INTEREST_BASIS
    deposit = f["products"][:, 0] * pr.deposit_balance * pr.deposit_margin * d / INTEREST_BASIS
    fees = (f["products"][:, 1] * pr.pos_fee + f["products"][:, 2] * pr.payroll_fee) * d / DAYS_PER_YEAR
    expected_loss = f["amount"] * min(pd, 1.0) * jm.risk.lgd * d / DAYS_PER_YEAR
    booking = np.where(f["booked"] & (f["kind"] != EXISTING), jm.costs.per_loan, 0.0)
    return interest - funding + deposit + fees - expected_loss - booking


def daily_balance(params: JointMarketingParams, f: dict[str, np.ndarray]) -> np.ndarray:
    """End-of-day balance of every measured day d (time W + d + 1): Σ amount of loans with start ≤ t < end."""
    w, n = params.warmup_days, params.days
    first = np.clip(np.ceil(f["start"] - w - 1), 0, n).astype(np.int64)      # first day whose end is ≥ start
    last = np.clip(np.ceil(f["end"] - w - 1), 0, n).astype(np.int64)         # first day whose end is ≥ end
    change = np.zeros(n + 1)
    np.add.at(change, first, f["amount"])
    np.add.at(change, last, -f["amount"])
    return np.cumsum(change)[:n]


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else math.nan


def replication_metrics(world: World) -> tuple[dict[str, float], np.ndarray]:
    """Metrics overall, per group ("group/G/…") and per branch ("branch/B/…"), and the daily balance."""
    p = world.params
    jm = p.jm
    t = world.tally
    f = loan_frame(world)
    profit = loan_profit(p, f)
    manager_group = np.array([m.group for m in p.managers], dtype=np.int64)
    manager_branch = np.array([m.branch for m in p.managers], dtype=np.int64)
    leader = np.array([m.leader for m in p.managers], dtype=bool)
    visit_cost = t.visits * jm.costs.per_visit
    new = f["booked"] & (f["kind"] == NEW)
    exposed = f["days"] > 0
    holding = f["products"].sum(axis=1)
    client_ids = np.array([x.client for x in world.loans], dtype=np.int64)

    def scope(mask: np.ndarray, managers: np.ndarray) -> dict[str, float]:
        """Counts and money of the loans in `mask` and the managers in `managers`."""
        n_new = float(new[mask].sum())
        amount_new = float(f["amount"][mask & new].sum())
        exposed_clients = len(np.unique(client_ids[mask & exposed]))
        defaults = float(f["defaulted"][mask].sum())
        return {
            "new_clients": n_new,
            "new_loans": amount_new,
            "approval_rate": _ratio(t.approvals[managers].sum(), t.decided[managers].sum()),
            "cross_sell_rate": _ratio(float((holding[mask & new] > 0).sum()), n_new),
            "bundle_rate": _ratio(float((holding[mask & new] >= jm.renewal.bundle_products).sum()), n_new),
            "loan_margin": _ratio(float(((f["rate"][mask & new] - jm.pricing.funding_rate) * f["amount"][mask & new]).sum()), amount_new),
            "default_rate": _ratio(defaults, exposed_clients),
            "defaults": defaults,
            "loss": float((f["amount"][mask & f["defaulted"]]).sum() * jm.risk.lgd),
            "simulated_profit": float(profit[mask].sum() - visit_cost[managers].sum()),
            "effort": _ratio(float(t.visits[managers & ~leader].sum()), float(t.reference_visits[managers & ~leader].sum())),
        }

    everything = np.ones(len(world.loans), dtype=bool)
    all_managers = np.ones(len(p.managers), dtype=bool)
    metrics: dict[str, float] = {}
    totals = {name: 0.0 for name in ("department_payout", "branch_payout", "member_payout", "pool")}
    branch_payouts = np.zeros(len(p.branches))
    s = jm.sharing
    for g, gid in enumerate(p.groups):
        in_group = f["group"] == g
        g_managers = manager_group == g
        values = scope(in_group, g_managers)
        pool = s.incentive_rate * max(0.0, values["simulated_profit"])
        department, branch_part = s.department_share * pool, (1 - s.department_share) * pool
        weights = np.zeros(len(p.branches))
        for b in range(len(p.branches)):
            branch_profit = profit[in_group & (f["branch"] == b)].sum() - visit_cost[g_managers & (manager_branch == b)].sum()
            weights[b] = max(0.0, branch_profit)
        if weights.sum() <= 0:
            weights = np.array([float((g_managers & (manager_branch == b)).sum()) for b in range(len(p.branches))])
        shares = branch_part * weights / weights.sum() if weights.sum() > 0 else np.zeros(len(p.branches))
        branch_payouts += shares
        values |= {"department_payout": department, "branch_payout": branch_part,
                   "profit_after_incentives": values["simulated_profit"] - pool}
        totals["department_payout"] += department
        totals["branch_payout"] += branch_part
        totals["member_payout"] += s.member_share * branch_part
        totals["pool"] += pool
        for name in GROUP_METRICS:
            metrics[BREAKDOWN_SEPARATOR.join(("group", gid, name))] = values[name]
    for b, bid in enumerate(p.branches):
        values = scope(f["branch"] == b, manager_branch == b)
        values |= {"branch_payout": float(branch_payouts[b]), "member_payout": float(s.member_share * branch_payouts[b])}
        for name in BRANCH_METRICS:
            metrics[BREAKDOWN_SEPARATOR.join(("branch", bid, name))] = values[name]
    overall = scope(everything, all_managers)
    overall |= {
        "department_payout": totals["department_payout"],
        "branch_payout": totals["branch_payout"],
        "member_payout": totals["member_payout"],
        "profit_after_incentives": overall["simulated_profit"] - totals["pool"],
        "leads": float(t.leads.sum()),
        "applications": float(t.applications.sum()),
        "approvals": float(t.approvals.sum()),
        "renewals": float(t.renewals),
        "attrition": float(t.attrition),
        "visits": float(t.visits.sum()),
        "leader_effort": _ratio(float(t.visits[leader].sum()), float(t.reference_visits[leader].sum())),
        "large_sme_hours": float(t.large_sme_hours.sum()),
    }
    metrics = {name: float(overall[name]) for name in METRICS} | metrics
    return metrics, daily_balance(p, f)
