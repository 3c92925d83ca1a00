"""Diagnostics in plain words: which rules bind, what a floor costs, who is at capacity, why a rule fails.

Marginal costs come from the duals of the floor rows in the load stages: in `client_load` the
dual is dθ/dfloor, the rise of every keyed branch's extra load (as a share of its key, e.g. of
its spare capacity) per extra client of floor; in `loan_load` the same for loans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from optimize.inputs import PlanInputs
from optimize.solve import SolveReport
from scenarios.schema import MONEY_FACTORS

RULE_LABELS = {
    "growth_rate": "增速不低于 (growth ≥ all-loan growth)",
    "increment": "增量不低于 (increment ≥ last year's)",
    "borrower_count": "户数不低于 (borrowers ≥ last year)",
    "department_target": "department target",
    "cycle_schedule": "the long-term schedule's bank total",
    "long_term_completion": "long-term completion",
}
BINDING_TOL = 1e-3
DUAL_TOL = 1e-9
AT_CAPACITY_TOL = 1e-4  # 户: a target this close to capacity is at capacity
KEY_WORDS = {"spare_capacity": "spare capacity", "outlets": "outlet count", "client_managers": "client-manager count",
             "reference": "reference target"}


def rule_label(rule: str) -> str:
    """A readable name of a rule (department variants named after their floor)."""
    if rule.startswith("department_") and rule != "department_target":
        return f"department buffer on {RULE_LABELS.get(rule[len('department_'):], rule)}"
    return RULE_LABELS.get(rule, rule)


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


def diagnose(inputs: PlanInputs, targets: pd.DataFrame, floors: pd.DataFrame, violations: list[dict],
             report: SolveReport, money_unit: str) -> Diagnostics:
    """Collect binding rules, marginal costs, capacity and risk caps, and shortfall explanations."""
    d = Diagnostics()
    plan_year = inputs.years[0]
    unit = 1.0 / MONEY_FACTORS[money_unit]
    year = targets[targets["year"] == plan_year].set_index("branch")
    d.at_capacity = [bid for b, bid in enumerate(inputs.branch_ids) if year.at[bid, "target_clients"] >= inputs.capacity[b] - AT_CAPACITY_TOL]
    d.risk_capped = [bid for b, bid in enumerate(inputs.branch_ids) if inputs.risk_capped[b]]
    for r in floors[floors["year"] == plan_year].itertuples(index=False):
        if abs(r.total - r.required) <= BINDING_TOL * max(1.0, abs(r.required)) * 1e-2 + BINDING_TOL:
            scale = unit if r.quantity == "loans" else 1.0
            d.binding.append({"rule": r.rule, "tier": r.tier, "quantity": r.quantity, "value": round(r.required * scale, 2)})
            what = f"{r.required * scale:,.2f} {money_unit}" if r.quantity == "loans" else f"{r.required:,.0f} 户"
            d.messages.append(f"{rule_label(r.rule)} binds in {plan_year}: the plan's total equals the floor, {what}.")
    d.marginal_costs = marginal_costs(inputs, report, money_unit)
    for cost in d.marginal_costs:
        d.messages.append(cost["text"])
    for v in violations:
        if v["rule"] == "long_term_completion":
            d.messages.append(
                f"Branch {v['branch']} cannot finish its long-term target by {v['year']}: short by "
                f"{v['shortfall']:,.0f} 户 even at capacity every year."
            )
        else:
            scale = unit if v["quantity"] == "loans" else 1.0
            what = f"{v['shortfall'] * scale:,.2f} {money_unit}" if v["quantity"] == "loans" else f"{v['shortfall']:,.0f} 户"
            blockers = ", ".join(d.at_capacity[:10]) + (" …" if len(d.at_capacity) > 10 else "")
            d.messages.append(
                f"{rule_label(v['rule'])} cannot be met in {v['year']}: short by {what}"
                + (f"; branches at capacity: {blockers}." if d.at_capacity else "; no branch has room left under its caps.")
            )
    if d.at_capacity:
        d.messages.append(f"{len(d.at_capacity)} branch(es) at capacity in {plan_year}: {', '.join(d.at_capacity[:10])}"
                          + (" …" if len(d.at_capacity) > 10 else ""))
    if d.risk_capped:
        d.messages.append(f"{len(d.risk_capped)} branch(es) over the NPL tolerance {inputs.floors.npl_tolerance:.2%}, "
                          f"micro book growth capped at {inputs.capped_growth:.0%}: {', '.join(d.risk_capped[:10])}")
    return d


def marginal_costs(inputs: PlanInputs, report: SolveReport, money_unit: str) -> list[dict]:
    """Plan-year floor duals from the load stages, in words."""
    costs = []
    per_loan = MONEY_FACTORS["亿元"]  # duals per 万元 → per 亿元
    key_word = KEY_WORDS.get(inputs.key_name, inputs.key_name)
    # θ in the LP is measured in mean keys: divide by the scale for a share of the branch's own key
    scale = {"clients": inputs.key_scale, "loans": report.loan_key_scale}
    for stage, quantity in (("client_load", "clients"), ("loan_load", "loans")):
        for r, dual in report.floor_duals.get(stage, {}).items():
            row = inputs.floors.rows[r]
            if row.year != 0 or row.quantity != quantity or abs(dual) <= DUAL_TOL:
                continue
            if quantity == "clients":
                step, rise = 100, abs(dual) / scale[quantity] * 100
                text = (f"100 more clients on the {rule_label(row.rule)} floor raise every branch's extra load by "
                        f"{rise:.2%} of its {key_word}.")
            else:
                step, rise = 1, abs(dual) / scale[quantity] * per_loan
                text = (f"One more 亿元 on the {rule_label(row.rule)} floor raises every branch's extra loans by "
                        f"{rise:.2%} of its spare loan room (above mid loan size × clients).")
            costs.append({"rule": row.rule, "quantity": quantity, "per": step if quantity == "clients" else "1 亿元",
                          "load_increase": round(rise, 6), "text": text})
    return costs
