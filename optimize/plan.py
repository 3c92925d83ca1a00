"""The annual plan: scenario → floors, long-term targets, staged LP → a table a branch can read.

`make_plan(scenario, policy)` is the one entry point the CLI and the API call. Values in a
`Plan` are in the engine's units (万元, 户); `Plan.to_json()` converts money back to the
scenario's own unit, as CONTRACT.md requires.

Two engines build and solve the same LP (DESIGN.md §3): `pyomo`, the reference formulation
(`optimize.model`), and `matrix`, the same rows written as numpy blocks straight into HiGHS
(`optimize.matrix`). `auto`, the default, is the matrix engine at every size: it is tested equal to
the reference (`tests/test_plan_matrix.py`), it spares the CLI Pyomo's import (~0.5 s) and its
per-term build (~25× the matrix build at 300 branches), and it is the only one that reaches the
issue-4 sizes (`bench/plan_scale.py`). Pyomo stays for reading, extending and checking the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from optimize.diagnostics import AT_CAPACITY_TOL, Diagnostics, diagnose
from optimize.inputs import PlanInputs, plan_inputs
from optimize.regulation import CLIENT_RULES, LOAN_RULES
from optimize.solve import SolveReport, solve
from scenarios.schema import MONEY_FACTORS, PolicyName, Scenario

if TYPE_CHECKING:
    import pyomo.environ as pyo

Engine = Literal["auto", "pyomo", "matrix"]

#: Shortfalls below this (户 or 万元) are solver noise, not violations.
SHORTFALL_TOL = 1e-3


@dataclass
class Plan:
    """A solved annual plan with its floors, violations and diagnostics (engine units)."""

    scenario: Scenario
    inputs: PlanInputs
    targets: pd.DataFrame  # one row per (branch, year): x clients, y loans
    floor_values: pd.DataFrame  # one row per floor row: rule, tier, quantity, year, required, total
    violations: list[dict]
    diagnostics: Diagnostics
    report: SolveReport
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """`optimal` when every rule is met, `relaxed` when the plan had to give somewhere."""
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
            "extra_load": x - inp.reference,
            "target_loan_increment": year.loc[ids, "target_loan_increment"].to_numpy(),
            "at_capacity": x >= inp.capacity - AT_CAPACITY_TOL,
            "risk_capped": inp.risk_capped,
            "schedule": np.where(inp.pace > inp.long_term_target / self.scenario.cycle.horizon_years + 1e-9, "behind",
                                 np.where(inp.pace < inp.long_term_target / self.scenario.cycle.horizon_years - 1e-9, "ahead", "on")),
        })
        return table

    def totals(self) -> dict[str, float]:
        """Bank totals of the plan year, engine units."""
        year = self.targets[self.targets["year"] == self.plan_year]
        return {"target_clients": float(year["target_clients"].sum()),
                "target_loan_increment": float(year["target_loan_increment"].sum())}

    def to_json(self) -> dict:
        """The plan in CONTRACT.md's JSON shape, money in the scenario's unit."""
        money = 1.0 / MONEY_FACTORS[self.scenario.units.money]
        table = self.branch_table()
        years = list(self.inputs.years[1:])
        wide = self.targets.pivot(index="branch", columns="year")  # one row per branch, all years
        later_x = wide["target_clients"].reindex(index=table["id"], columns=years).to_numpy()
        later_y = wide["target_loan_increment"].reindex(index=table["id"], columns=years).to_numpy() * money
        columns = {name: table[name].tolist() for name in table.columns}
        branches = []
        for i, branch_id in enumerate(columns["id"]):
            branches.append({
                "id": branch_id,
                "name": columns["name"][i],
                "long_term_target": _round(columns["long_term_target"][i]),
                "achieved_clients": int(columns["achieved_clients"][i]),
                "pace": _round(columns["pace"][i]),
                "capacity": _round(columns["capacity"][i]),
                "target_clients": _round(columns["target_clients"][i]),
                "target_loan_increment": _round(columns["target_loan_increment"][i] * money),
                "extra_load": _round(columns["extra_load"][i]),
                "at_capacity": bool(columns["at_capacity"][i]),
                "risk_capped": bool(columns["risk_capped"][i]),
                "schedule": columns["schedule"][i],
                "rolling": [
                    {"year": year, "target_clients": _round(later_x[i, j]), "target_loan_increment": _round(later_y[i, j])}
                    for j, year in enumerate(years)
                ],
            })
        totals = self.totals()
        return {
            "scenario": self.scenario.name,
            "plan_year": self.plan_year,
            "policy": self.inputs.policy,
            "status": self.status,
            "money_unit": self.scenario.units.money,
            "floors": self.floors_json(money),
            "totals": {"target_clients": _round(totals["target_clients"]),
                       "target_loan_increment": _round(totals["target_loan_increment"] * money)},
            "branches": branches,
            "violations": [
                {**v, "shortfall": _round(v["shortfall"] * (money if v["quantity"] == "loans" else 1.0))}
                for v in self.violations
            ],
            "diagnostics": self.diagnostics.to_json(),
        }

    def floors_json(self, money: float) -> dict:
        """Plan-year floors per quantity: the value, the rule that sets it, every rule's value."""
        plan_rows = self.floor_values[(self.floor_values["year"] == self.plan_year)]
        result = {}
        for key, quantity, rules, scale in (
            ("micro_loan_increment", "loans", LOAN_RULES, money),
            ("micro_client_increment", "clients", CLIENT_RULES, 1.0),
        ):
            rows = plan_rows[(plan_rows["quantity"] == quantity) & (plan_rows["tier"] == "regulatory")]
            values = {r.rule: _round(r.required * scale) for r in rows.itertuples(index=False) if r.rule in rules}
            binding = max(values, key=values.get) if values else None
            department = plan_rows[(plan_rows["quantity"] == quantity) & (plan_rows["tier"] == "department")]
            result[key] = {
                "value": values[binding] if binding else 0.0,
                "binding_rule": binding,
                "rules": values,
                "department_target": _round(department["required"].max() * scale) if len(department) else None,
                "binds": bool(((rows["total"] - rows["required"]).abs() <= SHORTFALL_TOL * max(1.0, scale)).any()) if len(rows) else False,
            }
        floors = self.inputs.floors
        result["approval_rate"] = {"value": floors.approval_rate_floor, "allocated": False} if floors.approval_rate_floor else None
        result["micro_threshold"] = _round(floors.micro_threshold * money)
        result["npl_tolerance"] = floors.npl_tolerance
        return result


def _round(value: float, digits: int = 2) -> float:
    return float(round(float(value), digits))


def make_plan(scenario: Scenario, policy: PolicyName | None = None, engine: Engine = "auto") -> Plan:
    """Build, solve and read the annual plan of `scenario` under `policy` (its own by default).

    `engine`: `matrix` (what `auto` picks, see the module docstring) or `pyomo`, the reference.
    `Plan.seconds` has `build` (inputs and model), `solve` (the staged runs), `highs` (HiGHS's
    own time inside them), `read` (targets, floors, diagnostics) and `total`.
    """
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    inputs = plan_inputs(scenario, policy)
    if engine == "pyomo":
        from optimize.model import build_model

        model = build_model(inputs)
    elif engine in ("auto", "matrix"):
        from optimize.matrix import build_matrix

        model = build_matrix(inputs)
    else:
        raise ValueError(f"engine must be 'auto', 'pyomo' or 'matrix' (got {engine!r})")
    seconds["build"] = time.perf_counter() - started
    report = solve(model)
    seconds["solve"] = report.solve_seconds
    seconds["highs"] = report.highs_seconds
    read_started = time.perf_counter()
    targets = read_targets(model, inputs)
    floor_values = evaluate_floors(inputs, targets)
    violations = find_violations(inputs, targets, floor_values)
    diagnostics = diagnose(inputs, targets, floor_values, violations, report, scenario.units.money)
    seconds["read"] = time.perf_counter() - read_started
    seconds["total"] = time.perf_counter() - started
    return Plan(scenario, inputs, targets, floor_values, violations, diagnostics, report, seconds)


def read_targets(model: pyo.ConcreteModel | object, inputs: PlanInputs) -> pd.DataFrame:
    """x and y per (branch, year) from the solved model (either engine), clipped of solver noise."""
    from optimize.matrix import MatrixModel

    if isinstance(model, MatrixModel):
        x, y = model.x, model.y
    else:
        import pyomo.environ as pyo

        x = np.array([[pyo.value(model.x[b, t]) for t in model.YEARS] for b in model.BRANCHES], dtype=float).reshape(-1, len(inputs.years))
        y = np.array([[pyo.value(model.y[b, t]) for t in model.YEARS] for b in model.BRANCHES], dtype=float).reshape(-1, len(inputs.years))
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


def find_violations(inputs: PlanInputs, targets: pd.DataFrame, floors: pd.DataFrame) -> list[dict]:
    """Every floor or completion rule the plan misses, with the exact shortfall."""
    violations = []
    for r in floors.itertuples(index=False):
        shortfall = r.required - r.total
        if shortfall > SHORTFALL_TOL * max(1.0, abs(r.required)) * 1e-3 + SHORTFALL_TOL:
            violations.append({"rule": r.rule, "tier": r.tier, "quantity": r.quantity, "year": int(r.year),
                               "shortfall": float(shortfall)})
    if inputs.completion_need is not None:
        done = targets.groupby("branch", sort=False)["target_clients"].sum()
        for b, bid in enumerate(inputs.branch_ids):
            shortfall = inputs.completion_need[b] - done[bid]
            if shortfall > SHORTFALL_TOL:
                violations.append({"rule": "long_term_completion", "tier": "completion", "quantity": "clients",
                                   "year": inputs.years[-1], "branch": bid, "shortfall": float(shortfall)})
    return violations


