"""The `microplan` command line (README "The CLI"): scenarios, validate, plan, simulate.

Exit codes (README, `api.errors`): 0 done and every rule met; 1 a plan was produced but some
rule could not be met; 2 bad input or usage (one line per problem on stderr, no traceback);
3 a bug; 4 the output could not be written; 128 + n stopped by signal n. Text from input files
is printed as text: no rich markup is interpreted in it and control characters are escaped.
"""

from __future__ import annotations

import json
import math
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
import yaml

from api.cli_common import EXIT_OK, EXIT_RELAXED, Lang, Policy, fail, load_or_exit, write_output
from api.errors import ignore_unraisable, run
from scenarios.text import printable

if TYPE_CHECKING:
    from optimize.plan import Plan

app = typer.Typer(
    help="microplan — the small-enterprise finance department's micro-lending planning engine.\n\n"
         "Example: microplan plan city-2014 --out plan-2014.xlsx",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def version_callback(value: bool) -> None:
    """`microplan --version`: the installed version, then exit."""
    if value:
        from api.reports import microplan_version

        write_output(f"microplan {microplan_version()}\n", None)
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=version_callback, is_eager=True, help="print the version and exit")] = False,
) -> None:
    """Options of every command (`--version`)."""


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


class Engine(str, Enum):
    auto = "auto"
    matrix = "matrix"
    pyomo = "pyomo"


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


@scenarios_app.command("template")
def scenarios_template(
    name: Annotated[str, typer.Argument(metavar="NAME", help="bundled scenario name or a scenario file")],
    out: Annotated[Path, typer.Option("--out", help="folder to write NAME.yaml and NAME_branches.xlsx into")],
) -> None:
    """Write a scenario as the files a planner edits: YAML with comments and units, branch table as XLSX.

    The workbook has the Chinese headers the loader reads (units in brackets), a note on each
    header and data validation (whole numbers ≥ 0 for counts, decimals for money, 0–1 for ratios).
    Existing files of the same names are replaced.

    Example: microplan scenarios template city-2014 --out mybank/ && microplan validate mybank/city-2014.yaml
    """
    from api.template import template_files
    from api.writing import out_target_problems

    if out.exists() and not out.is_dir():
        fail([f"{printable(str(out))}: --out: is not a folder; name a folder (it is created if missing)"])
    scenario = load_or_exit(name)
    stem = Path(name).stem if name.endswith((".yaml", ".yml", ".json")) else name
    yaml_path, table_path = out / f"{stem}.yaml", out / f"{stem}_branches.xlsx"
    problems = out_target_problems(yaml_path) + out_target_problems(table_path)
    if problems:
        fail(problems)
    text, workbook = template_files(scenario, table_path.name)
    write_output(workbook, table_path)
    write_output(text, yaml_path)
    print(f"written: {printable(str(yaml_path))}, {printable(str(table_path))}", file=sys.stderr)


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
def validate(
    file: Annotated[str, typer.Argument(help="scenario file (YAML / JSON) or bundled name")],
    strict: Annotated[bool, typer.Option("--strict", help="reconciliation warnings are errors (exit 2)")] = False,
) -> None:
    """Check a scenario: print `ok` and exit 0, or print every problem and exit 2.

    Also reconciles the bank's figures with the branch table (micro-loan balance against Σ branch
    balances, micro borrowers against Σ branch clients; tolerance 5 %): a gap is printed as a
    warning on stderr before `ok`, or, with --strict, is an error (exit 2).

    Example: microplan validate mine.yaml --strict
    """
    from scenarios.consistency import reconciliation_warnings

    scenario = load_or_exit(file)
    warnings = [f"{printable(file)}: {line}" for line in reconciliation_warnings(scenario)]
    if strict and warnings:
        fail(warnings)
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    write_output("ok\n", None)


PLAN_HELP = """The annual plan: the bank's floors and each branch's targets.

\b
Examples:
  microplan plan city-2014 --out plan-2014.xlsx    # table + workbook
  microplan plan city-2014 --lang en --out plan.csv --encoding gbk

\b
Policies (--policy):
  catch_up      behind the long-term schedule: more; ahead: less
  ratchet       last year's actual × (1 + growth), scaled to floors
  proportional  the schedule's total shared by client managers

\b
The format follows --out's suffix: .xlsx, .csv, .json (else text).
Exit 0: every plan-year floor and department target met;
exit 1: one missed (plan and shortfall printed); exit 2: bad input.
"""

#: --out suffix → the format it implies.
SUFFIX_FORMATS = {".xlsx": "xlsx", ".csv": "csv", ".json": "json"}


class CsvEncoding(str, Enum):
    utf8_bom = "utf-8-sig"
    utf8 = "utf-8"
    gbk = "gbk"


@app.command("plan", help=PLAN_HELP)
def plan(
    source: Annotated[str, typer.Argument(metavar="FILE|NAME", help="scenario file or bundled name")],
    policy: Annotated[Optional[Policy], typer.Option("--policy", help="override the scenario's policy: catch_up | ratchet | proportional")] = None,
    format: Annotated[Optional[PlanFormat], typer.Option("--format", help="table | json | csv | xlsx (default: from --out's suffix, else table)")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="file to write; .xlsx also prints the table")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="language of every output: zh or en")] = Lang.zh,
    encoding: Annotated[CsvEncoding, typer.Option("--encoding", help="CSV file encoding: utf-8-sig (UTF-8 with BOM, for Excel), utf-8 or gbk")] = CsvEncoding.utf8_bom,
    engine: Annotated[Engine, typer.Option("--engine", help="LP engine: auto (= matrix) or pyomo, the reference model")] = Engine.auto,
) -> None:
    from api import reports
    from optimize.plan import make_plan

    fmt, also_table = plan_format(format, out)
    scenario = load_or_exit(source, out)
    result = make_plan(scenario, policy.value if policy else None, engine.value)
    words = lang.value
    if fmt == "xlsx":
        if also_table:
            print_plan_table(result, words)
        write_output(reports.plan_xlsx(result, words), out)
        print(f"{labels_word('written', words)}: {printable(str(out))}", file=sys.stderr)
    elif fmt == "json":
        write_output(plan_json_text(reports.plan_json(result, words)), out)
    elif fmt == "csv":
        text = reports.plan_csv(result, words)
        write_output(text if out is None else encode_csv(text, encoding.value, out), out)
    elif out is None:
        print_plan_table(result, words)
    else:
        from api.terminal import plan_table_text as render_text

        write_output(render_text(result, words, width=TEXT_FILE_WIDTH), out)
    raise typer.Exit(EXIT_RELAXED if result.status == "relaxed" else EXIT_OK)


#: Width of the table written to a text file (`--out plan.txt`).
TEXT_FILE_WIDTH = 160


def plan_format(format: Optional[PlanFormat], out: Optional[Path]) -> tuple[str, bool]:
    """(format, also print the table): from --format, else --out's suffix; a contradiction is bad usage (exit 2)."""
    implied = SUFFIX_FORMATS.get(out.suffix.lower()) if out is not None else None
    if format is None:
        return (implied or "table"), implied == "xlsx"
    if format == PlanFormat.table and implied == "xlsx":
        return "xlsx", True  # README: `--out x.xlsx` with the table format prints the table and writes the workbook
    if implied is not None and implied != format.value:
        fail([f"{out}: --format: contradicts the file's suffix {out.suffix}; drop --format or name a .{format.value} file (got {format.value})"])
    if format == PlanFormat.xlsx and out is None:
        fail(["--out: --format xlsx needs a file to write (got no --out)"])
    return format.value, False


def encode_csv(text: str, encoding: str, out: Path) -> bytes:
    """CSV bytes in `encoding`; a character GBK cannot hold is named (exit 2), never replaced silently."""
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        line = exc.object.count("\n", 0, exc.start) + 1
        fail([f"{out}: --encoding {encoding}: line {line} holds {bad!r}, which {encoding} cannot encode (use --encoding utf-8-sig)"])


def labels_word(key: str, lang: str) -> str:
    from api.labels import word

    return word(key, lang)  # type: ignore[arg-type]


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
    """The plan as a terminal table on stdout, as wide as the terminal (see `api.terminal`)."""
    write_output(plan_table_text(result, lang, terminal=stdout_is_terminal()), None)


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (colours on) rather than a file or a pipe."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def plan_table_text(result: Plan, lang: str, terminal: bool = False, width: int | None = None) -> str:
    """The plan as terminal text (`api.terminal`): the terminal's width, else $COLUMNS, else 120 for a pipe."""
    import os
    import shutil

    from api.terminal import plan_table_text as render_text

    if width is None:
        if terminal:
            width = shutil.get_terminal_size((120, 24)).columns
        else:
            columns = os.environ.get("COLUMNS", "")
            width = int(columns) if columns.isdigit() and int(columns) > 0 else 120
    return render_text(result, lang, width=width, terminal=terminal)  # type: ignore[arg-type]


def register_optional_commands() -> None:
    """Commands that live in their own modules (`api/cli_<name>.py`, each exporting `<name>_command`,
    or `<name>_app` for a group of sub-commands)."""
    import importlib

    for name in ("simulate", "check", "letters", "compare", "serve", "keys"):
        try:
            module = importlib.import_module(f"api.cli_{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"api.cli_{name}":
                raise
            continue
        if hasattr(module, f"{name}_app"):
            app.add_typer(getattr(module, f"{name}_app"), name=name)
        else:
            app.command(name)(getattr(module, f"{name}_command"))


register_optional_commands()


def main() -> None:
    """Console-script entry: run the app through `api.errors.run` (one line per problem, exit codes)."""
    sys.unraisablehook = ignore_unraisable
    run(app)


if __name__ == "__main__":
    main()
