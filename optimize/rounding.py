"""Whole clients and loans to the rounding unit: the targets people receive.

A branch is given 134 new clients, not 134.1. Rounding runs inside the staged solve
(`optimize.solve`), year by year: a year's clients are rounded before its loans are solved on
them, and its loans before the next year is decided, so every later rule sees the rounded values.

Each branch moves by less than one unit from the LP's value (to the unit below or above it).
Which branches go up is an apportionment of the year's total (largest remainder, counting what
earlier years of the window rounded away, ties broken by branch id, so identical branches differ
by at most one unit):

- the total is the LP total rounded to the nearest unit (halves up), raised to the year's floor
  rounded up where the LP met that floor, and kept between the sums of what each branch may take;
- a branch may take a unit only inside its limits: capacity and smoothing (clients), the loan
  band and risk cap (loans); a locked target is kept exactly and takes no part;
- in the cycle's last year a branch whose LP plan finishes its long-term target still finishes it.

If a branch's limits hold no multiple of the unit next to its LP value (a loan band narrower than
the unit), its loan keeps the LP value; clients go to the whole number below their upper limit (smoothing's
lower end may give by less than one client; the plan checker reports it).
"""

from __future__ import annotations

import numpy as np

from optimize.window import Window

#: LP values this close to a multiple of the unit are that multiple (solver noise).
SNAP = 1e-6
#: LP values are quantised to this (in units) before rounding: the engines agree to ~1e-6.
QUANTUM = 1e-4


def unit_range(value: np.ndarray, lo: np.ndarray, hi: np.ndarray, whole: bool) -> tuple[np.ndarray, np.ndarray]:
    """The multiples of 1 next to `value` that lie in [lo, hi]: (lowest, highest).

    `value` is in units, quantised to `QUANTUM` first so that the two engines (which agree to
    ~1e-6) round alike. When neither neighbour lies in [lo, hi] (limits narrower than a unit):
    if `whole`, the whole number just below the upper limit (capacity and a risk cap's limit are
    kept; smoothing's lower end gives by less than one client, which the checker reports), else the
    value itself (a loan keeps its LP value rather than leave its band).
    """
    value = np.round(value / QUANTUM) * QUANTUM
    down, up = np.floor(value + SNAP), np.ceil(value - SNAP)
    low = np.where(down >= lo - SNAP, down, up)
    high = np.where(up <= hi + SNAP, up, down)
    empty = (low > high) | (low < lo - SNAP) | (high > hi + SNAP)
    # clients: the whole number below the upper limit (capacity and the risk cap before smoothing's floor)
    keep = np.maximum(np.floor(hi + SNAP), 0.0) if whole else value
    return np.where(empty, keep, low), np.where(empty, keep, high)


def apportion(value: np.ndarray, low: np.ndarray, high: np.ndarray, total: float, ids: tuple[str, ...]) -> np.ndarray:
    """Σ result = total (clamped to [Σ low, Σ high]); branches go up by largest remainder, ties by id."""
    result = low.copy()
    ups = int(round(min(max(total, low.sum()), high.sum()) - low.sum()))
    can = np.flatnonzero(high > low)
    if ups > 0 and len(can):
        remainder = np.round((value[can] - low[can]) / QUANTUM) * QUANTUM
        order = sorted(range(len(can)), key=lambda i: (-float(remainder[i]), ids[can[i]]))
        result[can[order[:ups]]] += 1.0
    return result


def year_total(lp_total: float, required: float | None) -> float:
    """The year's rounded total: nearest (halves up), at least the floor rounded up if the LP met it."""
    lp_total = round(lp_total / QUANTUM) * QUANTUM
    total = float(np.floor(lp_total + 0.5 + SNAP))
    if required is not None and lp_total >= required - SNAP * max(1.0, abs(required)):
        total = max(total, float(np.ceil(required - SNAP * max(1.0, abs(required)))))
    return total


def required_total(w: Window, quantity: str, t: int, totals: list[float]) -> float | None:
    """The highest floor of window year t on `quantity`, given the window's earlier (rounded) totals."""
    values = [f.const + sum(c * totals[s] for s, c in f.coupling.items())
              for f in w.floors if f.year == t and f.row.quantity == quantity]
    return max(values) if values else None


def round_clients(w: Window, x: np.ndarray, capacity: np.ndarray, max_change: float, ids: tuple[str, ...],
                  locked: np.ndarray, risk_limit: np.ndarray | None = None) -> np.ndarray:
    """Whole clients for the window's years (n, W), year by year, keeping capacity, smoothing and floors.

    `risk_limit` (n,): the most clients a risk-capped branch can take with its loans in the band.
    """
    n, W = x.shape
    result = np.zeros((n, W))
    totals: list[float] = []
    step = max_change * capacity
    for t in range(W):
        lo, hi = w.x_lo[:, t].copy(), w.x_hi[:, t].copy()
        if risk_limit is not None:
            hi = np.maximum(np.minimum(hi, risk_limit), lo)
        if t > 0:  # smoothing from the previous, already rounded year
            lo = np.maximum(lo, result[:, t - 1] - step)
            hi = np.minimum(hi, result[:, t - 1] + step)
        low, high = unit_range(x[:, t], lo, hi, whole=True)
        if w.completion_need is not None and t == W - 1:  # keep long-term completion where the LP met it
            need = w.completion_need - result[:, :t].sum(axis=1)
            met = x.sum(axis=1) >= w.completion_need - SNAP * np.maximum(1.0, w.completion_need)
            low = np.where(met, np.clip(np.ceil(need - SNAP), low, high), low)
        fixed = ~np.isnan(locked) if t == 0 and w.phase == "plan_year" else np.zeros(n, dtype=bool)
        low[fixed] = high[fixed] = x[fixed, t]
        required = required_total(w, "clients", t, totals)
        total = year_total(float(x[:, t].sum()), required)
        carry = (x[:, :t] - result[:, :t]).sum(axis=1)  # what earlier years rounded away: goes up first
        result[:, t] = apportion(x[:, t] + carry, low, high, total, ids)
        totals.append(float(result[:, t].sum()))
    return result


def round_loans(y: np.ndarray, low: np.ndarray, high: np.ndarray, w: Window, unit: float, ids: tuple[str, ...],
                locked: np.ndarray) -> np.ndarray:
    """Loans of one year (n,) to multiples of `unit` (万元) within [low, high], keeping the year's floor."""
    lo_u, hi_u = unit_range(y / unit, low / unit, high / unit, whole=False)
    fixed = ~np.isnan(locked)
    required = required_total(w, "loans", 0, [])
    free_required = None if required is None else (required - float(y[fixed].sum())) / unit
    lp_free = float(y[~fixed].sum()) / unit
    total = year_total(lp_free, free_required)
    result = np.where(fixed, y, 0.0)
    free = np.flatnonzero(~fixed)
    result[free] = apportion(y[free] / unit, lo_u[free], hi_u[free], total, tuple(ids[b] for b in free)) * unit
    return result
