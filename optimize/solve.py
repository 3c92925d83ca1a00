"""The staged solve of the annual plan: phase by phase, on the engine the caller names.

The plan year is solved first and alone; the rolling years follow with it fixed (see
`optimize.stages` for the phases and stages, `optimize.window` for each phase's data). Engines
are a registry of modules that each export `solve_clients(inputs, window)` (the client stages of a
window) and `solve_loans(inputs, one_year_window)` (the loan stages of one year):

| engine  | module            | what it is                                                |
|---------|-------------------|-----------------------------------------------------------|
| matrix  | optimize.matrix   | numpy blocks straight into HiGHS (the default, fast path) |
| pyomo   | optimize.model    | the Pyomo reference model, one function per rule          |

They are imported when first used (Pyomo costs ~0.5 s to import).
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field

import numpy as np

from optimize.inputs import PlanInputs
from optimize.stages import SolveError
from optimize.rounding import round_clients, round_loans
from optimize.window import StageResult, Window, make_window, phases, year_window

ENGINES: dict[str, str] = {"matrix": "optimize.matrix", "pyomo": "optimize.model"}
DEFAULT_ENGINE = "matrix"


@dataclass
class SolveReport:
    """What the staged solve did: the optimum of every phase/stage and where the time went."""

    objectives: dict[str, float] = field(default_factory=dict)  # "phase/stage" → optimum (summed over years)
    windows: dict[str, Window] = field(default_factory=dict)  # phase → its data
    lp_x: np.ndarray | None = None  # (n, T) clients as the LP left them, before rounding
    lp_y: np.ndarray | None = None  # (n, T) loans as the LP left them (on the rounded clients)
    highs_seconds: float = 0.0  # HiGHS's own run time over all stages (matrix engine)
    fallbacks: list[str] = field(default_factory=list)  # stages the reference engine finished for `auto`
    solve_seconds: float = 0.0  # wall time of the phases, model building included


def engine_module(engine: str):
    """The module of `engine` (`auto` = the default); ValueError for an unknown name."""
    name = DEFAULT_ENGINE if engine == "auto" else engine
    if name not in ENGINES:
        raise ValueError(f"engine must be one of auto, {', '.join(ENGINES)} (got {engine!r})")
    return importlib.import_module(ENGINES[name])


def solve_plan(inputs: PlanInputs, engine: str = "auto", whole: bool = True,
               years: int | None = None) -> tuple[np.ndarray, np.ndarray, SolveReport]:
    """x (new clients) and y (loan increment) per (branch, year), (n, T), phase by phase.

    Each phase: the client stages on its years; the clients rounded to whole numbers (`whole`);
    then year by year the loan stages on those clients, the loans rounded to the loan unit.
    `years`: solve only the first so many phases (T = years): the multi-year policy loop needs
    the plan year and, for the ratchet coefficient, the year after it.
    """
    module = engine_module(engine)
    if engine == "auto":  # the reference engine takes over a stage the fast one cannot finish
        fallbacks: list[str] = []
        module = Fallback(module, fallbacks)
    n = len(inputs.branch_ids)
    x, y = np.zeros((n, 0)), np.zeros((n, 0))
    lp_x, lp_y = np.zeros((n, 0)), np.zeros((n, 0))
    report = SolveReport()
    started = time.perf_counter()
    for phase in phases(inputs)[:years]:
        window = make_window(inputs, phase, x, y)
        report.windows[phase if phase == "plan_year" else f"rolling/{inputs.years[x.shape[1]]}"] = window
        clients = module.solve_clients(inputs, window)
        record(report, clients)
        xw = clients.values
        lp_x = np.hstack([lp_x, xw])
        if whole:
            xw = round_clients(window, xw, inputs.capacity, inputs.max_change, inputs.branch_ids, inputs.locked_clients,
                               window.client_cap_from_risk(inputs))
        yw = np.zeros((n, 0))
        for t in range(window.size):
            one = year_window(inputs, window, t, xw, yw)
            loans = module.solve_loans(inputs, one)
            record(report, loans)
            yt = loans.values[:, 0]
            lp_y = np.hstack([lp_y, yt[:, None]])
            if whole:
                low, high = one.loan_limits(inputs)
                yt = round_loans(yt, low, high, one, inputs.loan_unit, inputs.branch_ids, one.loan_lock)
            yw = np.hstack([yw, yt[:, None]])
        x, y = np.hstack([x, xw]), np.hstack([y, yw])
    report.lp_x, report.lp_y = lp_x, lp_y
    if engine == "auto":
        report.fallbacks = fallbacks
    report.solve_seconds = time.perf_counter() - started
    return x, y, report


def record(report: SolveReport, result: StageResult) -> None:
    """Add a stage result's optima (summed over the years of a phase) and HiGHS time to the report."""
    for key, value in result.objectives.items():
        report.objectives[key] = report.objectives.get(key, 0.0) + value
    report.highs_seconds += result.highs_seconds




class Fallback:
    """`auto`: the matrix engine, and where HiGHS stops a stage of it short (`SolveError`), the Pyomo
    reference on the same window — the same stages and rules, another formulation of them."""

    def __init__(self, fast, log: list[str]) -> None:
        self.fast, self.log = fast, log

    def solve_clients(self, inputs: PlanInputs, window: Window) -> StageResult:
        try:
            return self.fast.solve_clients(inputs, window)
        except SolveError as exc:
            self.log.append(f"{exc.stage}: {exc.status}")
            return engine_module("pyomo").solve_clients(inputs, window)  # imported only when needed

    def solve_loans(self, inputs: PlanInputs, window: Window) -> StageResult:
        try:
            return self.fast.solve_loans(inputs, window)
        except SolveError as exc:
            self.log.append(f"{exc.stage}: {exc.status}")
            return engine_module("pyomo").solve_loans(inputs, window)
