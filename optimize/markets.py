"""Assigning the specialised markets (专业市场) to the joint-marketing groups: a small MIP, and phased targets.

`build_model(inputs)` is the recipe (sets, variables, one function per constraint family, the
objective); `solve(model)` runs HiGHS (through Pyomo); `assign_markets(inputs)` does both and
reads the answer. Index letters: m market, g group, d district.

The MIP (README.md, "Joint marketing"):

    min  w_bal · gap + w_dist · Σ_{g,d} y[g,d]
    s.t. Σ_g x[m,g] = 1                                     ∀ m        (every market, one group)
         x[m,g] = 1                                         ∀ m given to g
         x[m,g] ≤ y[g, d(m)]                                ∀ m, g     (a group covers its markets' districts)
         |Σ_m p[m]·x[m,g] − n[g]·p̄| ≤ gap · n[g]·p̄          ∀ g        (potential per member near the average)
         x, y binary, gap ≥ 0

with `p[m]` the market's potential (merchants not yet clients), `n[g]` the group's members and
`p̄ = Σ p ÷ Σ n` the potential per member if it were spread evenly. `gap` is the largest relative
gap of a group's potential per member from p̄; fewer (group, district) pairs keep each group's
markets in few districts, so its members travel less.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import TerminationCondition
from pyomo.contrib.solver.solvers.highs import Highs

from optimize.stages import SolveError
from scenarios.markets import MarketsSection
from scenarios.text import id_key

#: Relative MIP gap at which HiGHS stops (the instances are small: solved to optimality in practice).
MIP_REL_GAP = 1e-6


@dataclass(frozen=True, slots=True)
class MarketInput:
    id: str
    district: str
    potential: float                 # merchants not yet clients, 户
    group: str | None = None         # given by the department, or None


@dataclass(frozen=True, slots=True)
class GroupInput:
    id: str
    members: int                     # micro client managers in the group, 人


@dataclass(frozen=True, slots=True)
class AssignmentInputs:
    markets: tuple[MarketInput, ...]
    groups: tuple[GroupInput, ...]
    balance_weight: float = 1.0
    district_weight: float = 0.05
    time_limit_seconds: float = 30.0

    @classmethod
    def from_section(cls, section: MarketsSection) -> "AssignmentInputs":
        """From the scenario's `markets:` section (group ids matched as `id_key` compares them)."""
        by_key = {id_key(g.id): g.id for g in section.groups}
        markets = tuple(
            MarketInput(m.id, m.district, float(m.merchants - m.existing_clients),
                        by_key[id_key(m.group)] if m.group else None)
            for m in section.markets
        )
        groups = tuple(GroupInput(g.id, g.member_count) for g in section.groups)
        a = section.assignment
        return cls(markets, groups, a.balance_weight, a.district_weight, a.time_limit_seconds)

    @property
    def potential_per_member(self) -> float:
        """p̄ = Σ p ÷ Σ n."""
        return sum(m.potential for m in self.markets) / sum(g.members for g in self.groups)


@dataclass(frozen=True, slots=True)
class Assignment:
    """The solved assignment: each market's group, the balance gap, the districts each group covers."""

    group_of: dict[str, str]               # market id → group id
    gap: float                             # largest |potential per member ÷ p̄ − 1| over groups
    districts: dict[str, tuple[str, ...]]  # group id → districts it covers
    objective: float

    def markets_of(self, group_id: str) -> list[str]:
        return [m for m, g in self.group_of.items() if g == group_id]


# ---------------------------------------------------------------- the recipe


def build_model(inputs: AssignmentInputs) -> pyo.ConcreteModel:
    """The assignment MIP of the module docstring."""
    m = pyo.ConcreteModel(name="market assignment")
    add_sets(m, inputs)
    add_variables(m)
    add_one_group_per_market(m)
    add_given_assignments(m, inputs)
    add_district_cover(m, inputs)
    add_balance_band(m, inputs)
    add_objective(m, inputs)
    return m


def add_sets(m: pyo.ConcreteModel, inputs: AssignmentInputs) -> None:
    """MARKETS (m), GROUPS (g), DISTRICTS (d)."""
    m.MARKETS = pyo.Set(initialize=[x.id for x in inputs.markets], ordered=True)
    m.GROUPS = pyo.Set(initialize=[g.id for g in inputs.groups], ordered=True)
    m.DISTRICTS = pyo.Set(initialize=sorted({x.district for x in inputs.markets}), ordered=True)


def add_variables(m: pyo.ConcreteModel) -> None:
    """x[m,g] market m to group g; y[g,d] group g covers district d; gap ≥ 0."""
    m.x = pyo.Var(m.MARKETS, m.GROUPS, domain=pyo.Binary)
    m.y = pyo.Var(m.GROUPS, m.DISTRICTS, domain=pyo.Binary)
    m.gap = pyo.Var(domain=pyo.NonNegativeReals)


def add_one_group_per_market(m: pyo.ConcreteModel) -> None:
    """Σ_g x[m,g] = 1  ∀ m."""
    m.one_group_per_market = pyo.Constraint(m.MARKETS, rule=lambda m, k: sum(m.x[k, g] for g in m.GROUPS) == 1)


def add_given_assignments(m: pyo.ConcreteModel, inputs: AssignmentInputs) -> None:
    """x[m,g] = 1  ∀ m given to g."""
    given = [(x.id, x.group) for x in inputs.markets if x.group is not None]
    if not given:
        return
    m.GIVEN = pyo.Set(initialize=given, dimen=2, ordered=True)
    m.given_assignments = pyo.Constraint(m.GIVEN, rule=lambda m, k, g: m.x[k, g] == 1)


def add_district_cover(m: pyo.ConcreteModel, inputs: AssignmentInputs) -> None:
    """x[m,g] ≤ y[g, d(m)]  ∀ m, g."""
    district = {x.id: x.district for x in inputs.markets}
    m.district_cover = pyo.Constraint(m.MARKETS, m.GROUPS, rule=lambda m, k, g: m.x[k, g] <= m.y[g, district[k]])


def add_balance_band(m: pyo.ConcreteModel, inputs: AssignmentInputs) -> None:
    """−gap·n[g]·p̄ ≤ Σ_m p[m]·x[m,g] − n[g]·p̄ ≤ gap·n[g]·p̄  ∀ g."""
    potential = {x.id: x.potential for x in inputs.markets}
    members = {g.id: g.members for g in inputs.groups}
    fair = inputs.potential_per_member
    if fair <= 0:
        return  # no potential anywhere: every assignment is balanced

    def load(m, g):
        return sum(potential[k] * m.x[k, g] for k in m.MARKETS) - members[g] * fair

    m.balance_band_upper = pyo.Constraint(m.GROUPS, rule=lambda m, g: load(m, g) <= m.gap * members[g] * fair)
    m.balance_band_lower = pyo.Constraint(m.GROUPS, rule=lambda m, g: -load(m, g) <= m.gap * members[g] * fair)


def add_objective(m: pyo.ConcreteModel, inputs: AssignmentInputs) -> None:
    """min w_bal·gap + w_dist·Σ y."""
    m.objective = pyo.Objective(
        expr=inputs.balance_weight * m.gap + inputs.district_weight * sum(m.y[g, d] for g in m.GROUPS for d in m.DISTRICTS),
        sense=pyo.minimize,
    )


# ---------------------------------------------------------------- the solve


def solve(m: pyo.ConcreteModel, time_limit_seconds: float = 30.0) -> None:
    """Run HiGHS; load the solution only if it is optimal, else raise `SolveError`."""
    results = Highs().solve(m, solver_options={"mip_rel_gap": MIP_REL_GAP, "time_limit": time_limit_seconds},
                            load_solutions=False, raise_exception_on_nonoptimal_result=False)
    if results.termination_condition != TerminationCondition.convergenceCriteriaSatisfied:
        raise SolveError("market_assignment", results.termination_condition.name)
    results.solution_loader.load_vars()


def assign_markets(inputs: AssignmentInputs) -> Assignment:
    """Build, solve and read the assignment."""
    m = build_model(inputs)
    solve(m, inputs.time_limit_seconds)
    group_of = {k: max(m.GROUPS, key=lambda g: pyo.value(m.x[k, g])) for k in m.MARKETS}
    districts = {g: tuple(sorted({x.district for x in inputs.markets if group_of[x.id] == g})) for g in m.GROUPS}
    return Assignment(group_of, balance_gap(inputs, group_of), districts, float(pyo.value(m.objective)))


def balance_gap(inputs: AssignmentInputs, group_of: dict[str, str]) -> float:
    """max_g |Σ_{m→g} p[m] ÷ n[g] ÷ p̄ − 1|, recomputed from an assignment (0 without potential)."""
    fair = inputs.potential_per_member
    if fair <= 0:
        return 0.0
    loads = {g.id: 0.0 for g in inputs.groups}
    for x in inputs.markets:
        loads[group_of[x.id]] += x.potential
    return max(abs(loads[g.id] / g.members / fair - 1) for g in inputs.groups)


# ---------------------------------------------------------------- phased targets


def phased_targets(section: MarketsSection, group_of: dict[str, str], first_year: int) -> pd.DataFrame:
    """Cumulative targets per market and phase (year), from the market's merchants.

    End state: clients `C = max(existing, round(penetration × merchants))`, accounts
    `A = round(account_penetration × merchants)`. By the end of phase k (cumulative share s_k):
    clients `existing + round((C − existing)·s_k)`, loan balance `clients × average loan`,
    accounts `round(A·s_k)`, settlement volume `accounts × settlement per account` (a year).
    Columns: market, group, year, clients (户), loan_balance, accounts (户), settlement_volume (money, 万元).
    """
    t = section.targets
    rows = []
    for market in section.markets:
        end_clients = max(market.existing_clients, round(t.client_penetration * market.merchants))
        end_accounts = round(t.account_penetration * market.merchants)
        loan = market.average_loan or t.average_loan
        for k, share in enumerate(t.phases):
            clients = market.existing_clients + round((end_clients - market.existing_clients) * share)
            accounts = round(end_accounts * share)
            rows.append({"market": market.id, "group": group_of[market.id], "year": first_year + k,
                         "clients": int(clients), "loan_balance": clients * loan,
                         "accounts": int(accounts), "settlement_volume": accounts * t.settlement_per_account})
    return pd.DataFrame(rows)
