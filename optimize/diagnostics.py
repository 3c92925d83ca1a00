"""Diagnostics in plain words: which rules bind, who moves when a floor rises, why a rule fails.

Everything here is read from the plan year's solution and its window (`optimize.window`), not
from solver duals: the plan year's solution has a known shape (docs/model.md §3) —

- clients: x_b = clamp(ref_b + θ·key_b, x_lo_b, x_hi_b) (zero-key branches: ref_b + θ0);
- loans:   y_b = clamp(mid_b + λ·loan_key_b, low_b, high_b) (high_b also under a risk cap);

so one more unit of a binding floor goes to the branches strictly inside their limits ("open"),
in proportion to their key: Δx_b = key_b / Σ_open key. Each sentence names those branches, or
says that nobody can move. The tests check every sentence against a re-solve with the floor raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimize.inputs import PlanInputs
from optimize.solve import SolveReport
from optimize.window import loan_keys, year_window
from scenarios.schema import Scenario, from_wan, to_wan

RULE_LABELS = {
    "growth_rate": "增速不低于 (growth ≥ all-loan growth)",
    "increment": "增量不低于 (increment ≥ last year's)",
    "borrower_count": "户数不低于 (borrowers ≥ last year)",
    "department_target": "department target",
    "cycle_schedule": "the long-term schedule's bank total",
    "long_term_completion": "long-term completion",
    "lock_above_capacity": "a locked client target above capacity",
    "lock_outside_smoothing": "a locked client target outside the smoothing band from last year's target",
    "lock_outside_loan_band": "a locked loan target outside the loan band",
    "lock_above_risk_cap": "a locked loan target above the risk cap",
}
BINDING_TOL = 1e-3
AT_CAPACITY_TOL = 1e-4  # 户: a target this close to capacity is at capacity
LIMIT_TOL = 1e-6  # relative: a value this close to a limit is at it
KEY_WORDS = {"spare_capacity": "spare capacity", "outlets": "outlet count", "client_managers": "client-manager count",
             "reference": "reference target"}
LISTED = 5  # branches named in one sentence
#: Decimals of money in outputs by unit: to the 元 (0), 0.01 万元 (100 元), 0.0001 亿元 (1 万元).
MONEY_DIGITS = {"元": 0, "万元": 2, "亿元": 4}


def rule_label(rule: str) -> str:
    """A readable name of a rule (department variants named after their floor)."""
    if rule.startswith("department_") and rule != "department_target":
        return f"department buffer on {RULE_LABELS.get(rule[len('department_'):], rule)}"
    return RULE_LABELS.get(rule, rule)


def names(ids: list[str], limit: int = 10) -> str:
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


@dataclass
class Diagnostics:
    """What a planner needs to explain the plan."""

    binding: list[dict] = field(default_factory=list)
    marginal_costs: list[dict] = field(default_factory=list)
    at_capacity: list[str] = field(default_factory=list)
    risk_capped: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"binding": self.binding, "marginal_costs": self.marginal_costs, "at_capacity": self.at_capacity,
                "risk_capped": self.risk_capped, "messages": self.messages}


@dataclass(frozen=True)
class PlanYearShape:
    """The plan year's solution against its limits, per branch (engine units)."""

    x: np.ndarray
    x_lo: np.ndarray
    x_hi: np.ndarray
    y: np.ndarray
    y_low: np.ndarray
    y_high: np.ndarray  # band high, or the risk cap where lower
    loan_key: np.ndarray

    def client_open(self, inputs: PlanInputs) -> tuple[np.ndarray, np.ndarray]:
        """Branches that take one more client of a binding floor, and their share of it."""
        room = self.x < self.x_hi - LIMIT_TOL * np.maximum(1.0, self.x_hi)
        zero = inputs.key <= 0
        keyed_room = room & ~zero & (self.x >= self.x_lo + LIMIT_TOL * np.maximum(1.0, self.x_lo))
        if keyed_room.any():
            open_, weight = keyed_room, np.where(keyed_room, inputs.key, 0.0)
        else:  # keyed branches are full: zero-key branches share equally
            open_ = room & zero
            weight = open_.astype(float)
        return open_, weight / weight.sum() if weight.sum() > 0 else weight

    def loan_open(self) -> tuple[np.ndarray, np.ndarray]:
        """Branches that take one more 万元 of a binding loan floor, and their share of it."""
        scale = np.maximum(1.0, np.abs(self.y))
        open_ = (self.y < self.y_high - LIMIT_TOL * scale) & (self.y > self.y_low + LIMIT_TOL * scale)
        weight = np.where(open_, self.loan_key, 0.0)
        return open_, weight / weight.sum() if weight.sum() > 0 else weight


def plan_year_shape(inputs: PlanInputs, targets: pd.DataFrame, report: SolveReport) -> PlanYearShape:
    """The plan year's LP solution (before rounding) with its limits (window box, band, risk caps).

    Loans were solved on the rounded clients, so their band is taken at the rounded clients.
    """
    year = targets[targets["year"] == inputs.years[0]].set_index("branch").loc[list(inputs.branch_ids)]
    rounded_x = year["target_clients"].to_numpy(float)
    x, y = report.lp_x[:, 0], report.lp_y[:, 0]
    window = report.windows["plan_year"]
    n = len(inputs.branch_ids)
    # the limits the loan stages had: band at the rounded clients, risk cap, lock (`Window.loan_limits`)
    low, high = year_window(inputs, window, 0, rounded_x[:, None], np.zeros((n, 0))).loan_limits(inputs)
    key, _ = loan_keys(inputs, rounded_x[:, None])
    return PlanYearShape(x, window.x_lo[:, 0], window.x_hi[:, 0], y, low, high, key[:, 0])


def diagnose(scenario: Scenario, inputs: PlanInputs, targets: pd.DataFrame, floors: pd.DataFrame,
             violations: list[dict], warnings: list[dict], report: SolveReport) -> Diagnostics:
    """Binding rules, who moves when a floor rises, capacity and risk caps, and why each rule fails."""
    d = Diagnostics()
    unit = scenario.units.money
    money = from_wan(1.0, unit)  # one 万元 in the scenario's unit
    digits = MONEY_DIGITS[unit]
    plan_year = inputs.years[0]
    ids = list(inputs.branch_ids)
    shape = plan_year_shape(inputs, targets, report)
    d.at_capacity = [bid for b, bid in enumerate(ids) if shape.x[b] >= inputs.capacity[b] - AT_CAPACITY_TOL]
    d.risk_capped = [bid for b, bid in enumerate(ids) if inputs.risk_capped[b]]

    def amount(value: float, quantity: str) -> str:
        return f"{value * money:,.{digits}f} {unit}" if quantity == "loans" else f"{value:,.0f} 户"

    year_rows = floors[floors["year"] == plan_year]
    for r in year_rows.itertuples(index=False):
        if abs(r.total - r.required) <= BINDING_TOL * max(1.0, abs(r.required)) * 1e-2 + BINDING_TOL:
            scale = money if r.quantity == "loans" else 1.0
            d.binding.append({"rule": r.rule, "tier": r.tier, "quantity": r.quantity, "value": round(r.required * scale, digits)})
            d.messages.append(f"{rule_label(r.rule)} binds in {plan_year}: the plan's total equals the floor, "
                              f"{amount(r.required, r.quantity)}.")
    d.marginal_costs = marginal_costs(inputs, shape, d.binding, unit)
    d.messages += [c["text"] for c in d.marginal_costs]
    for v in violations:
        if v["tier"] == "lock":
            d.messages.append(f"Branch {v['branch']}: {rule_label(v['rule'])} by {amount(v['shortfall'], v['quantity'])}; "
                              "the lock is kept as negotiated.")
        else:
            d.messages.append(shortfall_cause(inputs, shape, v, amount(v["shortfall"], v["quantity"])))
    completion = [w for w in warnings if w["rule"] == "long_term_completion"]
    if completion:
        d.messages.append(completion_message(inputs, completion))
    indicative = sorted({(w["rule"], w["year"]) for w in warnings if w.get("indicative")})
    if indicative:
        d.messages.append("Indicative rolling years fall short (not binding this year): "
                          + "; ".join(f"{rule_label(rule)} {year}" for rule, year in indicative) + ".")
    d.messages += smoothing_conflicts(inputs, shape)
    cycle = cycle_capacity_warning(scenario, inputs)
    if cycle:
        d.messages.append(cycle)
    if d.at_capacity:
        d.messages.append(f"{len(d.at_capacity)} branch(es) at capacity in {plan_year}: {names(d.at_capacity)}.")
    if d.risk_capped:
        d.messages.append(f"{len(d.risk_capped)} branch(es) over the NPL tolerance {inputs.floors.npl_tolerance:.2%}, "
                          f"micro book growth capped at {inputs.capped_growth:.0%}: {names(d.risk_capped)}.")
    return d


def marginal_costs(inputs: PlanInputs, shape: PlanYearShape, binding: list[dict], unit: str) -> list[dict]:
    """For each quantity whose plan-year floor binds: who takes one more unit of it, and how much."""
    costs = []
    ids = np.array(inputs.branch_ids, dtype=object)
    key_word = KEY_WORDS.get(inputs.key_name, inputs.key_name)
    for quantity in ("clients", "loans"):
        rules = [b for b in binding if b["quantity"] == quantity]
        if not rules:
            continue
        rule = max(rules, key=lambda b: b["value"])["rule"]
        if quantity == "clients":
            open_, share = shape.client_open(inputs)
            step, step_text, per = 100.0, "100 more clients", 100
            how = f"in proportion to their {key_word}" if (open_ & (inputs.key > 0)).any() else "equally (their sharing key is zero; the keyed branches are full)"
        else:
            open_, share = shape.loan_open()
            step = to_wan(1.0, "亿元")  # 万元
            step_text, per = "One more 亿元", "1 亿元"
            how = "in proportion to their spare loan room (above mid loan size × clients)"
        moves = {str(ids[b]): float(share[b] * step) for b in np.flatnonzero(open_)}
        if not moves:
            text = (f"{step_text} on the {rule_label(rule)} floor cannot be placed: every branch is at its limit "
                    f"({'capacity or smoothing' if quantity == 'clients' else 'loan band or risk cap'}); it would be a shortfall.")
        else:
            top = sorted(moves.items(), key=lambda kv: -kv[1])[:LISTED]
            shown = ", ".join(f"{b} +{v:,.1f}" for b, v in top) + (" …" if len(moves) > LISTED else "")
            what = "" if quantity == "clients" else " 万元"
            text = (f"{step_text} on the {rule_label(rule)} floor would go to {len(moves)} of {len(ids)} branches "
                    f"{how}: {shown}{what}.")
        costs.append({"rule": rule, "quantity": quantity, "per": per, "moves": moves, "text": text})
    return costs


def shortfall_cause(inputs: PlanInputs, shape: PlanYearShape, v: dict, what: str) -> str:
    """Why a plan-year floor is missed: every branch at its limit, and which limit holds each."""
    ids = list(inputs.branch_ids)
    head = f"{rule_label(v['rule'])} cannot be met in {v['year']}: short by {what}"
    if v["quantity"] == "clients":
        at_hi = shape.x >= shape.x_hi - AT_CAPACITY_TOL
        locked = ~np.isnan(inputs.locked_clients)
        capacity = [ids[b] for b in np.flatnonzero(at_hi & ~locked & (shape.x_hi >= inputs.capacity - AT_CAPACITY_TOL))]
        smoothing = [ids[b] for b in np.flatnonzero(at_hi & ~locked & (shape.x_hi < inputs.capacity - AT_CAPACITY_TOL))]
        parts = [f"{len(capacity)} at capacity ({names(capacity)})"] if capacity else []
        if smoothing:
            parts.append(f"{len(smoothing)} held by smoothing from last year's target ({names(smoothing)})")
        if locked.any():
            parts.append(f"{int(locked.sum())} held by their locked targets ({names([ids[b] for b in np.flatnonzero(locked)])})")
        return head + "; every branch is at its limit: " + "; ".join(parts) + "." if parts else head + "."
    band_high = inputs.size_max * shape.x + inputs.book_max
    at_high = shape.y >= shape.y_high - 1e-6 * np.maximum(1.0, np.abs(shape.y_high))
    risk = [ids[b] for b in np.flatnonzero(at_high & inputs.risk_capped & (shape.y_high < band_high - 1e-9))]
    band = [ids[b] for b in np.flatnonzero(at_high) if ids[b] not in risk]
    parts = [f"{len(band)} at the top of their loan band at these client targets ({names(band)})"] if band else []
    if risk:
        parts.append(f"{len(risk)} held by the risk cap ({names(risk)})")
    return head + "; " + "; ".join(parts) + "." if parts else head + "."


def completion_message(inputs: PlanInputs, completion: list[dict]) -> str:
    """Branches whose long-term target cannot be finished in the cycle, and what stops them."""
    years_left = len(inputs.years)
    by_id = {bid: b for b, bid in enumerate(inputs.branch_ids)}
    capacity = [w["branch"] for w in completion if inputs.capacity[by_id[w["branch"]]] * years_left < inputs.completion_need[by_id[w["branch"]]] - 1e-6]
    other = [w["branch"] for w in completion if w["branch"] not in capacity]
    total = sum(w["shortfall"] for w in completion)
    parts = []
    if capacity:
        parts.append(f"{len(capacity)} lack the capacity ({names(capacity)})")
    if other:
        parts.append(f"{len(other)} are held by smoothing or the plan year's limits ({names(other)})")
    return (f"Long-term schedule (a warning, not a failed plan): {len(completion)} branch(es) cannot finish their "
            f"target by {inputs.years[-1]}, {total:,.0f} 户 short in all: " + "; ".join(parts) + ".")


def smoothing_conflicts(inputs: PlanInputs, shape: PlanYearShape) -> list[str]:
    """Branches whose reference (catch-up pace) lies outside the smoothing band from last year's target,
    and risk-capped branches the cap keeps below that band."""
    from optimize.window import smoothing_box

    ids = list(inputs.branch_ids)
    ref = np.minimum(inputs.reference, inputs.capacity)
    free = np.isnan(inputs.locked_clients)  # a lock is its own reason
    smooth_lo, _ = smoothing_box(inputs.capacity, inputs.last_target, inputs.max_change)
    risk_held = free & inputs.risk_capped & (smooth_lo > shape.x_lo + 1e-6)
    above = np.flatnonzero(free & ~risk_held & (ref > shape.x_hi + 1e-6))
    below = np.flatnonzero(free & (ref < shape.x_lo - 1e-6))
    messages = []
    if len(above):
        listed = ", ".join(f"{ids[b]} ({inputs.reference[b]:,.0f} → ≤ {shape.x_hi[b]:,.0f})" for b in above[:LISTED])
        messages.append(f"Smoothing from last year's target (±{inputs.max_change:.0%} of capacity) keeps "
                        f"{len(above)} branch(es) below their reference: {listed}" + (" …" if len(above) > LISTED else "") + ".")
    if len(below):
        listed = ", ".join(f"{ids[b]} ({inputs.reference[b]:,.0f} → ≥ {shape.x_lo[b]:,.0f})" for b in below[:LISTED])
        messages.append(f"Smoothing from last year's target keeps {len(below)} branch(es) above their reference: "
                        f"{listed}" + (" …" if len(below) > LISTED else "") + ".")
    held = np.flatnonzero(risk_held)
    if len(held):
        listed = ", ".join(f"{ids[b]} (≥ {smooth_lo[b]:,.0f} → ≤ {shape.x_hi[b]:,.0f})" for b in held[:LISTED])
        messages.append(f"The risk cap keeps {len(held)} branch(es) below the smoothing band from last year's target "
                        f"(their capped loans cannot carry more clients): {listed}.")
    return messages


def cycle_capacity_warning(scenario: Scenario, inputs: PlanInputs) -> str | None:
    """T > horizon · Σ cap: the cycle target cannot be split without exceeding capacity."""
    total = scenario.cycle.micro_client_target
    possible = scenario.cycle.horizon_years * float(inputs.capacity.sum())
    if total <= possible + 1e-6:
        return None
    return (f"The cycle target of {total:,.0f} new clients exceeds what the branches can do in the cycle "
            f"(horizon × capacity = {possible:,.0f}); the long-term targets add up to {inputs.long_term_target.sum():,.0f}.")
