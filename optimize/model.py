"""The annual allocation LP as a Pyomo model: a recipe that builds, never solves.

`build_model(inputs)` reads top to bottom: sets, parameters, variables, one function per
constraint family (named after the rule, the maths in its first docstring line, the Pyomo
component under the same name), then the stage objectives. Only one objective is active at a
time; `optimize.solve` runs the stages (DESIGN.md §3):

1. `violation`         minimise tiered floor and completion shortfalls
2. `client_load`       minimise the largest relative extra load θ_t = max_b (x[b,t] − ref_b)/key_b
3. `client_deviation`  minimise Σ |x − ref| and year-to-year change
4. `loan_load`         clients fixed: minimise θy_t, the largest relative extra loan load
5. `loan_deviation`    minimise Σ |y − (mid size · x + mid book change)|
"""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo

from optimize.inputs import PlanInputs
# the weights and stage order are shared with the matrix path, defined once there (no Pyomo import)
from optimize.matrix import CHANGE_WEIGHT, ROLLING_YEAR_WEIGHT, STAGE_OBJECTIVES, TIER_WEIGHTS  # noqa: F401


def build_model(inputs: PlanInputs) -> pyo.ConcreteModel:
    """The allocation LP for `inputs`, with every stage objective deactivated but the first."""
    m = pyo.ConcreteModel(name=f"microplan allocation: {inputs.scenario_name}")
    m.inputs = inputs  # kept for the solve stages and for reading the solution
    add_sets(m, inputs)
    add_variables(m, inputs)
    add_capacity_limits(m, inputs)
    add_loan_size_band(m, inputs)
    add_smoothing(m, inputs)
    add_risk_caps(m, inputs)
    add_long_term_completion(m, inputs)
    add_floors(m, inputs)
    add_extra_load_limits(m, inputs)
    add_deviation_definitions(m, inputs)
    add_objectives(m, inputs)
    return m


# ---------------------------------------------------------------- sets and variables


def add_sets(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """BRANCHES (b, positions in the table), YEARS (t, calendar years), FLOOR_ROWS (r), subsets."""
    m.BRANCHES = pyo.Set(initialize=range(len(inputs.branch_ids)), ordered=True)
    m.YEARS = pyo.Set(initialize=inputs.years, ordered=True)
    m.LATER_YEARS = pyo.Set(initialize=inputs.years[1:], ordered=True)
    m.FLOOR_ROWS = pyo.Set(initialize=range(len(inputs.floors.rows)), ordered=True)
    m.RISK_CAPPED_BRANCHES = pyo.Set(initialize=np.flatnonzero(inputs.risk_capped).tolist(), ordered=True)
    need = inputs.completion_need
    m.COMPLETION_BRANCHES = pyo.Set(
        initialize=[] if need is None else np.flatnonzero(need > 0).tolist(), ordered=True
    )


def add_variables(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """x new clients, y loan increment, θ loads, slacks and deviation parts."""
    m.x = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="new micro clients, 户")
    m.y = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.Reals, doc="micro-loan increment, 万元")
    m.theta = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals, doc="largest relative extra client load")
    m.theta_loans = pyo.Var(m.YEARS, domain=pyo.NonNegativeReals, doc="largest relative extra loan load")
    m.floor_shortfall = pyo.Var(m.FLOOR_ROWS, domain=pyo.NonNegativeReals)
    m.completion_shortfall = pyo.Var(m.COMPLETION_BRANCHES, domain=pyo.NonNegativeReals)
    m.over = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="x above its reference")
    m.under = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals, doc="x below its reference")
    m.change = pyo.Var(m.BRANCHES, m.LATER_YEARS, domain=pyo.NonNegativeReals, doc="|x[b,t] − x[b,t−1]|")
    m.loan_over = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals)
    m.loan_under = pyo.Var(m.BRANCHES, m.YEARS, domain=pyo.NonNegativeReals)
    # the loan key depends on the fixed clients; set by the solve before the loan stages
    m.loan_key = pyo.Param(m.BRANCHES, m.YEARS, mutable=True, initialize=0.0)


# ---------------------------------------------------------------- constraint families


def add_capacity_limits(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """x[b,t] ≤ cap[b]  ∀ b,t — set as variable bounds (HiGHS handles bounds, not rows)."""
    for b in m.BRANCHES:
        for t in m.YEARS:
            m.x[b, t].setub(float(inputs.capacity[b]))


def add_loan_size_band(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """s_min[b]·x[b,t] + e_min[b] ≤ y[b,t] ≤ s_max[b]·x[b,t] + e_max[b]  ∀ b,t."""
    lo, hi = inputs.size_min, inputs.size_max
    m.loan_size_band_low = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.y[b, t] >= lo[b] * m.x[b, t] + inputs.book_min[b]
    )
    m.loan_size_band_high = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.y[b, t] <= hi[b] * m.x[b, t] + inputs.book_max[b]
    )


def add_smoothing(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """−c·cap[b] ≤ x[b,t] − x[b,t−1] ≤ c·cap[b]  ∀ b, t > plan year (plan years only)."""
    step = inputs.max_change * inputs.capacity

    def rule(m: pyo.ConcreteModel, b: int, t: int) -> pyo.Expression:
        return pyo.inequality(-step[b], m.x[b, t] - m.x[b, t - 1], step[b])

    m.smoothing = pyo.Constraint(m.BRANCHES, m.LATER_YEARS, rule=rule)


def add_risk_caps(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """y[b,t] ≤ r·(M[b] + Σ_{s<t} y[b,s])  ∀ b ∈ RISK_CAPPED_BRANCHES, t."""
    if not m.RISK_CAPPED_BRANCHES:
        return
    r = inputs.capped_growth
    years = inputs.years

    def rule(m: pyo.ConcreteModel, b: int, t: int) -> pyo.Expression:
        earlier = pyo.quicksum(m.y[b, s] for s in years if s < t)
        return m.y[b, t] <= r * (inputs.micro_loans[b] + earlier)

    m.risk_caps = pyo.Constraint(m.RISK_CAPPED_BRANCHES, m.YEARS, rule=rule)


def add_long_term_completion(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """Σ_t x[b,t] + shortfall[b] ≥ L[b] − A[b]  ∀ b ∈ COMPLETION_BRANCHES (elastic)."""
    if not m.COMPLETION_BRANCHES:
        return
    need = inputs.completion_need
    m.long_term_completion = pyo.Constraint(
        m.COMPLETION_BRANCHES,
        rule=lambda m, b: pyo.quicksum(m.x[b, t] for t in m.YEARS) + m.completion_shortfall[b] >= float(need[b]),
    )


def add_floors(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """total[t] − Σ_s coupling[s]·total[s] + shortfall[r] ≥ const[r]  ∀ r (elastic floors)."""
    if not m.FLOOR_ROWS:
        return
    years = inputs.years
    m.client_total = pyo.Expression(m.YEARS, rule=lambda m, t: pyo.quicksum(m.x[b, t] for b in m.BRANCHES))
    m.loan_total = pyo.Expression(m.YEARS, rule=lambda m, t: pyo.quicksum(m.y[b, t] for b in m.BRANCHES))

    def rule(m: pyo.ConcreteModel, r: int) -> pyo.Expression:
        row = inputs.floors.rows[r]
        total = m.loan_total if row.quantity == "loans" else m.client_total
        coupled = pyo.quicksum(c * total[years[s]] for s, c in row.coupling.items())
        return total[years[row.year]] - coupled + m.floor_shortfall[r] >= row.const

    m.floors = pyo.Constraint(m.FLOOR_ROWS, rule=rule)


def add_extra_load_limits(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """x[b,t] − ref[b] ≤ θ[t]·key[b];  y[b,t] − (s_mid·x + e_mid) ≤ θy[t]·loan_key[b,t]  ∀ b,t.

    Branches without a key (no spare capacity) take no extra load: x ≤ ref.
    """
    ref, key = inputs.reference, inputs.key
    m.extra_load_limits = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.x[b, t] - float(ref[b]) <= m.theta[t] * float(key[b])
    )
    mid, book = inputs.size_mid, inputs.book_mid
    m.loan_extra_load_limits = pyo.Constraint(
        m.BRANCHES, m.YEARS,
        rule=lambda m, b, t: m.y[b, t] - mid[b] * m.x[b, t] - book[b] <= m.theta_loans[t] * m.loan_key[b, t],
    )
    m.loan_extra_load_limits.deactivate()  # switched on once clients are fixed


def add_deviation_definitions(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """x − ref = over − under;  y − (s_mid·x + e_mid) = loan_over − loan_under;  change ≥ |Δx|."""
    ref, mid, book = inputs.reference, inputs.size_mid, inputs.book_mid
    m.client_deviation = pyo.Constraint(
        m.BRANCHES, m.YEARS, rule=lambda m, b, t: m.x[b, t] - float(ref[b]) == m.over[b, t] - m.under[b, t]
    )
    m.loan_deviation = pyo.Constraint(
        m.BRANCHES, m.YEARS,
        rule=lambda m, b, t: m.y[b, t] - mid[b] * m.x[b, t] - book[b] == m.loan_over[b, t] - m.loan_under[b, t],
    )
    m.change_up = pyo.Constraint(m.BRANCHES, m.LATER_YEARS, rule=lambda m, b, t: m.change[b, t] >= m.x[b, t] - m.x[b, t - 1])
    m.change_down = pyo.Constraint(m.BRANCHES, m.LATER_YEARS, rule=lambda m, b, t: m.change[b, t] >= m.x[b, t - 1] - m.x[b, t])


# ---------------------------------------------------------------- objectives


def year_weights(inputs: PlanInputs) -> dict[int, float]:
    """The plan year counts fully, the rolling years lightly (only the plan year binds)."""
    return {t: 1.0 if i == 0 else ROLLING_YEAR_WEIGHT for i, t in enumerate(inputs.years)}


def add_objectives(m: pyo.ConcreteModel, inputs: PlanInputs) -> None:
    """One objective per stage, named after it; only `violation` starts active."""
    loan_scale = float(np.mean(inputs.size_mid)) or 1.0  # 万元 per client-equivalent
    rows = inputs.floors.rows

    def row_weight(r: int) -> float:
        return TIER_WEIGHTS[rows[r].tier] / (loan_scale if rows[r].quantity == "loans" else 1.0)

    weight = year_weights(inputs)
    m.violation = pyo.Objective(expr=(
        pyo.quicksum(row_weight(r) * m.floor_shortfall[r] for r in m.FLOOR_ROWS)
        + TIER_WEIGHTS["completion"] * pyo.quicksum(m.completion_shortfall[b] for b in m.COMPLETION_BRANCHES)
    ))
    m.client_load = pyo.Objective(expr=pyo.quicksum(weight[t] * m.theta[t] for t in m.YEARS))
    m.client_deviation_cost = pyo.Objective(expr=(
        pyo.quicksum(weight[t] * (m.over[b, t] + m.under[b, t]) for b in m.BRANCHES for t in m.YEARS)
        + CHANGE_WEIGHT * pyo.quicksum(m.change[b, t] for b in m.BRANCHES for t in m.LATER_YEARS)
    ))
    m.loan_load = pyo.Objective(expr=pyo.quicksum(weight[t] * m.theta_loans[t] for t in m.YEARS))
    m.loan_deviation_cost = pyo.Objective(expr=pyo.quicksum(
        weight[t] * (m.loan_over[b, t] + m.loan_under[b, t]) / loan_scale for b in m.BRANCHES for t in m.YEARS
    ))
    for name in STAGE_OBJECTIVES[1:]:
        getattr(m, name).deactivate()

