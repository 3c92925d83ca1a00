"""The multi-year policy loop: the planner sets targets, branches answer, actuals feed next year.

One replication runs the cycle from the plan year to its last year. Each year:

1. `planner` — the year's plan with the scenario's policy from the branches' current state
   (`optimize.rolling.year_plan`: the engine's staged LP, whole targets, each branch's ratchet
   coefficient λ_b = ∂ next target / ∂ this actual);
2. `branch_effort` — each branch chooses its effort from the reward of one more client:
   myopic branches from this year's pay (`myopic_reward`: the bonus β above target, the penalty
   avoided below it); strategic branches from that pay net of the targets it raises next year,
   Weitzman's β(1 − ρ)/(1 − ρ + ρλ_b) (`simulate.behaviour.effective_reward_per_unit`; λ null in
   the cycle's last year → the pay itself). Effort answers the reward with constant elasticity
   (`simulate.behaviour.effort_response`, relative to effort 1 at the bonus β), or, with
   `incentives.effort_cost` c set, the quadratic-cost optimum reward/c
   (`simulate.behaviour.optimal_effort_quadratic`); both clamped to the loop's effort floor and cap;
3. `booked_clients` — actual new clients = capacity × effort × lognormal noise (mean 1, log-sd
   `incentives.noise_sd`), whole clients; loans follow at the branch's mid loan size per client
   above or below target (`booked_loans`);
4. `optimize.rolling.next_year_scenario` rolls achievements, last year's target and actual and the
   bank's balances forward, and the next year is planned.

Common random numbers: a replication draws its noise (years × branches) and which branches act
strategically before the first year, so two policies run on the same seed differ only by what
the policies do (`microplan compare` pairs them).

Which branches are strategic (`incentives.behaviour`): none (myopic), all (strategic), or each
with probability `strategic_share` (mixed), drawn per replication.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.rolling import YearPlan, next_year_scenario, year_plan
from scenarios.schema import Scenario
from simulate.behaviour import effective_reward_per_unit, effort_response, optimal_effort_quadratic
from simulate.records import ReplicationOutput

#: Metric name → (unit kind, description). Money in 万元 inside the engine.
METRICS: dict[str, tuple[str, str]] = {
    "cycle_new_clients": ("clients", "actual new micro clients booked from the plan year to the cycle's end"),
    "cycle_completion": ("ratio", "(achieved before the plan year + booked) ÷ Σ long-term targets at the cycle's end"),
    "cycle_target_clients": ("clients", "Σ of the yearly targets the planner set over the same years"),
    "floor_missed_years": ("years", "years whose booked bank totals miss a regulatory floor of that year's plan"),
    "holding_back_share": ("ratio", "share of branch-years with effort below the branch's myopic effort"),
    "attainment_dispersion": ("ratio", "standard deviation of actual ÷ target over branch-years whose target is ≥ 10 % of capacity"),
    "bonus_paid": ("money", "bonus paid over the years: β × clients above target"),
    "penalty_charged": ("money", "penalties charged over the years: penalty × clients short of target"),
}
#: Targets below this share of the branch's capacity are left out of the attainment dispersion
#: (a branch that has finished its long-term target gets a target near 0: actual ÷ target explodes).
MEANINGFUL_TARGET = 0.1
#: Effort a branch is below its myopic effort by before it counts as holding back (shares of effort).
HOLDING_BACK_TOL = 1e-9


@dataclass(frozen=True)
class PolicyLoopParams:
    """What one replication needs: the scenario (engine units, its policy set) and the loop's settings."""

    scenario: Scenario
    engine: str = "auto"

    @property
    def start_year(self) -> int:
        return self.scenario.plan_year

    @property
    def years(self) -> tuple[int, ...]:
        return tuple(range(self.scenario.plan_year, self.scenario.end_year + 1))

    @property
    def series_length(self) -> int:
        """One value per year of the loop (the runner's series)."""
        return len(self.years)

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "PolicyLoopParams":
        return cls(scenario, engine=scenario.simulation.policy_loop.engine)

    @classmethod
    def from_settings(cls, settings, start_year: int | None, scenario: Scenario) -> "PolicyLoopParams":
        """The service's constructor (`ModelSpec.needs_scenario`): the loop plans, so it reads the whole scenario."""
        return cls.from_scenario(scenario)


@dataclass(frozen=True)
class YearRecord:
    """One year of one replication (arrays by branch)."""

    year: int
    target: np.ndarray  # whole new-client targets
    capacity: np.ndarray  # new clients a year at effort 1
    actual: np.ndarray  # whole new clients booked
    effort: np.ndarray
    myopic_effort: np.ndarray
    ratchet: np.ndarray  # λ (NaN in the cycle's last year)
    floor_missed: bool
    bonus: float  # 万元
    penalty: float  # 万元
    solve_seconds: float


def strategic_branches(scenario: Scenario, rng: np.random.Generator) -> np.ndarray:
    """Which branches act strategically: none, all, or each with probability `strategic_share` (mixed)."""
    n = len(scenario.branches)
    behaviour = scenario.incentives.behaviour
    if behaviour == "myopic":
        return np.zeros(n, dtype=bool)
    if behaviour == "strategic":
        return np.ones(n, dtype=bool)
    return rng.random(n) < scenario.incentives.strategic_share


def myopic_reward(scenario: Scenario, target: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """This year's pay for one more client: the bonus β where the branch expects to pass its target at
    effort 1 (capacity ≥ target), else the penalty it avoids (万元 per client)."""
    incentives = scenario.incentives
    return np.where(capacity >= target, incentives.bonus_per_client, incentives.penalty_per_client)


def branch_effort(scenario: Scenario, reward: np.ndarray) -> np.ndarray:
    """Effort for a reward per client: constant elasticity around effort 1 at β, or reward/c with a
    quadratic cost c; clamped to the loop's floor and cap (an unbounded reward gives the cap)."""
    incentives = scenario.incentives
    loop = scenario.simulation.policy_loop
    if incentives.effort_cost is not None:
        effort = optimal_effort_quadratic(np.where(np.isinf(reward), 0.0, reward), incentives.effort_cost)
        return np.where(np.isinf(reward), loop.effort_cap, np.clip(effort, loop.effort_floor, loop.effort_cap))
    beta = incentives.bonus_per_client
    if beta <= 0:  # no bonus: nothing to answer
        return np.ones(len(reward))
    finite = np.where(np.isinf(reward), beta, reward)
    effort = np.asarray(effort_response(finite, beta, incentives.effort_elasticity, loop.effort_floor, loop.effort_cap), dtype=float)
    return np.where(np.isinf(reward), loop.effort_cap, effort)


def strategic_reward(scenario: Scenario, myopic: np.ndarray, ratchet: np.ndarray) -> np.ndarray:
    """Pay net of the targets it raises (Weitzman, the branch's own λ and ρ); the pay itself without λ."""
    per_unit = effective_reward_per_unit(1.0, scenario.incentives.discount_factor, ratchet)  # linear in the pay
    with np.errstate(invalid="ignore"):
        net = np.where(myopic > 0, myopic * per_unit, 0.0)
    return np.where(np.isnan(ratchet), myopic, net)


def booked_clients(capacity: np.ndarray, effort: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Whole new clients booked: round(capacity × effort × noise), noise lognormal with mean 1."""
    return np.rint(np.maximum(capacity * effort * noise, 0.0))


def booked_loans(plan: YearPlan, actual: np.ndarray) -> np.ndarray:
    """Loans booked: the loan target plus the mid loan size for each client above or below target (万元)."""
    return plan.loans + plan.inputs.size_mid * (actual - plan.clients)


def floor_missed(plan: YearPlan, actual: np.ndarray, loans: np.ndarray) -> bool:
    """Whether the booked bank totals miss a regulatory floor of the plan year (clients or loans)."""
    totals = {"clients": float(actual.sum()), "loans": float(loans.sum())}
    rows = plan.inputs.floors.rows_for(0)
    return any(totals[r.quantity] < r.const - 1e-6 for r in rows if r.tier == "regulatory")


def planner(state: Scenario, engine: str) -> YearPlan:
    """The year's plan from the current state, with the scenario's policy."""
    return year_plan(state, engine=engine)


def run_cycle(params: PolicyLoopParams, rng: np.random.Generator) -> tuple[list[YearRecord], Scenario, float]:
    """Every year of the loop on one random stream: the records, the state after the last year and Σ long-term targets."""
    scenario = params.scenario
    years = params.years
    n = len(scenario.branches)
    sigma = scenario.incentives.noise_sd
    noise = rng.lognormal(-sigma**2 / 2, sigma, size=(len(years), n))  # drawn first: common random numbers
    strategic = strategic_branches(scenario, rng)
    incentives = scenario.incentives
    state, records = scenario, []
    long_term = None
    for t, year in enumerate(years):
        plan = planner(state, params.engine)
        if long_term is None:
            long_term = plan.inputs.long_term_target
        capacity = plan.inputs.capacity
        myopic = myopic_reward(state, plan.clients, capacity)
        reward = np.where(strategic, strategic_reward(state, myopic, plan.ratchet.values), myopic)
        effort = branch_effort(state, reward)
        myopic_effort = branch_effort(state, myopic)
        actual = booked_clients(capacity, effort, noise[t])
        loans = booked_loans(plan, actual)
        records.append(YearRecord(
            year, plan.clients, capacity, actual, effort, myopic_effort, plan.ratchet.values, floor_missed(plan, actual, loans),
            float(incentives.bonus_per_client * np.maximum(actual - plan.clients, 0).sum()),
            float(incentives.penalty_per_client * np.maximum(plan.clients - actual, 0).sum()),
            plan.seconds,
        ))
        if year < scenario.end_year:
            state = next_year_scenario(state, long_term, plan.clients, actual, loans)
    return records, state, float(long_term.sum())


def cycle_metrics(params: PolicyLoopParams, records: list[YearRecord], long_term: float) -> dict[str, float]:
    """The replication's metrics (`METRICS`) from its yearly records; `long_term` = Σ long-term targets."""
    booked = float(sum(r.actual.sum() for r in records))
    achieved_before = float(sum(b.achieved_clients for b in params.scenario.branches))
    effort = np.concatenate([r.effort for r in records])
    myopic = np.concatenate([r.myopic_effort for r in records])
    targets = np.concatenate([r.target for r in records])
    actuals = np.concatenate([r.actual for r in records])
    capacity = np.concatenate([r.capacity for r in records])
    with_target = targets >= MEANINGFUL_TARGET * capacity
    attainment = actuals[with_target] / targets[with_target]
    return {
        "cycle_new_clients": booked,
        "cycle_completion": (achieved_before + booked) / long_term if long_term > 0 else float("nan"),
        "cycle_target_clients": float(targets.sum()),
        "floor_missed_years": float(sum(r.floor_missed for r in records)),
        "holding_back_share": float(np.mean(effort < myopic - HOLDING_BACK_TOL)),
        "attainment_dispersion": float(attainment.std()) if attainment.size else float("nan"),
        "bonus_paid": float(sum(r.bonus for r in records)),
        "penalty_charged": float(sum(r.penalty for r in records)),
    }


def run_replication(params: PolicyLoopParams, seed: np.random.SeedSequence, index: int) -> ReplicationOutput:
    """One cycle on its own stream: the metrics, and the bank's new clients booked per year as the series."""
    records, _, long_term = run_cycle(params, np.random.default_rng(seed))
    series = np.array([r.actual.sum() for r in records], dtype=float)
    return ReplicationOutput(index, cycle_metrics(params, records, long_term), series)
