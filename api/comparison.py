"""Comparing policy options: the base scenario and its variants side by side (README "Comparing options").

The one place the comparison is made; `microplan compare` (`api.cli_compare`) and the HTTP API
call `compare_scenario` and render its `Comparison` (`api.comparison_xlsx`, `api.comparison_html`).

- **Options.** The base scenario and each variant of `variants:`, whose patch is merged into the
  base (`scenarios.loading.apply_patch`) and validated as a whole scenario; every problem of every
  variant is reported in one pass, under `variants.N.patch.…` and naming the variant. The base is
  rebuilt the same way with an empty patch, so a variant identical to the base has the very same input.
- **Plans** are independent, so they run in parallel, one task per option — building (validating)
  the option's scenario and planning it — on the simulation runner's executors
  (`simulate.runner.run_tasks`: local processes or a Dask cluster).
- **Simulations** (when the scenario has a `simulation:` section): every model the section names
  (`simulate.service.MODELS`, in their order) for every option, each with the same seed and
  replications — common random numbers, so replication `i` of two options draws the same random
  stream and a difference is the options', not the streams' (the paired difference's CI is
  reported beside each option's own CI). Options whose simulation inputs are equal share one run:
  the runner gives the same numbers for the same inputs and seed.

Money is in the base scenario's unit (a variant may not change `units.money`); clients are whole.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenarios import Problem, Scenario, ScenarioError
from scenarios.loading import apply_patch, in_variant, scenario_from_dict, scenario_to_dict
from simulate.stats import summarise, t_quantile_975

#: Version of the comparison JSON's shape: raised when a key changes meaning or goes away.
COMPARISON_SCHEMA_VERSION = 1
#: The base option's name in the JSON (variants keep the names the scenario gives them).
BASE = "base"
#: Below this many branch plans (Σ branches over the options), the default runs the plans in this
#: process: a plan of the bundled bank takes ~0.1 s, starting a worker process with numpy, pandas and
#: HiGHS ~1 s (bench/README.md, "Comparison").
AUTO_PARALLEL_MIN_BRANCH_PLANS = 2_000
#: Share of the progress bar the plans take when simulations follow.
PLAN_PROGRESS_SHARE = 0.1
#: A branch is at capacity when its target is within this of it (户), as in the plan.
AT_CAPACITY_TOL = 1e-6
#: Branches named per option in the list of what differs most.
TOP_BRANCHES = 3
#: Items in the list of what differs most.
MAX_HIGHLIGHTS = 12


# ---------------------------------------------------------------- options


@dataclass(frozen=True)
class Option:
    """One policy option: the base (empty patch) or a variant, with its validated scenario."""

    name: str
    description: str
    patch: dict
    scenario: Scenario


@dataclass(frozen=True)
class OptionTask:
    """What building one option takes (a worker task: small, picklable, module-level types)."""

    index: int             # 0 for the base, i + 1 for `variants[i]`
    name: str
    description: str
    patch: dict
    raw: dict              # the base scenario as the planner wrote it (file's money unit), without variants
    file: str              # named in problems
    money_unit: str


def option_tasks(scenario: Scenario, file: str | None = None) -> list[OptionTask]:
    """One task per option, the base first; bad variant names raise `ScenarioError` with every other problem."""
    file = file or scenario.name
    raw = {k: v for k, v in scenario_to_dict(scenario).items() if k != "variants"}
    tasks = [OptionTask(0, BASE, "", {}, raw, file, scenario.units.money)]
    tasks += [OptionTask(i + 1, v.name, v.description, dict(v.patch), raw, file, scenario.units.money)
              for i, v in enumerate(scenario.variants)]
    names = [v.name for v in scenario.variants]
    problems = [Problem(file, f"variants.{i}.name", "variant names must be unique and not 'base'", name, True)
                for i, name in enumerate(names) if name == BASE or names.count(name) > 1]
    if problems:
        found = [build_option(task) for task in tasks]
        raise ScenarioError(problems + [p for f in found if isinstance(f, list) for p in f])
    return tasks


def build_option(task: OptionTask) -> Option | list[Problem]:
    """The option's validated scenario, or its problems under `variants.N.patch.…` naming the variant.

    The patch is merged into the base as the planner wrote it (the file's money unit), then the
    result is validated like a scenario file. A patch that changes `units.money` is refused: the
    options are compared in one unit.
    """
    prefix = f"variants.{task.index - 1}.patch." if task.index else ""
    units = task.patch.get("units")
    money = units.get("money") if isinstance(units, dict) else None
    if money is not None and money != task.money_unit:
        return [Problem(task.file, f"{prefix}units.money",
                        in_variant(f"a variant cannot change the money unit; options are compared in {task.money_unit}",
                                   task.name), money, True)]
    try:
        built = scenario_from_dict(apply_patch(task.raw, task.patch), file=task.file)
    except ScenarioError as exc:
        return [Problem(p.file, f"{prefix}{p.path}", in_variant(p.message, task.name) if task.index else p.message,
                        p.value, p.has_value) for p in exc.problems]
    return Option(task.name, task.description, task.patch, built)


def comparison_options(scenario: Scenario, file: str | None = None) -> list[Option]:
    """The base and every variant as validated scenarios (in this process); `ScenarioError` with every
    problem of every variant."""
    return checked([build_option(task) for task in option_tasks(scenario, file)])


def checked(found: Sequence[Option | list[Problem]]) -> list[Option]:
    """The options, or `ScenarioError` with the problems of every option that has some."""
    problems = [p for f in found if isinstance(f, list) for p in f]
    if problems:
        raise ScenarioError(problems)
    return [f for f in found if isinstance(f, Option)]


def build_and_plan(task: OptionTask) -> tuple[Option | list[Problem], dict | None]:
    """Build one option and plan it (a worker task: validation and plan both run in the worker)."""
    option = build_option(task)
    return (option, None) if isinstance(option, list) else (option, plan_option(option.scenario))


# ---------------------------------------------------------------- one option's plan (a worker task)


def plan_option(scenario: Scenario) -> dict:
    """Plan one option and keep what the comparison shows (plan JSON fields, money in the file's unit).

    Runs in a worker process: module level, small picklable result.
    """
    from optimize.plan import make_plan

    plan = make_plan(scenario)
    data = plan.to_json()
    keep = ("id", "name", "long_term_target", "achieved_clients", "pace", "capacity", "target_clients",
            "target_loan_increment", "extra_load", "smoothing_shift", "at_capacity", "risk_capped", "schedule")
    branches = []
    for branch, row in zip(scenario.branches, data["branches"]):
        branches.append({**{k: row[k] for k in keep}, "last_year_target": branch.last_year_target,
                         "last_year_actual": branch.last_year_actual})
    return {"policy": data["policy"], "sharing_key": scenario.policy.sharing_key, "status": data["status"],
            "units": data["units"], "floors": data["floors"], "totals": data["totals"], "branches": branches,
            "violations": data["violations"], "warnings": len(data["warnings"]),
            "seconds": round(plan.seconds["total"], 3)}


# ---------------------------------------------------------------- what is compared


@dataclass(frozen=True)
class OptionSummary:
    """One option's bank-wide figures: floors, binding rules, totals, load, catch-up versus extra."""

    name: str
    description: str
    patch: dict
    policy: str
    sharing_key: str
    status: str                     # optimal | relaxed (a plan-year floor or department target missed)
    violations: list[dict]
    loan_floor: float               # plan-year micro-loan increment floor, money unit
    loan_floor_rule: str | None     # the rule that sets it
    loan_floor_binds: bool
    client_floor: float             # plan-year new-client floor, 户
    client_floor_rule: str | None
    client_floor_binds: bool
    loan_department_target: float | None    # the department's own plan-year target, money unit (None: none)
    client_department_target: float | None  # likewise, 户
    target_clients: int             # Σ branch targets, 户
    target_loan_increment: float    # Σ branch loan targets, money unit
    base_part: int                  # Σ the policy's own share of the targets (catch-up pace, ratchet, …), 户
    extra_part: int                 # Σ extra load the floors add above it, 户
    max_load: float | None          # largest target ÷ capacity
    load_spread: float | None       # largest − smallest target ÷ capacity
    at_capacity: int                # branches at capacity
    changed_branches: int           # branches whose target differs from the base's
    moved_clients: int              # Σ |target − base target|, 户
    plan_seconds: float

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class BranchComparison:
    """One branch across the options (values per option, in option order; None where a variant lacks the branch)."""

    id: str
    name: str
    capacity: int
    last_year_target: int | None
    last_year_actual: int | None
    pace: int                       # the catch-up pace of the base, 户/年
    schedule: str                   # behind | on | ahead
    target_clients: list[int | None]
    change_vs_last_year: list[int | None]
    change_vs_base: list[int | None]
    target_loan_increment: list[float | None]
    loan_change_vs_base: list[float | None]
    base_part: list[int | None]
    extra_part: list[int | None]
    load: list[float | None]        # target ÷ capacity

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class MetricComparison:
    """One simulated metric across the options: each option's mean and 95 % CI, and its paired
    difference from the base (same seeds: common random numbers) with the difference's 95 % CI."""

    model: str
    metric: str
    kind: str                       # money | ratio | count | minutes
    unit: str
    description: str
    mean: list[float | None]
    ci95: list[tuple[float | None, float | None]]
    diff: list[float | None]        # option − base, mean of the paired differences
    diff_ci95: list[tuple[float | None, float | None]]
    replications: int

    def to_json(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        data["ci95"] = [list(c) for c in self.ci95]
        data["diff_ci95"] = [list(c) for c in self.diff_ci95]
        return data


@dataclass(frozen=True)
class BalanceBand:
    """The revolving-credit portfolio's daily balance of one option: mean and the P5–P95 band, money unit."""

    option: str
    day: list[int]
    mean: list[float]
    p5: list[float]
    p95: list[float]


@dataclass(frozen=True)
class Comparison:
    """The comparison of a scenario's options: what `microplan compare` and the API show."""

    scenario: str
    plan_year: int
    money_unit: str
    loan_rounding: float
    options: list[OptionSummary]
    branches: list[BranchComparison]
    metrics: list[MetricComparison] = field(default_factory=list)
    balance: list[BalanceBand] = field(default_factory=list)
    simulation: dict = field(default_factory=dict)   # models, seed, replications, days, shared runs
    seconds: dict = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.options]

    def highlights(self) -> list[dict]:
        """What differs most, as structured items (rendered in words by `api.comparison_labels`)."""
        return differences(self)

    def to_json(self) -> dict:
        """The comparison as JSON (README "Comparing options"); money in `money_unit`, clients whole."""
        return {
            "schema_version": COMPARISON_SCHEMA_VERSION,
            "scenario": self.scenario,
            "plan_year": self.plan_year,
            "money_unit": self.money_unit,
            "units": {"money": self.money_unit, "clients": "户", "loan_rounding": self.loan_rounding},
            "options": [o.to_json() for o in self.options],
            "branches": [b.to_json() for b in self.branches],
            "simulation": {**self.simulation, "metrics": [m.to_json() for m in self.metrics],
                           "balance": [b.__dict__ for b in self.balance]},
            "highlights": self.highlights(),
            "seconds": self.seconds,
        }


# ---------------------------------------------------------------- the entry point


def compare_scenario(scenario: Scenario, *, workers: int | None = None, dask_address: str | None = None,
                     progress: Callable[[float], None] | None = None, replications: int | None = None,
                     file: str | None = None) -> Comparison:
    """Plan (and simulate) the base and every variant, and put them side by side.

    `workers` / `dask_address`: the runner's executors (local processes, default all cores — the plans
    of a small bank in this process, see `plan_workers`; 1 runs here; a Dask scheduler). `progress(fraction)` is called as plans and replications finish.
    `replications` overrides `simulation.replications`. Raises `ScenarioError` for a bad variant.
    """
    from simulate.runner import run_tasks

    started = time.perf_counter()
    tasks = option_tasks(scenario, file)
    share = PLAN_PROGRESS_SHARE if configured_models(scenario, tasks) else 1.0
    report = (lambda f: progress(share * f)) if progress else None
    built = run_tasks(build_and_plan, tasks, workers=plan_workers(len(scenario.branches) * len(tasks), workers),
                      dask_address=dask_address, progress=report)
    options = checked([option for option, _ in built])
    plans = [plan for _, plan in built]
    models = configured_models(scenario, options)
    seconds = {"plans": round(time.perf_counter() - started, 3)}
    summaries, branches = compare_plans(options, plans)
    metrics, balance, simulation = [], [], {}
    if models:
        sim_started = time.perf_counter()
        runs, simulation = simulate_options(scenario, options, models, workers, dask_address, replications,
                                            (lambda f: progress(share + (1 - share) * f)) if progress else None)
        metrics = compare_metrics(options, runs, models)
        balance = balance_bands(options, runs)
        seconds["simulations"] = round(time.perf_counter() - sim_started, 3)
    seconds["total"] = round(time.perf_counter() - started, 3)
    rounding = plans[0]["units"]["loan_rounding"]  # the file's money unit, like every amount here
    return Comparison(scenario.name, scenario.plan_year, scenario.units.money, float(rounding), summaries, branches,
                      metrics, balance, simulation, seconds)


def plan_workers(branch_plans: int, workers: int | None) -> int | None:
    """Local workers for `branch_plans` (Σ branches over the options): as asked; by default (None) all
    cores, unless the plans are so small that starting worker processes costs more than it saves."""
    if workers is None and branch_plans < AUTO_PARALLEL_MIN_BRANCH_PLANS:
        return 1
    return workers


# ---------------------------------------------------------------- plans side by side


def compare_plans(options: Sequence[Option], plans: Sequence[dict]) -> tuple[list[OptionSummary], list[BranchComparison]]:
    """Option summaries and per-branch rows from the options' plans (the base is the first)."""
    by_id = [{b["id"]: b for b in plan["branches"]} for plan in plans]
    base_rows = plans[0]["branches"]
    ids = [b["id"] for b in base_rows] + [i for rows in by_id[1:] for i in rows if i not in by_id[0]]
    rows: list[BranchComparison] = []
    for bid in ids:
        found = [table.get(bid) for table in by_id]
        first = next(r for r in found if r is not None)
        base = found[0]
        targets = [None if r is None else int(r["target_clients"]) for r in found]
        loans = [None if r is None else float(r["target_loan_increment"]) for r in found]
        extra = [None if r is None else extra_clients(r) for r in found]
        rows.append(BranchComparison(
            id=bid, name=first["name"], capacity=int(round(first["capacity"])),
            last_year_target=whole(first["last_year_target"]), last_year_actual=whole(first["last_year_actual"]),
            pace=int(round(first["pace"])), schedule=first["schedule"],
            target_clients=targets,
            change_vs_last_year=[None if t is None or first["last_year_target"] is None else t - whole(first["last_year_target"])
                                 for t in targets],
            change_vs_base=[None if t is None or base is None else t - targets[0] for t in targets],
            target_loan_increment=loans,
            loan_change_vs_base=[None if v is None or base is None else round(v - loans[0], 6) for v in loans],
            base_part=[None if t is None else t - e for t, e in zip(targets, extra)],
            extra_part=extra,
            load=[None if r is None else load_ratio(r) for r in found],
        ))
    summaries = []
    for k, (option, plan) in enumerate(zip(options, plans)):
        floors = plan["floors"]
        loads = [row.load[k] for row in rows if row.load[k] is not None]
        changes = [row.change_vs_base[k] for row in rows if row.change_vs_base[k] is not None]
        summaries.append(OptionSummary(
            name=option.name, description=option.description, patch=option.patch, policy=plan["policy"],
            sharing_key=plan["sharing_key"], status=plan["status"], violations=plan["violations"],
            loan_floor=floors["micro_loan_increment"]["value"], loan_floor_rule=floors["micro_loan_increment"]["binding_rule"],
            loan_floor_binds=floors["micro_loan_increment"]["binds"],
            client_floor=floors["micro_client_increment"]["value"], client_floor_rule=floors["micro_client_increment"]["binding_rule"],
            client_floor_binds=floors["micro_client_increment"]["binds"],
            loan_department_target=floors["micro_loan_increment"]["department_target"],
            client_department_target=floors["micro_client_increment"]["department_target"],
            target_clients=int(plan["totals"]["target_clients"]), target_loan_increment=plan["totals"]["target_loan_increment"],
            base_part=sum(row.base_part[k] for row in rows if row.base_part[k] is not None),
            extra_part=sum(row.extra_part[k] for row in rows if row.extra_part[k] is not None),
            max_load=round(max(loads), 4) if loads else None,
            load_spread=round(max(loads) - min(loads), 4) if loads else None,
            at_capacity=sum(bool(b["at_capacity"]) for b in plan["branches"]),
            changed_branches=sum(c != 0 for c in changes),
            moved_clients=sum(abs(c) for c in changes),
            plan_seconds=plan["seconds"],
        ))
    return summaries, rows


def whole(value: float | None) -> int | None:
    """A client count from the branch table as a whole number (None stays None)."""
    return None if value is None else int(round(value))


def extra_clients(row: dict) -> int:
    """The extra load in whole clients: round(target − the policy's clamped reference); the rest of the
    target is the policy's own share (under catch-up, the catch-up pace), so the two add up to the target."""
    return int(round(row["extra_load"]))


def load_ratio(row: dict) -> float | None:
    """target ÷ capacity (None for a branch without capacity)."""
    return round(row["target_clients"] / row["capacity"], 4) if row["capacity"] > 0 else None


# ---------------------------------------------------------------- simulations


def configured_models(scenario: Scenario, options: Sequence[Option | OptionTask]) -> list[str]:
    """The models to simulate: those the `simulation:` section (or a variant's patch of it) names, in
    `MODELS` order; none when the scenario has no simulation section."""
    from simulate.service import MODELS

    if "simulation" not in scenario.model_fields_set:
        return []
    named = set(scenario.simulation.model_fields_set)
    for option in options:
        section = option.patch.get("simulation")
        if isinstance(section, dict):
            named |= set(section)
    return [name for name in MODELS if name in named]


def simulation_call(scenario: Scenario, model: str, replications: int | None) -> dict[str, Any]:
    """The arguments one option's run of `model` is made with; equal arguments give equal results,
    so options whose calls are equal share one run (the key is built from this very mapping). A model
    that reads more of the scenario (joint_marketing: `markets:`) gets the scenario, keyed by that part."""
    from simulate.service import MODELS

    call = {"settings": scenario.simulation, "model": model, "replications": replications,
            "start_year": scenario.plan_year}
    if MODELS[model].needs_scenario:
        call |= {"markets": scenario.markets, "scenario": scenario}
    return call


def simulate_options(scenario: Scenario, options: Sequence[Option], models: Sequence[str], workers: int | None,
                     dask_address: str | None, replications: int | None,
                     progress: Callable[[float], None] | None) -> tuple[dict, dict]:
    """Run every model for every option on the same seeds; (model, option) → result in the base's money unit."""
    from simulate.service import run_simulation

    calls = {(model, o.name): simulation_call(o.scenario, model, replications) for model in models for o in options}
    keys = {pair: call_key(call) for pair, call in calls.items()}
    distinct = list(dict.fromkeys(keys.values()))
    done: dict[str, Any] = {}
    for n, key in enumerate(distinct):
        call = calls[next(pair for pair, k in keys.items() if k == key)]
        step = (lambda f, n=n: progress((n + f) / len(distinct))) if progress else None
        result = run_simulation(call["settings"], call["model"], replications=call["replications"], workers=workers,
                                dask_address=dask_address, progress=step, start_year=call["start_year"],
                                scenario=call.get("scenario"))
        done[key] = result.in_money_unit(scenario.units.money)
    runs = {pair: done[key] for pair, key in keys.items()}
    first = runs[(models[0], options[0].name)]
    shared = {model: [[o.name for o in options if keys[(model, o.name)] == key]
                      for key in dict.fromkeys(keys[(model, o.name)] for o in options)] for model in models}
    info = {"models": list(models), "seed": first.seed, "replications": first.replications, "days": first.days,
            "start_year": first.start_year, "money_unit": scenario.units.money, "runs": len(distinct), "shared": shared}
    return runs, info


def call_key(call: dict[str, Any]) -> str:
    """A text key of a simulation call's arguments (settings as their JSON)."""
    import json

    return json.dumps({k: v.model_dump(mode="json") if hasattr(v, "model_dump") else v for k, v in call.items()
                       if k != "scenario"}, sort_keys=True)


def compare_metrics(options: Sequence[Option], runs: dict, models: Sequence[str]) -> list[MetricComparison]:
    """Every metric of every model: each option's mean and CI, and its paired difference from the base."""
    rows = []
    for model in models:
        base = runs[(model, options[0].name)]
        for metric in base.metrics:
            means, cis, diffs, diff_cis = [], [], [], []
            for option in options:
                result = runs[(model, option.name)]
                s = result.metrics[metric]
                means.append(number(s.mean))
                cis.append((number(s.ci95[0]), number(s.ci95[1])))
                d = paired_difference(result.values.get(metric, ()), base.values.get(metric, ()))
                diffs.append(d[0])
                diff_cis.append(d[1])
            rows.append(MetricComparison(model, metric, base.metric_units[metric], base.unit_label(metric),
                                         base.metric_descriptions[metric], means, cis, diffs, diff_cis, base.replications))
    return rows


def paired_difference(values: Sequence[float], base: Sequence[float]) -> tuple[float | None, tuple[float | None, float | None]]:
    """Mean and 95 % CI of `values[i] − base[i]` over the replications where both are defined.

    With common random numbers replication i of both runs drew the same stream, so the paired
    difference's variance is Var(a) + Var(b) − 2·Cov(a, b): far smaller than the unpaired one when the
    runs are alike. Identical runs give exactly 0 with a zero-width interval.
    """
    a, b = np.asarray(values, dtype=float), np.asarray(base, dtype=float)
    if len(a) == 0 or len(a) != len(b):
        return None, (None, None)
    d = a - b
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return None, (None, None)
    if np.all(d == 0):
        return 0.0, (0.0, 0.0)
    s = summarise(d)
    return number(s.mean), (number(s.ci95[0]), number(s.ci95[1]))


def number(value: float | None) -> float | None:
    """A finite float, or None (undefined, e.g. a CCF without defaults)."""
    return None if value is None or not math.isfinite(value) else float(value)


def balance_bands(options: Sequence[Option], runs: dict) -> list[BalanceBand]:
    """The revolving-credit portfolio's daily balance band per option (empty without that model)."""
    bands = []
    for option in options:
        result = runs.get(("revolving_credit", option.name))
        if result is None:
            continue
        s = result.series
        bands.append(BalanceBand(option.name, [int(d) for d in s.day], [round(float(v), 4) for v in s.mean],
                                 [round(float(v), 4) for v in s.p5], [round(float(v), 4) for v in s.p95]))
    return bands


# ---------------------------------------------------------------- what differs most


def significant(metric: MetricComparison, k: int) -> bool:
    """Whether option k's paired difference from the base is distinguishable from 0 (its CI excludes 0)."""
    low, high = metric.diff_ci95[k]
    return low is not None and high is not None and (low > 0 or high < 0)


def differences(comparison: Comparison) -> list[dict]:
    """What differs most from the base, variant by variant (most moved clients first):

    - `targets`: branches whose target changes, Σ|Δ| clients, the `TOP_BRANCHES` largest changes;
    - `totals`: the bank's target total when it changes;
    - `floor`: a plan-year floor or its binding rule when it changes; `status` when met ↔ not met;
    - `load`: the largest load and branches at capacity when they change;
    - `metric`: each simulated metric whose paired difference's CI excludes 0 (largest relative change first).

    Each variant's first item comes before any variant's second, and so on, at most `MAX_HIGHLIGHTS`.
    """
    order = sorted(range(1, len(comparison.options)), key=lambda k: (-comparison.options[k].moved_clients, k))
    per_option = [option_differences(comparison, k) for k in order]
    items = [found[i] for i in range(max(map(len, per_option), default=0)) for found in per_option if i < len(found)]
    return items[:MAX_HIGHLIGHTS]


def option_differences(comparison: Comparison, k: int) -> list[dict]:
    """What differs between option k and the base, most telling first (see `differences`)."""
    base = comparison.options[0]
    items: list[dict] = []
    option = comparison.options[k]
    if option.changed_branches:
        moved = sorted(((row.change_vs_base[k], row.id) for row in comparison.branches if row.change_vs_base[k]),
                       key=lambda cb: (-abs(cb[0]), cb[1]))
        items.append({"kind": "targets", "option": option.name, "branches": option.changed_branches,
                      "moved_clients": option.moved_clients,
                      "largest": [{"id": b, "change": c} for c, b in moved[:TOP_BRANCHES]]})
    if option.target_clients != base.target_clients or abs(option.target_loan_increment - base.target_loan_increment) > 1e-6:
        items.append({"kind": "totals", "option": option.name,
                      "target_clients": option.target_clients - base.target_clients,
                      "target_loan_increment": round(option.target_loan_increment - base.target_loan_increment, 6)})
    for quantity, value, rule in (("loans", "loan_floor", "loan_floor_rule"), ("clients", "client_floor", "client_floor_rule")):
        if abs(getattr(option, value) - getattr(base, value)) > 1e-6 or getattr(option, rule) != getattr(base, rule):
            items.append({"kind": "floor", "option": option.name, "quantity": quantity,
                          "base": getattr(base, value), "value": getattr(option, value),
                          "base_rule": getattr(base, rule), "rule": getattr(option, rule)})
    if option.status != base.status:
        items.append({"kind": "status", "option": option.name, "base": base.status, "status": option.status})
    if option.max_load != base.max_load or option.at_capacity != base.at_capacity:
        items.append({"kind": "load", "option": option.name, "max_load": option.max_load, "base_max_load": base.max_load,
                      "at_capacity": option.at_capacity, "base_at_capacity": base.at_capacity})
    found = []
    for metric in comparison.metrics:
        if significant(metric, k) and metric.mean[0]:
            found.append((abs(metric.diff[k] / metric.mean[0]), metric))
    for relative, metric in sorted(found, key=lambda rm: (-rm[0], rm[1].metric))[:3]:
        items.append({"kind": "metric", "option": option.name, "model": metric.model, "metric": metric.metric,
                      "metric_kind": metric.kind, "unit": metric.unit,
                      "diff": metric.diff[k], "diff_ci95": list(metric.diff_ci95[k]), "relative": round(relative, 4)})
    return sorted(items, key=lambda item: HIGHLIGHT_ORDER.index(item["kind"]))


#: Kinds of difference, most telling first.
HIGHLIGHT_ORDER = ("status", "floor", "targets", "metric", "totals", "load")
