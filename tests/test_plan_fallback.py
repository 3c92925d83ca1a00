"""`auto` hands a stage HiGHS stops short on the matrix engine to the Pyomo reference (no exit 3).

The failing engine below stands for HiGHS giving up (a `SolveError`, as `optimize.matrix.run_stages`
raises after its retry); the plan must then equal the reference engine's, and say so.
"""

from __future__ import annotations

import numpy as np

import optimize.matrix as matrix
from optimize.inputs import plan_inputs
from optimize.solve import Fallback, engine_module, solve_plan
from optimize.stages import SolveError
from optimize.window import make_window
from scenarios import load_scenario


class LoanStagesGiveUp:
    """The matrix engine whose loan stages always end with HiGHS's numerical trouble."""

    solve_clients = staticmethod(matrix.solve_clients)

    @staticmethod
    def solve_loans(inputs, window):
        raise SolveError(f"{window.phase}/loan_violation_regulatory", "Infeasible")


def test_fallback_finishes_the_window_on_the_reference_engine() -> None:
    inputs = plan_inputs(load_scenario("city-2014"))
    n = len(inputs.branch_ids)
    window = make_window(inputs, "plan_year", np.zeros((n, 0)), np.zeros((n, 0)))
    log: list[str] = []
    clients = Fallback(LoanStagesGiveUp, log).solve_clients(inputs, window)
    assert log == []  # the client stages finished on the matrix engine
    from optimize.window import year_window

    one = year_window(inputs, window, 0, clients.values, np.zeros((n, 0)))
    loans = Fallback(LoanStagesGiveUp, log).solve_loans(inputs, one)
    reference = engine_module("pyomo").solve_loans(inputs, one)
    assert log == ["plan_year/loan_violation_regulatory: Infeasible"]
    np.testing.assert_allclose(loans.values, reference.values, atol=1e-6)


def test_auto_plans_record_no_fallback_when_the_matrix_engine_finishes() -> None:
    _, _, report = solve_plan(plan_inputs(load_scenario("city-2014")), "auto")
    assert report.fallbacks == []
