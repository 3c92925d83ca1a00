"""The ratchet coefficient of a plan: how much next year's target moves per extra client booked now.

`λ_b = ∂x_{b,next} / ∂a_b` — the change of branch b's next-year target per extra client it books in
the plan year (its *actual* a_b), everything else equal: the other branches meet their targets, the
bank's totals, floors and next year's smoothing box (which starts from this year's *target*) stay as
planned. Weitzman (1980) calls λ the ratchet coefficient; docs/model.md §6 has the maths.

Where next year's target comes from: the engine's own rolling year. The plan solves the year after
the plan year as its first rolling phase with the plan year fixed and the policy re-applied to
the planned path (`optimize.window.year_reference`) — exactly what the planner gets next year if
every branch books its target. An extra client booked changes only what the policy reads from
the actual: catch-up's pace `max(0, L − A − a)/years_left` (and the spare-capacity key), the
ratchet's reference `a·(1 + g)` (and its key), the completion need; proportional reads nothing.

**Analytic, from the LP's structure** (`analytic_coefficients`). docs/model.md §3 shows the year's
client optimum is progressive filling: `x_b = min(hi_b, ref'_b + θ·key_b)` with θ set by the
binding client floor (θ = 0 when no floor binds), `ref'` the reference clamped to the box. With
`c_j = ∂ref'_j/∂a_j + θ·∂key_j/∂a_j` the branch's own push, and K the keys of the branches
strictly inside their boxes (j included):

- no floor binds, or θ = 0 and the push is upward: `λ_j = ∂ref'_j/∂a_j`;
- a floor binds, j inside its box: the others absorb the push through θ (Σx stays at the floor):
  `λ_j = c_j·(1 − key_j/K)`;
- j at the top of its box (capacity, smoothing, risk cap): `λ_j = 0`.

So: ratchet `λ = (1 + g)(1 + θ)(1 − key_j/K)`, 1 + g where no floor binds; catch-up
`λ = −(1 − θ)(1 − key_j/K)/(n − 1)` with the spare-capacity key (n the plan year's years_left),
exactly `−1/(n − 1)` for a branch with no extra load; proportional 0.

Where a loan floor needs every loan the clients can carry, the loans are the binding total: a
client counts by the loans it carries (s_max; 0 for a risk-capped branch at its cap, which stops
there), so K weighs each key by it.

**Finite difference** (`finite_difference_coefficients`), where the structure does not pin the
answer down: a branch within a tolerance of a kink (its reference at its box's edge, its
unclamped target at its top, a zero key that becomes positive), or a window whose optimum is
not the progressive filling above (a client and a loan floor binding at once, zero-key branches
taking load, every sharing branch exactly full).
Then the rolling window is re-solved by the engine with that branch's actual raised by δ (the
right derivative: one more client). Only those branches are re-solved, so a 3,000-branch bank
costs the plan's own solve plus numpy (bench/ratchet_scale.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from optimize.inputs import PlanInputs
from optimize.window import Window, effective_reference, spare_capacity, window_key, year_reference

#: Step of the finite difference, clients (the LP is piecewise linear: exact away from kinks).
FD_STEP = 1e-3
#: Distance to a kink (clients) within which the analytic slope is not trusted.
KINK_TOL = 1e-5
#: Largest gap between the LP's optimum and the progressive-filling shape it must have (clients).
FIT_TOL = 1e-4


@dataclass(frozen=True)
class RatchetCoefficients:
    """λ per branch of a plan, and how each was obtained."""

    values: np.ndarray  # (n,) λ_b; NaN when the plan year is the cycle's last (no next year in it)
    finite_difference: np.ndarray  # (n,) bool: re-solved rather than read from the LP's structure
    next_year: int | None  # the year whose target λ moves; None in the cycle's last year

    @property
    def defined(self) -> bool:
        return self.next_year is not None


def reference_slopes(inputs: PlanInputs, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(∂ref_b/∂a_b, ∂key_b/∂a_b) of the year after the plan year, one more client booked (right derivatives).

    - catch-up: `ref = max(0, need − a)/(n − 1)` → `−1/(n − 1)` while need − a > 0, else 0; the
      spare-capacity key `max(0, cap − ref')` moves by the opposite of the clamped ref' (`analytic_coefficients`); other keys 0;
    - ratchet: `ref = key = a·(1 + g)` → `1 + g` each;
    - proportional: 0 (the reference is 0, the key is outlets or client managers).
    Keys are raw (before normalisation: the LP's optimum does not depend on the key's scale).
    """
    n = len(actual)
    zero = np.zeros(n)
    if inputs.policy == "catch_up":
        years_left = len(inputs.years) - 1
        left = inputs.completion_need - actual
        d_ref = np.where(left > 0, -1.0 / years_left, 0.0)
        if inputs.key_name != "spare_capacity":
            return d_ref, zero
        pace = np.maximum(left, 0.0) / years_left
        return d_ref, np.where(inputs.capacity - pace >= 0, -d_ref, 0.0)
    if inputs.policy == "ratchet":
        slope = np.full(n, 1.0 + inputs.ratchet_growth)
        return slope, slope
    return zero, zero


def raw_key(inputs: PlanInputs, reference: np.ndarray, clamped: np.ndarray) -> np.ndarray:
    """The sharing key of the year after the plan year before normalisation (`window.window_key` unnormalised)."""
    if inputs.policy == "catch_up" and inputs.key_name == "spare_capacity":
        return spare_capacity(inputs.capacity, clamped)
    if inputs.policy == "ratchet":
        return reference
    return inputs.raw_key


def actual_window(inputs: PlanInputs, window: Window, actual: np.ndarray) -> Window:
    """The rolling window with what the policy reads from the plan year's actual recomputed from `actual`.

    Reference, key and completion need follow the actual; the box (smoothing from this year's
    target, capacity, risk cap) and the floors (the bank's totals) stay as planned.
    """
    reference, key = year_reference(inputs, actual[:, None])
    need = None if window.completion_need is None else inputs.completion_need - actual
    ref = effective_reference(reference, window.x_lo, window.x_hi)
    return replace(window, ref=ref, key=window_key(inputs, ref[:, 0], key), completion_need=need)


def clamp_slope(value: np.ndarray, slope: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Right derivative of `clip(value, lo, hi)` moving at `slope`, and where it sits on a kink (no slope trusted)."""
    inside = (value > lo + KINK_TOL) & (value < hi - KINK_TOL)
    at_hi = np.abs(value - hi) <= KINK_TOL
    at_lo = np.abs(value - lo) <= KINK_TOL
    d = np.where(inside, slope, 0.0)
    d = np.where(at_hi & (slope < 0), slope, d)  # moving back inside from the top
    d = np.where(at_lo & (slope > 0), slope, d)
    kink = at_hi & at_lo  # a box of zero width around the value: either side may win
    return d, kink


def loans_push_clients(inputs: PlanInputs, window: Window, x: np.ndarray) -> bool:
    """Whether a loan floor needs (nearly) every loan the clients `x` can carry: then the loans, not a
    client floor, set the clients (`Σ_b high_b(x) ≤ loan floor`, high the band's top or the risk cap)."""
    loan_floor = max((f.const for f in window.floors if f.row.quantity == "loans"), default=-np.inf)
    if not np.isfinite(loan_floor):
        return False
    high = inputs.size_max * x + inputs.book_max
    high = np.where(window.risk_capped, np.minimum(high, inputs.capped_growth * window.book), high)
    return bool(high.sum() <= loan_floor + FIT_TOL * max(1.0, abs(loan_floor)))


def loan_room_slopes(inputs: PlanInputs, window: Window, x: np.ndarray) -> np.ndarray:
    """∂(the most loans branch b can carry)/∂x_b: s_max, or 0 for a risk-capped branch at its cap."""
    at_cap = window.risk_capped & (inputs.size_max * x + inputs.book_max >= inputs.capped_growth * window.book - KINK_TOL)
    return np.where(at_cap, 0.0, inputs.size_max)


def analytic_coefficients(inputs: PlanInputs, window: Window, x: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """λ read from the progressive-filling shape of the rolling year's optimum `x` (n,); (λ, exact mask).

    The binding total is the client floor, or — where a loan floor needs every loan the clients can
    carry — the loans: then a branch's extra client counts by the loans it adds (`loan_room_slopes`;
    0 for a branch at its risk cap, which therefore takes no extra). Branches that share the load
    (key > 0, weight > 0) sit at `min(hi, ref' + θ·key)`, the others at `ref'`. See the module
    docstring for the cases. `exact` is False where a finite difference must decide: near a kink,
    a zero key that a client would make positive, or an optimum without this shape (then for all).
    """
    n = len(x)
    none = np.zeros(n), np.zeros(n, dtype=bool)
    reference, _ = year_reference(inputs, actual[:, None])
    lo, hi = window.x_lo[:, 0], window.x_hi[:, 0]
    ref = np.clip(reference, lo, hi)
    key = raw_key(inputs, reference, ref)
    d_ref, d_key = reference_slopes(inputs, actual)
    loans_bind = loans_push_clients(inputs, window, x)
    weight = loan_room_slopes(inputs, window, x) if loans_bind else np.ones(n)
    sharing = (key > 0) & (weight > 0)
    tol = FIT_TOL * max(1.0, float(np.abs(x).max(initial=0.0)))
    loaded = sharing & (x < hi - tol) & (x > ref + tol)  # strictly inside the box, above the reference
    theta = float(np.median((x[loaded] - ref[loaded]) / key[loaded])) if loaded.any() else 0.0
    saturated = not loaded.any() and bool((sharing & (x >= hi - tol) & (ref < hi - tol)).any())  # θ undetermined
    shape = np.where(sharing, np.minimum(hi, ref + theta * key), ref)
    fits = np.abs(x - shape) <= tol
    # a risk-capped branch whose loans reached the cap carries no more: the LP stops its clients there
    at_loan_cap = loans_bind & window.risk_capped & (weight == 0) & (x > ref + tol)
    fits |= at_loan_cap & (x <= np.minimum(hi, ref + theta * key) + tol)
    if saturated:
        fits |= sharing & (x >= hi - tol)
    if not fits.all():
        return none
    d_clamped, kink = clamp_slope(reference, d_ref, lo, hi)
    if inputs.policy == "catch_up" and inputs.key_name == "spare_capacity":
        d_key = np.where(inputs.capacity - ref >= 0, -d_clamped, 0.0)  # the key follows the clamped reference
    exact = ~kink
    client_floor = max((f.const for f in window.floors if f.row.quantity == "clients"), default=-np.inf)
    slack = float(x.sum() - client_floor)
    client_binds = abs(slack) <= FIT_TOL * max(1.0, abs(client_floor) if np.isfinite(client_floor) else 1.0)
    if loans_bind and client_binds:
        return none  # both kinds of floor bind at once
    if saturated:  # every sharing branch full: a floor above what they can do (or exactly at it: a kink)
        return (np.where(sharing, 0.0, d_clamped), exact) if slack < 0 and not client_binds else none
    if theta > KINK_TOL and not (client_binds or loans_bind):
        return none  # load from something this shape does not know
    if not (theta > KINK_TOL or client_binds or loans_bind):
        return d_clamped, exact  # no floor binds: next year's target is the reference
    push = d_clamped + theta * d_key
    unclamped = ref + theta * key
    inside = sharing & (unclamped < hi - KINK_TOL)
    on_top = sharing & (np.abs(unclamped - hi) <= KINK_TOL)
    wkey = weight * key  # what one unit of θ adds to the binding total (clients, or the loans they carry)
    K = float(wkey[inside].sum())
    K_down = K + float(wkey[on_top].sum())  # θ falling (an upward push) opens the branches just at their top
    share_up = np.where(inside, wkey / max(K_down, 1e-300), 0.0)
    share_down = np.where(inside, wkey / max(K, 1e-300), 0.0)
    lam = np.zeros(n)
    lam = np.where(inside & (push < 0), push * (1 - share_down), lam)
    lam = np.where(inside & (push > 0), push * (1 - share_up) if theta > KINK_TOL else push, lam)
    lam = np.where(~sharing, d_clamped, lam)  # not sharing: it keeps its reference; the sharing ones absorb
    lam = np.where(at_loan_cap, 0.0, lam)  # held where its capped loans stop, whatever its reference
    exact &= ~on_top
    exact &= ~((key <= 0) & (d_key > 0))  # a zero key a client makes positive
    if loans_bind and theta <= KINK_TOL:
        exact &= ~(d_clamped < 0)  # a loan floor met at θ = 0: a cut opens θ (a kink), a rise does not
    return lam, exact


def finite_difference_coefficients(inputs: PlanInputs, window: Window, actual: np.ndarray, branches: np.ndarray,
                                   engine: str = "auto", base: np.ndarray | None = None,
                                   step: float = FD_STEP) -> np.ndarray:
    """λ of `branches` by re-solving the rolling window with each one's actual raised by `step`.

    `(x_j(a + step·e_j) − x_j(a)) / step` on the engine's client stages; `base` is x_j(a) (solved
    here when not given).
    """
    from optimize.solve import engine_module

    module = engine_module(engine)
    if base is None:
        base = module.solve_clients(inputs, actual_window(inputs, window, actual)).values[:, 0]
    result = np.zeros(len(branches))
    for i, j in enumerate(branches):
        bumped = actual.copy()
        bumped[j] += step
        x = module.solve_clients(inputs, actual_window(inputs, window, bumped)).values[:, 0]
        result[i] = (x[j] - base[j]) / step
    return result


def ratchet_coefficients(inputs: PlanInputs, windows: dict[str, Window], lp_x: np.ndarray | None,
                         engine: str = "auto") -> RatchetCoefficients:
    """λ of every branch of a solved plan (`Plan.report`'s windows and LP values).

    NaN in the cycle's last year. Analytic where the LP's structure gives it; the other branches
    by a finite difference on the same window (see the module docstring).
    """
    n = len(inputs.branch_ids)
    if len(inputs.years) < 2 or lp_x is None:
        return RatchetCoefficients(np.full(n, np.nan), np.zeros(n, dtype=bool), None)
    next_year = inputs.years[1]
    window = windows[f"rolling/{next_year}"]
    actual = window.x_fixed[:, 0]
    x = lp_x[:, 1]
    lam, exact = analytic_coefficients(inputs, window, x, actual)
    redo = np.flatnonzero(~exact)
    if len(redo):
        lam[redo] = finite_difference_coefficients(inputs, window, actual, redo, engine, base=x)
    return RatchetCoefficients(lam, ~exact, next_year)
