"""The data of one solve phase: the years it decides, with everything before them fixed.

A `Window` is what both engines build their LP from (one source of truth for the phase data):
the years decided, each branch's client box (capacity and smoothing from the year before the
window), the floor rows of those years with the fixed years folded into their constants, each
risk-capped book at the window's start, and what is left of each branch's long-term need.

Index letters: b branch, t window year (0 = the window's first year), s an earlier year.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from optimize.inputs import PlanInputs, normalised
from optimize.regulation import FloorRow
from optimize.stages import MIN_LOAN_KEY, TIER_WEIGHTS, Phase, Tier


@dataclass(frozen=True)
class WindowFloor:
    """`total[t] − Σ_s coupling[s]·total[s] + shortfall ≥ const` over the window's totals."""

    index: int  # position in inputs.floors.rows
    row: FloorRow
    year: int  # window position
    const: float  # the row's constant with the fixed years' totals folded in
    coupling: dict[int, float]  # window position → coefficient


@dataclass(frozen=True)
class Window:
    """One phase's years and data (arrays (n, W) unless said otherwise, money in 万元)."""

    phase: Phase
    offsets: tuple[int, ...]  # positions in inputs.years
    x_lo: np.ndarray  # client box: capacity, and smoothing from the year before the window
    x_hi: np.ndarray
    ref: np.ndarray  # the policy's reference clamped to the box: load is measured above it
    key: np.ndarray  # (n,) the sharing key of this window's year, normalised to mean 1 (0: zero key)
    floors: tuple[WindowFloor, ...]
    book: np.ndarray  # (n,) micro book at the window's start: M_b + Σ fixed y
    completion_need: np.ndarray | None  # (n,) L − A − Σ fixed x, in the cycle's last phase only
    year_weight: np.ndarray  # (W,) weight of each window year in the stage objectives
    x_fixed: np.ndarray  # (n, S) clients of the years before the window
    y_fixed: np.ndarray  # (n, S) loans of the years before the window
    risk_capped: np.ndarray  # (n,) bool: over the NPL tolerance and not locked
    loan_lock: np.ndarray  # (n,) a negotiated loan target for a one-year plan-year window (NaN: none)

    def band_low_book(self, inputs: PlanInputs) -> np.ndarray:
        """e_min of the loan band's low end, lowered to r·book for risk-capped branches where it is above.

        Measure 7 wins over the band: a capped branch whose band would start above its cap is held
        at the cap (with no new clients the band's low end is e_min), so the LP always has a plan.
        """
        cap = inputs.capped_growth * self.book
        return np.where(self.risk_capped, np.minimum(inputs.book_min, cap), inputs.book_min)

    def client_cap_from_risk(self, inputs: PlanInputs) -> np.ndarray:
        """The most clients a risk-capped branch can take with its loans inside the band (`risk_client_limit`)."""
        return np.where(self.risk_capped, risk_client_limit(inputs, self.book), np.inf)

    def locked_loans(self) -> dict[int, float]:
        """Branch → locked loan target of this (one-year) window."""
        return {int(b): float(self.loan_lock[b]) for b in np.flatnonzero(~np.isnan(self.loan_lock))}

    def loan_limits(self, inputs: PlanInputs) -> tuple[np.ndarray, np.ndarray]:
        """A one-year window's loan limits per branch, with its clients fixed: (low, high), 万元.

        The band s_min·x + e_min ≤ y ≤ s_max·x + e_max; for a risk-capped branch y ≤ r·book (the
        book is fixed in a one-year window, so the cap is a bound, and it wins over the band's
        low end: measure 7 before the loan-size band); a locked loan is its own value.
        """
        low, _, high = (a[:, 0] for a in loan_band(inputs, self.x_lo))
        cap = inputs.capped_growth * self.book
        high = np.where(self.risk_capped, np.minimum(high, cap), high)
        low = np.minimum(low, high)
        locked = ~np.isnan(self.loan_lock)
        return np.where(locked, self.loan_lock, low), np.where(locked, self.loan_lock, high)

    @property
    def size(self) -> int:
        return len(self.offsets)


@dataclass
class StageResult:
    """What an engine returns for a window's client stages (x) or a year's loan stages (y)."""

    values: np.ndarray  # (n, W)
    objectives: dict[str, float]  # "phase/stage" → optimum
    highs_seconds: float  # HiGHS's own time (0 where the engine does not report it)


def smoothing_box(capacity: np.ndarray, before: np.ndarray, max_change: float) -> tuple[np.ndarray, np.ndarray]:
    """max(0, x_{t−1} − c·cap) ≤ x_t ≤ x_{t−1} + c·cap, within [0, cap]; capacity wins if they miss.

    `before` is NaN where there is no previous value (no last year's target): then [0, cap].
    """
    step = max_change * capacity
    known = ~np.isnan(before)
    prev = np.where(known, before, 0.0)
    lo = np.where(known, np.minimum(capacity, np.maximum(0.0, prev - step)), 0.0)
    hi = np.where(known, np.minimum(capacity, prev + step), capacity)
    return lo, np.maximum(hi, lo)


def risk_client_limit(inputs: PlanInputs, book: np.ndarray) -> np.ndarray:
    """x ≤ (r·book − e_min') / s_min for risk-capped branches (s_min·x + e_min' ≤ r·book), ∞ for the others.

    e_min' = min(e_min, r·book): the band's low end gives way to the cap where it would start above it.
    """
    cap = inputs.capped_growth * book
    e_min = np.minimum(inputs.book_min, cap)
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = np.where(inputs.size_min > 0, (cap - e_min) / inputs.size_min, np.inf)
    return np.where(inputs.risk_capped, np.maximum(limit, 0.0), np.inf)


def effective_reference(reference: np.ndarray, x_lo: np.ndarray, x_hi: np.ndarray) -> np.ndarray:
    """ref'[b,t] = clamp(ref[b], x_lo[b,t], x_hi[b,t]).

    What smoothing or capacity forces is not extra load: measured from the raw reference, a
    branch pushed up by its smoothing floor would set the min-max load θ for everybody and leave
    the rest of the extra to the simplex's whim (found by the twin property test).
    """
    return np.clip(reference[:, None], x_lo, x_hi)


def window_floors(rows: tuple[FloorRow, ...], offsets: tuple[int, ...], fixed_totals: dict[str, np.ndarray]) -> tuple[WindowFloor, ...]:
    """The floor rows of the window's years; coupling to fixed (earlier) years becomes constant."""
    position = {o: i for i, o in enumerate(offsets)}
    result = []
    for index, row in enumerate(rows):
        if row.year not in position:
            continue
        const, coupling = row.const, {}
        for s, c in row.coupling.items():
            if s in position:
                coupling[position[s]] = c
            else:
                const += c * float(fixed_totals[row.quantity][s])
        result.append(WindowFloor(index, row, position[row.year], const, coupling))
    return tuple(result)


def make_window(inputs: PlanInputs, phase: Phase, x_fixed: np.ndarray, y_fixed: np.ndarray,
                offsets: tuple[int, ...] | None = None) -> Window:
    """The window of year `offsets` (default: the next year) given the years before it, fixed (`x_fixed`, `y_fixed`: (n, S))."""
    T = len(inputs.years)
    S = x_fixed.shape[1]
    if offsets is None:
        offsets = (S,)
    assert S == offsets[0], "the years before the window must be fixed"
    n = len(inputs.branch_ids)
    W = len(offsets)
    before = inputs.last_target if S == 0 else x_fixed[:, -1]
    lo0, hi0 = smoothing_box(inputs.capacity, before, inputs.max_change)
    x_lo = np.zeros((n, W))
    x_hi = np.repeat(inputs.capacity[:, None], W, axis=1)
    x_lo[:, 0], x_hi[:, 0] = lo0, hi0
    risk_limit = risk_client_limit(inputs, inputs.micro_loans + y_fixed.sum(axis=1))
    x_hi[:, 0] = np.minimum(x_hi[:, 0], risk_limit)  # measure 7 before smoothing: a capped book cannot carry more
    x_lo[:, 0] = np.minimum(x_lo[:, 0], x_hi[:, 0])
    plan_year = offsets[0] == 0
    locked = ~np.isnan(inputs.locked_clients) if plan_year else np.zeros(n, dtype=bool)
    x_lo[locked, 0] = x_hi[locked, 0] = inputs.locked_clients[locked]  # a lock overrides capacity and smoothing
    loan_locked = ~np.isnan(inputs.locked_loans) if plan_year else np.zeros(n, dtype=bool)
    fixed_totals = {"clients": x_fixed.sum(axis=0), "loans": y_fixed.sum(axis=0)}
    need = None
    if inputs.completion_need is not None and offsets[-1] == T - 1:
        need = inputs.completion_need - x_fixed.sum(axis=1)
    reference, key = year_reference(inputs, x_fixed)
    ref = effective_reference(reference, x_lo, x_hi)
    return Window(
        phase=phase,
        offsets=offsets,
        x_lo=x_lo,
        x_hi=x_hi,
        ref=ref,
        key=window_key(inputs, ref[:, 0], key),
        floors=window_floors(inputs.floors.rows, offsets, fixed_totals),
        book=inputs.micro_loans + y_fixed.sum(axis=1),
        completion_need=need,
        year_weight=np.ones(W),
        x_fixed=x_fixed,
        y_fixed=y_fixed,
        risk_capped=inputs.risk_capped & ~(locked | loan_locked),
        loan_lock=np.where(loan_locked, inputs.locked_loans, np.nan) if W == 1 else np.full(n, np.nan),
    )


def spare_capacity(capacity: np.ndarray, clamped_reference: np.ndarray) -> np.ndarray:
    """key_b = max(0, cap_b − ref'_b): the room above what the branch is already asked (ref' = its
    reference clamped to its box). Not cap − pace: for a branch that smoothing holds above its pace,
    booking more lowers the pace but not ref', and a key cap − pace grew with it — its share of a
    floor's extra rose with what it booked (the ratchet the catch-up policy exists to remove)."""
    return np.maximum(capacity - clamped_reference, 0.0)


def window_key(inputs: PlanInputs, clamped_reference: np.ndarray, key: np.ndarray) -> np.ndarray:
    """The window's normalised sharing key: catch-up's spare capacity above the clamped reference; else `key`."""
    if inputs.policy == "catch_up" and inputs.key_name == "spare_capacity":
        return normalised(spare_capacity(inputs.capacity, clamped_reference))[0]
    return key


def year_reference(inputs: PlanInputs, x_fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The policy's reference and (normalised) sharing key for the year after the fixed ones.

    The plan year uses the scenario's (`optimize.inputs.plan_inputs`). A rolling year applies the
    policy again to the planned path, as the planner will next year if each branch meets its
    target: catch-up recomputes the pace max(0, L − A − Σ planned)/years left (and spare capacity
    from it); ratchet takes last year's target × (1 + g); proportional keeps its zero reference.
    """
    S = x_fixed.shape[1]
    if S == 0:
        return inputs.reference, inputs.key
    years_left = len(inputs.years) - S
    if inputs.policy == "catch_up":
        pace = np.maximum(inputs.completion_need - x_fixed.sum(axis=1), 0.0) / years_left
        raw = np.maximum(inputs.capacity - pace, 0.0) if inputs.key_name == "spare_capacity" else inputs.raw_key
        return pace, normalised(raw)[0]
    if inputs.policy == "ratchet":
        reference = x_fixed[:, -1] * (1 + inputs.ratchet_growth)
        return reference, normalised(reference)[0]
    return inputs.reference, inputs.key


def year_window(inputs: PlanInputs, w: Window, t: int, x: np.ndarray, y_done: np.ndarray) -> Window:
    """Year t of window `w` alone, its clients fixed at x[:, t], for the loan stages.

    `x` (n, W): the window's solved clients; `y_done` (n, t): the window's loans decided so far.
    Everything before year t is fixed, so its floors are on one total and its risk caps are bounds.
    """
    xs = np.hstack([w.x_fixed, x[:, :t]])
    ys = np.hstack([w.y_fixed, y_done])
    one = make_window(inputs, w.phase, xs, ys, offsets=(w.offsets[t],))
    column = x[:, t:t + 1]
    return replace(one, x_lo=column, x_hi=column, ref=column, completion_need=None, year_weight=w.year_weight[t:t + 1])


def phases(inputs: PlanInputs) -> tuple[Phase, ...]:
    """One phase a year: the plan year, then each rolling year of the cycle in turn."""
    return ("plan_year",) + ("rolling",) * (len(inputs.years) - 1)


def loan_band(inputs: PlanInputs, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """s_min·x + e_min ≤ y ≤ s_max·x + e_max, and mid = s_mid·x + e_mid, each (n, W)."""
    low = inputs.size_min[:, None] * x + inputs.book_min[:, None]
    high = inputs.size_max[:, None] * x + inputs.book_max[:, None]
    mid = inputs.size_mid[:, None] * x + inputs.book_mid[:, None]
    return low, mid, high


def loan_keys(inputs: PlanInputs, x: np.ndarray) -> tuple[np.ndarray, float]:
    """Spare loan room above mid, (s_max − s_mid)·x + (e_max − e_mid), normalised to mean 1; its scale.

    Normalised keys keep the quadratic stage's weights near 1; at least `MIN_LOAN_KEY`.
    """
    room = np.maximum((inputs.size_max - inputs.size_mid)[:, None] * x + (inputs.book_max - inputs.book_mid)[:, None], 0.0)
    positive = room[room > 0]
    scale = float(positive.mean()) if positive.size else 1.0
    return np.maximum(room / scale, MIN_LOAN_KEY), scale


def loan_scale(inputs: PlanInputs) -> float:
    """s̄: 万元 per client-equivalent (the mean mid loan size), to put loans and clients on one scale."""
    return float(np.mean(inputs.size_mid)) or 1.0


def shortfall_weights(inputs: PlanInputs, floors: tuple[WindowFloor, ...], tier: Tier) -> np.ndarray:
    """Cost of one unit of each window floor's shortfall in `tier`'s stage: w_tier per client, w_tier/s̄ per 万元; 0 off the tier."""
    s = loan_scale(inputs)
    return np.array([TIER_WEIGHTS[tier] / (s if f.row.quantity == "loans" else 1.0) if f.row.tier == tier else 0.0 for f in floors])
