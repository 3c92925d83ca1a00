"""Mutation check: would the tests notice a wrong rule? A measurement run by hand, never in the suite.

Each row of `MUTATIONS` is a one-line change to the source (file, exact old text, new text, why).
For each, a temporary copy of the repository gets that one change, then its test files run with
`pytest -x -q`; a mutation is *caught* when they fail and *survived* when they pass. The copy is
`git archive` of a commit (default HEAD) — the working tree in /work/main is never touched — or,
with `--working-tree`, the tracked and new files as they are now (to try uncommitted tests).

usage: .venv/bin/python bench/mutations.py                       # every mutation, against HEAD
       .venv/bin/python bench/mutations.py --only ccf --only loss  # names containing "ccf" or "loss"
       .venv/bin/python bench/mutations.py --tests tests/test_sim_money.py   # other test files
       .venv/bin/python bench/mutations.py --list                  # the table, nothing run

Adding a mutation: append a `Mutation(...)` row (to `PLAN_MUTATIONS` for the plan engine, with
its own `tests`). `old` must occur exactly once in the file (widen it with neighbouring text if
needed; a row whose text is gone is reported as `stale`, so the table cannot rot silently).
Exit status: 0 when every mutation is caught, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: The simulation's test files (a mutation row may name others).
SIMULATION_TESTS: tuple[str, ...] = (
    "tests/test_sim_money.py",
    "tests/test_sim_counter.py",
    "tests/test_sim_seasonality.py",
    "tests/test_revolving_credit.py",
    "tests/test_runner.py",
    "tests/test_sim_cli.py",
)


@dataclass(frozen=True)
class Mutation:
    """A one-line change to a source file, and the test files that should notice it."""

    name: str                      # short, unique, used by --only
    file: str                      # path inside the repository
    old: str                       # exact text, occurring once in the file
    new: str                       # its replacement
    why: str                       # the wrong rule it plants
    tests: tuple[str, ...] = SIMULATION_TESTS
    listed: bool = False           # one of the changes listed in issue 8


RC = "simulate/revolving_credit.py"

#: The simulation's mutations: first those listed in issue 8, then our own.
SIMULATION_MUTATIONS: list[Mutation] = [
    Mutation("ccf-numerator-without-drawn", RC,
             "ccf = sum(d.ead - d.reference_balance for d in defaults) / undrawn",
             "ccf = sum(d.ead for d in defaults) / undrawn",
             "CCF numerator Σ EAD instead of Σ(EAD − drawn)", listed=True),
    Mutation("funding-cost-365-basis", RC,
             "return self.card.funding_rate / self.card.day_count_basis",
             "return self.card.funding_rate / DAYS_PER_YEAR",
             "funding cost on a 365-day basis whatever the scenario says", listed=True),
    Mutation("loss-without-lgd", RC,
             "loss = ead * params.card.default.lgd",
             "loss = ead",
             "loss = EAD (LGD forgotten)", listed=True),
    Mutation("review-raises-twice-as-much", RC,
             "return max(limit, min(limit_max, limit * (1 + raise_by)))",
             "return max(limit, min(limit_max, limit * (1 + 2 * raise_by)))",
             "a limit review raising by 2 × raise_by", listed=True),
    Mutation("seasonality-ignored", RC,
             "rate = per_day * params.season(month_of_day[month_start])",
             "rate = per_day",
             "the monthly multipliers of the draw rate ignored", listed=True),
    Mutation("cut-below-the-balance", RC,
             "return max(balance, limit * (1 - cut_by))",
             "return limit * (1 - cut_by)",
             "a limit cut that may go below the balance", listed=True),
    # -- our own ---------------------------------------------------------------------------------
    Mutation("interest-365-basis", RC,
             "return self.card.annual_rate / self.card.day_count_basis",
             "return self.card.annual_rate / DAYS_PER_YEAR",
             "interest on a 365-day basis whatever the scenario says"),
    Mutation("ccf-denominator-without-drawn", RC,
             "undrawn = sum(d.reference_limit - d.reference_balance for d in defaults)",
             "undrawn = sum(d.reference_limit for d in defaults)",
             "CCF denominator Σ limit instead of Σ(limit − drawn)"),
    Mutation("ccf-reference-at-default", RC,
             "reference_balance=tally.balance_at_start[account],",
             "reference_balance=book.balance_days[account] * 0,",
             "CCF drawn balance taken as 0 instead of the balance at the start of measurement"),
    Mutation("review-raise-uncapped", RC,
             "return max(limit, min(limit_max, limit * (1 + raise_by)))",
             "return max(limit, limit * (1 + raise_by))",
             "a raise not capped at limit.max"),
    Mutation("review-cuts-twice-as-much", RC,
             "return max(balance, limit * (1 - cut_by))",
             "return max(balance, limit * (1 - 2 * cut_by))",
             "a limit review cutting by 2 × cut_by"),
    Mutation("season-of-the-next-month", RC,
             "return self.card.seasonality[month - 1]",
             "return self.card.seasonality[month % 12]",
             "each month gets the next month's multiplier"),
    Mutation("counter-wait-survivors-only", RC,
             "return (tally.wait_minutes + tally.censored_wait_minutes) / tally.counter_visits",
             "return tally.wait_minutes / tally.counter_visits",
             "visitors still queueing at the end contribute no wait (survivor bias)"),
    Mutation("counter-counts-warm-up-visits", RC,
             "self.measured = tally.measuring",
             "self.measured = True",
             "counter visits arriving in the warm-up counted in the measured wait"),
    Mutation("settlement-up-to-the-19th", RC,
             "book.settle_interest(settlement_day + 1)",
             "book.settle_interest(settlement_day)",
             "the settlement on the 20th leaves the 20th's interest for next month"),
    Mutation("settlement-on-the-21st", "simulate/dates.py",
             "SETTLEMENT_DAY_OF_MONTH = 20",
             "SETTLEMENT_DAY_OF_MONTH = 21",
             "interest settled on the 21st"),
    Mutation("repayment-accrues-an-extra-day", "simulate/credit_book.py",
             "self.balance_days[account] += balance * (day - self.last_day[account])\n        self.last_day[account] = day\n        if amount < balance - MONEY_EPSILON:",
             "self.balance_days[account] += balance * (day + 1 - self.last_day[account])\n        self.last_day[account] = day\n        if amount < balance - MONEY_EPSILON:",
             "a repayment accrues one end-of-day balance too many"),
    Mutation("draw-beyond-the-limit", "simulate/credit_book.py",
             "if amount < available:",
             "if amount < available + 1.0:",
             "a drawdown may exceed the available limit by up to 1万"),
    Mutation("holding-time-halved", RC,
             "holding_days=_floats(lambda size: g[3].exponential(card.holding_days_mean, size)),",
             "holding_days=_floats(lambda size: g[3].exponential(card.holding_days_mean / 2, size)),",
             "drawdowns repaid after half the mean holding time (Little's law)"),
    Mutation("defaults-ignore-utilisation", RC,
             "if accept >= math.exp(beta * (utilisation - 1.0)):",
             "if accept >= math.exp(beta * (0.0 - 1.0)):",
             "the default hazard does not rise with utilisation"),
    Mutation("draws-per-day-on-360", RC,
             "return self.card.draws_per_month * 12 / DAYS_PER_YEAR",
             "return self.card.draws_per_month * 12 / 360",
             "monthly draws turned into a daily rate on 360 days"),
]

#: The plan engine's mutations (optimize/): append rows here, with their own `tests`, e.g.
#: Mutation("smoothing-dropped", "optimize/…", "old text", "new text", "why", tests=("tests/test_plan_cases.py",)).
#: The plan's test files, hand cases first (they fail fastest); the slow tier (the 1,000-branch engine
#: comparison, the long hypothesis runs) is left out: `-m "not slow"` is passed with the files.
PLAN_TESTS: tuple[str, ...] = (
    "-m", "not slow",
    "tests/test_plan_rules.py",
    "tests/test_plan_diagnostics.py",
    "tests/test_plan_cases.py",
    "tests/test_plan_properties.py",
    "tests/test_plan_matrix.py",
)
REG, INP, MAT, MOD, WIN = ("optimize/regulation.py", "optimize/inputs.py", "optimize/matrix.py", "optimize/model.py",
                           "optimize/window.py")

PLAN_MUTATIONS: list[Mutation] = [
    Mutation("plan-smoothing-dropped-both", WIN,
             "step = max_change * capacity",
             "step = np.inf * np.ones_like(capacity)",
             "the smoothing rule removed from both engines (every year's box is [0, capacity])", PLAN_TESTS, listed=True),
    Mutation("plan-smoothing-upper-ignored-matrix", MAT,
             'lower[c["over"]], upper[c["over"]] = np.maximum(w.x_lo - ref, 0.0), np.maximum(w.x_hi - ref, 0.0)',
             'lower[c["over"]], upper[c["over"]] = np.maximum(w.x_lo - ref, 0.0), np.maximum(inputs.capacity[:, None] - ref, 0.0)',
             "the matrix (default) engine ignores smoothing's upper limit (capacity only)", PLAN_TESTS, listed=True),
    Mutation("plan-smoothing-upper-ignored-pyomo", MOD,
             "m.x[b, t].setub(float(w.x_hi[b, t]))",
             "m.x[b, t].setub(float(w.x_hi[:, t].max()))",
             "the Pyomo engine ignores each branch's smoothing upper limit (the largest box top for all)", PLAN_TESTS),
    Mutation("plan-smoothing-between-years-dropped", WIN,
             "before = inputs.last_target if S == 0 else x_fixed[:, -1]",
             "before = inputs.last_target if S == 0 else np.full(n, np.nan)",
             "no smoothing from one plan year to the next (both engines)", PLAN_TESTS),
    Mutation("plan-smoothing-from-last-year-dropped", WIN,
             "before = inputs.last_target if S == 0 else x_fixed[:, -1]",
             "before = np.full(n, np.nan) if S == 0 else x_fixed[:, -1]",
             "no smoothing from last year's target to the plan year (both engines)", PLAN_TESTS),
    Mutation("plan-borrower-margin-ignored", REG,
             "need = a + margin",
             "need = a",
             "the borrower-count margin ignored", PLAN_TESTS, listed=True),
    Mutation("plan-buffer-additive", REG,
             "k = (1 + margin) * (1 + targets.buffer) - 1",
             "k = margin + targets.buffer",
             "the department buffer composed additively (1 + m + b) instead of (1 + m)(1 + b)", PLAN_TESTS, listed=True),
    Mutation("plan-npl-tolerance-without-bank-npl", REG,
             "return bank_npl + tolerance_pp - margin",
             "return tolerance_pp - margin",
             "两增两控 tolerance without the bank's NPL ratio", PLAN_TESTS, listed=True),
    Mutation("plan-outlets-key-is-client-managers", INP,
             "return np.array([b.outlets for b in scenario.branches], dtype=float)",
             "return np.array([b.client_managers for b in scenario.branches], dtype=float)",
             "sharing by client managers when the scenario says outlets", PLAN_TESTS, listed=True),
    Mutation("plan-zero-key-stage-dropped", MAT,
             'costs["zero_key_load"][c["theta0"]] = w.year_weight',
             'costs["zero_key_load"][c["theta0"]] = 0.0 * w.year_weight',
             "the zero-key stage removed from the matrix engine (zero-key branches load freely)", PLAN_TESTS),
    Mutation("plan-pace-without-max0", INP,
             "return np.maximum(long_term_target - achieved, 0.0) / years_left",
             "return (long_term_target - achieved) / years_left",
             "the catch-up pace without max(0, ·)", PLAN_TESTS),
    Mutation("plan-growth-floor-uncoupled", REG,
             "{s: k * g for s in range(t)})",
             "{})",
             "the growth floor of later years without the growing balance (no coupling)", PLAN_TESTS),
    Mutation("plan-risk-cap-ignored-matrix", MAT,
             "    if not K:",
             "    if True:",
             "the risk cap ignored by the matrix engine", PLAN_TESTS),
    Mutation("plan-risk-cap-ignored-pyomo", MOD,
             "if not m.RISK_CAPPED_BRANCHES:",
             "if True:",
             "the risk cap ignored by the Pyomo engine", PLAN_TESTS),
    Mutation("plan-book-change-max-dropped", INP,
             "book_max=scenario.risk.book_change_max * micro_loans,",
             "book_max=0.0 * micro_loans,",
             "the loan band's upper book change dropped", PLAN_TESTS),
    Mutation("plan-book-change-min-dropped", INP,
             "book_min=scenario.risk.book_change_min * micro_loans,",
             "book_min=0.0 * micro_loans,",
             "the loan band's lower book change dropped", PLAN_TESTS),
    # -- our own ---------------------------------------------------------------------------------
    Mutation("plan-increment-margin-ignored", REG,
             'rows = [FloorRow(rule, tier, "loans", 0, k * scenario.bank.micro_loan_increment_prev)]',
             'rows = [FloorRow(rule, tier, "loans", 0, scenario.bank.micro_loan_increment_prev)]',
             "the increment rule's margin ignored in the plan year", PLAN_TESTS),
    Mutation("plan-npl-margin-loosens", REG,
             "return bank_npl + tolerance_pp - margin",
             "return bank_npl + tolerance_pp + margin",
             "a margin on asset_quality loosens the NPL tolerance", PLAN_TESTS),
    Mutation("plan-proportional-key-outlets", INP,
             'key_name = "client_managers" if scenario.policy.sharing_key == "spare_capacity" else scenario.policy.sharing_key',
             'key_name = "outlets" if scenario.policy.sharing_key == "spare_capacity" else scenario.policy.sharing_key',
             "the proportional policy shares by outlets where it should by client managers", PLAN_TESTS),
    Mutation("plan-loan-load-stage-dropped", MAT,
             'costs["loan_load"][c["theta_loans"]] = 1.0',
             'costs["loan_load"][c["theta_loans"]] = 0.0',
             "no progressive filling of loans (only the L1 deviation stage: several optima)", PLAN_TESTS),
    Mutation("plan-diagnostics-loan-moves-per-100", "optimize/diagnostics.py",
             'step = to_wan(1.0, "亿元")  # 万元',
             "step = 100.0  # 万元",
             "loan marginal-cost sentence scaled to 100 万元 while saying 1 亿元", PLAN_TESTS),
    Mutation("plan-yi-yuan-rounded-to-100-wan", "optimize/diagnostics.py",
             '"亿元": 4',
             '"亿元": 2',
             "亿元 outputs rounded to 0.01 亿元 (100 万元)", PLAN_TESTS),
    Mutation("plan-binds-in-display-unit", "optimize/plan.py",
             'binds = bool((rows["total"] - rows["required"]).abs().le(BINDS_TOL).any()) if len(rows) else False',
             'binds = bool(((rows["total"] - rows["required"]) * money).abs().le(BINDS_TOL).any()) if len(rows) else False',
             "whether a floor binds measured in the display unit", PLAN_TESTS),
]

#: The joint-marketing model's and the market assignment's test files (issue 13).
MARKETING_TESTS: tuple[str, ...] = ("tests/test_market_assignment.py", "tests/test_joint_marketing.py")
JM = "simulate/joint_marketing.py"

MARKETING_MUTATIONS: list[Mutation] = [
    Mutation("jm-branch-part-at-department-share", JM,
             "department, branch_part = s.department_share * pool, (1 - s.department_share) * pool",
             "department, branch_part = s.department_share * pool, s.department_share * pool",
             "the branches get the department's share of the pool", MARKETING_TESTS),
    Mutation("jm-negative-branch-weights", JM, "weights[b] = max(0.0, branch_profit)", "weights[b] = branch_profit",
             "a loss-making branch is billed a negative payout", MARKETING_TESTS),
    Mutation("jm-every-decision-approved", JM, "world.tally.approvals[k] += approved", "world.tally.approvals[k] += 1",
             "the approval rate counts every decision as an approval", MARKETING_TESTS),
    Mutation("jm-discount-sells-nothing", JM,
             "uplift = jm.cross_sell.discount_response * jm.pricing.contribution_discount", "uplift = 0.0",
             "the contribution discount does not raise cross-selling", MARKETING_TESTS),
    Mutation("jm-bundles-keep-nobody", JM, "        base *= 1 - r.bundle_attrition_cut", "        base *= 1",
             "product bundles do not lower attrition", MARKETING_TESTS),
    Mutation("jm-volume-pay-without-risk", JM,
             "hazard = daily_default_hazard(jm.risk.annual_pd * volume_pay_multipliers(jm.sharing.volume_pay_weight)[2])",
             "hazard = daily_default_hazard(jm.risk.annual_pd)",
             "volume pay leaves default rates unchanged", MARKETING_TESTS),
    Mutation("jm-no-free-riding", JM, "return float(free_riding_share(own, self.group_size(g), s.team_credit))",
             "return float(own)", "pooled credit does not thin a manager's reward", MARKETING_TESTS),
    Mutation("jm-interest-365-basis", JM, 'interest = f["amount"] * f["rate"] * d / INTEREST_BASIS',
             'interest = f["amount"] * f["rate"] * d / DAYS_PER_YEAR', "loan interest on a 365-day basis", MARKETING_TESTS),
    Mutation("jm-scorecard-ignored", JM,
             "return card.leader_visits_per_week if leader else card.micro_visits_per_week * card.micro_weight",
             "return card.leader_visits_per_week if leader else card.micro_visits_per_week",
             "the scorecard's micro weight does not split the week", MARKETING_TESTS),
    Mutation("jm-elasticity-doubled", JM,
             "effort_response(params.reward(m.leader, m.group), e.reference_reward, e.elasticity, e.floor, e.cap, float(a))",
             "effort_response(params.reward(m.leader, m.group), e.reference_reward, 2 * e.elasticity, e.floor, e.cap, float(a))",
             "effort answers the reward with twice the elasticity", MARKETING_TESTS),
    Mutation("jm-open-loans-closed-at-the-end", JM,
             'last = np.clip(np.ceil(f["end"] - w - 1), 0, n).astype(np.int64)',
             'last = np.clip(np.ceil(np.minimum(f["end"], params.horizon) - w - 1), 0, n).astype(np.int64)',
             "loans still open drop out of the last day's balance", MARKETING_TESTS),
    Mutation("mip-given-assignment-ignored", "optimize/markets.py",
             "m.given_assignments = pyo.Constraint(m.GIVEN, rule=lambda m, k, g: m.x[k, g] == 1)",
             "m.given_assignments = pyo.Constraint(m.GIVEN, rule=lambda m, k, g: m.x[k, g] >= 0)",
             "the department's own assignments are not kept", MARKETING_TESTS),
    Mutation("mip-districts-free", "optimize/markets.py",
             "rule=lambda m, k, g: m.x[k, g] <= m.y[g, district[k]])", "rule=lambda m, k, g: m.x[k, g] <= 1)",
             "a group's districts cost nothing (markets scatter)", MARKETING_TESTS),
    Mutation("mip-balance-per-group-not-per-member", "optimize/markets.py",
             "return sum(potential[k] * m.x[k, g] for k in m.MARKETS) - members[g] * fair",
             "return sum(potential[k] * m.x[k, g] for k in m.MARKETS) - fair",
             "potential balanced per group instead of per member", MARKETING_TESTS),
]

MUTATIONS: list[Mutation] = [*SIMULATION_MUTATIONS, *PLAN_MUTATIONS, *MARKETING_MUTATIONS]


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    result: str          # caught | survived | stale
    seconds: float
    detail: str          # the first failing test, or why it is stale


def export_tree(target: Path, ref: str | None) -> None:
    """The repository's files at `ref` (git archive), or its tracked and new files as they are (ref None)."""
    if ref is not None:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", ref],
                                 check=True, capture_output=True).stdout
        with tempfile.TemporaryFile() as tar_file:
            tar_file.write(archive)
            tar_file.seek(0)
            with tarfile.open(fileobj=tar_file) as tar:
                tar.extractall(target, filter="data")
        return
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def run_tests(copy: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    """`pytest -x -q` on `tests` inside the copy; returns (exit code, output)."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
        cwd=copy, env=env, capture_output=True, text=True,
    )
    return done.returncode, done.stdout + done.stderr


def first_failure(output: str) -> str:
    """The first failing test named in pytest's summary (or the collection error)."""
    match = re.search(r"^(FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return match.group(2) if match else output.strip().splitlines()[-1] if output.strip() else ""


def check_imports_from(copy: Path) -> None:
    """Make sure the copy's packages, not the editable install in /work/main, are imported."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    where = subprocess.run([sys.executable, "-c", "import simulate, optimize; print(simulate.__file__)"],
                           cwd=copy, env=env, check=True, capture_output=True, text=True).stdout.strip()
    if not Path(where).resolve().is_relative_to(copy.resolve()):
        raise SystemExit(f"the copy imports simulate from {where}, not from {copy}")


def try_mutation(copy: Path, mutation: Mutation) -> Outcome:
    path = copy / mutation.file
    original = path.read_text(encoding="utf-8") if path.exists() else ""
    found = original.count(mutation.old)
    if found != 1:
        return Outcome(mutation, "stale", 0.0, f"old text found {found} times in {mutation.file}")
    path.write_text(original.replace(mutation.old, mutation.new), encoding="utf-8")
    start = time.perf_counter()
    try:
        code, output = run_tests(copy, mutation.tests)
    finally:
        path.write_text(original, encoding="utf-8")
    seconds = time.perf_counter() - start
    if code == 0:
        return Outcome(mutation, "survived", seconds, "")
    detail = first_failure(output)
    return Outcome(mutation, "caught", seconds, detail if code == 1 else f"pytest exit {code}: {detail}")


def print_table(outcomes: list[Outcome]) -> None:
    print("| mutation | listed in issue 8 | result | first failing test | why |")
    print("|---|---|---|---|---|")
    for o in outcomes:
        m = o.mutation
        print(f"| `{m.name}` | {'yes' if m.listed else ''} | {o.result} | {o.detail.replace('|', '/')} | {m.why} |")
    caught = sum(o.result == "caught" for o in outcomes)
    listed = [o for o in outcomes if o.mutation.listed]
    print(f"\ncaught {caught} of {len(outcomes)}"
          + (f"; of the listed ones {sum(o.result == 'caught' for o in listed)} of {len(listed)}" if listed else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], metavar="TEXT",
                        help="run the mutations whose name contains TEXT (repeatable)")
    parser.add_argument("--tests", nargs="+", metavar="FILE", help="test files to run instead of each row's own")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--ref", default="HEAD", help="commit to copy (default HEAD)")
    source.add_argument("--working-tree", action="store_true", help="copy the working tree's tracked and new files")
    parser.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    args = parser.parse_args()

    chosen = [m for m in MUTATIONS if not args.only or any(text in m.name for text in args.only)]
    if args.tests:
        chosen = [Mutation(m.name, m.file, m.old, m.new, m.why, tuple(args.tests), m.listed) for m in chosen]
    if args.list:
        for m in chosen:
            print(f"{m.name:40} {m.file:32} {m.why}")
        return
    if not chosen:
        raise SystemExit("no mutation matches --only")

    with tempfile.TemporaryDirectory(prefix="microplan-mutations-") as tmp:
        copy = Path(tmp)
        export_tree(copy, None if args.working_tree else args.ref)
        check_imports_from(copy)
        label = "the working tree" if args.working_tree else args.ref
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            code, output = run_tests(copy, tests)
            if code != 0:
                print(output[-3000:])
                raise SystemExit(f"the unmutated tests fail on {label}: fix them first")
            print(f"baseline ({label}): {len(tests)} test files pass unmutated\n")
        outcomes = []
        for mutation in chosen:
            outcome = try_mutation(copy, mutation)
            print(f"{outcome.result:8} {outcome.seconds:5.1f} s  {mutation.name}  {outcome.detail}", flush=True)
            outcomes.append(outcome)
    print()
    print_table(outcomes)
    sys.exit(0 if all(o.result == "caught" for o in outcomes) else 1)


if __name__ == "__main__":
    main()
