"""`microplan simulate`: Monte Carlo simulation of a scenario (README "Simulation").

Registered by `api.cli` as `app.command("simulate")(simulate_command)`. Bad input exits 2 with one
line per problem on stderr; the progress bar goes to stderr, the result to stdout or `--out`
(written only once the run is complete: an interrupted run leaves nothing). Options have upper
bounds (README "Limits"): `--replications` ≤ 100,000, `--workers` ≤ 256.
"""

from __future__ import annotations

import io
import json
import math
from functools import partial
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from api.cli_common import Policy, fail, load_or_exit, write_output
from api.writing import csv_text
from scenarios.text import printable

#: Most replications one run may ask for (the scenario's `simulation.replications` has the same bound).
MAX_REPLICATIONS = 100_000
#: Most local worker processes (simulate.runner.MAX_WORKERS).
MAX_WORKERS = 256
#: Largest root seed.
MAX_SEED = 2**63 - 1

if TYPE_CHECKING:  # simulate.service (SimPy, the runner) is imported only when a simulation runs,
    from simulate.service import SimulationResult  # so `microplan plan` starts faster


class SimulateFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


#: How the table names each metric for a department head (Chinese, then English).
METRIC_LABELS: dict[str, str] = {
    "mean_outstanding": "日均贷款余额 mean outstanding",
    "peak_outstanding": "最高贷款余额 peak outstanding",
    "mean_utilisation": "额度使用率 mean utilisation",
    "interest_income": "利息收入 interest income",
    "funding_cost": "资金成本 funding cost",
    "net_interest_income": "净收益 interest − funding − loss",
    "defaults": "违约户数 defaults",
    "ead": "违约风险暴露 EAD",
    "loss": "损失 loss (EAD × LGD)",
    "ccf": "信用转换系数 CCF",
    "declined_draw_amount": "额度不足未提款 declined draws",
    "counter_visits": "柜面提款笔数 counter drawdowns",
    "counter_wait_minutes": "柜面平均等候 counter wait",
    "new_clients": "新增贷款户数 new clients",
    "new_loans": "新发放贷款 new loans",
    "approval_rate": "申贷获得率 approval rate",
    "cross_sell_rate": "交叉销售率 cross-sell rate",
    "bundle_rate": "产品包覆盖率 bundle rate",
    "loan_margin": "贷款利差 loan margin (rate − FTP)",
    "simulated_profit": "模拟利润 simulated profit",
    "department_payout": "部门分润 department payout",
    "branch_payout": "支行分润 branch payout",
    "member_payout": "组员分润 member payout",
    "profit_after_incentives": "激励后利润 profit after incentives",
    "default_rate": "违约率 default rate",
    "leads": "商机 leads",
    "applications": "申请户数 applications",
    "approvals": "获批户数 approvals",
    "renewals": "还后再贷 renewals",
    "attrition": "流失户数 attrition",
    "visits": "市场走访 visits",
    "effort": "组员努力 member effort",
    "leader_effort": "组长努力 leader effort",
    "large_sme_hours": "小企业工时 large-SME hours",
    "cycle_new_clients": "周期新增客户 cycle new clients",
    "cycle_completion": "周期目标完成率 cycle completion",
    "cycle_target_clients": "各年目标合计 Σ yearly targets",
    "floor_missed_years": "未达监管底线年数 years missing a floor",
    "holding_back_share": "保留实力占比 holding back",
    "attainment_dispersion": "完成率离散度 attainment dispersion",
    "bonus_paid": "超额奖励 bonus paid",
    "penalty_charged": "未完成扣罚 penalties",
}

#: Models that make the yearly plans themselves: `--policy` picks their policy.
PLANNING_MODELS = ("policy_loop",)

#: Table width when the output is not a terminal (files, pipes).
TABLE_WIDTH = 110


def simulate_command(
    source: Annotated[str, typer.Argument(help="scenario file (YAML/JSON) or bundled scenario name")],
    model: Annotated[str, typer.Option("--model", help="model to run: revolving_credit or joint_marketing")] = "revolving_credit",
    replications: Annotated[Optional[int], typer.Option("--replications", help="Monte Carlo replications (default: the scenario's simulation.replications)")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="root random seed (default: the scenario's simulation.seed)")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="local worker processes (default: all cores; 1: in this process)")] = None,
    dask: Annotated[Optional[str], typer.Option("--dask", help="run on a Dask cluster: the scheduler's address, e.g. tcp://host:8786")] = None,
    format: Annotated[SimulateFormat, typer.Option("--format", help="table, json or csv")] = SimulateFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", help="write the output to this file instead of stdout")] = None,
    policy: Annotated[Optional[Policy], typer.Option("--policy", help="policy_loop: override the scenario's policy: catch_up | ratchet | proportional")] = None,
) -> None:
    """Monte Carlo simulation with 95 % CIs: the card's revolving loan, or joint marketing and profit sharing (--model joint_marketing)."""
    problems = _option_problems(source, model, replications, seed, workers, dask)
    if policy is not None and model not in PLANNING_MODELS:
        problems.append(f"{source}: --policy: only models that plan take a policy ({', '.join(PLANNING_MODELS)}) "
                        f"(got --model {model} --policy {policy.value})")
    if problems:
        fail(problems)
    scenario = load_or_exit(source, out)
    if policy is not None:
        scenario = scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"name": policy.value})})
    if model == "joint_marketing" and scenario.markets is None:
        fail([f"{source}: markets: the joint_marketing model needs the specialised markets and the groups "
              f"(a markets: section with groups and markets; README \"Joint marketing\")"])
    try:
        result = _run_with_progress(scenario, model, replications, seed, workers, dask)
    except (OSError, TimeoutError) as exc:
        reason = printable(str(exc)) or type(exc).__name__
        if dask is not None:
            fail([f"{source}: --dask: cannot reach a Dask scheduler at {dask} ({reason})"])
        fail([f"{source}: --workers: cannot start local worker processes ({reason}); try --workers 1"])
    result = result.in_money_unit(scenario.units.money)
    if format is SimulateFormat.json:
        text = json.dumps(result.to_json(), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    elif format is SimulateFormat.csv:
        text = csv_text(result.metrics_frame(), index=True)
    else:
        title = f"{scenario.name} — {model}" + (f" ({scenario.policy.name})" if result.series_index == "year" else "")
        text = render_table(result, title=title) + render_breakdowns(result)
    write_output(text, out)


def _option_problems(source: str, model: str, replications: int | None, seed: int | None,
                     workers: int | None, dask: str | None) -> list[str]:
    """One line per bad option, `SOURCE: --option: what is wrong (got VALUE)`."""
    problems = []
    from simulate.runner import dask_address_problem
    from simulate.service import MODELS

    if model not in MODELS:
        problems.append(f"{source}: --model: unknown model; allowed: {', '.join(MODELS)} (got {model!r})")
    if replications is not None and replications < 1:
        problems.append(f"{source}: --replications: must be ≥ 1 (got {replications})")
    if replications is not None and replications > MAX_REPLICATIONS:
        problems.append(f"{source}: --replications: must be ≤ {MAX_REPLICATIONS} (got {replications})")
    if seed is not None and seed < 0:
        problems.append(f"{source}: --seed: must be ≥ 0 (got {seed})")
    if seed is not None and seed > MAX_SEED:
        problems.append(f"{source}: --seed: must be ≤ 2^63 − 1 (got {seed})")
    if workers is not None and workers < 1:
        problems.append(f"{source}: --workers: must be ≥ 1 (got {workers})")
    if workers is not None and workers > MAX_WORKERS:
        problems.append(f"{source}: --workers: must be ≤ {MAX_WORKERS} (got {workers})")
    if dask is not None and (problem := dask_address_problem(dask)):
        problems.append(f"{source}: --dask: {problem} (got {dask!r})" if "://" in dask
                        else f"{source}: --dask: {problem} (got {dask})")
    return problems


def _run_with_progress(scenario, model: str, replications: int | None, seed: int | None,
                       workers: int | None, dask: str | None) -> SimulationResult:
    """Run the simulation with a progress bar on stderr (shown only on a terminal)."""
    console = Console(stderr=True)
    total = replications or scenario.simulation.replications
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not console.is_terminal, transient=True) as bar:
        task = bar.add_task(f"{model}: {total} replications", total=1.0)
        from simulate.service import run_simulation

        return run_simulation(
            scenario.simulation, model, replications=replications, seed=seed, workers=workers,
            dask_address=dask, progress=lambda done: bar.update(task, completed=done),
            start_year=scenario.plan_year, scenario=scenario,
        )


def render_table(result: SimulationResult, title: str) -> str:
    """The metrics table a department head reads: metric, unit, mean, 95 % CI, P5, P95."""
    table = Table(title=Text(printable(title)), caption=_caption(result), title_justify="left", caption_justify="left")
    table.add_column("指标 metric")
    table.add_column("单位 unit")
    for heading in ("均值 mean", "95% 置信区间 CI", "P5", "P95"):
        table.add_column(heading, justify="right")
    for name, s in result.metrics.items():
        unit = result.unit_label(name)
        kind = result.metric_units[name]
        show = partial(_format, kind=kind, money_unit=result.money_unit)
        ci = "—" if math.isnan(s.ci95[0]) else f"{show(s.ci95[0])} – {show(s.ci95[1])}"
        table.add_row(METRIC_LABELS.get(name, name), "%" if kind == "ratio" else unit,
                      show(s.mean), ci, show(s.p5), show(s.p95))
    buffer = io.StringIO()
    Console(file=buffer, width=TABLE_WIDTH, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()


#: Metrics shown in the per-group and per-branch tables (means with their 95 % CI).
BREAKDOWN_COLUMNS = ("new_clients", "new_loans", "approval_rate", "simulated_profit", "department_payout", "branch_payout",
                     "member_payout", "default_rate")
BREAKDOWN_TITLES = {"group": "各联合营销小组 per group", "branch": "各支行 per branch"}
#: Width of the per-group and per-branch tables (eight metric columns).
BREAKDOWN_WIDTH = 160


def render_breakdowns(result: SimulationResult) -> str:
    """Per-group and per-branch tables (models that report them): each cell `mean ± half-width of the 95 % CI`."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=BREAKDOWN_WIDTH, force_terminal=False, color_system=None)
    for scope, by_id in result.breakdowns.items():
        names = [n for n in BREAKDOWN_COLUMNS if any(n in values for values in by_id.values())]
        table = Table(title=Text(BREAKDOWN_TITLES.get(scope, scope)), title_justify="left",
                      caption="均值 ± 95% 置信区间半宽 mean ± half-width of the 95 % CI", caption_justify="left")
        table.add_column("id")
        for name in names:
            unit = result.unit_label(name)
            table.add_column(f"{METRIC_LABELS.get(name, name)} ({'%' if result.metric_units[name] == 'ratio' else unit})", justify="right")
        for ident, values in by_id.items():
            cells = []
            for name in names:
                s = values.get(name)
                show = partial(_format, kind=result.metric_units[name], money_unit=result.money_unit)
                cells.append("—" if s is None else show(s.mean) if math.isnan(s.ci95[0])
                             else f"{show(s.mean)} ± {show((s.ci95[1] - s.ci95[0]) / 2)}")
            table.add_row(printable(ident), *cells)
        console.print(table)
    return buffer.getvalue()


def _caption(result: SimulationResult) -> str:
    if result.series_index == "year":
        last = result.start_year + len(result.series.day) - 1
        return f"{result.replications} replications, seed {result.seed}; each plans and books every year {result.start_year}–{last}."
    warmup = f", after {result.warmup_days} warm-up days" if result.warmup_days else ""
    return (f"{result.replications} replications, seed {result.seed}; {result.days} days from "
            f"{result.start_year}-01-01{warmup}. Undefined values (e.g. CCF without defaults) show as —.")


def _format(value: float, kind: str, money_unit: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    if kind == "ratio":
        return f"{value * 100:.1f}"
    if kind == "money":
        return f"{value:,.0f}" if money_unit == "元" else f"{value:,.2f}" if money_unit == "亿元" else f"{value:,.1f}"
    return f"{value:,.1f}"
