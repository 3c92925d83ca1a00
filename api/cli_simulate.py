"""`microplan simulate`: Monte Carlo simulation of a scenario (README "Simulation").

Registered by `api.cli` as `app.command("simulate")(simulate_command)`. Bad input exits 2 with one
line per problem on stderr; the progress bar goes to stderr, the result to stdout or `--out`
(written only once the run is complete: an interrupted run leaves nothing). Options have upper
bounds (README "Limits"): `--replications` ≤ 100,000, `--workers` ≤ 256.
"""

from __future__ import annotations

import json
import shutil
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from api import simulation_tables as tables
from api.cli_common import Lang, Policy, fail, load_or_exit, write_output
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


#: Models that make the yearly plans themselves: `--policy` picks their policy.
PLANNING_MODELS = ("policy_loop",)

#: Table width of a file (`--out`); on stdout the table takes the terminal's width, else $COLUMNS, else this.
TABLE_WIDTH = 120


def simulate_command(
    source: Annotated[str, typer.Argument(help="scenario file (YAML/JSON) or bundled scenario name")],
    model: Annotated[str, typer.Option("--model", help="model to run: revolving_credit, joint_marketing or policy_loop")] = "revolving_credit",
    replications: Annotated[Optional[int], typer.Option("--replications", help="Monte Carlo replications (default: the scenario's simulation.replications)")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="root random seed (default: the scenario's simulation.seed)")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="local worker processes (default: all cores; 1: in this process)")] = None,
    dask: Annotated[Optional[str], typer.Option("--dask", help="run on a Dask cluster: the scheduler's address, e.g. tcp://host:8786")] = None,
    format: Annotated[SimulateFormat, typer.Option("--format", help="table, json or csv")] = SimulateFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", help="write the output to this file instead of stdout")] = None,
    policy: Annotated[Optional[Policy], typer.Option("--policy", help="policy_loop: override the scenario's policy: catch_up | ratchet | proportional")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="language of the table and the CSV: zh or en (JSON keys stay codes)")] = Lang.zh,
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
        text = csv_text(tables.csv_frame(result, lang.value))
    else:
        width = TABLE_WIDTH if out is not None else shutil.get_terminal_size((TABLE_WIDTH, 24)).columns
        policy_name = scenario.policy.name if model in PLANNING_MODELS else None
        title = tables.title(scenario.name, result, policy_name, lang.value)
        text = tables.render_table(result, title, lang.value, width) + tables.render_breakdowns(result, lang.value, width)
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
