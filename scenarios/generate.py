"""Synthetic banks: deterministic, realistic branch tables for examples, tests and benchmarks.

Magnitudes follow a Chinese city commercial bank of 2014 (docs/model.md §5 and the README):
micro loans ≈ 20 % of all loans, about 290万 of micro balance per micro borrower, an all-loan
increment plan ≈ 10.8 % of the book, 12 % yearly client attrition. Branch sizes are
assumptions: 3–25 outlets (county branches smaller), 1.2–2.2 client managers per outlet of whom
15–30 % work on micro lending. Achievement since the cycle began scatters ±40 % around the
schedule, so some branches are ahead and some behind; about 6 % of branches are over the NPL
tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

URBAN_NAMES = [
    "城东", "城西", "城南", "城北", "高新区", "经开区", "滨江", "港区", "新区", "中心", "江北",
    "湖滨", "东湖", "站前", "大学城", "金融街", "开元", "人民路", "解放路", "建设路", "中山路", "科技园",
]
COUNTY_NAMES = [
    "安平县", "永宁县", "清河县", "丰乐县", "长乐县", "临泉县", "南陵县", "石门县", "青阳县", "宁远县",
    "东山县", "平阳县", "新丰县", "太和县",
]
NEW_CLIENTS_PER_MICRO_CM = 45  # 户 a year; assumption, see README
ATTRITION = 0.12  # share of micro clients leaving a year; assumption
MICRO_SHARE_OF_LOANS = 0.20  # micro / all loans (240亿 / 1,200亿)


def branch_names(county: np.ndarray) -> list[str]:
    """Readable, unique branch names: urban and county names in turn, then numbered."""
    pools = {False: iter(URBAN_NAMES), True: iter(COUNTY_NAMES)}
    return [f"{next(pools[bool(c)], f'第{i + 1:03d}')}支行" for i, c in enumerate(county)]


def synthetic_bank(
    n_branches: int,
    seed: int = 2014,
    *,
    plan_year: int = 2014,
    start_year: int = 2013,
    horizon_years: int = 5,
    preset: str = "two_not_lower",
    name: str | None = None,
    loan_growth: float = 1.0,
) -> dict[str, Any]:
    """A raw scenario mapping (万元, inline branches) for a bank of `n_branches` branches.

    Deterministic for a given seed. `loan_growth` scales every balance (later years of a bank).
    """
    if n_branches < 1:
        raise ValueError(f"n_branches must be ≥ 1 (got {n_branches})")
    rng = np.random.default_rng(seed)
    county = np.arange(n_branches) % 2 == 1
    county &= rng.random(n_branches) < 0.8  # about 40 % county branches
    outlets = np.where(
        county,
        np.clip(np.round(rng.lognormal(np.log(6), 0.35, n_branches)), 3, 12),
        np.clip(np.round(rng.lognormal(np.log(11), 0.4, n_branches)), 4, 25),
    ).astype(int)
    client_managers = np.maximum(2, np.round(outlets * rng.uniform(1.2, 2.2, n_branches))).astype(int)
    micro_cms = np.clip(np.round(client_managers * rng.uniform(0.15, 0.30, n_branches)), 1, client_managers).astype(int)
    micro_clients = np.round(micro_cms * rng.uniform(45, 80, n_branches)).astype(int)
    micro_loans = np.round(micro_clients * rng.uniform(250, 330, n_branches) * loan_growth, 0)
    capacity = micro_cms * NEW_CLIENTS_PER_MICRO_CM
    cycle_target = int(round(0.8 * horizon_years * capacity.sum(), -2 if n_branches > 5 else 0))
    share = 0.4 * outlets / outlets.sum() + 0.6 * client_managers / client_managers.sum()
    years_done = plan_year - start_year
    schedule = cycle_target * share * years_done / horizon_years
    achieved = np.round(schedule * rng.uniform(0.6, 1.4, n_branches))
    # nobody so far behind that the rest of the cycle at 95 % capacity cannot catch up
    reachable = np.minimum(cycle_target * share, horizon_years * capacity) - 0.95 * capacity * (horizon_years - years_done)
    achieved = np.maximum(achieved, np.ceil(reachable)).astype(int)
    last_target = np.round(cycle_target * share / horizon_years)
    last_actual = np.round(last_target * rng.uniform(0.6, 1.4, n_branches)) if years_done else last_target
    size_min = np.round(rng.uniform(15, 30, n_branches), 1)
    size_max = np.round(size_min + rng.uniform(40, 70, n_branches), 1)
    npl = np.round(rng.uniform(0.005, 0.025, n_branches), 4)
    risky = rng.random(n_branches) < 0.06
    npl[risky] = np.round(rng.uniform(0.035, 0.06, risky.sum()), 4)

    names = branch_names(county)
    branches = [
        {
            "id": f"B{i + 1:0{max(2, len(str(n_branches)))}d}",
            "name": names[i],
            "outlets": int(outlets[i]),
            "client_managers": int(client_managers[i]),
            "micro_client_managers": int(micro_cms[i]),
            "micro_clients": int(micro_clients[i]),
            "micro_loans": float(micro_loans[i]),
            "achieved_clients": int(achieved[i]),
            "long_term_target": None,
            "last_year_target": float(last_target[i]),
            "last_year_actual": float(last_actual[i]),
            "loan_size_min": float(size_min[i]),
            "loan_size_max": float(size_max[i]),
            "npl_ratio": float(npl[i]),
        }
        for i in range(n_branches)
    ]
    micro_total = float(micro_loans.sum())
    all_loans = round(micro_total / MICRO_SHARE_OF_LOANS, -3)
    return {
        "name": name or f"合成银行 {n_branches} 家管辖行 (seed {seed})",
        "plan_year": plan_year,
        "units": {"money": "万元"},
        "regulation": {"preset": preset},
        "bank": {
            "all_loans_prev": all_loans,
            "all_loan_increment_plan": round(all_loans * 0.108, -3),
            "micro_loans_prev": micro_total,
            "micro_loan_increment_prev": round(micro_total * 0.13, -3),
            "micro_clients_prev": int(micro_clients.sum()),
            "micro_client_attrition": ATTRITION,
            "approval_rate_prev": 0.91,
            "npl_ratio": 0.012,
        },
        "cycle": {
            "start_year": start_year,
            "horizon_years": horizon_years,
            "micro_client_target": cycle_target,
            "weights": {"outlets": 0.4, "client_managers": 0.6},
        },
        "capacity": {"new_clients_per_micro_client_manager": NEW_CLIENTS_PER_MICRO_CM},
        "policy": {"name": "catch_up"},
        "branches": branches,
    }
