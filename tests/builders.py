"""Small scenario builders for hand-checked cases and hypothesis strategies (raw mappings, 万元)."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

from scenarios import Scenario, scenario_from_dict


def branch(bid: str, **fields: Any) -> dict[str, Any]:
    """A branch row with quiet defaults: 10 micro managers × 10 = capacity 100 a year."""
    row = {
        "id": bid, "name": f"支行{bid}", "outlets": 5, "client_managers": 20, "micro_client_managers": 10,
        "micro_clients": 300, "micro_loans": 10000.0, "achieved_clients": 0, "long_term_target": 250,
        "last_year_target": 50, "last_year_actual": 50, "loan_size_min": 10.0, "loan_size_max": 30.0,
        "npl_ratio": 0.01,
    }
    row.update(fields)
    return row


def raw_scenario(branches: list[dict[str, Any]], *, preset: str = "custom", rules: dict | None = None,
                 **sections: Any) -> dict[str, Any]:
    """A scenario mapping around `branches`; plan year 2014 in a 2014–2018 cycle by default."""
    data: dict[str, Any] = {
        "name": "test bank",
        "plan_year": 2014,
        "units": {"money": "万元"},
        "regulation": {"preset": preset, "rules": rules or {}},
        "bank": {
            "all_loans_prev": max(1_000_000.0, 5 * sum(b["micro_loans"] for b in branches)), "all_loan_increment_plan": 100_000.0,
            "micro_loans_prev": sum(b["micro_loans"] for b in branches), "micro_loan_increment_prev": 0.0,
            "micro_clients_prev": sum(b["micro_clients"] for b in branches), "micro_client_attrition": 0.1,
        },
        "cycle": {"start_year": 2014, "horizon_years": 5, "micro_client_target": 1000},
        "capacity": {"new_clients_per_micro_client_manager": 10, "max_change": 1.0},
        "risk": {"book_change_min": 0.0, "book_change_max": 0.0},
        "branches": branches,
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def build(raw: dict[str, Any]) -> Scenario:
    """Validate a raw mapping into a Scenario."""
    return scenario_from_dict(copy.deepcopy(raw))


@st.composite
def branch_rows(draw: st.DrawFn, n_min: int = 2, n_max: int = 6) -> list[dict[str, Any]]:
    """Random valid branch rows with explicit long-term targets."""
    n = draw(st.integers(n_min, n_max))
    rows = []
    for i in range(n):
        managers = draw(st.integers(1, 12))
        cap = 10 * managers
        target = draw(st.integers(0, 5 * cap))
        size_min = draw(st.floats(5, 40, allow_nan=False))
        rows.append(branch(
            f"B{i}", micro_client_managers=managers, client_managers=managers + draw(st.integers(0, 10)),
            outlets=draw(st.integers(1, 20)), long_term_target=target,
            achieved_clients=draw(st.integers(0, target)) if target else 0,
            micro_clients=draw(st.integers(0, 2000)), micro_loans=round(draw(st.floats(0, 200_000)), 2),
            loan_size_min=round(size_min, 2), loan_size_max=round(size_min + draw(st.floats(0, 60, allow_nan=False)), 2),
            last_year_actual=float(draw(st.integers(0, cap))),
        ))
    return rows


@st.composite
def scenarios_raw(draw: st.DrawFn, preset: str | None = None) -> dict[str, Any]:
    """A random valid scenario mapping: 2–6 branches, random floors that may or may not bind."""
    rows = draw(branch_rows())
    raw = raw_scenario(rows, preset=preset or draw(st.sampled_from(["two_not_lower", "three_not_lower", "custom"])))
    raw["plan_year"] = 2014 + draw(st.integers(0, 2))
    raw["bank"]["micro_loan_increment_prev"] = round(draw(st.floats(0, 60_000)), 2)
    raw["bank"]["all_loan_increment_plan"] = round(draw(st.floats(0, 200_000)), 2)
    raw["bank"]["micro_client_attrition"] = round(draw(st.floats(0, 0.5)), 4)
    return raw


# ---------------------------------------------------------------- banks where every rule binds

#: Every preset, and the rules each one switches on that a margin can be put on.
PRESET_FLOOR_RULES: dict[str, tuple[str, ...]] = {
    "two_not_lower": ("growth_rate", "increment"),
    "three_not_lower": ("growth_rate", "borrower_count"),
    "two_increase_two_control": ("growth_rate", "borrower_count"),
    "custom": ("growth_rate", "increment", "borrower_count"),
}
POLICIES = ("catch_up", "ratchet", "proportional")
SHARING_KEYS = ("spare_capacity", "outlets", "client_managers")
#: New clients per micro client manager in `plan_banks` (capacity = 10 × managers).
PER_MANAGER = 10


def smoothing_bounds(last_target: float | None, cap: float, max_change: float) -> tuple[float, float]:
    """The plan year's client box: [min(cap, max(0, T − c·cap)), min(cap, T + c·cap)], [0, cap] without T."""
    if last_target is None:
        return 0.0, cap
    step = max_change * cap
    lo = min(cap, max(0.0, last_target - step))
    return lo, max(lo, min(cap, last_target + step))


@st.composite
def plan_banks(draw: st.DrawFn, policy: str | None = None, preset: str | None = None,
               n_min: int = 2, n_max: int = 5,
               pressures: tuple[float, ...] = (0.0, 0.3, 0.8, 1.2, 2.0)) -> dict[str, Any]:
    """A small bank (2–5 branches) drawn so that each rule of the plan binds in a fair share of examples.

    - smoothing: max_change down to 0.05 and last year's targets far from the pace (or absent);
    - risk caps: branch NPLs of 0–8 % against tolerances of 0.5–6 % (两增两控: bank NPL + pp − margin);
    - the existing-book band: book_change_min/max of 0, ±5 %, −10/+2 %, 0/+8 %;
    - floors: the borrower count, growth and increment floors are set at 0.3–2× what the branches
      can do (2×: above total capacity, a shortfall), with margins of −10 % to +20 % on each rule;
    - department targets: a buffer, or explicit plan-year numbers;
    - `pressures` narrows the floor levels (P5 asks for floors that do not bind, so it draws low ones);
    - every preset, policy and sharing key; branches with 0 outlets, 0 micro managers (capacity 0)
      and last actual 0 (a zero ratchet key).

    Hard rules never conflict here: a branch's band low at its smoothing floor stays under its
    risk cap (loan_size_min is lowered where needed; the conflict has its own test in
    tests/test_plan_rules.py), and 0 ≥ book_change_min, capped_growth ∈ [0, 1].
    """
    n = draw(st.integers(n_min, n_max))
    preset = preset or draw(st.sampled_from(list(PRESET_FLOOR_RULES)))
    policy = policy or draw(st.sampled_from(POLICIES))
    max_change = draw(st.sampled_from([0.05, 0.1, 0.3, 1.0, 2.0]))
    book_min, book_max = draw(st.sampled_from([(0.0, 0.0), (-0.05, 0.05), (-0.1, 0.02), (0.0, 0.08)]))
    capped_growth = draw(st.sampled_from([0.0, 0.05, 0.2]))
    horizon = draw(st.sampled_from([3, 5]))
    plan_year = 2014 + draw(st.integers(0, horizon - 1))
    rows = []
    for i in range(n):
        managers = draw(st.sampled_from([0, 1, 3, 5, 8, 12]))
        cap = PER_MANAGER * managers
        target = draw(st.integers(0, horizon * max(cap, 10)))
        last_target = draw(st.one_of(st.none(), st.integers(0, 2 * cap + 20).map(float)))
        size_min = float(draw(st.sampled_from([0.0, 5.0, 10.0, 20.0])))
        micro_loans = float(draw(st.sampled_from([0.0, 1_000.0, 5_000.0, 20_000.0])))
        lo, _ = smoothing_bounds(last_target, cap, max_change)
        if lo > 0:  # band low at the smoothing floor ≤ the risk cap, should the branch be capped
            size_min = min(size_min, float(int((capped_growth - book_min) * micro_loans / lo)))
        rows.append(branch(
            f"B{i}", outlets=draw(st.sampled_from([0, 1, 3, 8])), client_managers=managers + draw(st.integers(0, 6)),
            micro_client_managers=managers, micro_clients=100, micro_loans=micro_loans,
            long_term_target=draw(st.one_of(st.none(), st.just(target))),
            achieved_clients=draw(st.integers(0, target)),
            last_year_target=last_target,
            last_year_actual=draw(st.sampled_from([None, 0.0, float(cap // 2), float(cap)])),
            loan_size_min=size_min, loan_size_max=size_min + float(draw(st.sampled_from([0.0, 10.0, 30.0]))),
            npl_ratio=draw(st.sampled_from([0.0, 0.01, 0.02, 0.04, 0.08])),
        ))
    total_cap = PER_MANAGER * sum(r["micro_client_managers"] for r in rows) or 10
    mid_loans = sum(PER_MANAGER * r["micro_client_managers"] * (r["loan_size_min"] + r["loan_size_max"]) / 2 for r in rows) or 100.0
    pressure = st.sampled_from(list(pressures))  # × what the branches can do (2.0: infeasible)
    attrition = draw(st.sampled_from([0.05, 0.12, 0.3]))
    micro_prev = max(1_000.0, sum(r["micro_loans"] for r in rows))
    rules: dict[str, dict] = {}
    for rule in PRESET_FLOOR_RULES[preset]:
        if preset == "custom" and not draw(st.booleans()):
            continue
        rules[rule] = {"margin": draw(st.sampled_from([0.0, 0.0, -0.1, 0.05, 0.2]))}
    if preset == "two_increase_two_control":
        rules["asset_quality"] = {"margin": draw(st.sampled_from([0.0, 0.005, 0.01]))}
    department: dict[str, Any] = {"buffer": draw(st.sampled_from([0.0, 0.0, 0.1, 0.3]))}
    if draw(st.integers(0, 3)) == 0:
        department["micro_client_increment"] = round(draw(pressure) * total_cap)
    if draw(st.integers(0, 3)) == 0:
        department["micro_loan_increment"] = round(draw(pressure) * mid_loans, 2)
    raw = raw_scenario(
        rows, preset=preset, rules=rules, plan_year=plan_year,
        regulation={"preset": preset, "rules": rules, "npl_tolerance_pp": draw(st.sampled_from([0.0, 0.01, 0.03]))},
        bank={"micro_loans_prev": micro_prev, "all_loans_prev": 10 * micro_prev,
              "all_loan_increment_plan": round(draw(pressure) * mid_loans * 10, 2),
              "micro_loan_increment_prev": round(draw(pressure) * mid_loans, 2),
              "micro_clients_prev": int(draw(pressure) * total_cap / attrition), "micro_client_attrition": attrition,
              "npl_ratio": draw(st.sampled_from([0.005, 0.012, 0.03]))},
        cycle={"start_year": 2014, "horizon_years": horizon,
               "micro_client_target": int(draw(st.sampled_from([0.5, 1.0, 1.5])) * horizon * total_cap)},
        capacity={"new_clients_per_micro_client_manager": PER_MANAGER, "max_change": max_change},
        risk={"book_change_min": book_min, "book_change_max": book_max, "capped_growth": capped_growth,
              "npl_tolerance": draw(st.sampled_from([0.015, 0.03, 0.06]))},
        targets=department,
        policy={"name": policy, "sharing_key": draw(st.sampled_from(SHARING_KEYS)), "ratchet_growth": 0.1},
    )
    return raw


def rule_events(raw: dict[str, Any], plan: Any) -> list[str]:
    """Labels of what bound in one planned example, worked out from the raw scenario and the plan's table.

    Used with hypothesis `event()` so that a property whose examples never made a rule bind shows it
    in `--hypothesis-show-statistics` instead of passing silently.
    """
    import numpy as np

    from optimize.check import risk_capped

    scenario = build(raw)
    labels = [f"policy {plan.inputs.policy}", f"preset {raw['regulation']['preset']}",
              f"key {plan.inputs.key_name}"]
    year = raw["plan_year"]
    floors = plan.floor_values[plan.floor_values["year"] == year]
    for r in floors.itertuples(index=False):
        if r.total <= r.required + 1e-3 * max(1.0, abs(r.required)):
            labels.append(f"binds: {r.rule}")
    labels += [f"violation: {v['rule']}" for v in plan.violations]
    if any(w["rule"] == "long_term_completion" for w in plan.warnings):
        labels.append("warning: long_term_completion")
    if any(w.get("indicative") for w in plan.warnings):
        labels.append("warning: indicative rolling year")
    wide_x = plan.targets.pivot(index="branch", columns="year", values="target_clients").loc[[r["id"] for r in raw["branches"]]]
    wide_y = plan.targets.pivot(index="branch", columns="year", values="target_loan_increment").loc[wide_x.index]
    c = raw["capacity"]["max_change"]
    for b, row in enumerate(raw["branches"]):
        cap = PER_MANAGER * row["micro_client_managers"]
        lo, hi = smoothing_bounds(row["last_year_target"], cap, c)
        x0 = wide_x.iloc[b, 0]
        if (hi < cap - 1e-6 and x0 >= hi - 1e-6) or (lo > 1e-6 and x0 <= lo + 1e-6):
            labels.append("binds: smoothing from last year's target")
        steps = np.abs(np.diff(wide_x.iloc[b].to_numpy()))
        if len(steps) and c * cap < cap and (steps >= c * cap - 1e-6).any() and c * cap > 0:
            labels.append("binds: smoothing between years")
    capped = risk_capped(scenario)
    if capped.any():
        labels.append("risk-capped branch")
        r = raw["risk"]["capped_growth"]
        for b in np.flatnonzero(capped):
            book = raw["branches"][b]["micro_loans"] + np.concatenate([[0.0], np.cumsum(wide_y.iloc[b].to_numpy())[:-1]])
            if (wide_y.iloc[b].to_numpy() >= r * book - 1e-6).any():
                labels.append("binds: risk cap")
                break
    if raw["risk"]["book_change_min"] or raw["risk"]["book_change_max"]:
        labels.append("book band non-zero")
    labels += [f"margin on {rule}" for rule, s in raw["regulation"]["rules"].items() if s.get("margin")]
    if raw.get("targets", {}).get("buffer"):
        labels.append("department buffer")
    if {"micro_client_increment", "micro_loan_increment"} & {k for k, v in raw.get("targets", {}).items() if v is not None}:
        labels.append("department target")
    zero = plan.inputs.key <= 0
    table = plan.branch_table()
    if (zero & (table["target_clients"].to_numpy() > plan.report.windows["plan_year"].ref[:, 0] + 1e-6)).any():
        labels.append("zero-key branch takes load")
    elif zero.any():
        labels.append("zero-key branch")
    if (np.array([r["outlets"] for r in raw["branches"]]) == 0).any():
        labels.append("branch with 0 outlets")
    return labels


def exact_plan(scenario: Scenario, policy: str | None = None, engine: str = "auto") -> Any:
    """The plan with the LP's own values (no rounding to whole clients), where the engine can round.

    The rules are LP rules; rounding to whole units (when `make_plan` has its `whole` switch) moves
    each target by less than one unit and is tested on its own.
    """
    import inspect

    from optimize.plan import make_plan

    if "whole" in inspect.signature(make_plan).parameters:
        return make_plan(scenario, policy, engine=engine, whole=False)
    return make_plan(scenario, policy, engine=engine)


def wide(plan: Any, column: str = "target_clients") -> Any:
    """One row per branch (scenario order), one column per year."""
    return plan.targets.pivot(index="branch", columns="year", values=column).loc[list(plan.inputs.branch_ids)]


def exact_plan_inputs(scenario: Scenario) -> Any:
    """The LP's data as `exact_plan` sees it (long-term targets not made whole, where they can be)."""
    import inspect

    from optimize.inputs import plan_inputs

    if "whole" in inspect.signature(plan_inputs).parameters:
        return plan_inputs(scenario, whole=False)
    return plan_inputs(scenario)
