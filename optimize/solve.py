"""Lexicographic solve of the allocation LP with HiGHS, one persistent solver across the stages.

After each stage its objective value is fixed (within a tolerance) by a new constraint
`stage_bound_<name>` before the next objective is switched on — goal programming. Before the
loan stages the clients are fixed and the loan keys computed from them.

HiGHS options, chosen for this model: small and mid banks use HiGHS's default (dual simplex
after presolve), which returns vertex solutions and exact duals; from `IPM_FROM_BRANCHES`
branches on, interior point with crossover. The dual feasibility tolerance is 1e-9 (see
`highs_options`). This is the Pyomo reference path; `optimize.matrix` runs the same stages on an
equivalent smaller LP (with its own per-stage method choice) and `solve` dispatches to it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Pyomo is imported only on the Pyomo path (it costs ~0.5 s to import)
    import pyomo.environ as pyo
    from pyomo.contrib.solver.solvers.highs import Highs

    from optimize.matrix import MatrixModel

#: Relative and absolute slack kept when a stage's optimum is fixed for the later stages.
STAGE_REL_TOL = 1e-9
STAGE_ABS_TOL = 1e-7
#: Looser slack used once when HiGHS reports numerical trouble against a stage bound.
RETRY_REL_TOL = 1e-6
RETRY_ABS_TOL = 1e-5
IPM_FROM_BRANCHES = 1000
#: Stages whose floor duals are read for the diagnostics.
DUAL_STAGES = ("client_load", "loan_load")


class SolveError(RuntimeError):
    """HiGHS did not finish a stage optimally; `stage` and `status` say where and why."""

    def __init__(self, stage: str, status: str) -> None:
        super().__init__(f"HiGHS stopped at stage {stage!r} with status {status}")
        self.stage = stage
        self.status = status


@dataclass
class SolveReport:
    """What the staged solve did: objective values, floor duals, and where the time went."""

    objectives: dict[str, float] = field(default_factory=dict)
    floor_duals: dict[str, dict[int, float]] = field(default_factory=dict)  # stage → row → dual
    highs_seconds: float = 0.0  # HiGHS's own run time over all stages
    solve_seconds: float = 0.0  # wall time of the stage loop, translation and loading included
    loan_key_scale: float = 1.0  # 万元 per unit of normalised loan key (θy in the LP × this = θy in 万元 terms)


def highs_options(n_branches: int) -> dict[str, object]:
    """HiGHS options for a bank of `n_branches` (see the module docstring)."""
    # The stage objectives weigh the rolling years 1e-3 and year-to-year change 0.01: HiGHS's
    # default dual tolerance (1e-7) let a stage stop measurably short of its optimum (P3 found
    # identical branches with different targets); 1e-9 closes it.
    options: dict[str, object] = {"presolve": "on", "dual_feasibility_tolerance": 1e-9}
    if n_branches >= IPM_FROM_BRANCHES:
        options.update(solver="ipm", run_crossover="on")
    return options


def solve(model: pyo.ConcreteModel | MatrixModel) -> SolveReport:
    """Run every stage on `model` in place; raise `SolveError` if a stage is not optimal.

    `model` is the Pyomo reference model (`optimize.model.build_model`) or the matrix model
    (`optimize.matrix.build_matrix`, solved by `optimize.matrix.solve_matrix`).
    """
    from optimize.matrix import MatrixModel, solve_matrix

    if isinstance(model, MatrixModel):
        return solve_matrix(model)
    import pyomo.environ as pyo
    from pyomo.contrib.solver.solvers.highs import Highs
    from pyomo.core.expr.numvalue import is_constant

    from optimize.model import STAGE_OBJECTIVES

    report = SolveReport()
    solver = Highs()
    options = highs_options(len(model.BRANCHES))
    started = time.perf_counter()
    for position, name in enumerate(STAGE_OBJECTIVES):
        if name == "loan_load":
            report.loan_key_scale = fix_clients(model)
        for other in STAGE_OBJECTIVES:
            getattr(model, other).deactivate()
        objective = getattr(model, name)
        if is_constant(objective.expr):  # e.g. no floor and no completion rule: nothing to minimise
            report.objectives[name] = float(pyo.value(objective.expr))
            continue
        objective.activate()
        results = solve_stage(solver, model, options)
        if not optimal(results) and position > 0:
            # numerical trouble against the previous stage's bound: loosen it once and retry
            previous = STAGE_OBJECTIVES[position - 1]
            bound = model.component(f"stage_bound_{previous}")
            if bound is not None:
                value = report.objectives[previous]
                bound.set_value(getattr(model, previous).expr <= value + abs(value) * RETRY_REL_TOL + RETRY_ABS_TOL)
                solver = Highs()  # and start afresh: the warm basis may be what got stuck
                results = solve_stage(solver, model, options)
        if not optimal(results):
            raise SolveError(name, results.termination_condition.name)
        results.solution_loader.load_vars()
        # HiGHS keeps one clock for the persistent instance: its reading is the total so far
        report.highs_seconds = float(results.timing_info.highs_time or 0.0)
        value = float(results.incumbent_objective)
        report.objectives[name] = value
        if name in DUAL_STAGES and len(model.FLOOR_ROWS):
            duals = results.solution_loader.get_duals([model.floors[r] for r in model.FLOOR_ROWS])
            report.floor_duals[name] = {r: float(duals[model.floors[r]]) for r in model.FLOOR_ROWS}
        if position < len(STAGE_OBJECTIVES) - 1:
            bound = value + abs(value) * STAGE_REL_TOL + STAGE_ABS_TOL
            model.add_component(f"stage_bound_{name}", pyo.Constraint(expr=objective.expr <= bound))
    report.solve_seconds = time.perf_counter() - started
    return report


def solve_stage(solver: Highs, model: pyo.ConcreteModel, options: dict[str, object]):
    """One HiGHS run on the active objective; solutions are loaded only when optimal."""
    return solver.solve(model, solver_options=options, load_solutions=False, raise_exception_on_nonoptimal_result=False)


def optimal(results: object) -> bool:
    """Whether HiGHS finished with a proven optimum."""
    from pyomo.contrib.solver.common.results import TerminationCondition

    return results.termination_condition == TerminationCondition.convergenceCriteriaSatisfied


def fix_clients(model: pyo.ConcreteModel) -> float:
    """Hold x at its values, set the (normalised) loan keys from them, switch the loan load
    limits on; return the loan keys' scale in 万元."""
    import numpy as np
    import pyomo.environ as pyo

    from optimize.inputs import loan_keys

    inputs = model.inputs
    years = list(model.YEARS)
    x = np.array([[max(0.0, pyo.value(model.x[b, t])) for t in years] for b in model.BRANCHES])
    keys, scale = loan_keys(inputs, x)
    for b in model.BRANCHES:
        for j, t in enumerate(years):
            # equal bounds, not .fix(): the persistent interface updates bounds in place but
            # rebuilds every constraint that holds a fixed variable (measured: 20× slower)
            model.x[b, t].setlb(x[b, j])
            model.x[b, t].setub(x[b, j])
            model.loan_key[b, t] = float(keys[b, j])
    model.loan_extra_load_limits.activate()
    return scale
