"""The matrix engine: one phase's LPs written as numpy blocks straight into HiGHS (the fast path).

It solves the stages of `optimize.stages` on the data of an `optimize.window.Window`, exactly as
the Pyomo reference `optimize.model` does, in an equivalent smaller form (each rewrite exact):

- x = ref' + over − under (ref' the reference clamped to the box, `optimize.window`), the box x_lo ≤ x ≤ x_hi in the bounds of over and under: no x
  columns, no deviation rows;
- smoothing sits in the client box (each window is one year: `optimize.window.smoothing_box`);
- the client stages see the loans only through the loan floors and the risk caps: the loans of
  the branches that are not risk-capped are one column per year, within the sum of their bands;
- the loan stages run with the clients fixed, one year at a time, on their own problem.

Column blocks (`(n, W)` blocks are branch-major):

| problem | block                 | size      | meaning                                        |
|---------|-----------------------|-----------|------------------------------------------------|
| clients | over, under           | n·W each  | x above / below its reference                  |
|         | theta, theta0         | W each    | largest relative extra load (keyed / zero-key) |
|         | loans_free            | W         | Σ y over branches that are not risk-capped     |
|         | y_capped              | K·W       | y of the risk-capped branches                  |
|         | floor_shortfall       | R         | one per floor row of the window                |
|         | completion_shortfall  | C         | one per branch under the completion rule       |
| loans   | over, under           | n each    | y above / below mid (one year at a time)       |
|         | theta_loans           | 1         | largest relative extra loan load               |
|         | floor_shortfall       | R_loans   | one per loan floor row of that year            |
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import highspy
import numpy as np

from optimize.inputs import PlanInputs
from optimize.stages import (
    CLIENT_STAGES, FILL_DUAL_TOL, FILL_ROUNDS, FILL_TIGHT_TOL, LOAN_STAGES, MIN_LOAN_KEY, RETRIES, TIER_WEIGHTS, SolveError, Stage, highs_options, stage_bound,
)
from optimize.window import (
    StageResult, Window, WindowFloor, loan_band, loan_keys, loan_scale, shortfall_weights,
)

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
        np.concatenate([rows for _ in terms]) if terms else np.zeros(0, dtype=np.int64),
        np.concatenate([np.broadcast_to(c, (size,)) for c, _ in terms]).astype(np.int32) if terms else np.zeros(0, dtype=np.int32),
        np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), (size,)) for _, v in terms]) if terms else np.zeros(0),
        np.broadcast_to(np.asarray(lower, dtype=float), (size,)).copy(),
        np.broadcast_to(np.asarray(upper, dtype=float), (size,)).copy(),
    )


@dataclass(frozen=True)
class Total:
    """A bank total of one window year as `const + Σ coef·column`."""

    cols: np.ndarray
    coefs: np.ndarray
    const: float


def per_year(values: np.ndarray, W: int) -> np.ndarray:
    """A per-branch array as an (n, W) block."""
    return np.repeat(values[:, None], W, axis=1)


# ---------------------------------------------------------------- constraint families


def extra_load_limits(key: np.ndarray, over: np.ndarray, under: np.ndarray, theta: np.ndarray,
                      theta0: np.ndarray) -> list[RowBlock]:
    """x[b,t] − ref'[b,t] ≤ θ[t]·key[b] for keyed branches; x[b,t] − ref'[b,t] ≤ θ0[t] for zero-key ones."""
    W = over.shape[1]
    blocks = []
    keyed, zero = np.flatnonzero(key > 0), np.flatnonzero(key <= 0)
    if len(keyed):
        terms = [(over[keyed].ravel(), 1.0), (under[keyed].ravel(), -1.0),
                 (np.tile(theta, len(keyed)), -per_year(key[keyed], W).ravel())]
        blocks.append(block("extra_load_limits", terms, -INF, 0.0, len(keyed) * W))
    if len(zero):
        terms = [(over[zero].ravel(), 1.0), (under[zero].ravel(), -1.0), (np.tile(theta0, len(zero)), -1.0)]
        blocks.append(block("zero_key_load_limits", terms, -INF, 0.0, len(zero) * W))
    return blocks


def long_term_completion(ref: np.ndarray, need: np.ndarray, branches: np.ndarray, over: np.ndarray,
                         under: np.ndarray, shortfall: np.ndarray) -> list[RowBlock]:
    """Σ_t x[b,t] + shortfall[b] ≥ L[b] − A[b] − Σ_fixed x[b,s]  ∀ b ∈ COMPLETION_BRANCHES (elastic)."""
    if not len(branches):
        return []
    W = over.shape[1]
    terms = [(over[branches, t], 1.0) for t in range(W)] + [(under[branches, t], -1.0) for t in range(W)]
    rhs = need[branches] - ref[branches].sum(axis=1)
    return [block("long_term_completion", terms + [(shortfall, 1.0)], rhs, INF, len(branches))]


def loan_size_band(inputs: PlanInputs, ref: np.ndarray, c: dict[str, np.ndarray], capped: np.ndarray,
                   free: np.ndarray, band_low: np.ndarray) -> list[RowBlock]:
    """s_min·x + e_min ≤ y ≤ s_max·x + e_max: per risk-capped branch, summed over the others (x = ref' + over − under).

    `band_low` is e_min per branch (`Window.band_low_book`: at most r·book for a capped branch).
    """
    over, under, W = c["over"], c["under"], c["over"].shape[1]
    blocks = []
    for name, size, book, is_low in (("loan_size_band_low", inputs.size_min, band_low, True),
                                     ("loan_size_band_high", inputs.size_max, inputs.book_max, False)):
        if len(free) and c["loans_free"].size:
            cols = np.concatenate([over[free].T.ravel(), under[free].T.ravel()])  # year-major
            rows = np.concatenate([np.repeat(np.arange(W), len(free))] * 2)
            coefs = np.concatenate([np.tile(-size[free], W), np.tile(size[free], W)])
            bound = np.sum(book[free, None] + size[free, None] * ref[free], axis=0)
            blocks.append(RowBlock(f"{name}_free", np.concatenate([rows, np.arange(W)]),
                                   np.concatenate([cols, c["loans_free"]]).astype(np.int32),
                                   np.concatenate([coefs, np.ones(W)]),
                                   bound if is_low else np.full(W, -INF), np.full(W, INF) if is_low else bound))
        if len(capped):
            bound = (book[capped, None] + size[capped, None] * ref[capped]).ravel()
            terms = [(c["y_capped"].ravel(), 1.0), (over[capped].ravel(), -per_year(size[capped], W).ravel()),
                     (under[capped].ravel(), per_year(size[capped], W).ravel())]
            blocks.append(block(f"{name}_capped", terms, bound if is_low else -INF, INF if is_low else bound,
                                len(capped) * W))
    return blocks


def risk_caps(r: float, book: np.ndarray, y_cols: list[tuple[np.ndarray, float]], y_const: np.ndarray) -> list[RowBlock]:
    """y[b,t] − r·Σ_{s<t} y[b,s] ≤ r·book[b]  ∀ b ∈ RISK_CAPPED_BRANCHES, window t.

    `book` (K,): the capped books at the window's start; y = y_const + Σ coef·cols, each (K, W).
    """
    K, W = y_const.shape
    if not K:
        return []
    rows, cols, vals = [], [], []
    upper = per_year(r * book, W) - y_const
    for t in range(W):
        base = np.arange(K) * W + t
        for s in range(t + 1):
            weight = 1.0 if s == t else -r
            for col, coef in y_cols:
                rows.append(base), cols.append(col[:, s]), vals.append(np.full(K, weight * coef))
            if s < t:
                upper[:, t] += r * y_const[:, s]
    return [RowBlock("risk_caps", np.concatenate(rows), np.concatenate(cols).astype(np.int32), np.concatenate(vals),
                     np.full(K * W, -INF), upper.ravel())]


def floors(rows: tuple[WindowFloor, ...], totals: dict[str, list[Total]], shortfall: np.ndarray) -> list[RowBlock]:
    """total[t] − Σ_s coupling[s]·total[s] + shortfall[r] ≥ const[r]  ∀ window floors r (elastic)."""
    if not rows:
        return []
    rr, cc, vv, lower = [], [], [], []
    for r, f in enumerate(rows):
        coefficient = {f.year: 1.0}
        for s, c in f.coupling.items():
            coefficient[s] = coefficient.get(s, 0.0) - c
        const = f.const
        for t, c in coefficient.items():
            total = totals[f.row.quantity][t]
            rr.append(np.full(len(total.cols), r)), cc.append(total.cols), vv.append(c * total.coefs)
            const -= c * total.const
        rr.append(np.array([r])), cc.append(shortfall[r:r + 1]), vv.append(np.ones(1))
        lower.append(const)
    return [RowBlock("floors", np.concatenate(rr), np.concatenate(cc).astype(np.int32), np.concatenate(vv),
                     np.array(lower), np.full(len(rows), INF))]


# ---------------------------------------------------------------- HiGHS


@contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence file descriptor 1 (HiGHS prints a banner from C++ when the first instance is made)."""
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def new_highs() -> highspy.Highs:
    """A silent HiGHS instance (the banner would corrupt `microplan plan --format json`)."""
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


@dataclass
class StageProblem:
    """One HiGHS instance with its stage costs and the rows that keep earlier stages' optima."""

    highs: highspy.Highs
    cols: dict[str, np.ndarray]
    costs: dict[str, np.ndarray]
    load_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # HiGHS row of each keyed (b, t) load limit
    load_theta: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))  # its θ[t] column
    load_key: np.ndarray = field(default_factory=lambda: np.zeros(0))  # its key[b]
    bounds: dict[str, int] = field(default_factory=dict)  # stage → its bound row
    values: dict[str, float] = field(default_factory=dict)  # stage → its optimum on this problem


def pass_lp(blocks: list[RowBlock], costs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> highspy.Highs:
    """Stack row blocks into one row-wise matrix (a counting sort by row) and load HiGHS."""
    sizes = [b.size for b in blocks]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64) if blocks else np.zeros(1, dtype=np.int64)
    count = int(offsets[-1])
    rows = np.concatenate([b.row + offsets[i] for i, b in enumerate(blocks)]) if blocks else np.zeros(0, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    matrix = highspy.HighsSparseMatrix()
    matrix.format_ = highspy.MatrixFormat.kRowwise
    matrix.num_col_, matrix.num_row_ = len(costs), count
    matrix.start_ = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=count))]).astype(np.int32)
    matrix.index_ = (np.concatenate([b.col for b in blocks])[order] if blocks else np.zeros(0)).astype(np.int32)
    matrix.value_ = np.concatenate([b.value for b in blocks])[order] if blocks else np.zeros(0)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(costs), count
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = costs, lower, upper
    lp.row_lower_ = np.concatenate([b.lower for b in blocks]) if blocks else np.zeros(0)
    lp.row_upper_ = np.concatenate([b.upper for b in blocks]) if blocks else np.zeros(0)
    lp.a_matrix_ = matrix
    h = new_highs()
    h.passModel(lp)
    return h


# ---------------------------------------------------------------- the two problems of a window


def client_problem(inputs: PlanInputs, w: Window) -> StageProblem:
    """The client stages' LP: x = ref + over − under, loans as far as the floors and risk caps see them."""
    n, W = len(inputs.branch_ids), w.size
    need = w.completion_need
    completion = np.zeros(0, dtype=np.int64) if need is None else np.flatnonzero(need > 1e-9)
    loan_locked = ~np.isnan(w.loan_lock)  # their loans are constants
    capped, free = np.flatnonzero(w.risk_capped), np.flatnonzero(~w.risk_capped & ~loan_locked)
    loan_floors = any(f.row.quantity == "loans" for f in w.floors)
    c, count = layout({"over": (n, W), "under": (n, W), "theta": (W,),
                       "theta0": (W,), "loans_free": (W if loan_floors and len(free) else 0,),
                       "y_capped": (len(capped), W), "floor_shortfall": (len(w.floors),),
                       "completion_shortfall": (len(completion),)})
    ref = w.ref
    lower, upper = np.zeros(count), np.full(count, INF)
    lower[c["over"]], upper[c["over"]] = np.maximum(w.x_lo - ref, 0.0), np.maximum(w.x_hi - ref, 0.0)
    lower[c["under"]], upper[c["under"]] = np.maximum(ref - w.x_hi, 0.0), np.maximum(ref - w.x_lo, 0.0)
    lower[c["loans_free"]] = lower[c["y_capped"]] = -INF
    x_totals = [Total(np.concatenate([c["over"][:, t], c["under"][:, t]]), np.repeat([1.0, -1.0], n),
                      float(ref[:, t].sum())) for t in range(W)]
    y_totals = [Total(np.concatenate([c["loans_free"][t:t + 1], c["y_capped"][:, t]]),
                      np.ones(len(c["loans_free"][t:t + 1]) + len(capped)), float(np.nansum(w.loan_lock))) for t in range(W)]
    blocks = [
        *extra_load_limits(w.key, c["over"], c["under"], c["theta"], c["theta0"]),
        *(long_term_completion(ref, need, completion, c["over"], c["under"], c["completion_shortfall"])
          if need is not None else []),
        *loan_size_band(inputs, ref, c, capped, free, w.band_low_book(inputs)),
        *risk_caps(inputs.capped_growth, w.book[capped], [(c["y_capped"], 1.0)], np.zeros((len(capped), W))),
        *floors(w.floors, {"clients": x_totals, "loans": y_totals}, c["floor_shortfall"]),
    ]
    costs = {s.name: np.zeros(count) for s in CLIENT_STAGES}
    for stage in CLIENT_STAGES:
        if stage.tier in ("regulatory", "department"):
            costs[stage.name][c["floor_shortfall"]] = shortfall_weights(inputs, w.floors, stage.tier)
    costs["violation_completion"][c["completion_shortfall"]] = TIER_WEIGHTS["completion"]
    if (w.key <= 0).any():
        costs["zero_key_load"][c["theta0"]] = w.year_weight
    costs["client_load"][c["theta"]] = w.year_weight
    costs["client_deviation"][c["over"]] = costs["client_deviation"][c["under"]] = per_year(np.ones(n), W) * w.year_weight
    keyed = np.flatnonzero(w.key > 0)
    load_rows = np.arange(len(keyed) * W, dtype=np.int32)  # extra_load_limits is the first block, rows (b, t) b-major
    return StageProblem(pass_lp(blocks, costs[CLIENT_STAGES[0].name], lower, upper), c, costs,
                        load_rows=load_rows, load_theta=np.tile(c["theta"], len(keyed)).astype(np.int32),
                        load_key=np.repeat(w.key[keyed], W))


def loan_load_limits(key: np.ndarray, over: np.ndarray, under: np.ndarray, theta: np.ndarray) -> list[RowBlock]:
    """y[b] − mid[b] ≤ θy·loan_key[b]  ∀ b with loan room (one year).

    A branch without room above mid (key at its floor) has y ≤ mid as a bound already; its row
    would put a 1e-9 coefficient on θy, which made the stage's optimum depend on the row order.
    """
    roomy = np.flatnonzero(key > MIN_LOAN_KEY)
    terms = [(over[roomy], 1.0), (under[roomy], -1.0), (np.full(len(roomy), theta[0]), -key[roomy])]
    return [block("loan_load_limits", terms, -INF, 0.0, len(roomy))]


def loan_problem(inputs: PlanInputs, w: Window) -> tuple[StageProblem, np.ndarray]:
    """The loan stages of one year (`optimize.window.year_window`): y = mid + over − under.

    The clients are fixed (w.x_lo = w.x_hi = x); the earlier years are constants, so the band, the
    risk cap and a lock are bounds (`Window.loan_limits`). Returns mid too.
    """
    x = w.x_lo
    n = x.shape[0]
    loan_rows = tuple(f for f in w.floors if f.row.quantity == "loans")
    c, count = layout({"over": (n,), "under": (n,), "theta_loans": (1,), "floor_shortfall": (len(loan_rows),)})
    mid = loan_band(inputs, x)[1][:, 0]
    low, high = w.loan_limits(inputs)
    lower, upper = np.zeros(count), np.full(count, INF)
    lower[c["over"]], upper[c["over"]] = np.maximum(low - mid, 0.0), np.maximum(high - mid, 0.0)
    lower[c["under"]], upper[c["under"]] = np.maximum(mid - high, 0.0), np.maximum(mid - low, 0.0)
    key, _ = loan_keys(inputs, x)
    total = Total(np.concatenate([c["over"], c["under"]]), np.repeat([1.0, -1.0], n), float(mid.sum()))
    blocks = [
        *loan_load_limits(key[:, 0], c["over"], c["under"], c["theta_loans"]),
        *floors(loan_rows, {"loans": [total]}, c["floor_shortfall"]),
    ]
    costs = {s.name: np.zeros(count) for s in LOAN_STAGES}
    for stage in LOAN_STAGES:
        if stage.tier is not None:
            costs[stage.name][c["floor_shortfall"]] = shortfall_weights(inputs, loan_rows, stage.tier)
    costs["loan_load"][c["theta_loans"]] = 1.0
    costs["loan_deviation"][c["over"]] = costs["loan_deviation"][c["under"]] = 1.0 / loan_scale(inputs)
    return StageProblem(pass_lp(blocks, costs[LOAN_STAGES[0].name], lower, upper), c, costs), mid


# ---------------------------------------------------------------- the staged solve


def run(h: highspy.Highs, options: dict[str, object]) -> bool:
    """One HiGHS run from scratch (presolve then solve) with `options`; whether it ended optimal."""
    for key, value in options.items():
        h.setOptionValue(key, value)
    h.clearSolver()
    h.run()
    return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def run_with_retries(p: StageProblem, stage: Stage, n: int) -> bool:
    """Run the current objective; on numerical trouble against an earlier bound, loosen every stage
    bound (`optimize.stages.stage_bound`) and retry, up to RETRIES times. Whether it ended optimal."""
    h = p.highs
    ok = run(h, highs_options(n, stage))
    for retry in range(1, RETRIES + 1):
        if ok:
            break
        for name, row in p.bounds.items():
            if name in p.values:
                h.changeRowBounds(row, -INF, stage_bound(p.values[name], retry, float(np.abs(p.costs[name]).max())))
        ok = run(h, highs_options(n, stage, retry))
    return ok


def fill_progressively(p: StageProblem, stage: Stage, n: int, objectives: dict[str, float], prefix: str) -> None:
    """`client_fill` (optimize.stages): settle the load rows that block θ, then minimise θ over the rest.

    A row with |dual| > FILL_DUAL_TOL at the optimum is tight in every optimum, so its branch sits at
    θ·key[b] whatever the later stages do: the row becomes that equality and leaves θ.
    """
    h = p.highs
    if not len(p.load_rows) or "client_load" not in p.bounds:
        return
    h.changeColsCost(h.getNumCol(), np.arange(h.getNumCol(), dtype=np.int32), p.costs["client_load"])
    free = np.ones(len(p.load_rows), dtype=bool)
    value = p.values["client_load"]
    for _ in range(FILL_ROUNDS):
        h.changeRowBounds(p.bounds["client_load"], -INF, INF)  # θ may fall for the rows still coupled to it
        if not run_with_retries(p, stage, n):
            raise SolveError(f"{prefix}{stage.name}", h.modelStatusToString(h.getModelStatus()))
        solution = h.getSolution()
        value = float(h.getInfo().objective_function_value)
        h.changeRowBounds(p.bounds["client_load"], -INF, stage_bound(value))
        slack = np.asarray(solution.row_value)[p.load_rows]  # x − ref' − θ·key ≤ 0: 0 where tight
        blocked = free & (np.abs(np.asarray(solution.row_dual)[p.load_rows]) > FILL_DUAL_TOL) & (slack > -FILL_TIGHT_TOL)
        if not blocked.any():
            break
        levels = np.asarray(solution.col_value)[p.load_theta[blocked]] * p.load_key[blocked]
        for row, column, level in zip(p.load_rows[blocked], p.load_theta[blocked], levels):
            h.changeCoeff(int(row), int(column), 0.0)  # x − ref' ≤ θ*·key: tight in every later optimum (stages.py)
            h.changeRowBounds(int(row), -INF, stage_bound(level))
        free &= ~blocked
        if not free.any():
            break
    p.values["client_load"] = value
    objectives[f"{prefix}{stage.name}"] = objectives.get(f"{prefix}{stage.name}", 0.0) + value


def run_stages(p: StageProblem, stages: tuple[Stage, ...], n: int, objectives: dict[str, float], prefix: str) -> None:
    """The stages on one problem: set the costs, solve (retry once), record, bound the optimum."""
    h = p.highs
    count = h.getNumCol()
    all_cols = np.arange(count, dtype=np.int32)
    for stage in stages:
        if stage.kind == "fill":
            fill_progressively(p, stage, n, objectives, prefix)
            continue
        costs = p.costs[stage.name]
        if not costs.any():  # e.g. no floor and no completion rule: nothing to minimise
            continue
        h.changeColsCost(count, all_cols, costs)
        if not run_with_retries(p, stage, n):
            raise SolveError(f"{prefix}{stage.name}", h.modelStatusToString(h.getModelStatus()))
        value = float(h.getInfo().objective_function_value)
        objectives[f"{prefix}{stage.name}"] = objectives.get(f"{prefix}{stage.name}", 0.0) + value
        idx = np.flatnonzero(costs).astype(np.int32)
        h.addRow(-INF, stage_bound(value), len(idx), idx, costs[idx])
        p.bounds[stage.name] = h.getNumRow() - 1
        p.values[stage.name] = value


def solve_clients(inputs: PlanInputs, w: Window) -> StageResult:
    """The client stages of `optimize.stages` on window `w`: x (n, W). `SolveError` if one is not optimal."""
    objectives: dict[str, float] = {}
    clients = client_problem(inputs, w)
    run_stages(clients, CLIENT_STAGES, len(inputs.branch_ids), objectives, f"{w.phase}/")
    values = np.asarray(clients.highs.getSolution().col_value)
    x = np.clip(w.ref + values[clients.cols["over"]] - values[clients.cols["under"]], w.x_lo, w.x_hi)
    return StageResult(x, objectives, float(clients.highs.getRunTime()))


def solve_loans(inputs: PlanInputs, w: Window) -> StageResult:
    """The loan stages on a one-year window with its clients fixed (`optimize.window.year_window`): y (n, 1)."""
    objectives: dict[str, float] = {}
    loans, mid = loan_problem(inputs, w)
    run_stages(loans, LOAN_STAGES, len(inputs.branch_ids), objectives, f"{w.phase}/")
    values = np.asarray(loans.highs.getSolution().col_value)
    y = mid + values[loans.cols["over"]] - values[loans.cols["under"]]
    return StageResult(y[:, None], objectives, float(loans.highs.getRunTime()))
