"""Mutation check of the plan checker: would tests/test_check.py notice a wrong rule in it?

A measurement run by hand, never in the suite. Each row plants one wrong rule in
`optimize/check.py` or `api/plan_files.py` (or, `ENGINE_MUTATIONS`, in the engine, which the
checker must then catch on the engine's plans); the rows run through `bench/mutations.py`'s runner
(a `git archive` copy per run, /work/main untouched), so its options work here too.

usage: .venv/bin/python bench/check_mutations.py                  # every row, against HEAD
       .venv/bin/python bench/check_mutations.py --working-tree   # uncommitted files
       .venv/bin/python bench/check_mutations.py --only npl       # rows whose name contains "npl"
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutations  # noqa: E402  (bench/mutations.py: the runner)
from mutations import Mutation  # noqa: E402

CHECK_TESTS: tuple[str, ...] = ("tests/test_check.py",)

CHECK_MUTATIONS: list[Mutation] = [
    Mutation('growth-balance-does-not-grow', 'optimize/check.py',
             'balance_before = m0 + np.concatenate([[0.0], np.cumsum(loans)[:-1]])',
             'balance_before = m0 + 0 * loans',
             'growth: balance does not grow', CHECK_TESTS),
    Mutation('increment-margin-ignored', 'optimize/check.py',
             'return k * np.concatenate([[increment_prev], loans[:-1]])',
             'return np.concatenate([[increment_prev], loans[:-1]])',
             'increment: margin ignored', CHECK_TESTS),
    Mutation('borrower-margin-ignored', 'optimize/check.py',
             'return (a + k - 1) * borrowers_before',
             'return a * borrowers_before',
             'borrower: margin ignored', CHECK_TESTS),
    Mutation('borrower-c-not-carried', 'optimize/check.py',
             'c = (1 - a) * c + clients[t]',
             'c = c',
             'borrower: C not carried', CHECK_TESTS),
    Mutation('buffer-additive', 'optimize/check.py',
             '(1 + margin) * (1 + buffer)))',
             '1 + margin + buffer))',
             'buffer additive', CHECK_TESTS),
    Mutation('growth-later-ignored', 'optimize/check.py',
             'later = first if bank.all_loan_growth_later is None else bank.all_loan_growth_later',
             'later = first',
             'growth later ignored', CHECK_TESTS),
    Mutation('disabled-rules-kept', 'optimize/check.py',
             '            rules.pop(name, None)',
             '            pass',
             'disabled rules kept', CHECK_TESTS),
    Mutation('dept-client-target-dropped', 'optimize/check.py',
             '(scenario.targets.micro_client_increment, "clients"',
             '(None, "clients"',
             'dept client target dropped', CHECK_TESTS),
    Mutation('capacity-no-lower-bound', 'optimize/check.py',
             '    return (collect_grid("capacity", "hard", "clients", "min", plan, zero, plan.x, h)\n            + ',
             '    return (',
             'capacity: no lower bound', CHECK_TESTS),
    Mutation('smoothing-max-change-ignored', 'optimize/check.py',
             'step = np.broadcast_to((max_change * cap)[:, None], change.shape)',
             'step = np.broadcast_to((cap)[:, None], change.shape)',
             'smoothing: max_change ignored', CHECK_TESTS),
    Mutation('last-year-band-capacity-does-not-win', 'optimize/check.py',
             '    return np.minimum(lo, cap), hi',
             '    return lo, hi',
             'last-year band: capacity does not win', CHECK_TESTS),
    Mutation('last-year-band-c-ignored', 'optimize/check.py',
             '    hi = last_target + max_change * cap',
             '    hi = last_target + cap',
             'last-year band: c ignored', CHECK_TESTS),
    Mutation('band-book-ignored', 'optimize/check.py',
             '    low = s_min * plan.x + scenario.risk.book_change_min * book',
             '    low = s_min * plan.x',
             'band: book ignored', CHECK_TESTS),
    Mutation('npl-bank-ratio-dropped', 'optimize/check.py',
             'return scenario.bank.npl_ratio + scenario.regulation.npl_tolerance_pp - rules["asset_quality"]',
             'return scenario.regulation.npl_tolerance_pp - rules["asset_quality"]',
             'npl: bank ratio dropped', CHECK_TESTS),
    Mutation('npl-margin-loosens', 'optimize/check.py',
             'return scenario.bank.npl_ratio + scenario.regulation.npl_tolerance_pp - rules["asset_quality"]',
             'return scenario.bank.npl_ratio + scenario.regulation.npl_tolerance_pp + rules["asset_quality"]',
             'npl: margin loosens', CHECK_TESTS),
    Mutation('risk-cap-earlier-growth-ignored', 'optimize/check.py',
             '    cap = r * (book[:, None] + earlier)',
             '    cap = r * (book[:, None] + 0 * earlier)',
             'risk cap: earlier growth ignored', CHECK_TESTS),
    Mutation('water-fill-no-re-split', 'optimize/check.py',
             '        result[full] = cap[full]\n',
             '        return np.minimum(result + proposal, cap)\n',
             'water fill: no re-split', CHECK_TESTS),
    Mutation('shares-over-all-branches', 'optimize/check.py',
             'result[free] += weight * share_of(np.array(column, dtype=float)[free])',
             'result[free] += weight * share_of(np.array(column, dtype=float))[free]',
             'long-term shares: sums over every branch, not over those without a given target', CHECK_TESTS),
    Mutation('completion-achieved-ignored', 'optimize/check.py',
             '    done = achieved + plan.x.sum(axis=1)',
             '    done = plan.x.sum(axis=1)',
             'completion: achieved ignored', CHECK_TESTS),
    Mutation('schedule-horizon-not-years-left', 'optimize/check.py',
             '    pace = np.maximum(long_term_targets(scenario) - achieved, 0.0) / len(plan.years)',
             '    pace = np.maximum(long_term_targets(scenario) - achieved, 0.0) / scenario.cycle.horizon_years',
             'schedule: horizon not years left', CHECK_TESTS),
    Mutation('tolerance-not-per-branch', 'optimize/check.py',
             '    total_error = {"clients": n * resolution.half_clients, "loans": n * resolution.half_loans}',
             '    total_error = {"clients": resolution.half_clients, "loans": resolution.half_loans}',
             'tolerance: not per branch', CHECK_TESTS),
    Mutation('completion-under-the-wrong-policy', 'optimize/check.py',
             '    if policy == "catch_up":',
             '    if policy == "ratchet":',
             'completion under the wrong policy', CHECK_TESTS),
    Mutation('xlsx-unit-not-converted', 'api/plan_files.py',
             '        rows.append((bid, year, clients, loans * factor))',
             '        rows.append((bid, year, clients, loans))',
             'xlsx: unit not converted', CHECK_TESTS),
    Mutation('json-unit-not-converted', 'api/plan_files.py',
             '                rows.append((bid.strip(), int(year), values[0], values[1] * factor))',
             '                rows.append((bid.strip(), int(year), values[0], values[1]))',
             'json: unit not converted', CHECK_TESTS),
    Mutation('branch-sheet-does-not-win', 'api/plan_files.py',
             'for bid, (clients, loans, where) in branch_rows.items():',
             'for bid, (clients, loans, where) in {}.items():',
             'plan-year targets edited in the branch sheet ignored when the rolling sheet has the year', CHECK_TESTS),
    Mutation('totals-row-read-as-a-branch', 'api/plan_files.py',
             '            continue  # a totals or note row, not a branch',
             '            pass',
             'totals row read as a branch', CHECK_TESTS),
    Mutation('whole-clients-no-largest-remainder', 'optimize/check.py',
             'whole[order[:max(0, missing)]] += 1',
             'whole[order[:0]] += 1',
             'long-term targets rounded down, the bank total not kept', CHECK_TESTS),
    Mutation('rolling-year-floors-block', 'optimize/check.py',
             'return self.severity != "schedule" and not self.indicative',
             'return self.severity != "schedule"',
             "a rolling year's floor rejects the plan (the engine reports it as a warning)", CHECK_TESTS),
]

#: Wrong rules planted in the engine: the checker, run on every engine plan of the bundled and
#: generated banks, must notice them (engine text changes fast: a row whose text is gone is `stale`).
ENGINE_MUTATIONS: list[Mutation] = [
    Mutation('engine-buffer-additive', 'optimize/regulation.py',
             'k = (1 + margin) * (1 + targets.buffer) - 1',
             'k = margin + targets.buffer',
             'engine: department buffer composed additively (issue 8)', CHECK_TESTS),
    Mutation('engine-borrower-margin-ignored', 'optimize/regulation.py',
             'need = a + margin  # gross',
             'need = a + 0 * margin  # gross',
             'engine: borrower-count margin ignored (issue 8)', CHECK_TESTS),
    Mutation('engine-smoothing-removed', 'optimize/window.py',
             '    step = max_change * capacity',
             '    step = 1e6 * capacity',
             'engine: smoothing removed (each year is a window since 32edad5; the box holds it) (issue 8)', CHECK_TESTS),
    Mutation('engine-between-years-smoothing-removed', 'optimize/window.py',
             'before = inputs.last_target if S == 0 else x_fixed[:, -1]',
             'before = inputs.last_target if S == 0 else np.full(n, np.nan)',
             'engine: year-to-year smoothing of the rolling years dropped', CHECK_TESTS),
    Mutation('engine-last-year-smoothing-removed', 'optimize/window.py',
             'before = inputs.last_target if S == 0 else x_fixed[:, -1]',
             'before = np.full(n, np.nan) if S == 0 else x_fixed[:, -1]',
             "engine: smoothing from last year's target dropped (issue 8)", CHECK_TESTS),
]

if __name__ == "__main__":
    mutations.MUTATIONS[:] = CHECK_MUTATIONS + ENGINE_MUTATIONS
    mutations.main()
