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
