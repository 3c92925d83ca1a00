"""A bank's year rolled forward: next year's scenario from this year's plan and what was booked.

The multi-year policy loop (`simulate.policy_loop`) plans a year, lets the branches book their
actual new clients and loans, and plans the next year from the new state — the planner's own
steps: next year's `microplan plan` runs on a scenario whose plan year is one later and whose
branch table and bank figures carry this year's results. `next_year_scenario` writes that
scenario; `year_plan` makes a year's plan with only what the loop reads (the plan year's
targets and the ratchet coefficients, i.e. two phases of the staged solve).

Rolled forward (money in 万元, the engine's unit):

| field | next year |
|---|---|
| `plan_year` | + 1 |
| branch `achieved_clients` | + actual new clients |
| branch `last_year_target`, `last_year_actual` | this year's target and actual |
| branch `micro_loans` | + actual loan increment |
| branch `micro_clients` | (1 − a)·micro clients + actual new clients |
| branch `long_term_target` | kept as computed this year (the cycle's split does not move) |
| branch locks | cleared (a lock is for its plan year) |
| bank `micro_loans_prev`, `micro_loan_increment_prev` | + Σ actual loans, Σ actual loans |
| bank `micro_clients_prev` | (1 − a)·C + Σ actual new clients |
| bank `all_loans_prev`, `all_loan_increment_plan` | + this year's ΔL; the later years' growth × the new balance |
| department `micro_*_increment` | cleared (explicit numbers are for their plan year; a buffer stays) |

With every actual equal to its target, next year's client targets are the plan's own first
rolling year's (tested): the floors, the paces and the smoothing box are the same rows. (Its loans
may differ a little: a rolling year keeps the plan year's balance as the base of the existing
book's band, next year's plan the grown balance. Under `proportional` the rolling years keep the
plan year's schedule total Σ pace as their department floor, next year's plan recomputes it from
what is left: the two differ where that floor binds.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimize.inputs import PlanInputs, plan_inputs
from optimize.ratchet import RatchetCoefficients, ratchet_coefficients
from optimize.regulation import growth_rates
from scenarios.schema import PolicyName, Scenario


def next_year_scenario(scenario: Scenario, long_term_target: np.ndarray, targets: np.ndarray,
                       actual_clients: np.ndarray, actual_loans: np.ndarray) -> Scenario:
    """The scenario of the year after `scenario.plan_year` (see the module table); arrays by branch, 万元.

    Not validated again (every field stays in its range: counts grow, money adds the year's
    increments); the plan year must not be the cycle's last.
    """
    if scenario.plan_year >= scenario.end_year:
        raise ValueError(f"{scenario.plan_year} is the cycle's last year: there is no next year in the cycle")
    bank = scenario.bank
    attrition = bank.micro_client_attrition
    later = growth_rates(scenario)[1]
    all_loans = bank.all_loans_prev + bank.all_loan_increment_plan
    branches = [
        b.model_copy(update={
            "achieved_clients": int(b.achieved_clients + round(float(actual_clients[i]))),
            "last_year_target": float(targets[i]),
            "last_year_actual": float(actual_clients[i]),
            "micro_loans": max(0.0, b.micro_loans + float(actual_loans[i])),
            "micro_clients": int(round((1 - attrition) * b.micro_clients + float(actual_clients[i]))),
            "long_term_target": int(round(float(long_term_target[i]))),
            "locked_target_clients": None,
            "locked_target_loan_increment": None,
        })
        for i, b in enumerate(scenario.branches)
    ]
    new_bank = bank.model_copy(update={
        "all_loans_prev": all_loans,
        "all_loan_increment_plan": later * all_loans,
        "all_loan_growth_later": later,
        "micro_loans_prev": max(0.0, bank.micro_loans_prev + float(np.sum(actual_loans))),
        "micro_loan_increment_prev": float(np.sum(actual_loans)),
        "micro_clients_prev": int(round((1 - attrition) * bank.micro_clients_prev + float(np.sum(actual_clients)))),
    })
    targets_section = scenario.targets.model_copy(update={"micro_loan_increment": None, "micro_client_increment": None})
    return scenario.model_copy(update={"plan_year": scenario.plan_year + 1, "branches": branches, "bank": new_bank,
                                       "targets": targets_section})


@dataclass(frozen=True)
class YearPlan:
    """What the policy loop reads from a year's plan (engine units)."""

    inputs: PlanInputs
    clients: np.ndarray  # (n,) whole new-client targets of the plan year
    loans: np.ndarray  # (n,) loan-increment targets of the plan year, 万元
    ratchet: RatchetCoefficients  # λ per branch (NaN in the cycle's last year)
    seconds: float  # the staged solve's wall time


def year_plan(scenario: Scenario, policy: PolicyName | None = None, engine: str = "auto") -> YearPlan:
    """The plan year's targets and ratchet coefficients: the plan year's phase and the next one only."""
    from optimize.solve import solve_plan

    inputs = plan_inputs(scenario, policy)
    x, y, report = solve_plan(inputs, engine, whole=True, years=2)
    ratchet = ratchet_coefficients(inputs, report.windows, report.lp_x)
    return YearPlan(inputs, x[:, 0], y[:, 0], ratchet, report.solve_seconds)
