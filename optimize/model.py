"""The Pyomo reference engine: one phase of the allocation LP, one function per rule.

`build_model(inputs, window)` reads top to bottom: sets, variables, one function per constraint
family (named after the rule, the maths in its first docstring line, the Pyomo component under
the same name), then the client stage objectives. `solve_window` runs the stages of
`optimize.stages` on it (`solve_clients`); the loan stages run on a one-year model of the same
recipe whose clients are fixed by their box (`add_loan_stages`, `solve_loans`). `optimize.matrix` is the
same model in a faster form; the two are tested equal.

Index letters: b branch (positions in the branch table), t window year (0 = the window's first
year), r floor row of the window. Money in 万元, clients in 户.
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from optimize.inputs import PlanInputs
from optimize.stages import (
    CLIENT_STAGES, FILL_DUAL_TOL, FILL_ROUNDS, FILL_TIGHT_TOL, LOAN_STAGES, MIN_LOAN_KEY, RETRIES, TIER_WEIGHTS, SolveError, Stage, highs_options, stage_bound,
)
from optimize.window import StageResult, Window, loan_band, loan_keys, loan_scale, shortfall_weights


def build_model(inputs: PlanInputs, w: Window) -> pyo.ConcreteModel:
    """The client part of window `w`'s LP; the loan stages are added once the clients are fixed."""
    m = pyo.ConcreteModel(name=f"microplan {w.phase}: {inputs.scenario_name}")
    add_sets(m, inputs, w)
    add_variables(m, inputs, w)
    add_client_box(m, w)
    add_loan_size_band(m, inputs, w)
    add_risk_caps(m, inputs, w)
    add_long_term_completion(m, w)
    add_floors(m, w)
    add_extra_load_limits(m, inputs, w)
    add_deviation_definitions(m, w)
    add_client_objectives(m, inputs, w)
    return m


# ---------------------------------------------------------------- sets and variables


def add_sets(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """BRANCHES (b), YEARS (t, window positions), FLOOR_ROWS (r), and the subsets the rules use."""
    m.BRANCHES = pyo.Set(initialize=range(len(inputs.branch_ids)), ordered=True)
    m.YEARS = pyo.Set(initialize=range(w.size), ordered=True)
    m.FLOOR_ROWS = pyo.Set(initialize=range(len(w.floors)), ordered=True)
    m.RISK_CAPPED_BRANCHES = pyo.Set(initialize=np.flatnonzero(w.risk_capped).tolist(), ordered=True)
    m.KEYED_BRANCHES = pyo.Set(initialize=np.flatnonzero(w.key > 0).tolist(), ordered=True)
    m.ZERO_KEY_BRANCHES = pyo.Set(initialize=np.flatnonzero(w.key <= 0).tolist(), ordered=True)
    need = w.completion_need
    m.COMPLETION_BRANCHES = pyo.Set(initialize=[] if need is None else np.flatnonzero(need > 1e-9).tolist(), ordered=True)


def add_variables(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """x new clients, y loan increment, θ loads, slacks and deviation parts."""
    m.x = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="new micro clients, 户")
    m.y = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.Reals, doc="micro-loan increment, 万元")
    m.theta = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals, doc="largest relative extra load, keyed branches")
    m.theta0 = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals, doc="largest extra load, zero-key branches")
    m.floor_shortfall = pyo.Var(m.FLOOR_ROWS, domain=pyo.NonNegativeReals)
    m.completion_shortfall = pyo.Var(m.COMPLETION_BRANCHES, domain=pyo.NonNegativeReals)
    m.over = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="x above its reference")
    m.under = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="x below its reference")


# ---------------------------------------------------------------- constraint families


def add_client_box(m: pyo.ConcreteModel, w: Window) -> None:
    """x_lo[b,t] ≤ x[b,t] ≤ x_hi[b,t]: capacity, and smoothing from the year before the window (bounds)."""
    for b in m.BRANCHES:
        for t in m.YEARS:
            m.x[b, t].setlb(float(w.x_lo[b, t]))
            m.x[b, t].setub(float(w.x_hi[b, t]))


def add_loan_size_band(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """s_min[b]·x[b,t] + e_min[b] ≤ y[b,t] ≤ s_max[b]·x[b,t] + e_max[b]  ∀ b,t (a locked loan: y = lock)."""
    lo, hi = inputs.size_min, inputs.size_max
    locked = w.locked_loans()
    e_min = w.band_low_book(inputs)  # at most r·book for a risk-capped branch
    m.loan_size_band_low = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: pyo.Constraint.Skip if b in locked else m.y[b, t] >= lo[b] * m.x[b, t] + float(e_min[b])
    )
    m.loan_size_band_high = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: pyo.Constraint.Skip if b in locked else m.y[b, t] <= hi[b] * m.x[b, t] + inputs.book_max[b]
    )
    for b, value in locked.items():
        m.y[b, 0].fix(value)


def use_loan_limits(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """One year, clients fixed: band, risk cap and lock become bounds of y (`Window.loan_limits`)."""
    low, high = w.loan_limits(inputs)
    for name in ("loan_size_band_low", "loan_size_band_high", "risk_caps"):
        if m.component(name) is not None:
            m.component(name).deactivate()
    for b in m.BRANCHES:
        m.y[b, 0].unfix()
        m.y[b, 0].setlb(float(low[b]))
        m.y[b, 0].setub(float(high[b]))


def add_risk_caps(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """y[b,t] ≤ r·(book[b] + Σ_{s<t} y[b,s])  ∀ b ∈ RISK_CAPPED_BRANCHES, t (book at the window's start)."""
    if not m.RISK_CAPPED_BRANCHES:
        return
    r = inputs.capped_growth
    m.risk_caps = pyo.Constraint(
        m.RISK_CAPPED_BRANCHES, m.YEARS,
        rule=lambda m, b, t: m.y[b, t] <= r * (float(w.book[b]) + pyo.quicksum(m.y[b, s] for s in range(t))),
    )


def add_long_term_completion(m: pyo.ConcreteModel, w: Window) -> None:
    """Σ_t x[b,t] + shortfall[b] ≥ L[b] − A[b] − Σ_fixed x[b,s]  ∀ b ∈ COMPLETION_BRANCHES (elastic)."""
    if not m.COMPLETION_BRANCHES:
        return
    need = w.completion_need
    m.long_term_completion = pyo.Constraint(
        m.COMPLETION_BRANCHES,
        rule=lambda m, b: pyo.quicksum(m.x[b, t] for t in m.YEARS) + m.completion_shortfall[b] >= float(need[b]),
    )


def add_floors(m: pyo.ConcreteModel, w: Window) -> None:
    """total[t] − Σ_s coupling[s]·total[s] + shortfall[r] ≥ const[r]  ∀ r (elastic floors)."""
    if not m.FLOOR_ROWS:
        return
    m.client_total = pyo.Expression(m.YEARS, rule=lambda m, t: pyo.quicksum(m.x[b, t] for b in m.BRANCHES))
    m.loan_total = pyo.Expression(m.YEARS, rule=lambda m, t: pyo.quicksum(m.y[b, t] for b in m.BRANCHES))

    def rule(m: pyo.ConcreteModel, r: int) -> pyo.Expression:
        f = w.floors[r]
        total = m.loan_total if f.row.quantity == "loans" else m.client_total
        coupled = pyo.quicksum(c * total[s] for s, c in f.coupling.items())
        return total[f.year] - coupled + m.floor_shortfall[r] >= f.const

    m.floors = pyo.Constraint(m.FLOOR_ROWS, rule=rule)


def add_extra_load_limits(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """x[b,t] − ref'[b,t] ≤ θ[t]·key[b] (keyed branches);  x[b,t] − ref'[b,t] ≤ θ0[t] (zero-key branches).

    ref' is the reference clamped to the branch's box (`optimize.window.effective_reference`).
    """
    ref, key = w.ref, w.key
    m.load_key = pyo.Param(m.BRANCHES, initialize=dict(enumerate(map(float, key))))  # read by client_fill
    m.load_ref = pyo.Param(m.BRANCHES, m.YEARS, initialize={(b, t): float(ref[b, t]) for b in range(len(key)) for t in range(ref.shape[1])})
    m.extra_load_limits = pyo.Constraint(
        m.KEYED_BRANCHES, m.YEARS, rule=lambda m, b, t: m.x[b, t] - float(ref[b, t]) <= m.theta[t] * float(key[b])
    )
    m.zero_key_load_limits = pyo.Constraint(
        m.ZERO_KEY_BRANCHES, m.YEARS, rule=lambda m, b, t: m.x[b, t] - float(ref[b, t]) <= m.theta0[t]
    )


def add_deviation_definitions(m: pyo.ConcreteModel, w: Window) -> None:
    """x − ref' = over − under."""
    ref = w.ref
    m.client_deviation_definition = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.x[b, t] - float(ref[b, t]) == m.over[b, t] - m.under[b, t]
    )


# ---------------------------------------------------------------- objectives (optimize.stages)


def add_client_objectives(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """violation_<tier>, zero_key_load, client_load, client_deviation — all deactivated until their stage."""
    weight = w.year_weight
    for tier in ("regulatory", "department"):
        shortfall = shortfall_weights(inputs, w.floors, tier)
        m.add_component(f"violation_{tier}", pyo.Objective(expr=pyo.quicksum(
            float(shortfall[r]) * m.floor_shortfall[r] for r in m.FLOOR_ROWS if shortfall[r]) if shortfall.any() else 0.0))
    m.violation_completion = pyo.Objective(expr=TIER_WEIGHTS["completion"] * pyo.quicksum(
        m.completion_shortfall[b] for b in m.COMPLETION_BRANCHES) if len(m.COMPLETION_BRANCHES) else 0.0)
    m.zero_key_load = pyo.Objective(expr=pyo.quicksum(float(weight[t]) * m.theta0[t] for t in m.YEARS) if m.ZERO_KEY_BRANCHES else 0.0)
    m.client_load = pyo.Objective(expr=pyo.quicksum(float(weight[t]) * m.theta[t] for t in m.YEARS))
    m.client_deviation = pyo.Objective(expr=(
        pyo.quicksum(float(weight[t]) * (m.over[b, t] + m.under[b, t]) for b in m.BRANCHES for t in m.YEARS)
    ))
    for stage in CLIENT_STAGES:
        if stage.kind == "objective":
            getattr(m, stage.name).deactivate()


def add_loan_stages(m: pyo.ConcreteModel, inputs: PlanInputs, w: Window) -> None:
    """One year, x fixed: y − mid ≤ θy·loan_key; y − mid = loan_over − loan_under; the loan objectives."""
    x = w.x_lo
    _, mid, _ = loan_band(inputs, x)
    key, _ = loan_keys(inputs, x)
    m.theta_loans = pyo.Var(domain=pyo.NonNegativeReals, doc="largest relative extra loan load")
    m.loan_over = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals)
    m.loan_under = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals)
    m.loan_load_limits = pyo.Constraint(  # branches without room above mid: y ≤ mid is their bound already
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.y[b, t] - float(mid[b, t]) <= m.theta_loans * float(key[b, t])
        if key[b, t] > MIN_LOAN_KEY else pyo.Constraint.Skip
    )
    m.loan_deviation_definition = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.y[b, t] - float(mid[b, t]) == m.loan_over[b, t] - m.loan_under[b, t]
    )
    loan_rows = [r for r in m.FLOOR_ROWS if w.floors[r].row.quantity == "loans"]
    for tier in ("regulatory", "department"):
        shortfall = shortfall_weights(inputs, w.floors, tier)
        rows = [r for r in loan_rows if shortfall[r]]
        m.add_component(f"loan_violation_{tier}", pyo.Objective(
            expr=pyo.quicksum(float(shortfall[r]) * m.floor_shortfall[r] for r in rows) if rows else 0.0))
    m.loan_load = pyo.Objective(expr=m.theta_loans)
    m.loan_deviation = pyo.Objective(expr=pyo.quicksum(
        (m.loan_over[b, t] + m.loan_under[b, t]) / loan_scale(inputs) for b in m.BRANCHES for t in m.YEARS
    ))
    for stage in LOAN_STAGES:
        getattr(m, stage.name).deactivate()


# ---------------------------------------------------------------- the staged solve


def run_stage(solver: Highs, m: pyo.ConcreteModel, stage: Stage, n: int, retry: int = 0):
    """One HiGHS run on `stage`'s objective; solutions are loaded only when optimal."""
    return solver.solve(m, solver_options=highs_options(n, stage, retry), load_solutions=False,
                        raise_exception_on_nonoptimal_result=False)


def run_stages(m: pyo.ConcreteModel, stages: tuple[Stage, ...], n: int, objectives: dict[str, float], prefix: str) -> None:
    """Activate each stage's objective, solve (retry once with loosened bounds), record, bound."""
    from pyomo.core.expr.numvalue import is_constant

    bounds: dict[str, float] = {}  # stage → the optimum its bound row keeps
    for stage in stages:
        if stage.kind == "fill":
            if "client_load" in bounds:
                bounds["client_load"] = fill_progressively(m, stage, n, objectives, prefix, bounds)
            continue
        objective = getattr(m, stage.name)
        if is_constant(objective.expr):
            continue
        objective.activate()
        results = solve_with_retries(m, stage, n, bounds)
        if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise SolveError(f"{prefix}{stage.name}", results.termination_condition.name)
        results.solution_loader.load_vars()
        value = float(pyo.value(objective.expr))
        objectives[f"{prefix}{stage.name}"] = objectives.get(f"{prefix}{stage.name}", 0.0) + value
        objective.deactivate()
        bounds[stage.name] = value
        m.add_component(f"stage_bound_{stage.name}",
                        pyo.Constraint(expr=objective.expr <= stage_bound(value)))


def solve_with_retries(m: pyo.ConcreteModel, stage: Stage, n: int, bounds: dict[str, float]):
    """Solve the active objective; on numerical trouble against an earlier bound, loosen every stage
    bound (`optimize.stages.stage_bound`) and retry, up to RETRIES times."""
    results = run_stage(Highs(), m, stage, n)
    for retry in range(1, RETRIES + 1):
        if results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied:
            break
        for name, value in bounds.items():
            if getattr(m, f"stage_bound_{name}").active:
                getattr(m, f"stage_bound_{name}").set_value(getattr(m, name).expr <= stage_bound(
                    value, retry, cost_scale(getattr(m, name))))
        results = run_stage(Highs(), m, stage, n, retry)
    return results


def fill_progressively(m: pyo.ConcreteModel, stage: Stage, n: int, objectives: dict[str, float], prefix: str,
                       bounds: dict[str, float]) -> float:
    """`client_fill` (optimize.stages): settle the load rows that block θ, then minimise θ over the rest.

    A row with |dual| > FILL_DUAL_TOL at the optimum is tight in every optimum, so its branch sits at
    θ·key[b]: the row is replaced by that equality (`fill_levels`) and leaves θ. Returns the last θ optimum.
    """
    objective, bound = m.client_load, m.stage_bound_client_load
    m.fill_levels = pyo.ConstraintList()
    free = [index for index in m.extra_load_limits if m.extra_load_limits[index].active]
    value = bounds["client_load"]
    if not free:  # no keyed branch: nothing to fill (as the matrix engine)
        return value
    for _ in range(FILL_ROUNDS):
        bound.deactivate()  # θ may fall for the rows still coupled to it
        objective.activate()
        results = solve_with_retries(m, stage, n, bounds)
        if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
            raise SolveError(f"{prefix}{stage.name}", results.termination_condition.name)
        results.solution_loader.load_vars()
        duals = results.solution_loader.get_duals([m.extra_load_limits[i] for i in free])
        objective.deactivate()
        value = float(pyo.value(objective.expr))
        bound.set_value(objective.expr <= stage_bound(value))
        bound.activate()
        blocked = [(b, t) for b, t in free if abs(duals[m.extra_load_limits[b, t]]) > FILL_DUAL_TOL
                   and pyo.value(m.x[b, t]) - float(m.load_ref[b, t]) - pyo.value(m.theta[t]) * float(m.load_key[b]) > -FILL_TIGHT_TOL]
        if not blocked:
            break
        for b, t in blocked:  # x − ref' ≤ θ*·key: tight in every later optimum (stages.py)
            m.extra_load_limits[b, t].deactivate()
            m.fill_levels.add(m.x[b, t] - float(m.load_ref[b, t]) <= stage_bound(pyo.value(m.theta[t]) * float(m.load_key[b])))
        settled = set(blocked)
        free = [i for i in free if i not in settled]
        if not free:
            break
    objectives[f"{prefix}{stage.name}"] = objectives.get(f"{prefix}{stage.name}", 0.0) + value
    return value


def cost_scale(objective: pyo.Objective) -> float:
    """The largest cost coefficient of a linear stage objective (`optimize.stages.stage_bound`)."""
    from pyomo.repn import generate_standard_repn

    coefs = generate_standard_repn(objective.expr, compute_values=True).linear_coefs
    return max((abs(float(c)) for c in coefs), default=1.0)


def solve_clients(inputs: PlanInputs, w: Window) -> StageResult:
    """The client stages of `optimize.stages` on window `w`'s model: x (n, W)."""
    n = len(inputs.branch_ids)
    m = build_model(inputs, w)
    objectives: dict[str, float] = {}
    run_stages(m, CLIENT_STAGES, n, objectives, f"{w.phase}/")
    x = np.array([[pyo.value(m.x[b, t]) for t in m.YEARS] for b in m.BRANCHES], dtype=float).reshape(n, w.size)
    return StageResult(np.clip(x, w.x_lo, w.x_hi), objectives, 0.0)


def solve_loans(inputs: PlanInputs, w: Window) -> StageResult:
    """The loan stages on a one-year window whose clients are fixed by their box: y (n, 1)."""
    n = len(inputs.branch_ids)
    m = build_model(inputs, w)
    use_loan_limits(m, inputs, w)
    add_loan_stages(m, inputs, w)
    objectives: dict[str, float] = {}
    run_stages(m, LOAN_STAGES, n, objectives, f"{w.phase}/")
    y = np.array([pyo.value(m.y[b, 0]) for b in m.BRANCHES], dtype=float)
    return StageResult(y[:, None], objectives, 0.0)
