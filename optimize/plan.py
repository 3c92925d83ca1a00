"""The annual plan: scenario → floors, long-term targets, staged LP → a table a branch can read.

`make_plan(scenario, policy)` is the one entry point the CLI and the API call. Values in a
`Plan` are in the engine's units (万元, 户); `Plan.to_json()` converts money back to the
scenario's own unit (README: "The plan JSON").

Two engines solve the same staged problem (docs/model.md §3, `optimize.solve`'s registry):
`pyomo`, the reference formulation (`optimize.model`), and `matrix`, the same rows written as
numpy blocks straight into HiGHS (`optimize.matrix`). `auto`, the default, is the matrix engine:
it is tested equal to the reference (`tests/test_plan_matrix.py`), it spares the CLI Pyomo's
import (~0.5 s) and its per-term build, and it reaches the large banks (`bench/plan_scale.py`).

What the plan misses is split in two: `violations` — a regulatory floor or a department target of
the plan year (exit 1) — and `warnings` — what the long-term schedule asks and cannot get, and
shortfalls of the indicative rolling years (reported, not a failed plan).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property

from typing import Literal

import numpy as np
import pandas as pd

from optimize.diagnostics import AT_CAPACITY_TOL, MONEY_DIGITS, Diagnostics, diagnose
from optimize.inputs import PlanInputs, plan_inputs, schedule_position
from optimize.ratchet import RatchetCoefficients, ratchet_coefficients
from optimize.regulation import CLIENT_RULES, LOAN_RULES
from optimize.solve import SolveReport, solve_plan
from scenarios.schema import PolicyName, Scenario, from_wan

Engine = Literal["auto", "pyomo", "matrix"]

#: Version of the plan JSON's shape (README "The plan JSON"): raised when a key changes meaning or goes away.
PLAN_SCHEMA_VERSION = 1

#: Shortfalls below this (户 or 万元) are solver noise, not violations.
SHORTFALL_TOL = 1e-3


@dataclass
class Plan:
    """A solved annual plan with its floors, violations and diagnostics (engine units)."""

    scenario: Scenario
    inputs: PlanInputs
    targets: pd.DataFrame  # one row per (branch, year): x clients, y loans
    floor_values: pd.DataFrame  # one row per floor row: rule, tier, quantity, year, required, total
    violations: list[dict]  # plan-year regulatory floors and department targets missed
    warnings: list[dict]  # long-term schedule and indicative rolling-year shortfalls
    diagnostics: Diagnostics
    report: SolveReport
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """`optimal` when every plan-year floor and department target is met, else `relaxed`."""
        return "relaxed" if self.violations else "optimal"

    @property
    def plan_year(self) -> int:
        return self.scenario.plan_year

    def branch_table(self) -> pd.DataFrame:
        """The plan year per branch: long-term target, progress, pace, capacity, targets, caps."""
        inp = self.inputs
        year = self.targets[self.targets["year"] == self.plan_year].set_index("branch")
        ids = list(inp.branch_ids)
        x = year.loc[ids, "target_clients"].to_numpy()
        names = [b.name for b in self.scenario.branches]
        table = pd.DataFrame({
            "id": ids,
            "name": names,
            "long_term_target": inp.long_term_target,
            "achieved_clients": inp.achieved,
            "pace": inp.pace,
            "reference": inp.reference,
            "capacity": inp.capacity,
            "target_clients": x,
            # target = pace (reference) + what smoothing from last year's target forces + the extra share
            "smoothing_shift": self.plan_year_reference() - inp.reference,
            "extra_load": x - self.plan_year_reference(),
            "target_loan_increment": year.loc[ids, "target_loan_increment"].to_numpy(),
            "at_capacity": x >= inp.capacity - AT_CAPACITY_TOL,
            "risk_capped": inp.risk_capped,
            "schedule": schedule_position(inp.pace, inp.long_term_target, self.scenario.cycle.horizon_years),
        })
        return table

    @cached_property
    def ratchet(self) -> RatchetCoefficients:
        """λ_b = ∂(next year's target)/∂(this year's actual) per branch (`optimize.ratchet`); NaN in the cycle's last year."""
        return ratchet_coefficients(self.inputs, self.report.windows, self.report.lp_x)

    def plan_year_reference(self) -> np.ndarray:
        """ref' of the plan year: the policy's reference clamped to each branch's box (capacity, smoothing,
        a lock); what the floors add above it is the branch's extra share."""
        return self.report.windows["plan_year"].ref[:, 0]

    def totals(self) -> dict[str, float]:
        """Bank totals of the plan year, engine units."""
        year = self.targets[self.targets["year"] == self.plan_year]
        return {"target_clients": float(year["target_clients"].sum()),
                "target_loan_increment": float(year["target_loan_increment"].sum())}

    def to_json(self) -> dict:
        """The plan as JSON, money in the scenario's unit (rounded by `MONEY_DIGITS` of that unit)."""
        unit = self.scenario.units.money
        money = from_wan(1.0, unit)  # one 万元 in the scenario's unit
        digits = MONEY_DIGITS[unit]
        table = self.branch_table()
        years = list(self.inputs.years[1:])
        wide = self.targets.pivot(index="branch", columns="year")  # one row per branch, all years
        later_x = wide["target_clients"].reindex(index=table["id"], columns=years).to_numpy()
        later_y = wide["target_loan_increment"].reindex(index=table["id"], columns=years).to_numpy() * money
        columns = {name: table[name].tolist() for name in table.columns}
        lam = self.ratchet.values
        branches = []
        for i, branch_id in enumerate(columns["id"]):
            branches.append({
                "id": branch_id,
                "name": columns["name"][i],
                "long_term_target": clients(columns["long_term_target"][i]),
                "achieved_clients": int(columns["achieved_clients"][i]),
                "pace": _round(columns["pace"][i]),
                "capacity": _round(columns["capacity"][i]),
                "target_clients": clients(columns["target_clients"][i]),
                "target_loan_increment": _round(columns["target_loan_increment"][i] * money, digits),
                "extra_load": _round(columns["extra_load"][i]),
                "smoothing_shift": _round(columns["smoothing_shift"][i]),
                "at_capacity": bool(columns["at_capacity"][i]),
                "risk_capped": bool(columns["risk_capped"][i]),
                "schedule": columns["schedule"][i],
                "ratchet_coefficient": None if np.isnan(lam[i]) else _round(lam[i], 4),
                "rolling": [
                    {"year": year, "target_clients": clients(later_x[i, j]),
                     "target_loan_increment": _round(later_y[i, j], digits)}
                    for j, year in enumerate(years)
                ],
            })
        totals = self.totals()

        def shortfalls(items: list[dict]) -> list[dict]:
            return [{**v, "shortfall": _round(v["shortfall"] * money, digits) if v["quantity"] == "loans" else _round(v["shortfall"])}
                    for v in items]

        return {
            "schema_version": PLAN_SCHEMA_VERSION,
            "scenario": self.scenario.name,
            "plan_year": self.plan_year,
            "policy": self.inputs.policy,
            "status": self.status,
            "money_unit": unit,
            "units": {"money": unit, "clients": "户", "loan_rounding": _round(self.inputs.loan_unit * money, 6)},
            "floors": self.floors_json(money, digits),
            "floors_by_year": self.floors_by_year_json(money, digits),
            "totals": {"target_clients": clients(totals["target_clients"]),
                       "target_loan_increment": _round(totals["target_loan_increment"] * money, digits)},
            "branches": branches,
            "violations": shortfalls(self.violations),
            "warnings": shortfalls(self.warnings),
            "diagnostics": self.diagnostics.to_json(),
        }

    def floors_by_year_json(self, money: float, digits: int, client_digits: int = 2, integers: bool = False) -> list[dict]:
        """Every floor row of every year: rule, tier, quantity, year, required, plan total, slack (money in the file's unit).

        Money to `digits`, clients to `client_digits` decimals; with `integers`, 0 decimals give ints (the workbook).
        """
        def number(value: float, places: int) -> float | int:
            return int(round(value)) if integers and places == 0 else _round(value, places)

        rows = []
        for r in self.floor_values.itertuples(index=False):
            scale, places = (money, digits) if r.quantity == "loans" else (1.0, client_digits)
            rows.append({"rule": r.rule, "tier": r.tier, "quantity": r.quantity, "year": int(r.year),
                         "required": number(r.required * scale, places), "plan_total": number(r.total * scale, places),
                         "slack": number((r.total - r.required) * scale, places)})
        return rows

    def floors_json(self, money: float, digits: int) -> dict:
        """Plan-year floors per quantity: the value, the rule that sets it, every rule's value, whether it binds."""
        plan_rows = self.floor_values[(self.floor_values["year"] == self.plan_year)]
        result = {}
        for key, quantity, rules, scale, places in (
            ("micro_loan_increment", "loans", LOAN_RULES, money, digits),
            ("micro_client_increment", "clients", CLIENT_RULES, 1.0, 2),
        ):
            rows = plan_rows[(plan_rows["quantity"] == quantity) & (plan_rows["tier"] == "regulatory")]
            values = {r.rule: _round(r.required * scale, places) for r in rows.itertuples(index=False) if r.rule in rules}
            binding = max(values, key=values.get) if values else None
            department = plan_rows[(plan_rows["quantity"] == quantity) & (plan_rows["tier"] == "department")]
            # in engine units (万元, 户): whether a floor binds must not depend on the display unit
            binds = bool((rows["total"] - rows["required"]).abs().le(BINDS_TOL).any()) if len(rows) else False
            result[key] = {
                "value": values[binding] if binding else 0.0,
                "binding_rule": binding,
                "rules": values,
                "department_target": _round(department["required"].max() * scale, places) if len(department) else None,
                "binds": binds,
            }
        floors = self.inputs.floors
        result["approval_rate"] = {"value": floors.approval_rate_floor, "allocated": False} if floors.approval_rate_floor else None
        result["all_in_cost"] = {"in_force": True, "allocated": False} if "all_in_cost" in floors.active_rules else None
        result["micro_threshold"] = _round(floors.micro_threshold * money, digits)
        result["npl_tolerance"] = floors.npl_tolerance
        return result


#: A floor binds when the plan's total is within this of it (户 or 万元).
BINDS_TOL = 1e-3


def clients(value: float) -> int | float:
    """A client count for JSON: an integer when whole (the plan people receive), else rounded to 0.01."""
    value = float(value)
    return int(round(value)) if abs(value - round(value)) < 1e-9 else _round(value)


def _round(value: float, digits: int = 2) -> float:
    return float(round(float(value), digits))


def make_plan(scenario: Scenario, policy: PolicyName | None = None, engine: Engine = "auto", whole: bool = True) -> Plan:
    """Build, solve and read the annual plan of `scenario` under `policy` (its own by default).

    `engine`: `matrix` (what `auto` picks, see the module docstring) or `pyomo`, the reference.
    `whole`: whole clients and loans to the scenario's unit (`optimize.rounding`), what people
    receive; `False` leaves the LP's values (`Plan.report.lp_x` / `lp_y` keep them either way).
    `Plan.seconds` has `inputs`, `solve` (the phases, models built inside), `highs` (HiGHS's own
    time, matrix engine), `read` (targets, floors, diagnostics) and `total`.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    inputs = plan_inputs(scenario, policy, whole)
    seconds["inputs"] = time.perf_counter() - started
    x, y, report = solve_plan(inputs, engine, whole)
    seconds["solve"] = report.solve_seconds
    seconds["highs"] = report.highs_seconds
    read_started = time.perf_counter()
    targets = targets_frame(inputs, x, y)
    floor_values = evaluate_floors(inputs, targets)
    violations, warnings = find_shortfalls(inputs, targets, floor_values)
    violations += lock_conflicts(inputs, report)
    diagnostics = diagnose(scenario, inputs, targets, floor_values, violations, warnings, report)
    seconds["read"] = time.perf_counter() - read_started
    seconds["total"] = time.perf_counter() - started
    return Plan(scenario, inputs, targets, floor_values, violations, warnings, diagnostics, report, seconds)


def targets_frame(inputs: PlanInputs, x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    """x and y per (branch, year) as a long table, clipped of solver noise below zero clients."""
    n, T = x.shape
    return pd.DataFrame({
        "branch": np.repeat(np.array(inputs.branch_ids, dtype=object), T),
        "year": np.tile(np.array(inputs.years), n),
        "target_clients": np.maximum(x, 0.0).ravel(),
        "target_loan_increment": y.ravel().astype(float),
    })


def evaluate_floors(inputs: PlanInputs, targets: pd.DataFrame) -> pd.DataFrame:
    """Each floor row's required value and the plan's total, recomputed from the targets."""
    years = list(inputs.years)
    totals = targets.groupby("year")[["target_clients", "target_loan_increment"]].sum().reindex(years)
    series = {"clients": totals["target_clients"].tolist(), "loans": totals["target_loan_increment"].tolist()}
    rows = []
    for row in inputs.floors.rows:
        total = series[row.quantity][row.year]
        rows.append((row.rule, row.tier, row.quantity, years[row.year], row.required(series[row.quantity]), total))
    return pd.DataFrame(rows, columns=["rule", "tier", "quantity", "year", "required", "total"])


def find_shortfalls(inputs: PlanInputs, targets: pd.DataFrame, floors: pd.DataFrame) -> tuple[list[dict], list[dict]]:
    """(violations, warnings): plan-year floors and department targets missed; schedule and rolling-year shortfalls."""
    violations, warnings = [], []
    plan_year = inputs.years[0]
    for r in floors.itertuples(index=False):
        shortfall = r.required - r.total
        if shortfall > SHORTFALL_TOL * max(1.0, abs(r.required)) * 1e-3 + SHORTFALL_TOL:
            item = {"rule": r.rule, "tier": r.tier, "quantity": r.quantity, "year": int(r.year), "shortfall": float(shortfall)}
            if r.year == plan_year:
                violations.append(item)
            else:
                warnings.append({**item, "indicative": True})
    if inputs.completion_need is not None:
        done = targets.groupby("branch", sort=False)["target_clients"].sum()
        for b, bid in enumerate(inputs.branch_ids):
            shortfall = inputs.completion_need[b] - done[bid]
            if shortfall > SHORTFALL_TOL:
                warnings.append({"rule": "long_term_completion", "tier": "schedule", "quantity": "clients",
                                 "year": inputs.years[-1], "branch": bid, "shortfall": float(shortfall)})
    return violations, warnings


def lock_conflicts(inputs: PlanInputs, report: SolveReport) -> list[dict]:
    """Each negotiated plan-year target that breaks a rule: which lock, which rule, by how much.

    A lock is kept exactly (the planner negotiated it), so a rule it breaks is a violation:
    clients above capacity or outside the smoothing band from last year's target, a loan target
    outside the loan band at the branch's clients or above its risk cap.
    """
    from optimize.window import loan_band

    conflicts: list[dict] = []
    year = inputs.years[0]
    x = report.lp_x[:, 0] if report.lp_x is not None else np.zeros(len(inputs.branch_ids))
    step = inputs.max_change * inputs.capacity
    last = inputs.last_target
    clients = inputs.locked_clients
    for b in np.flatnonzero(~np.isnan(clients)):
        lock = float(clients[b])
        smoothing = 0.0 if np.isnan(last[b]) else abs(lock - last[b]) - step[b]  # |x − last target| ≤ c·cap
        for rule, excess in (("lock_above_capacity", lock - inputs.capacity[b]),
                             ("lock_outside_smoothing", smoothing)):
            if excess > SHORTFALL_TOL:
                conflicts.append({"rule": rule, "tier": "lock", "quantity": "clients", "year": year,
                                  "branch": inputs.branch_ids[b], "shortfall": float(excess)})
    loans = inputs.locked_loans
    low, _, high = (a[:, 0] for a in loan_band(inputs, x[:, None]))
    for b in np.flatnonzero(~np.isnan(loans)):
        lock = float(loans[b])
        cap = inputs.capped_growth * inputs.micro_loans[b] if inputs.risk_capped[b] else np.inf
        for rule, excess in (("lock_outside_loan_band", max(lock - high[b], low[b] - lock)),
                             ("lock_above_risk_cap", lock - cap)):
            if excess > SHORTFALL_TOL:
                conflicts.append({"rule": rule, "tier": "lock", "quantity": "loans", "year": year,
                                  "branch": inputs.branch_ids[b], "shortfall": float(excess)})
    return conflicts
