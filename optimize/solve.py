"""The staged solve of the annual plan: phase by phase, on the engine the caller names.

The plan year is solved first and alone; the rolling years follow with it fixed (see
`optimize.stages` for the phases and stages, `optimize.window` for each phase's data). Engines
are a registry of modules that each export `solve_window(inputs, window) -> WindowSolution`:

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
from optimize.stages import SolveError  # noqa: F401 — re-exported: callers catch it from here
from optimize.window import Window, make_window, phases

ENGINES: dict[str, str] = {"matrix": "optimize.matrix", "pyomo": "optimize.model"}
DEFAULT_ENGINE = "matrix"


@dataclass
class SolveReport:
    """What the staged solve did: the optimum of every phase/stage and where the time went."""

    objectives: dict[str, float] = field(default_factory=dict)  # "phase/stage" → optimum
    windows: dict[str, Window] = field(default_factory=dict)  # phase → its data
    highs_seconds: float = 0.0  # HiGHS's own run time over all stages (matrix engine)
    solve_seconds: float = 0.0  # wall time of the phases, model building included


def engine_module(engine: str):
    """The module of `engine` (`auto` = the default); ValueError for an unknown name."""
    name = DEFAULT_ENGINE if engine == "auto" else engine
    if name not in ENGINES:
        raise ValueError(f"engine must be one of auto, {', '.join(ENGINES)} (got {engine!r})")
    return importlib.import_module(ENGINES[name])


def solve_plan(inputs: PlanInputs, engine: str = "auto") -> tuple[np.ndarray, np.ndarray, SolveReport]:
    """x (new clients) and y (loan increment) per (branch, year), (n, T), phase by phase."""
    module = engine_module(engine)
    n = len(inputs.branch_ids)
    x, y = np.zeros((n, 0)), np.zeros((n, 0))
    report = SolveReport()
    started = time.perf_counter()
    for phase in phases(inputs):
        window = make_window(inputs, phase, x, y)
        solution = module.solve_window(inputs, window)
        report.objectives.update(solution.objectives)
        report.windows[phase] = window
        report.highs_seconds += solution.highs_seconds
        x, y = np.hstack([x, solution.x]), np.hstack([y, solution.y])
    report.solve_seconds = time.perf_counter() - started
    return x, y, report
