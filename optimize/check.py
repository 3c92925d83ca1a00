"""An independent plan checker: every rule a plan must keep, recomputed from the scenario.

Given a scenario and a targets table (the engine's plan, or one a planner edited), each rule is
recomputed here with numpy from its definition (README "How the annual plan is made",
docs/model.md) and reported as a `Breach` when the plan does not keep it. Nothing is imported from the LP engine
(`optimize.regulation`, `inputs`, `model`, `matrix`, `solve`, `long_term`): a rule written wrong
there is not copied here, so the two can catch each other.

Units are the engine's: money in 万元, clients in 户; years are calendar years from the plan
year to the cycle's end year. `b` a branch, `t` a year, `x[b,t]` new clients, `y[b,t]` the
micro-loan increment, `X_t = Σ_b x[b,t]`, `Y_t = Σ_b y[b,t]`.

Severities: `regulatory` (the preset's floors), `department` (the department's own targets and
buffer; under the proportional policy the schedule's bank total), `hard` (capacity, smoothing,
loan band, risk cap), `schedule` (long-term completion: a warning, never a reason to reject a
plan). A floor missed in a rolling year after the plan year is `indicative` (only the plan year
binds; the engine reports such shortfalls as warnings too), so it does not reject the plan
either; hard rules hold in every year. See `Breach.blocking`.

Tolerance. Plans are read back from files that print rounded numbers (the plan JSON to 2
decimals, 亿元 to 4; the workbook holds full values). Each printed value may be off by half its printed
resolution `h` (`Resolution`), and a rule adds many of them (a bank total sums every branch), so
each rule bounds the rounding error of its own slack: `err = h · Σ|coefficient of each printed
value in the rule|` (e.g. a bank total of n branches: n·h; `|x_t − x_{t−1}|`: 2·h). A rule is
breached when it misses by more than `err + 1e-6 · max(1, |required|, |planned|)`; the relative
part absorbs the LP solver's own feasibility tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from scenarios.schema import Scenario

Severity = Literal["regulatory", "department", "hard", "schedule"]
Quantity = Literal["clients", "loans"]
Side = Literal["min", "max"]

#: Relative tolerance on top of the rounding error (the LP's own feasibility noise).
RELATIVE_TOL = 1e-6

#: The rules each preset switches on that put a floor on the plan (README, "The scenario file").
#: approval_rate (三个不低于) and all_in_cost (两增两控) are reported only; asset_quality (两增两控)
#: is the risk cap's tolerance, see `npl_tolerance`.
PRESET_RULES: dict[str, tuple[str, ...]] = {
    "two_not_lower": ("growth_rate", "increment"),
    "three_not_lower": ("growth_rate", "borrower_count", "approval_rate"),
    "two_increase_two_control": ("growth_rate", "borrower_count", "asset_quality", "all_in_cost"),
    "custom": (),
}
FLOOR_RULES = ("growth_rate", "increment", "borrower_count")


@dataclass(frozen=True)
class Breach:
    """One rule the plan does not keep: where, what was required, what was planned, by how much."""

    rule: str
    severity: Severity
    year: int
    branch: str | None  # None: the bank total
    quantity: Quantity  # clients (户) or loans (万元)
    side: Side  # min: planned must be ≥ required; max: ≤
    required: float
    planned: float
    amount: float  # how far the plan is on the wrong side, > 0
    indicative: bool = False  # a floor of a rolling year (after the plan year)

    @property
    def blocking(self) -> bool:
        """Whether the breach rejects the plan: any but the long-term schedule and a rolling year's floor."""
        return self.severity != "schedule" and not self.indicative


@dataclass(frozen=True)
class Resolution:
    """Printed resolution of the plan's numbers (0: exact); each value may be off by half of it."""

    clients: float = 0.0  # 户
    loans: float = 0.0  # 万元

    @property
    def half_clients(self) -> float:
        return self.clients / 2

    @property
    def half_loans(self) -> float:
        return self.loans / 2


@dataclass(frozen=True)
class PlanArrays:
    """The targets table as arrays (n branches × T years), branches and years in scenario order."""

    ids: tuple[str, ...]
    years: tuple[int, ...]
    x: np.ndarray  # new clients, 户
    y: np.ndarray  # loan increment, 万元


# ---------------------------------------------------------------- the plan's shape


def plan_years(scenario: Scenario) -> tuple[int, ...]:
    """The plan year and the rolling years: plan_year … start_year + horizon_years − 1."""
    end = scenario.cycle.start_year + scenario.cycle.horizon_years - 1
    return tuple(range(scenario.plan_year, end + 1))


def shape_problems(scenario: Scenario, targets: pd.DataFrame) -> list[str]:
    """What keeps a targets table from being checked against the scenario (empty: none)."""
    problems = []
    missing_columns = [c for c in ("branch", "year", "target_clients", "target_loan_increment") if c not in targets.columns]
    if missing_columns:
        return [f"missing column {c!r}" for c in missing_columns]
    ids = [b.id for b in scenario.branches]
    planned = set(targets["branch"].astype(str))
    unknown = sorted(planned - set(ids))
    absent = [i for i in ids if i not in planned]
    if unknown:
        problems.append(f"branches not in the scenario: {listed(unknown)}")
    if absent:
        problems.append(f"scenario branches missing from the plan: {listed(absent)}")
    years = plan_years(scenario)
    have = set(int(v) for v in targets["year"])
    if missing := [y for y in years if y not in have]:
        problems.append(f"years missing: {', '.join(map(str, missing))} (the plan must cover {years[0]}–{years[-1]})")
    if extra := sorted(y for y in have if y not in years):
        problems.append(f"years outside the plan {years[0]}–{years[-1]}: {', '.join(map(str, extra))}")
    duplicated = targets[targets.duplicated(["branch", "year"], keep=False)]
    for (bid, year), _ in duplicated.groupby(["branch", "year"]):
        problems.append(f"{bid} {year}: more than one row")
    if not unknown and not absent and not missing and not extra and duplicated.empty:
        for b, t in targets[targets[["target_clients", "target_loan_increment"]].isna().any(axis=1)][["branch", "year"]].itertuples(index=False):
            problems.append(f"{b} {t}: a target is empty")
    return problems


def listed(names: list[str], most: int = 20) -> str:
    """'B1, B2, B3' — at most `most` names, then how many more."""
    shown = ", ".join(names[:most])
    return shown if len(names) <= most else f"{shown} … and {len(names) - most} more"


def plan_arrays(scenario: Scenario, targets: pd.DataFrame) -> PlanArrays:
    """x and y as (n, T) arrays in the scenario's branch order; ValueError if the shape is wrong."""
    if problems := shape_problems(scenario, targets):
        raise ValueError("; ".join(problems))
    ids = tuple(b.id for b in scenario.branches)
    years = plan_years(scenario)
    wide = targets.assign(branch=targets["branch"].astype(str), year=targets["year"].astype(int)).pivot(index="branch", columns="year")
    x = wide["target_clients"].reindex(index=list(ids), columns=list(years)).to_numpy(dtype=float)
    y = wide["target_loan_increment"].reindex(index=list(ids), columns=list(years)).to_numpy(dtype=float)
    return PlanArrays(ids, years, x, y)


# ---------------------------------------------------------------- regulatory floors


def rules_in_force(scenario: Scenario) -> dict[str, float]:
    """{rule: margin}: the preset's rules at margin 0, then `regulation.rules` (enabled: margin; disabled: off)."""
    rules = {name: 0.0 for name in PRESET_RULES[scenario.regulation.preset]}
    for name, setting in scenario.regulation.rules.items():
        if setting.enabled:
            rules[name] = setting.margin
        else:
            rules.pop(name, None)
    return rules


def all_loan_growth(scenario: Scenario, n_years: int) -> np.ndarray:
    """g_t = ΔL/L0 in the plan year, `bank.all_loan_growth_later` (default ΔL/L0) in later years."""
    bank = scenario.bank
    first = bank.all_loan_increment_plan / bank.all_loans_prev
    later = first if bank.all_loan_growth_later is None else bank.all_loan_growth_later
    return np.array([first] + [later] * (n_years - 1), dtype=float)


def growth_rate_floor(loans: np.ndarray, m0: float, g: np.ndarray, k: float) -> np.ndarray:
    """Y_t ≥ k·g_t·M_{t−1}, M_{t−1} = M0 + Σ_{s<t} Y_s (the micro balance grows with the plan)."""
    balance_before = m0 + np.concatenate([[0.0], np.cumsum(loans)[:-1]])
    return k * g * balance_before


def increment_floor(loans: np.ndarray, increment_prev: float, k: float) -> np.ndarray:
    """Y_t0 ≥ k·ΔM_prev; Y_t ≥ k·Y_{t−1} in later years."""
    return k * np.concatenate([[increment_prev], loans[:-1]])


def borrower_count_floor(clients: np.ndarray, c_prev: float, a: float, k: float) -> np.ndarray:
    """X_t ≥ (a + k − 1)·C_{t−1}, C_{t−1} = (1−a)·C_{t−2} + X_{t−1}, C before the plan year = C_prev."""
    borrowers_before = np.empty_like(clients, dtype=float)
    c = float(c_prev)
    for t in range(len(clients)):
        borrowers_before[t] = c
        c = (1 - a) * c + clients[t]
    return (a + k - 1) * borrowers_before


def floor_functions(scenario: Scenario, n_years: int) -> dict[str, tuple[Quantity, Callable[[np.ndarray, float], np.ndarray]]]:
    """Each floor rule as (quantity, f(totals of that quantity, k) → required per year)."""
    bank = scenario.bank
    g = all_loan_growth(scenario, n_years)
    return {
        "growth_rate": ("loans", lambda totals, k: growth_rate_floor(totals, bank.micro_loans_prev, g, k)),
        "increment": ("loans", lambda totals, k: increment_floor(totals, bank.micro_loan_increment_prev, k)),
        "borrower_count": ("clients", lambda totals, k: borrower_count_floor(
            totals, bank.micro_clients_prev, bank.micro_client_attrition, k)),
    }


def bank_floor_breaches(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """Every floor of the rules in force (k = 1 + margin) and of the department buffer, per year.

    The department buffer repeats each floor with k = (1 + margin)·(1 + buffer) (tier
    "department", rule `department_<rule>`); explicit department numbers are `department_targets`.
    Each floor is affine in earlier totals with coefficients of one sign, so moving every total by
    its worst rounding error (n·h) bounds the error of the required value.
    """
    n = len(plan.ids)
    totals = {"clients": plan.x.sum(axis=0), "loans": plan.y.sum(axis=0)}
    total_error = {"clients": n * resolution.half_clients, "loans": n * resolution.half_loans}
    functions = floor_functions(scenario, len(plan.years))
    buffer = scenario.targets.buffer
    breaches = []
    for rule, margin in rules_in_force(scenario).items():
        if rule not in functions:
            continue
        quantity, floor = functions[rule]
        tiers: list[tuple[str, Severity, float]] = [(rule, "regulatory", 1 + margin)]
        if buffer > 0:
            tiers.append((f"department_{rule}", "department", (1 + margin) * (1 + buffer)))
        for name, severity, k in tiers:
            planned = totals[quantity]
            required = floor(planned, k)
            shifted = floor(planned + total_error[quantity], k)
            error = total_error[quantity] + np.abs(shifted - required)
            found = collect(name, severity, quantity, "min", plan.years, None, required, planned, error)
            breaches += [replace(b, indicative=b.year > plan.years[0]) for b in found]
    return breaches


def department_targets(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """X_t0 ≥ targets.micro_client_increment; Y_t0 ≥ targets.micro_loan_increment (plan year only)."""
    n = len(plan.ids)
    breaches = []
    for target, quantity, values, half in (
        (scenario.targets.micro_client_increment, "clients", plan.x, resolution.half_clients),
        (scenario.targets.micro_loan_increment, "loans", plan.y, resolution.half_loans),
    ):
        if target is not None:
            breaches += collect("department_target", "department", quantity, "min", plan.years[:1], None,
                                np.array([float(target)]), values[:, :1].sum(axis=0), np.array([n * half]))
    return breaches


# ---------------------------------------------------------------- branch rules (hard)


def capacities(scenario: Scenario) -> np.ndarray:
    """cap_b = new_clients_per_micro_client_manager × micro_client_managers_b, 户 a year."""
    per_manager = scenario.capacity.new_clients_per_micro_client_manager
    return np.array([per_manager * b.micro_client_managers for b in scenario.branches], dtype=float)


def capacity_breaches(plan: PlanArrays, cap: np.ndarray, resolution: Resolution) -> list[Breach]:
    """0 ≤ x[b,t] ≤ cap_b."""
    h = np.full_like(plan.x, resolution.half_clients)
    zero = np.zeros_like(plan.x)
    return (collect_grid("capacity", "hard", "clients", "min", plan, zero, plan.x, h)
            + collect_grid("capacity", "hard", "clients", "max", plan, np.broadcast_to(cap[:, None], plan.x.shape), plan.x, h))


def smoothing_breaches(plan: PlanArrays, cap: np.ndarray, max_change: float, resolution: Resolution) -> list[Breach]:
    """|x[b,t] − x[b,t−1]| ≤ max_change·cap_b for every year after the plan year.

    Reported as the change: required is the largest allowed change (±), planned the change made.
    """
    if plan.x.shape[1] < 2:
        return []
    change = np.diff(plan.x, axis=1)
    step = np.broadcast_to((max_change * cap)[:, None], change.shape)
    h = np.full_like(change, 2 * resolution.half_clients)
    later = PlanArrays(plan.ids, plan.years[1:], change, change)
    return (collect_grid("smoothing", "hard", "clients", "max", later, step, change, h)
            + collect_grid("smoothing", "hard", "clients", "min", later, -step, change, h))


def last_year_band(last_target: np.ndarray, cap: np.ndarray, max_change: float) -> tuple[np.ndarray, np.ndarray]:
    """x[b,t0] ∈ [min(lo, cap_b), hi], lo = max(0, T_b − c·cap_b), hi = T_b + c·cap_b (T_b last year's target).

    The band intersected with [0, cap_b]: a band entirely above capacity leaves the branch at
    capacity (capacity wins). The upper end is not cut at capacity here: a target above
    capacity is the capacity rule's breach, reported once.
    """
    lo = np.maximum(0.0, last_target - max_change * cap)
    hi = last_target + max_change * cap
    return np.minimum(lo, cap), hi


def smoothing_from_last_year_breaches(scenario: Scenario, plan: PlanArrays, cap: np.ndarray, resolution: Resolution) -> list[Breach]:
    """Branches with `last_year_target`: x[b,t0] within `last_year_band` (the new smoothing rule)."""
    given = np.array([b.last_year_target is not None for b in scenario.branches])
    if not given.any():
        return []
    last = np.array([b.last_year_target if b.last_year_target is not None else 0.0 for b in scenario.branches], dtype=float)
    lo, hi = last_year_band(last, cap, scenario.capacity.max_change)
    x0 = plan.x[:, :1]
    sub = PlanArrays(tuple(np.array(plan.ids, dtype=object)[given]), plan.years[:1], x0[given], x0[given])
    h = np.full_like(sub.x, resolution.half_clients)
    return (collect_grid("smoothing_from_last_year", "hard", "clients", "min", sub, lo[given][:, None], sub.x, h)
            + collect_grid("smoothing_from_last_year", "hard", "clients", "max", sub, hi[given][:, None], sub.x, h))


def loan_band_breaches(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """s_min·x + e_min ≤ y ≤ s_max·x + e_max, e = risk.book_change_min/max × micro_loans_b."""
    branches = scenario.branches
    s_min = np.array([b.loan_size_min for b in branches], dtype=float)[:, None]
    s_max = np.array([b.loan_size_max for b in branches], dtype=float)[:, None]
    book = np.array([b.micro_loans for b in branches], dtype=float)[:, None]
    low = s_min * plan.x + scenario.risk.book_change_min * book
    high = s_max * plan.x + scenario.risk.book_change_max * book
    h_low = resolution.half_loans + s_min * resolution.half_clients + np.zeros_like(plan.y)
    h_high = resolution.half_loans + s_max * resolution.half_clients + np.zeros_like(plan.y)
    return (collect_grid("loan_band", "hard", "loans", "min", plan, low, plan.y, h_low)
            + collect_grid("loan_band", "hard", "loans", "max", plan, high, plan.y, h_high))


def npl_tolerance(scenario: Scenario) -> float:
    """risk.npl_tolerance; with asset_quality in force and bank.npl_ratio: npl_ratio + npl_tolerance_pp − margin.

    A margin tightens a rule (README: "add a margin" to a floor raises it); for a ceiling on the
    NPL ratio that lowers the tolerance.
    """
    rules = rules_in_force(scenario)
    if "asset_quality" in rules and scenario.bank.npl_ratio is not None:
        return scenario.bank.npl_ratio + scenario.regulation.npl_tolerance_pp - rules["asset_quality"]
    return scenario.risk.npl_tolerance


def risk_capped(scenario: Scenario) -> np.ndarray:
    """Branches whose npl_ratio > the tolerance (`npl_tolerance`)."""
    tolerance = npl_tolerance(scenario)
    return np.array([b.npl_ratio > tolerance for b in scenario.branches])


def risk_cap_breaches(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """Risk-capped branches: y[b,t] ≤ r·(M_b + Σ_{s<t} y[b,s]), r = risk.capped_growth."""
    capped = risk_capped(scenario)
    if not capped.any():
        return []
    r = scenario.risk.capped_growth
    book = np.array([b.micro_loans for b in scenario.branches], dtype=float)[capped]
    y = plan.y[capped]
    earlier = np.concatenate([np.zeros((len(y), 1)), np.cumsum(y, axis=1)[:, :-1]], axis=1)
    cap = r * (book[:, None] + earlier)
    h = resolution.half_loans * (1 + abs(r) * np.arange(y.shape[1]))[None, :] + np.zeros_like(y)
    sub = PlanArrays(tuple(np.array(plan.ids, dtype=object)[capped]), plan.years, plan.x[capped], y)
    return collect_grid("risk_cap", "hard", "loans", "max", sub, cap, y, h)


# ---------------------------------------------------------------- the long-term schedule (warnings)


def share_of(column: np.ndarray) -> np.ndarray:
    """column_b / Σ column; evenly when the column sums to zero (nothing to weigh by)."""
    total = column.sum()
    return column / total if total > 0 else np.full(len(column), 1.0 / len(column))


def split_shares(scenario: Scenario, free: np.ndarray) -> np.ndarray:
    """w_o·outlets/Σoutlets + w_m·cm/Σcm + w_p·potential/Σpotential, the sums over the `free` branches (0 elsewhere)."""
    w = scenario.cycle.weights
    result = np.zeros(len(scenario.branches))
    if not free.any():
        return result
    for weight, column in (
        (w.outlets, [b.outlets for b in scenario.branches]),
        (w.client_managers, [b.client_managers for b in scenario.branches]),
        (w.market_potential, [b.market_potential or 0.0 for b in scenario.branches]),
    ):
        if weight > 0:
            result[free] += weight * share_of(np.array(column, dtype=float)[free])
    return result


def water_fill(total: float, share: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split `total` ∝ share with each part ≤ cap; what a capped part cannot take is re-split ∝ share over the rest.

    If only zero-share parts have room left, they take the rest evenly. What no part can take
    stays unassigned (the cycle target exceeds the branches' total room).
    """
    result = np.zeros(len(share))
    open_ = cap > result
    rest = float(total)
    while rest > 1e-9 and open_.any():
        weights = np.where(open_, share, 0.0)
        if weights.sum() <= 0:
            weights = open_.astype(float)
        proposal = rest * weights / weights.sum()
        full = open_ & (result + proposal >= cap)
        if not full.any():
            return result + proposal
        result[full] = cap[full]
        open_ &= ~full
        rest = float(total) - result.sum()
    return result


def whole_clients(split: np.ndarray, cap: np.ndarray, ids: list[str]) -> np.ndarray:
    """⌊split_b⌋, then +1 client to the largest remainders (ties by id) until Σ = round(Σ split), none above ⌊cap_b⌋.

    A long-term target is a number of clients given to a branch, so whole (issue 10); the
    largest-remainder rule keeps the bank total and moves no branch by a whole client.
    """
    whole = np.floor(split + 1e-9)
    missing = int(round(float(split.sum()))) - int(whole.sum())
    room = [b for b in range(len(split)) if whole[b] + 1 <= np.floor(cap[b] + 1e-9)]
    order = sorted(room, key=lambda b: (-round(float(split[b] - whole[b]), 9), ids[b]))
    whole[order[:max(0, missing)]] += 1
    return whole


def long_term_targets(scenario: Scenario) -> np.ndarray:
    """L_b: the given target, else T′·share_b water-filled under horizon·cap_b (T′ = T − Σ given), in whole clients."""
    given = np.array([b.long_term_target is not None for b in scenario.branches])
    targets = np.array([b.long_term_target or 0.0 for b in scenario.branches], dtype=float)
    free_total = max(0.0, scenario.cycle.micro_client_target - targets[given].sum())
    room = np.where(given, 0.0, scenario.cycle.horizon_years * capacities(scenario))
    split = water_fill(free_total, split_shares(scenario, ~given), room)
    ids = [b.id for b in scenario.branches]
    free = np.flatnonzero(~given)
    targets[free] = whole_clients(split[free], room[free], [ids[b] for b in free])
    return targets


def completion_breaches(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """A_b + Σ_t x[b,t] ≥ L_b (catch_up): the branch finishes its cycle target by the end year."""
    achieved = np.array([b.achieved_clients for b in scenario.branches], dtype=float)
    done = achieved + plan.x.sum(axis=1)
    h = len(plan.years) * resolution.half_clients + np.zeros(len(plan.ids))
    end = PlanArrays(plan.ids, plan.years[-1:], done[:, None], done[:, None])
    return collect_grid("long_term_completion", "schedule", "clients", "min", end,
                        long_term_targets(scenario)[:, None], done[:, None], h[:, None])


def cycle_schedule_breaches(scenario: Scenario, plan: PlanArrays, resolution: Resolution) -> list[Breach]:
    """X_t ≥ Σ_b max(0, L_b − A_b)/years_left (proportional: the schedule's bank total each year).

    A department floor (docs/model.md §3: the proportional policy keeps the schedule's bank
    total), so it rejects a plan in the plan year and is indicative in the rolling years.
    """
    achieved = np.array([b.achieved_clients for b in scenario.branches], dtype=float)
    pace = np.maximum(long_term_targets(scenario) - achieved, 0.0) / len(plan.years)
    required = np.full(len(plan.years), pace.sum())
    error = np.full(len(plan.years), len(plan.ids) * resolution.half_clients)
    found = collect("cycle_schedule", "department", "clients", "min", plan.years, None, required, plan.x.sum(axis=0), error)
    return [replace(b, indicative=b.year > plan.years[0]) for b in found]


# ---------------------------------------------------------------- the whole check


def check_plan(scenario: Scenario, targets: pd.DataFrame, policy: str | None = None,
               resolution: Resolution = Resolution()) -> list[Breach]:
    """Every breach of `targets` (columns branch, year, target_clients, target_loan_increment; 万元, 户).

    `policy` (default: the scenario's) decides the schedule rules: completion under catch_up,
    the schedule's bank total under proportional. Raises ValueError when the table does not
    cover the scenario's branches and years (see `shape_problems`).
    """
    policy = policy or scenario.policy.name
    plan = plan_arrays(scenario, targets)
    cap = capacities(scenario)
    breaches = bank_floor_breaches(scenario, plan, resolution)
    breaches += department_targets(scenario, plan, resolution)
    breaches += capacity_breaches(plan, cap, resolution)
    breaches += smoothing_breaches(plan, cap, scenario.capacity.max_change, resolution)
    breaches += smoothing_from_last_year_breaches(scenario, plan, cap, resolution)
    breaches += loan_band_breaches(scenario, plan, resolution)
    breaches += risk_cap_breaches(scenario, plan, resolution)
    if policy == "catch_up":
        breaches += completion_breaches(scenario, plan, resolution)
    elif policy == "proportional":
        breaches += cycle_schedule_breaches(scenario, plan, resolution)
    return breaches


# ---------------------------------------------------------------- comparison helpers


def collect(rule: str, severity: Severity, quantity: Quantity, side: Side, years: tuple[int, ...], branch: str | None,
            required: np.ndarray, planned: np.ndarray, error: np.ndarray) -> list[Breach]:
    """A breach for every year where `planned` is on the wrong side of `required` beyond the tolerance."""
    amount = (required - planned) if side == "min" else (planned - required)
    tol = error + RELATIVE_TOL * np.maximum(1.0, np.maximum(np.abs(required), np.abs(planned)))
    return [
        Breach(rule, severity, int(years[t]), branch, quantity, side, float(required[t]), float(planned[t]), float(amount[t]))
        for t in np.flatnonzero(amount > tol)
    ]


def collect_grid(rule: str, severity: Severity, quantity: Quantity, side: Side, plan: PlanArrays,
                 required: np.ndarray, planned: np.ndarray, error: np.ndarray) -> list[Breach]:
    """`collect` over a (branch, year) grid shaped like `planned`, rows named by `plan.ids`, columns by `plan.years`."""
    required = np.broadcast_to(required, planned.shape)
    amount = (required - planned) if side == "min" else (planned - required)
    tol = error + RELATIVE_TOL * np.maximum(1.0, np.maximum(np.abs(required), np.abs(planned)))
    return [
        Breach(rule, severity, int(plan.years[t]), str(plan.ids[b]), quantity, side,
               float(required[b, t]), float(planned[b, t]), float(amount[b, t]))
        for b, t in zip(*np.nonzero(amount > tol))
    ]
