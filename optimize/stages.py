"""The staged solve, written once: phases, stages, weights, tolerances, methods and retry policy.

Both engines (`optimize.matrix`, `optimize.model`) read this table and nothing else decides how
the plan is solved. See `docs/model.md` §3 for the maths.

**Tiers are stages, not weights.** Regulatory floors come before department targets, and those
before long-term completion, strictly: each tier has its own stage and its own bound. (A weighted
sum with weights 1000/10/1 let the slack kept on a large regulatory shortfall — relative to its
value — buy a small department shortfall: a retry loosened a 30 000 bound by 0.03 and a
department client floor fell 0.003 short. Within a tier, loans count in client-equivalents, ÷ s̄.)

**Phases.** Only the plan year binds, so it is solved first and alone (`plan_year`); then each
rolling year in turn with the years before it fixed (`rolling`), the policy re-applied to the
planned path (`optimize.window.year_reference`). A later year can therefore never make an
earlier one worse (the growth floors of later years fall when this year's loans fall — solving
all years in one objective let the solver trade the plan year for them).

**Stages** (lexicographic goal programming; each optimum is kept as a bound for the later stages):

| stage              | quantity | objective (window years t, weights w_t)                             |
|--------------------|----------|---------------------------------------------------------------------|
| violation_regulatory | clients | Σ regulatory floor shortfall (loans ÷ mean mid loan size s̄)     |
| violation_department | clients | Σ department target shortfall (loans ÷ s̄)                       |
| violation_completion | clients | Σ long-term completion shortfall                                |
| zero_key_load      | clients  | Σ w_t θ0_t, θ0_t ≥ x[b,t] − ref[b] for branches whose sharing key is 0 |
| client_load        | clients  | Σ w_t θ_t,  θ_t ≥ (x[b,t] − ref[b]) / key[b] for keyed branches     |
| client_fill        | clients  | progressive filling: fix the rows that block θ, minimise θ again    |
| client_deviation   | clients  | Σ w_t |x − ref'|                                                      |
| loan_violation_regulatory | loans | clients fixed, one year at a time: Σ regulatory loan floor shortfall ÷ s̄ |
| loan_violation_department | loans | the same for the department's loan targets                |
| loan_load          | loans    | θy ≥ (y[b] − mid[b]) / loan_key[b]                                   |
| loan_deviation     | loans    | Σ |y − mid| / s̄                                                       |

`zero_key_load` lets branches whose key is zero (ratchet with last actual 0, the outlets key with
no outlet) take load, but only what the keyed branches cannot: the key shapes sharing, it does
not forbid it.

**Loans are unique by construction.** They are solved one year at a time, each year with the
clients and the earlier years fixed. Within one year every loan floor is a floor on the same
total Y (the earlier years are constants), the band and the risk cap are bounds of each y[b],
so the problem is separable but for one sum. Then `loan_load`'s optimum θy* leaves exactly one
solution: if Y must exceed Σ mid, Σ_b min(high_b, mid_b + θy*·key_b) equals the floor (else θy
could fall), so every branch sits at min(high_b, mid_b + θy*·key_b) (or at its low bound above
it); if not, θy* = 0 and `loan_deviation` puts every branch at mid or at the bound nearest to it.
That is progressive filling, and no branch order or engine can change it (tested with twins and
shuffled tables on both engines). The clients of a year are unique by the same argument, with
one gap that `client_fill` closes: when a floor that cannot be met (e.g. loans beyond every band)
pushes some branch's clients up in a violation stage, that branch's load sets θ*, and the rest of
a client floor's extra was free among the other branches (the L1 deviation is indifferent to how
it splits), so it split by branch order. `client_fill` is progressive filling (leximin): the load
rows with a nonzero dual at θ* are tight in *every* optimum (complementary slackness holds between
any primal and any dual optimum), so those branches are settled at θ*·key; their rows leave θ
(kept as x − ref' ≤ θ*·key: every optimum of the next round is one of this round, so they stay
tight without an equality), and θ is minimised again over the rest; repeated until no row blocks (at most
`FILL_ROUNDS`). Each level is then unique by the argument above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Phase = Literal["plan_year", "rolling"]
PHASES: tuple[Phase, ...] = ("plan_year", "rolling")

#: The shortfall tiers in the order they are minimised (each its own stage; see "Tiers are stages").
Tier = Literal["regulatory", "department", "completion"]
TIERS: tuple[Tier, ...] = ("regulatory", "department", "completion")
#: Cost per unit of shortfall in each tier's stage (client-equivalents; loans ÷ mean mid loan size).
#: The tiers no longer trade against each other (one stage each); the scale keeps each stage's
#: absolute slack (`STAGE_ABS_TOL` ÷ weight) well under the checker's tolerance — tiers scaled
#: by 1 let a 万元-sized loan floor end 1e-5 short in a property test.
TIER_WEIGHTS: dict[Tier, float] = {"regulatory": 1000.0, "department": 10.0, "completion": 1.0}
#: Relative and absolute slack kept when a stage's optimum becomes a bound for the later stages.
STAGE_REL_TOL = 1e-9
STAGE_ABS_TOL = 1e-7
#: Looser slack used from the second retry when HiGHS reports numerical trouble against a stage bound.
RETRY_REL_TOL = 1e-6
RETRY_ABS_TOL = 1e-5
#: HiGHS's dual feasibility tolerance: the stage objectives mix weights 1 and 0.01.
DUAL_TOLERANCE = 1e-9
#: Smallest normalised loan key: a branch with no loan room above mid takes no extra loans.
MIN_LOAN_KEY = 1e-9


@dataclass(frozen=True)
class Stage:
    """One lexicographic stage: its name, what it decides and, for a shortfall stage, its tier."""

    name: str
    quantity: Literal["clients", "loans"]
    tier: Tier | None = None
    kind: Literal["objective", "fill"] = "objective"  # "fill": progressive filling of client_load (see above)


STAGES: tuple[Stage, ...] = (
    Stage("violation_regulatory", "clients", "regulatory"),
    Stage("violation_department", "clients", "department"),
    Stage("violation_completion", "clients", "completion"),
    Stage("zero_key_load", "clients"),
    Stage("client_load", "clients"),
    Stage("client_fill", "clients", kind="fill"),
    Stage("client_deviation", "clients"),
    Stage("loan_violation_regulatory", "loans", "regulatory"),
    Stage("loan_violation_department", "loans", "department"),
    Stage("loan_load", "loans"),
    Stage("loan_deviation", "loans"),
)
CLIENT_STAGES = tuple(s for s in STAGES if s.quantity == "clients")
LOAN_STAGES = tuple(s for s in STAGES if s.quantity == "loans")


def highs_options(n_branches: int, stage: Stage, retry: int = 0) -> dict[str, object]:
    """HiGHS options of one stage: dual simplex (vertex solutions), dual tolerance `DUAL_TOLERANCE`.

    Every option is set at every stage because options persist on a HiGHS instance. Retry 1 turns
    presolve off with the same bounds (presolve has declared a stage infeasible whose previous
    solution was feasible, where stage bounds of 1e-7 met a floor exactly); later retries loosen
    the bounds (`stage_bound`) and go back to HiGHS's default dual tolerance. (`n_branches` is kept
    for a size-dependent choice: the one-year loan problems and the client problems measured fastest
    with simplex at every size.)
    """
    return {"presolve": "off" if retry == 1 else "on", "solver": "simplex",
            "dual_feasibility_tolerance": 1e-7 if retry > 1 else DUAL_TOLERANCE}


def stage_bound(value: float, retry: int = 0, scale: float = 1.0) -> float:
    """The bound a stage's optimum becomes: value + |value|·rel + abs, looser on the later retries.

    Retry 1 keeps the bound (it only turns presolve off, `highs_options`); retry 2 uses
    `RETRY_REL_TOL` / `RETRY_ABS_TOL`; retry 3 also multiplies the absolute slack by `scale`, the
    objective's largest cost coefficient: HiGHS keeps rows to an absolute primal tolerance, so a
    stage whose costs weigh a 万元 of shortfall by 10³ can need that much more slack (found: a loan
    stage infeasible against its bound). The first tries keep lower-weighted floors tight.
    """
    if retry <= 1:
        return value + abs(value) * STAGE_REL_TOL + STAGE_ABS_TOL
    return value + abs(value) * RETRY_REL_TOL + RETRY_ABS_TOL * (max(1.0, scale) if retry > 2 else 1.0)


#: Most rounds of progressive filling in `client_fill` (each settles at least one branch; more
#: than two levels needs several nested forcings — the cap keeps the cost bounded).
FILL_ROUNDS = 8
#: A load row blocks θ (is tight in every optimum) when its dual exceeds FILL_DUAL_TOL and it is
#: tight within FILL_TIGHT_TOL clients in the solution (a dual of numerical noise on a slack row,
#: e.g. a branch at its box top, must not pin that branch at θ*·key: found proven infeasible).
FILL_DUAL_TOL = 1e-9
FILL_TIGHT_TOL = 1e-6

#: How many times a stage is retried: without presolve, then with looser bounds (and HiGHS's default dual tolerance).
RETRIES = 3


class SolveError(RuntimeError):
    """HiGHS did not finish a stage optimally, even after the retry; `stage` and `status` say where."""

    def __init__(self, stage: str, status: str) -> None:
        super().__init__(f"HiGHS stopped at stage {stage!r} with status {status}")
        self.stage = stage
        self.status = status
