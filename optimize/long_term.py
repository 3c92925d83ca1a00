"""Long-term (3–5 year) micro-client targets per managing branch (measure 3 of the memo).

`L_b = T · (w_o·outlets_b/Σoutlets + w_m·client_managers_b/Σclient_managers + w_p·potential_b/Σpotential)`,
capped at `horizon · capacity_b`; what a capped branch cannot take is redistributed over the
branches that still have room, in proportion to their shares (water-filling), then made whole
clients by largest remainder (ties by branch id). Targets set in the scenario are kept as given
and the rest of T is split over the others.
"""

from __future__ import annotations

import numpy as np

from scenarios.schema import Scenario


def capacities(scenario: Scenario) -> np.ndarray:
    """cap_b = new clients per micro client manager × micro client managers, 户 a year."""
    per_manager = scenario.capacity.new_clients_per_micro_client_manager
    return np.array([per_manager * b.micro_client_managers for b in scenario.branches], dtype=float)


def shares(scenario: Scenario, among: np.ndarray | None = None) -> np.ndarray:
    """Each branch's weighted share of outlets, client managers and market potential among the
    branches `among` (default all; the others get 0), summing to 1 over them."""
    w = scenario.cycle.weights
    n = len(scenario.branches)
    among = np.ones(n, dtype=bool) if among is None else among
    columns = [
        (w.outlets, np.array([b.outlets for b in scenario.branches], dtype=float)),
        (w.client_managers, np.array([b.client_managers for b in scenario.branches], dtype=float)),
        (w.market_potential, np.array([b.market_potential or 0.0 for b in scenario.branches], dtype=float)),
    ]
    share = np.zeros(n)
    count = max(int(among.sum()), 1)
    for weight, column in columns:
        if weight > 0:
            column = np.where(among, column, 0.0)
            total = column.sum()
            share += weight * (column / total if total > 0 else np.where(among, 1.0 / count, 0.0))
    return share


def water_fill(total: float, share: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """Split `total` in proportion to `share`, no one above `cap`, the excess re-split over the rest."""
    result = np.zeros_like(share, dtype=float)
    open_ = cap > 0
    remaining = float(total)
    while remaining > 1e-9 and open_.any():
        weights = np.where(open_, share, 0.0)
        if weights.sum() <= 0:  # only zero-share branches left: split evenly
            weights = open_.astype(float)
        proposal = remaining * weights / weights.sum()
        room = cap - result
        over = open_ & (proposal >= room - 1e-12)
        if not over.any():
            result += proposal
            break
        result[over] = cap[over]
        remaining = total - result.sum()
        open_ &= ~over
    return result


def whole_targets(share: np.ndarray, cap: np.ndarray, ids: list[str]) -> np.ndarray:
    """Whole clients from a water-filled split: floors, then +1 by largest remainder (ties by id) within cap."""
    result = np.floor(share + 1e-9)
    total = int(round(share.sum()))
    room = np.flatnonzero(result + 1 <= np.floor(cap + 1e-9))
    order = sorted(room, key=lambda b: (-round(float(share[b] - result[b]), 9), ids[b]))
    result[order[:max(0, total - int(result.sum()))]] += 1
    return result


def long_term_targets(scenario: Scenario, whole: bool = True) -> np.ndarray:
    """L_b for every branch (whole clients if `whole`): given targets kept, the rest of T water-filled under horizon × cap."""
    given = np.array([b.long_term_target if b.long_term_target is not None else np.nan for b in scenario.branches])
    fixed = ~np.isnan(given)
    targets = np.where(fixed, given, 0.0)
    free_total = max(0.0, scenario.cycle.micro_client_target - targets.sum())
    room = np.where(fixed, 0.0, scenario.cycle.horizon_years * capacities(scenario))
    split = water_fill(free_total, shares(scenario, among=~fixed), room)
    targets[~fixed] = (whole_targets(split, room, [b.id for b in scenario.branches]) if whole else split)[~fixed]
    return targets
