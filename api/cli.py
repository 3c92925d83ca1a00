"""The `microplan` command line (README "The CLI"): scenarios, validate, plan, simulate.

Exit codes (README, `api.errors`): 0 done and every rule met; 1 a plan was produced but some
rule could not be met; 2 bad input or usage (one line per problem on stderr, no traceback);
3 a bug; 4 the output could not be written; 128 + n stopped by signal n. Text from input files
is printed as text: no rich markup is interpreted in it and control characters are escaped.
"""

from __future__ import annotations

import io
import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
import yaml

from api.cli_common import EXIT_OK, EXIT_RELAXED, fail, load_or_exit, write_output
from api.errors import ignore_unraisable, run
from scenarios.text import printable

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

    lines = []
    for name in bundled_names():
        s = load_scenario(name)
        lines.append(f"{name:<12} {s.plan_year}  {s.regulation.preset:<26} {len(s.branches):>3} branches  {printable(s.name)}\n")
    write_output("".join(lines), None)


@scenarios_app.command("show")
def scenarios_show(
    name: Annotated[str, typer.Argument(help="bundled scenario name (see `microplan scenarios`)")],
    format: Annotated[TextFormat, typer.Option("--format", help="yaml or json")] = TextFormat.yaml,
) -> None:
    """Print one scenario, branch table inline, ready to save and edit."""
    from scenarios import bundled_names, dump_scenario

    if name not in bundled_names():
        fail([f"{name}: no such bundled scenario; bundled: {', '.join(bundled_names())}"])
    write_output(dump_scenario(load_or_exit(name), format.value), None)


@scenarios_app.command("schema")
def scenarios_schema() -> None:
    """Print the scenario's JSON Schema (for editors that validate YAML / JSON)."""
    from scenarios.schema import Scenario

    write_output(json.dumps(Scenario.model_json_schema(), ensure_ascii=False, indent=2) + "\n", None)


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
    write_output("ok\n", None)


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

    fmt = format
    if fmt == PlanFormat.xlsx and out is None:
        fail(["--out: --format xlsx needs a file to write (got no --out)"])
    scenario = load_or_exit(source, out)
    result = make_plan(scenario, policy.value if policy else None, engine.value)
    if out is not None and out.suffix.lower() == ".xlsx" and fmt == PlanFormat.table:
        write_output(plan_table_text(result, lang.value, terminal=stdout_is_terminal()), None)
        write_output(reports.plan_xlsx(result, lang.value), out)
        print(f"written: {printable(str(out))}", file=sys.stderr)
    elif fmt == PlanFormat.table:
        write_output(plan_table_text(result, lang.value, terminal=out is None and stdout_is_terminal()), out)
    elif fmt == PlanFormat.json:
        write_output(plan_json_text(result.to_json()), out)
    elif fmt == PlanFormat.csv:
        write_output(reports.plan_csv(result, lang.value if lang == Lang.zh and out is None else "en"), out)
    else:
        write_output(reports.plan_xlsx(result, lang.value), out)
        print(f"written: {printable(str(out))}", file=sys.stderr)
    raise typer.Exit(EXIT_RELAXED if result.status == "relaxed" else EXIT_OK)


def plan_json_text(data: dict) -> str:
    """The plan as JSON; NaN or infinity cannot be written as JSON, so one found is a bug (exit 3)."""
    try:
        return json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    except ValueError:
        raise ValueError(f"the plan holds a non-finite number at {non_finite_path(data)}, "
                         "which JSON cannot carry; no output written") from None


def non_finite_path(data: object, path: str = "") -> str:
    """Dotted path of the first NaN / ±inf in nested dicts and lists (for the error line)."""
    if isinstance(data, float) and not math.isfinite(data):
        return path or "(top)"
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found = non_finite_path(value, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return ""


def print_plan_table(result: Plan, lang: str) -> None:
    """The plan as a terminal table on stdout (see `plan_table_text`)."""
    write_output(plan_table_text(result, lang, terminal=stdout_is_terminal()), None)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (colours on) rather than a file or a pipe."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def plan_table_text(result: Plan, lang: str, terminal: bool = False) -> str:
    """The plan as a terminal table: floors, branch targets, diagnostics.

    Names and messages come from the scenario file, so they enter rich as `Text` or escaped,
    never as markup (`[/]` in a branch name is printed, not parsed), with control characters
    escaped; colours only when stdout is a terminal.
    """
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from api.reports import branch_frame

    def safe(value: object) -> str:
        return escape(printable(str(value)))

    buffer = io.StringIO()
    console = Console(file=buffer, width=max(Console().width, 160), force_terminal=terminal,
                      color_system="auto" if terminal else None, highlight=False)
    data = result.to_json()
    unit = data["money_unit"]
    loan_floor = data["floors"]["micro_loan_increment"]
    client_floor = data["floors"]["micro_client_increment"]
    console.print(f"[bold]{safe(data['scenario'])}[/bold] — plan year {data['plan_year']}, policy {safe(data['policy'])}, status [bold]{safe(data['status'])}[/bold]")
    console.print(f"floor micro-loan increment: {loan_floor['value']:,.2f} {unit} (rule: {safe(loan_floor['binding_rule'] or '—')}; rules {safe(loan_floor['rules'] or '—')})")
    console.print(f"floor micro-client increment: {client_floor['value']:,.0f} 户 (rule: {safe(client_floor['binding_rule'] or '—')}; rules {safe(client_floor['rules'] or '—')})")
    console.print(f"plan totals: {data['totals']['target_clients']:,.0f} new clients, {data['totals']['target_loan_increment']:,.2f} {unit} loan increment")
    frame = branch_frame(result, lang)
    table = Table(show_lines=False, header_style="bold")
    for col in frame.columns:
        table.add_column(Text(str(col)), justify="right" if pd_is_numeric(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*[Text(f"{(v if abs(v) >= 0.05 else 0.0):,.1f}" if isinstance(v, float) else printable(str(v))) for v in row])
    console.print(table)
    for message in data["diagnostics"]["messages"]:
        console.print(Text(f"• {printable(str(message))}"))
    for v in data["violations"][:20]:
        unit_word = unit if v["quantity"] == "loans" else "户"
        where = f" {safe(v['branch'])}" if "branch" in v else ""
        console.print(f"[red]short[/red] {safe(v['rule'])}{where} {v['year']}: {v['shortfall']:,.2f} {unit_word}")
    if len(data["violations"]) > 20:
        console.print(f"… {len(data['violations']) - 20} more (see --format json)")
    return buffer.getvalue()


def pd_is_numeric(column: object) -> bool:
    """Whether a frame column holds numbers (right-aligned in the table)."""
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(column))


def register_optional_commands() -> None:
    """Commands that live in their own modules (`api/cli_<name>.py`, each exporting `<name>_command`)."""
    import importlib

    for name in ("simulate", "check", "letters"):
        try:
            module = importlib.import_module(f"api.cli_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"api.cli_{name}":
                raise
            continue
        app.command(name)(getattr(module, f"{name}_command"))


register_optional_commands()


def main() -> None:
    """Console-script entry: run the app through `api.errors.run` (one line per problem, exit codes)."""
    sys.unraisablehook = ignore_unraisable
    run(app)


if __name__ == "__main__":
    main()
