"""The `microplan` command line (CONTRACT.md): scenarios, validate, plan, simulate.

Exit codes: 0 done and every rule met; 1 a plan was produced but some rule could not be met;
2 bad input or usage (one line per problem on stderr, no traceback); anything else is a bug.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
import yaml

from api.cli_common import EXIT_OK, EXIT_RELAXED, fail, load_or_exit, write_output

if TYPE_CHECKING:
    from optimize.plan import Plan

app = typer.Typer(
    help="microplan — the small-enterprise finance department's micro-lending planning engine.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
scenarios_app = typer.Typer(help="Bundled example scenarios, the schema, synthetic banks.", pretty_exceptions_enable=False)
app.add_typer(scenarios_app, name="scenarios")


class TextFormat(str, Enum):
    yaml = "yaml"
    json = "json"


class PlanFormat(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"
    xlsx = "xlsx"


class Policy(str, Enum):
    catch_up = "catch_up"
    ratchet = "ratchet"
    proportional = "proportional"


class Engine(str, Enum):
    auto = "auto"
    matrix = "matrix"
    pyomo = "pyomo"


class Lang(str, Enum):
    zh = "zh"
    en = "en"


# ---------------------------------------------------------------- scenarios


@scenarios_app.callback(invoke_without_command=True)
def scenarios_list(ctx: typer.Context) -> None:
    """List the bundled example scenarios (name, plan year, preset, branches)."""
    if ctx.invoked_subcommand is not None:
        return
    from scenarios import bundled_names, load_scenario

    for name in bundled_names():
        s = load_scenario(name)
        print(f"{name:<12} {s.plan_year}  {s.regulation.preset:<26} {len(s.branches):>3} branches  {s.name}")


@scenarios_app.command("show")
def scenarios_show(
    name: Annotated[str, typer.Argument(help="bundled scenario name (see `microplan scenarios`)")],
    format: Annotated[TextFormat, typer.Option("--format", help="yaml or json")] = TextFormat.yaml,
) -> None:
    """Print one scenario, branch table inline, ready to save and edit."""
    from scenarios import bundled_names, dump_scenario

    if name not in bundled_names():
        fail([f"{name}: no such bundled scenario; bundled: {', '.join(bundled_names())}"])
    sys.stdout.write(dump_scenario(load_or_exit(name), format.value))


@scenarios_app.command("schema")
def scenarios_schema() -> None:
    """Print the scenario's JSON Schema (for editors that validate YAML / JSON)."""
    from scenarios.schema import Scenario

    print(json.dumps(Scenario.model_json_schema(), ensure_ascii=False, indent=2))


@scenarios_app.command("generate")
def scenarios_generate(
    branches: Annotated[int, typer.Option("--branches", min=1, max=50_000, help="number of managing branches")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="random seed; same seed, same bank")] = 2014,
    format: Annotated[TextFormat, typer.Option("--format")] = TextFormat.yaml,
    out: Annotated[Optional[Path], typer.Option("--out", help="file to write (default: stdout)")] = None,
) -> None:
    """A synthetic bank of N branches, deterministic for a seed (for benchmarks and tests)."""
    from scenarios.generate import synthetic_bank

    data = synthetic_bank(branches, seed)
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n" if format == TextFormat.json else yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    write_output(text, out)


# ---------------------------------------------------------------- validate and plan


@app.command("validate")
def validate(file: Annotated[str, typer.Argument(help="scenario file (YAML / JSON) or bundled name")]) -> None:
    """Check a scenario: print `ok` and exit 0, or print every problem and exit 2."""
    load_or_exit(file)
    print("ok")


@app.command("plan")
def plan(
    source: Annotated[str, typer.Argument(metavar="FILE|NAME", help="scenario file or bundled name")],
    policy: Annotated[Optional[Policy], typer.Option("--policy", help="override the scenario's policy")] = None,
    format: Annotated[PlanFormat, typer.Option("--format", help="table | json | csv | xlsx")] = PlanFormat.table,
    out: Annotated[Optional[Path], typer.Option("--out", help="file to write; an .xlsx path also writes the workbook")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="headers of the table / XLSX: zh or en")] = Lang.zh,
    engine: Annotated[Engine, typer.Option("--engine", help="LP engine: auto (= matrix) or pyomo, the reference model")] = Engine.auto,
) -> None:
    """The annual plan: bank floors, and each branch's targets for the plan year (and the rolling years)."""
    from api import reports
    from optimize.plan import make_plan

    scenario = load_or_exit(source)
    result = make_plan(scenario, policy.value if policy else None, engine.value)
    fmt = format
    if out is not None and out.suffix.lower() == ".xlsx" and fmt == PlanFormat.table:
        print_plan_table(result, lang.value)
        write_output(reports.plan_xlsx(result, lang.value), out)
        print(f"written: {out}", file=sys.stderr)
    elif fmt == PlanFormat.table:
        print_plan_table(result, lang.value)
    elif fmt == PlanFormat.json:
        write_output(json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n", out)
    elif fmt == PlanFormat.csv:
        write_output(reports.plan_csv(result, lang.value if lang == Lang.zh and out is None else "en"), out)
    else:
        if out is None:
            fail(["--out: --format xlsx needs a file to write (got no --out)"])
        write_output(reports.plan_xlsx(result, lang.value), out)
        print(f"written: {out}", file=sys.stderr)
    raise typer.Exit(EXIT_RELAXED if result.status == "relaxed" else EXIT_OK)


def print_plan_table(result: Plan, lang: str) -> None:
    """The plan as a terminal table: floors, branch targets, diagnostics."""
    from rich.console import Console
    from rich.table import Table

    from api.reports import branch_frame

    console = Console(width=max(Console().width, 160))
    data = result.to_json()
    unit = data["money_unit"]
    loan_floor = data["floors"]["micro_loan_increment"]
    client_floor = data["floors"]["micro_client_increment"]
    console.print(f"[bold]{data['scenario']}[/bold] — plan year {data['plan_year']}, policy {data['policy']}, status [bold]{data['status']}[/bold]")
    console.print(f"floor micro-loan increment: {loan_floor['value']:,.2f} {unit} (rule: {loan_floor['binding_rule'] or '—'}; rules {loan_floor['rules'] or '—'})")
    console.print(f"floor micro-client increment: {client_floor['value']:,.0f} 户 (rule: {client_floor['binding_rule'] or '—'}; rules {client_floor['rules'] or '—'})")
    console.print(f"plan totals: {data['totals']['target_clients']:,.0f} new clients, {data['totals']['target_loan_increment']:,.2f} {unit} loan increment")
    frame = branch_frame(result, lang)
    table = Table(show_lines=False, header_style="bold")
    for col in frame.columns:
        table.add_column(str(col), justify="left" if frame[col].dtype == object else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*[f"{(v if abs(v) >= 0.05 else 0.0):,.1f}" if isinstance(v, float) else str(v) for v in row])
    console.print(table)
    for message in data["diagnostics"]["messages"]:
        console.print(f"• {message}")
    for v in data["violations"][:20]:
        unit_word = unit if v["quantity"] == "loans" else "户"
        where = f" {v['branch']}" if "branch" in v else ""
        console.print(f"[red]short[/red] {v['rule']}{where} {v['year']}: {v['shortfall']:,.2f} {unit_word}")
    if len(data["violations"]) > 20:
        console.print(f"… {len(data['violations']) - 20} more (see --format json)")


def register_optional_commands() -> None:
    """Commands that live in their own modules (`api/cli_<name>.py`, each exporting `<name>_command`)."""
    import importlib

    for name in ("simulate", "check"):
        try:
            module = importlib.import_module(f"api.cli_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"api.cli_{name}":
                raise
            continue
        app.command(name)(getattr(module, f"{name}_command"))


register_optional_commands()


def main() -> None:
    """Console-script entry: run the app; any unexpected error is one line, never a traceback."""
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 — the last line of defence: no traceback reaches a planner
        print(f"microplan: internal error: {type(exc).__name__}: {exc} (please report this)", file=sys.stderr)
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()
