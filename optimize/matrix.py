"""The annual allocation LP straight into HiGHS from numpy blocks: the fast path (issue 4).

The same staged LP as the Pyomo reference `optimize.model` (DESIGN.md §3: same rules, stage
objectives, stage bounds and tolerances), written in an equivalent smaller form; the Pyomo model
stays the reference and `tests/test_plan_matrix.py` checks both give the same stage optima and
properties. The rewrites, each exact (the projection of the feasible set on x and y is unchanged):

- x = ref + over − under, with 0 ≤ over ≤ (cap − ref)⁺ (0 without a key) and
  (ref − cap)⁺ ≤ under ≤ ref: the box is exactly 0 ≤ x ≤ cap, no x columns, no deviation rows;
- x[b,t] − x[b,t−1] = up − down with 0 ≤ up, down ≤ max_change·cap: one row carries both the
  smoothing rule and the year-to-year change (cost up + down = |Δx| at the optimum);
- the clients stages (1–3) see the loans only through the loan floors and the risk caps: for a
  branch that is not risk-capped y[b,t] may be anything in its band, so the bank's loans of those
  branches are one column per year, Y_t, within the sum of the bands (two rows a year);
- the loan stages (4–5) run with the clients fixed, so on their own LP: y = c + over − under around
  c = s_mid·x + e_mid, the band becoming bounds of over / under; the stage-1 bound keeps only its
  loan shortfalls, the client part being fixed with x.

Column blocks (index letters as in `optimize.model`; `(n, T)` blocks are branch-major):

| LP      | block                 | size      | meaning                                        |
|---------|-----------------------|-----------|------------------------------------------------|
| clients | over, under           | n·T each  | x above / below its reference                  |
|         | up, down              | n·(T−1)   | x[b,t] − x[b,t−1] = up − down                  |
|         | theta                 | T         | largest relative extra client load             |
|         | loans_free            | T         | Σ y over branches that are not risk-capped      |
|         | y_capped              | K·T       | y of the risk-capped branches                  |
|         | floor_shortfall       | R         | one per floor row                              |
|         | completion_shortfall  | C         | one per branch under the completion rule       |
| loans   | loan_over, loan_under | n·T each  | y above / below s_mid·x + e_mid                |
|         | theta_loans           | T         | largest relative extra loan load               |
|         | floor_shortfall       | R_loans   | one per loan floor row                         |

`build_matrix` is the recipe (it never solves); `solve_matrix` runs the five stages: costs change
between stages (`changeColsCost`), each optimum becomes a row, and every stage starts afresh with
presolve (measured faster than HiGHS's warm start on this LP, see `bench/README.md`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np

from optimize.inputs import PlanInputs, loan_keys
from optimize.solve import (
    DUAL_STAGES, IPM_FROM_BRANCHES, RETRY_ABS_TOL, RETRY_REL_TOL, STAGE_ABS_TOL, STAGE_REL_TOL, SolveError, SolveReport,
    highs_options,
)

#: Stage-1 penalty per unit of shortfall by tier (client-equivalents; loans ÷ mid loan size).
TIER_WEIGHTS = {"regulatory": 1000.0, "department": 10.0, "completion": 1.0}
#: Weight of the rolling years relative to the plan year in the load stages.
ROLLING_YEAR_WEIGHT = 1e-3
#: Weight of year-to-year change relative to deviation from the reference.
CHANGE_WEIGHT = 0.01
#: Stage objectives in solve order (the names of `optimize.model`'s objectives).
STAGE_OBJECTIVES = ("violation", "client_load", "client_deviation_cost", "loan_load", "loan_deviation_cost")
CLIENT_STAGES, LOAN_STAGES = STAGE_OBJECTIVES[:3], STAGE_OBJECTIVES[3:]

INF = highspy.kHighsInf


# ---------------------------------------------------------------- columns and rows


def layout(sizes: dict[str, tuple[int, ...]]) -> tuple[dict[str, np.ndarray], int]:
    """Column indices of each block, the blocks one after the other."""
    blocks, start = {}, 0
    for name, shape in sizes.items():
        size = int(np.prod(shape))
        blocks[name] = np.arange(start, start + size, dtype=np.int32).reshape(shape)
        start += size
    return blocks, start


@dataclass
class RowBlock:
    """Rows `lower ≤ Σ value·column ≤ upper` as coordinate triples; `row` counts from 0 in the block."""

    name: str
    row: np.ndarray
    col: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def size(self) -> int:
        return len(self.lower)


def block(name: str, terms: list[tuple[np.ndarray, object]], lower: object, upper: object, size: int) -> RowBlock:
    """`size` rows from terms `(columns, coefficients)`, one entry (or a scalar) per row."""
    rows = np.arange(size)
    return RowBlock(
        name,
        np.concatenate([rows for _ in terms]),
        np.concatenate([np.broadcast_to(c, (size,)) for c, _ in terms]).astype(np.int32),
        np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), (size,)) for _, v in terms]),
        np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy(),
        np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy(),
    )


@dataclass(frozen=True)
class Total:
    """A bank total of one year as `const + Σ coef·column` (columns of the LP at hand)."""

    cols: np.ndarray
    coefs: np.ndarray
    const: float


def per_year(values: np.ndarray, T: int) -> np.ndarray:
    """A per-branch array as an (n, T) block."""
    return np.repeat(values[:, None], T, axis=1)


#: Branches per copy of a load column θ[t] (see `load_copies`).
LOAD_GROUP = 64


def load_groups(n: int) -> int:
    """How many copies of each θ[t] a bank of n branches gets: none (0) up to one group."""
    return 0 if n <= LOAD_GROUP else -(-n // LOAD_GROUP)


def load_columns(theta: np.ndarray, copies: np.ndarray, n: int) -> np.ndarray:
    """The θ column each (branch, year) row uses: θ[t] itself, or its copy for the branch's group."""
    if not copies.size:
        return np.tile(theta, (n, 1))
    return copies[np.arange(n) // LOAD_GROUP]


def load_copies(theta: np.ndarray, copies: np.ndarray, name: str) -> list[RowBlock]:
    """θ_copy[g,t] − θ[t] = 0  ∀ groups g, t.

    A θ[t] in every branch's row is a dense column, which makes the interior point's normal
    equations dense (n² per year); copies for groups of `LOAD_GROUP` branches keep them sparse.
    """
    if not copies.size:
        return []
    G, T = copies.shape
    return [block(name, [(copies.ravel(), 1.0), (np.tile(theta, G), -1.0)], 0.0, 0.0, G * T)]


# ---------------------------------------------------------------- constraint families


def smoothing_and_change(step: np.ndarray, over: np.ndarray, under: np.ndarray, up: np.ndarray,
                         down: np.ndarray) -> list[RowBlock]:
    """x[b,t] − x[b,t−1] − up[b,t] + down[b,t] = 0, 0 ≤ up, down ≤ c·cap[b]  ∀ b, t > plan year.

    The smoothing rule |x[b,t] − x[b,t−1]| ≤ c·cap[b] sits in the bounds of up and down (set by
    `client_bounds`); up + down is the year-to-year change the deviation stage prices.
    """
    if not up.size:
        return []
    terms = [(over[:, 1:].ravel(), 1.0), (under[:, 1:].ravel(), -1.0), (over[:, :-1].ravel(), -1.0),
             (under[:, :-1].ravel(), 1.0), (up.ravel(), -1.0), (down.ravel(), 1.0)]
    return [block("smoothing", terms, 0.0, 0.0, up.size)]


def extra_load_limits(key: np.ndarray, over: np.ndarray, under: np.ndarray, theta: np.ndarray) -> list[RowBlock]:
    """x[b,t] − ref[b] ≤ θ[t]·key[b]  ∀ b with a key, t (without a key: over ≤ 0, a bound).

    `theta` (n, T): the θ column of each branch's row (`load_columns`).
    """
    keyed = np.flatnonzero(key > 0)
    T = over.shape[1]
    terms = [(over[keyed].ravel(), 1.0), (under[keyed].ravel(), -1.0),
             (theta[keyed].ravel(), -per_year(key[keyed], T).ravel())]
    return [block("extra_load_limits", terms, -INF, 0.0, len(keyed) * T)]


def long_term_completion(inputs: PlanInputs, branches: np.ndarray, over: np.ndarray, under: np.ndarray,
                         shortfall: np.ndarray) -> list[RowBlock]:
    """Σ_t x[b,t] + shortfall[b] ≥ L[b] − A[b]  ∀ b ∈ COMPLETION_BRANCHES (elastic)."""
    if not len(branches):
        return []
    T = over.shape[1]
    terms = [(over[branches, t], 1.0) for t in range(T)] + [(under[branches, t], -1.0) for t in range(T)]
    need = inputs.completion_need[branches] - T * inputs.reference[branches]
    return [block("long_term_completion", terms + [(shortfall, 1.0)], need, INF, len(branches))]


def loan_size_band(inputs: PlanInputs, c: dict[str, np.ndarray], capped: np.ndarray, free: np.ndarray) -> list[RowBlock]:
    """s_min·x + e_min ≤ y ≤ s_max·x + e_max: per risk-capped branch, summed over the others.

    For branches that are not risk-capped only the sum of their loans enters the client stages
    (through the loan floors), and the sums of the bands are exactly the sums' band.
    """
    over, under, T = c["over"], c["under"], c["over"].shape[1]
    ref = inputs.reference
    blocks = []
    for name, size, book, lo, hi in (("loan_size_band_low", inputs.size_min, inputs.book_min, None, INF),
                                     ("loan_size_band_high", inputs.size_max, inputs.book_max, -INF, None)):
        if len(free) and c["loans_free"].size:
            cols = np.concatenate([over[free].T.ravel(), under[free].T.ravel()])  # year-major
            rows = np.concatenate([np.repeat(np.arange(T), len(free))] * 2)
            coefs = np.concatenate([np.tile(-size[free], T), np.tile(size[free], T)])
            bound = np.full(T, float(np.sum(book[free] + size[free] * ref[free])))
            blocks.append(RowBlock(f"{name}_free", np.concatenate([rows, np.arange(T)]),
                                   np.concatenate([cols, c["loans_free"]]).astype(np.int32),
                                   np.concatenate([coefs, np.ones(T)]),
                                   bound if lo is None else np.full(T, lo), bound if hi is None else np.full(T, hi)))
        if len(capped):
            bound = per_year(book[capped] + size[capped] * ref[capped], T).ravel()
            terms = [(c["y_capped"].ravel(), 1.0), (over[capped].ravel(), -per_year(size[capped], T).ravel()),
                     (under[capped].ravel(), per_year(size[capped], T).ravel())]
            blocks.append(block(f"{name}_capped", terms, bound if lo is None else lo, bound if hi is None else hi,
                                len(capped) * T))
    return blocks


def risk_caps(inputs: PlanInputs, capped: np.ndarray, y_terms: list[tuple[np.ndarray, object]],
              y_const: np.ndarray) -> list[RowBlock]:
    """y[b,t] − r·Σ_{s<t} y[b,s] ≤ r·M[b]  ∀ b ∈ RISK_CAPPED_BRANCHES, t.

    `y = y_const + Σ coef·cols` per (capped branch, year), each an (K, T) array.
    """
    if not len(capped):
        return []
    K, T = y_const.shape
    r = inputs.capped_growth
    rows, cols, vals = [], [], []
    upper = per_year(r * inputs.micro_loans[capped], T) - y_const
    for t in range(T):
        base = np.arange(K) * T + t
        for s in range(t + 1):
            weight = 1.0 if s == t else -r
            for c, v in y_terms:
                rows.append(base), cols.append(c[:, s]), vals.append(weight * np.broadcast_to(v, (K, T))[:, s])
            if s < t:
                upper[:, t] += r * y_const[:, s]
    return [RowBlock("risk_caps", np.concatenate(rows), np.concatenate(cols).astype(np.int32), np.concatenate(vals),
                     np.full(K * T, -INF), upper.ravel())]


def floors(rows: list, totals: dict[str, list[Total]], shortfall: np.ndarray) -> list[RowBlock]:
    """total[t] − Σ_s coupling[s]·total[s] + shortfall[r] ≥ const[r]  ∀ r (elastic floors)."""
    if not rows:
        return []
    rr, cc, vv, lower = [], [], [], []
    for r, row in enumerate(rows):
        coefficient = {row.year: 1.0}
        for s, c in row.coupling.items():
            coefficient[s] = coefficient.get(s, 0.0) - c
        const = row.const
        for t, c in coefficient.items():
            total = totals[row.quantity][t]
            rr.append(np.full(len(total.cols), r)), cc.append(total.cols), vv.append(c * total.coefs)
            const -= c * total.const
        rr.append(np.array([r])), cc.append(shortfall[r:r + 1]), vv.append(np.ones(1))
        lower.append(const)
    return [RowBlock("floors", np.concatenate(rr), np.concatenate(cc).astype(np.int32), np.concatenate(vv),
                     np.array(lower), np.full(len(rows), INF))]


def loan_extra_load_limits(loan_key: np.ndarray, over: np.ndarray, under: np.ndarray, theta: np.ndarray) -> list[RowBlock]:
    """y[b,t] − (s_mid[b]·x[b,t] + e_mid[b]) ≤ θy[t]·loan_key[b,t]  ∀ b,t."""
    n, T = over.shape
    terms = [(over.ravel(), 1.0), (under.ravel(), -1.0), (theta.ravel(), -loan_key.ravel())]
    return [block("loan_extra_load_limits", terms, -INF, 0.0, n * T)]


# ---------------------------------------------------------------- the two LPs


@dataclass
class StageLP:
    """One HiGHS instance with its stage costs and where its floor rows start."""

    highs: object  # highspy's core `_Highs`
    cols: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]
    floor_rows: np.ndarray  # positions in `inputs.floors.rows` of this LP's floor rows, in row order
    row_start: dict[str, int]


def new_highs() -> object:
    """A silent HiGHS instance.

    The core class, not `highspy.Highs`: the wrapper prints a banner on construction (highspy
    1.16), which would corrupt `microplan plan --format json`, and installs Python callbacks we
    do not use. The solver is the same.
    """
    h = highspy._core._Highs()
    h.setOptionValue("output_flag", False)
    return h


def pass_lp(blocks: list[RowBlock], costs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[object, dict[str, int]]:
    """Stack row blocks into one row-wise matrix (a counting sort by row, no scipy) and load HiGHS."""
    offsets, start = {}, 0
    for b in blocks:
        offsets[b.name] = start
        start += b.size
    rows = np.concatenate([b.row + offsets[b.name] for b in blocks]) if blocks else np.zeros(0, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    matrix = highspy.HighsSparseMatrix()
    matrix.format_ = highspy.MatrixFormat.kRowwise
    matrix.num_col_, matrix.num_row_ = len(costs), start
    matrix.start_ = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=start))]).astype(np.int32)
    matrix.index_ = (np.concatenate([b.col for b in blocks])[order] if blocks else np.zeros(0)).astype(np.int32)
    matrix.value_ = np.concatenate([b.value for b in blocks])[order] if blocks else np.zeros(0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(costs), start
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = costs, lower, upper
    lp.row_lower_ = np.concatenate([b.lower for b in blocks]) if blocks else np.zeros(0)
    lp.row_upper_ = np.concatenate([b.upper for b in blocks]) if blocks else np.zeros(0)
    lp.a_matrix_ = matrix
    h = new_highs()
    h.passModel(lp)
    return h, offsets


def year_weights(T: int) -> np.ndarray:
    """The plan year counts fully, the rolling years lightly (only the plan year binds)."""
    weights = np.full(T, ROLLING_YEAR_WEIGHT)
    weights[0] = 1.0
    return weights


def loan_scale(inputs: PlanInputs) -> float:
    """万元 per client-equivalent in the violation and loan-deviation costs."""
    return float(np.mean(inputs.size_mid)) or 1.0


def shortfall_weights(inputs: PlanInputs) -> np.ndarray:
    """Stage-1 cost of one unit of each floor row's shortfall."""
    scale = loan_scale(inputs)
    return np.array([TIER_WEIGHTS[r.tier] / (scale if r.quantity == "loans" else 1.0) for r in inputs.floors.rows])


def client_lp(inputs: PlanInputs) -> StageLP:
    """Stages 1–3: clients x = ref + over − under, loans as far as the floors and risk caps see them."""
    n, T = len(inputs.branch_ids), len(inputs.years)
    rows = inputs.floors.rows
    need = inputs.completion_need
    completion = np.zeros(0, dtype=np.int64) if need is None else np.flatnonzero(need > 0)
    capped = np.flatnonzero(inputs.risk_capped)
    free = np.flatnonzero(~inputs.risk_capped)
    loan_floors = any(r.quantity == "loans" for r in rows)
    c, count = layout({"over": (n, T), "under": (n, T), "up": (n, T - 1), "down": (n, T - 1), "theta": (T,), "theta_copies": (load_groups(n), T),
                       "loans_free": (T if loan_floors and len(free) else 0,), "y_capped": (len(capped), T),
                       "floor_shortfall": (len(rows),), "completion_shortfall": (len(completion),)})
    ref, cap = inputs.reference, inputs.capacity
    lower, upper = np.zeros(count), np.full(count, INF)
    upper[c["over"]] = per_year(np.where(inputs.key > 0, np.maximum(cap - ref, 0.0), 0.0), T)
    lower[c["under"]] = per_year(np.maximum(ref - cap, 0.0), T)
    upper[c["under"]] = per_year(ref, T)
    upper[c["up"]] = upper[c["down"]] = per_year(inputs.max_change * cap, T - 1)
    lower[c["loans_free"]] = lower[c["y_capped"]] = -INF
    x_totals = [Total(np.concatenate([c["over"][:, t], c["under"][:, t]]), np.repeat([1.0, -1.0], n), float(ref.sum()))
                for t in range(T)]
    y_totals = [Total(np.concatenate([c["loans_free"][t:t + 1], c["y_capped"][:, t]]), np.ones(len(c["loans_free"][t:t + 1]) + len(capped)), 0.0)
                for t in range(T)]
    blocks = [
        *smoothing_and_change(inputs.max_change * cap, c["over"], c["under"], c["up"], c["down"]),
        *extra_load_limits(inputs.key, c["over"], c["under"], load_columns(c["theta"], c["theta_copies"], n)),
        *load_copies(c["theta"], c["theta_copies"], "theta_copies"),
        *long_term_completion(inputs, completion, c["over"], c["under"], c["completion_shortfall"]),
        *loan_size_band(inputs, c, capped, free),
        *risk_caps(inputs, capped, [(c["y_capped"], 1.0)], np.zeros((len(capped), T))),
        *floors(rows, {"clients": x_totals, "loans": y_totals}, c["floor_shortfall"]),
    ]
    weight = year_weights(T)
    costs = {name: np.zeros(count) for name in CLIENT_STAGES}
    costs["violation"][c["floor_shortfall"]] = shortfall_weights(inputs)
    costs["violation"][c["completion_shortfall"]] = TIER_WEIGHTS["completion"]
    costs["client_load"][c["theta"]] = weight
    costs["client_deviation_cost"][c["over"]] = weight
    costs["client_deviation_cost"][c["under"]] = weight
    costs["client_deviation_cost"][c["up"]] = costs["client_deviation_cost"][c["down"]] = CHANGE_WEIGHT
    h, offsets = pass_lp(blocks, costs["violation"], lower, upper)
    return StageLP(h, c, costs, np.arange(len(rows)), offsets)


def client_shortfall_cost(inputs: PlanInputs, x: np.ndarray) -> float:
    """The stage-1 cost the fixed clients already carry: client floor and completion shortfalls."""
    totals = x.sum(axis=0)
    weights = shortfall_weights(inputs)
    cost = sum(w * max(0.0, r.required(list(totals)) - totals[r.year])
               for r, w in zip(inputs.floors.rows, weights) if r.quantity == "clients")
    if inputs.completion_need is not None:
        cost += TIER_WEIGHTS["completion"] * float(np.maximum(inputs.completion_need - x.sum(axis=1), 0.0).sum())
    return float(cost)


def loan_lp(inputs: PlanInputs, x: np.ndarray, violation_bound: float | None) -> tuple[StageLP, np.ndarray]:
    """Stages 4–5 with the clients fixed at `x`: y = mid + loan_over − loan_under within the band.

    `violation_bound`: the stage-1 bound (None if stage 1 had nothing to minimise); its client part
    is fixed by x, what is left bounds the loan floors' shortfalls. Returns the LP and mid (n, T).
    """
    n, T = x.shape
    loan_rows = [i for i, r in enumerate(inputs.floors.rows) if r.quantity == "loans"]
    capped = np.flatnonzero(inputs.risk_capped)
    c, count = layout({"loan_over": (n, T), "loan_under": (n, T), "theta_loans": (T,), "theta_loans_copies": (load_groups(n), T),
                       "floor_shortfall": (len(loan_rows),)})
    mid = inputs.size_mid[:, None] * x + inputs.book_mid[:, None]
    low = inputs.size_min[:, None] * x + inputs.book_min[:, None]
    high = inputs.size_max[:, None] * x + inputs.book_max[:, None]
    lower, upper = np.zeros(count), np.full(count, INF)
    upper[c["loan_over"]] = np.maximum(high - mid, 0.0)
    upper[c["loan_under"]] = np.maximum(mid - low, 0.0)
    loan_key, _ = loan_keys(inputs, x)
    totals = [Total(np.concatenate([c["loan_over"][:, t], c["loan_under"][:, t]]), np.repeat([1.0, -1.0], n),
                    float(mid[:, t].sum())) for t in range(T)]
    rows = [inputs.floors.rows[i] for i in loan_rows]
    blocks = [
        *loan_extra_load_limits(loan_key, c["loan_over"], c["loan_under"],
                                load_columns(c["theta_loans"], c["theta_loans_copies"], n)),
        *load_copies(c["theta_loans"], c["theta_loans_copies"], "theta_loans_copies"),
        *risk_caps(inputs, capped, [(c["loan_over"][capped], 1.0), (c["loan_under"][capped], -1.0)], mid[capped]),
        *floors(rows, {"loans": totals}, c["floor_shortfall"]),
    ]
    weight = year_weights(T)
    costs = {name: np.zeros(count) for name in LOAN_STAGES}
    costs["loan_load"][c["theta_loans"]] = weight
    costs["loan_deviation_cost"][c["loan_over"]] = costs["loan_deviation_cost"][c["loan_under"]] = weight / loan_scale(inputs)
    if violation_bound is not None and rows:
        left = violation_bound - client_shortfall_cost(inputs, x)
        w = shortfall_weights(inputs)[loan_rows]
        blocks.append(RowBlock("stage_bound_violation", np.zeros(len(rows), dtype=np.int64), c["floor_shortfall"],
                               w, np.array([-INF]), np.array([max(left, 0.0)])))
    h, offsets = pass_lp(blocks, costs["loan_load"], lower, upper)
    return StageLP(h, c, costs, np.array(loan_rows, dtype=np.int64), offsets), mid


# ---------------------------------------------------------------- the model and the staged solve


@dataclass
class MatrixModel:
    """The plan's LPs: the clients LP at build time, the loans LP once the clients are solved."""

    inputs: PlanInputs
    clients: StageLP
    loans: StageLP | None = None
    x: np.ndarray | None = None  # (n, T), after the solve
    y: np.ndarray | None = None


def build_matrix(inputs: PlanInputs) -> MatrixModel:
    """The allocation LP of `inputs` (its clients part; the loans part needs the solved clients)."""
    return MatrixModel(inputs, client_lp(inputs))


def stage_options(n_branches: int, stage: str, retry: bool = False) -> dict[str, object]:
    """HiGHS options of one stage of the matrix path.

    Measured on synthetic banks (`bench/plan_scale.py`, `bench/README.md`): the clients LP
    solves fastest with dual simplex at every size (3,000 branches: < 1 s a stage; interior point
    with crossover 2–20 s). The loans LP (clients fixed) is the other way round from
    `IPM_FROM_BRANCHES` on: simplex took 12 s and 118 s at 3,000, interior point 1.5 s and 2 s.
    Both loan stages run without crossover: with the loan keys normalised to mean 1, crossover
    took 15.5 s of the loan-load stage at 3,000 branches against 0.7 s without it, and the
    optimum differed by 4e-9 relative — well inside the stage bound's slack. A retry turns
    crossover on and goes back to HiGHS's default dual tolerance.
    """
    options = highs_options(n_branches)
    options["solver"] = "simplex"
    if retry:
        options["dual_feasibility_tolerance"] = 1e-7
    if stage in LOAN_STAGES and n_branches >= IPM_FROM_BRANCHES:
        options["solver"] = "ipm"
        options["run_crossover"] = "on" if retry else "off"
    return options


def run(h: object, options: dict[str, object]) -> bool:
    """One HiGHS run from scratch (presolve then solve) with `options`; whether it ended optimal."""
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.clearSolver()
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def add_bound(h: object, costs: np.ndarray, upper: float) -> int:
    """Add the stage bound `Σ cost·column ≤ upper`; return its row."""
    idx = np.flatnonzero(costs).astype(np.int32)
    h.addRow(-INF, upper, len(idx), idx, costs[idx])
    return h.getNumRow() - 1


def run_stages(lp: StageLP, names: tuple[str, ...], n_branches: int, n_floor_rows: int, report: SolveReport,
               last: str) -> dict[str, int]:
    """The stages `names` on one LP: set costs, solve, read, bound; return the bound rows by stage."""
    h = lp.highs
    count = h.getNumCol()
    all_cols = np.arange(count, dtype=np.int32)
    bounds: dict[str, int] = {}
    for position, name in enumerate(names):
        costs = lp.costs[name]
        if not costs.any():  # e.g. no floor and no completion rule: nothing to minimise
            report.objectives[name] = 0.0
            continue
        h.changeColsCost(count, all_cols, costs)
        options = stage_options(n_branches, name)
        ok = run(h, options)
        if not ok:
            # numerical trouble: loosen the previous stage's bound (if any) and retry once with
            # HiGHS's default tolerances (1e-9 once made simplex report a bounded LP `Unbounded`)
            if position > 0 and names[position - 1] in bounds:
                value = report.objectives[names[position - 1]]
                h.changeRowBounds(bounds[names[position - 1]], -INF, value + abs(value) * RETRY_REL_TOL + RETRY_ABS_TOL)
            ok = run(h, stage_options(n_branches, name, retry=True))
        if not ok:
            raise SolveError(name, h.modelStatusToString(h.getModelStatus()))
        value = float(h.getInfo().objective_function_value)
        report.objectives[name] = value
        if name in DUAL_STAGES and n_floor_rows:
            first = lp.row_start.get("floors")
            duals = np.zeros(n_floor_rows)
            if first is not None:
                duals[lp.floor_rows] = np.asarray(h.getSolution().row_dual)[first:first + len(lp.floor_rows)]
            report.floor_duals[name] = {r: float(d) for r, d in enumerate(duals)}
        if name != last:
            bounds[name] = add_bound(h, costs, value + abs(value) * STAGE_REL_TOL + STAGE_ABS_TOL)
    return bounds


def solve_matrix(mm: MatrixModel) -> SolveReport:
    """Run the five stages on `mm`; raise `SolveError` if a stage is not optimal. Sets mm.x, mm.y."""
    inputs = mm.inputs
    n = len(inputs.branch_ids)
    R = len(inputs.floors.rows)
    report = SolveReport()
    started = time.perf_counter()
    clients = mm.clients
    run_stages(clients, CLIENT_STAGES, n, R, report, last=STAGE_OBJECTIVES[-1])
    values = np.asarray(clients.highs.getSolution().col_value)
    x = np.maximum(inputs.reference[:, None] + values[clients.cols["over"]] - values[clients.cols["under"]], 0.0)
    highs_seconds = clients.highs.getRunTime()
    violation_bound = None
    if clients.costs["violation"].any():
        value = report.objectives["violation"]
        violation_bound = value + abs(value) * STAGE_REL_TOL + STAGE_ABS_TOL
    mm.loans, mid = loan_lp(inputs, x, violation_bound)
    report.loan_key_scale = loan_keys(inputs, x)[1]
    run_stages(mm.loans, LOAN_STAGES, n, R, report, last=STAGE_OBJECTIVES[-1])
    values = np.asarray(mm.loans.highs.getSolution().col_value)
    mm.x = x
    mm.y = mid + values[mm.loans.cols["loan_over"]] - values[mm.loans.cols["loan_under"]]
    report.highs_seconds = float(highs_seconds + mm.loans.highs.getRunTime())
    report.solve_seconds = time.perf_counter() - started
    return report
