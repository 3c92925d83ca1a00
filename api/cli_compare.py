"""`microplan compare`: the base scenario and its variants side by side (README "Comparing options").

Registered by `api.cli` as `app.command("compare")(compare_command)`. The comparison is made by
`api.comparison.compare_scenario` (the HTTP API calls the same function); this module parses the
options, shows progress on stderr, prints the summary table and writes the workbook and the page.
Exit 0 when every option meets every plan-year rule, 1 when one does not (the table says which),
2 for bad input (a bad variant patch names the variant and the field).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from api.cli_common import EXIT_OK, EXIT_RELAXED, Lang, fail, load_or_exit, write_output
from scenarios.text import printable

if TYPE_CHECKING:
    from api.comparison import Comparison

#: Most replications one run may ask for, and most local workers (as `microplan simulate`).
MAX_REPLICATIONS = 100_000
MAX_WORKERS = 256
#: Width of the table when stdout is not a terminal.
TABLE_WIDTH = 120

COMPARE_HELP = """The base scenario and its variants side by side: floors, totals, branch
targets, load on capacity, catch-up versus extra load and, when the scenario simulates,
each model's metrics on the same random numbers.

\b
Examples:
  microplan compare city-2014 --out compare.xlsx --report compare.html
  microplan compare mine.yaml --lang en --workers 2 --replications 20

\b
Variants are the scenario's `variants:` list, each a patch over the base.
Exit 0: every option meets every plan-year rule; 1: one does not; 2: bad input.
"""


def compare_command(
    source: Annotated[str, typer.Argument(metavar="FILE|NAME", help="scenario file (YAML / JSON) or bundled name")],
    out: Annotated[Optional[Path], typer.Option("--out", help="write the XLSX workbook here (.xlsx)")] = None,
    report: Annotated[Optional[Path], typer.Option("--report", help="write the self-contained HTML page here (.html)")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="language of every output: zh or en")] = Lang.zh,
    workers: Annotated[Optional[int], typer.Option("--workers", help="local worker processes (default: all cores; 1: in this process)")] = None,
    dask: Annotated[Optional[str], typer.Option("--dask", help="run on a Dask cluster: the scheduler's address, e.g. tcp://host:8786")] = None,
    replications: Annotated[Optional[int], typer.Option("--replications", help="Monte Carlo replications per option (default: the scenario's)")] = None,
) -> None:
    problems = option_problems(source, report, out, workers, dask, replications)
    if problems:
        fail(problems)
    if report is not None and out is not None and report.resolve() == out.resolve():
        fail([f"{printable(str(out))}: --out: is also the --report file; name two files"])
    scenario = load_or_exit(source, out)
    if report is not None:
        load_or_exit(source, report)  # the page may not overwrite the scenario either
    comparison = run_with_progress(source, scenario, workers, dask, replications)
    words = lang.value
    write_output(summary_text(comparison, words), None)
    if out is not None:
        from api.comparison_xlsx import comparison_xlsx

        write_output(comparison_xlsx(comparison, words), out)
        print(f"{written(words)}: {printable(str(out))}", file=sys.stderr)
    if report is not None:
        from api.comparison_html import render_comparison_html

        write_output(render_comparison_html(comparison, words), report)
        print(f"{written(words)}: {printable(str(report))}", file=sys.stderr)
    raise typer.Exit(EXIT_RELAXED if any(o.status == "relaxed" for o in comparison.options) else EXIT_OK)


compare_command.__doc__ = COMPARE_HELP


def written(lang: str) -> str:
    from api.labels import word

    return word("written", lang)  # type: ignore[arg-type]


def option_problems(source: str, report: Path | None, out: Path | None, workers: int | None, dask: str | None,
                    replications: int | None) -> list[str]:
    """One line per bad option, `SOURCE: --option: what is wrong (got VALUE)`."""
    from simulate.runner import dask_address_problem

    problems = []
    if out is not None and out.suffix.lower() != ".xlsx":
        problems.append(f"{source}: --out: the workbook must be a .xlsx file (got {printable(str(out))})")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        problems.append(f"{source}: --report: the page must be a .html file (got {printable(str(report))})")
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        problems.append(f"{source}: --workers: must be 1–{MAX_WORKERS} (got {workers})")
    if replications is not None and not 1 <= replications <= MAX_REPLICATIONS:
        problems.append(f"{source}: --replications: must be 1–{MAX_REPLICATIONS:,} (got {replications})")
    if dask is not None and (problem := dask_address_problem(dask)):
        problems.append(f"{source}: --dask: {problem} (got {printable(dask)!r})")
    return problems


def run_with_progress(source: str, scenario, workers: int | None, dask: str | None,
                      replications: int | None) -> Comparison:
    """`compare_scenario` with a progress bar on stderr (shown only on a terminal); bad input exits 2."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from api.comparison import compare_scenario
    from scenarios import ScenarioError

    console = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal, transient=True) as bar:
            task = bar.add_task("compare", total=1.0)
            return compare_scenario(scenario, workers=workers, dask_address=dask, replications=replications,
                                    progress=lambda done: bar.update(task, completed=done), file=source)
    except ScenarioError as exc:
        fail(exc.problems)
    except (OSError, TimeoutError) as exc:
        reason = printable(str(exc)) or type(exc).__name__
        if dask is not None:
            fail([f"{source}: --dask: cannot reach a Dask scheduler at {dask} ({reason})"])
        fail([f"{source}: --workers: cannot start local worker processes ({reason}); try --workers 1"])


def summary_text(comparison: Comparison, lang: str) -> str:
    """The options side by side as a terminal table, then what differs most."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from api import comparison_labels as words
    from api.reports import step_digits

    digits = step_digits(comparison.loan_rounding)
    table = Table(title=Text(printable(f"{comparison.scenario} — {words.word('title', lang)}")), title_justify="left")
    from rich.cells import cell_len

    rows = words.summary_rows(comparison, lang)
    table.add_column(Text(words.word("option", lang)), no_wrap=True, min_width=min(30, max(cell_len(r[0]) for r in rows)))
    for name in comparison.names:
        table.add_column(Text(printable(words.option_title(name, lang))), justify="right", overflow="fold")
    shown = {"description", "changes"}
    for label, kind, value in words.summary_rows(comparison, lang):
        if any(label == words.word(k, lang) for k in shown):
            continue
        cells = [words.cell_text(value(o), kind, digits) for o in comparison.options]
        table.add_row(Text(label), *(Text(printable(c)) for c in cells))
    for metric in comparison.metrics[:6]:
        unit = words.metric_unit(metric.kind, metric.unit, comparison.money_unit, lang)
        scale = 100.0 if metric.kind == "ratio" else 1.0
        table.add_row(Text(f"{words.metric_name(metric.metric, lang)}({unit})" if lang == "zh"
                           else f"{words.metric_name(metric.metric, lang)} ({unit})"),
                      *(Text("—" if m is None else f"{m * scale:,.1f}") for m in metric.mean))
    buffer = io.StringIO()
    console = Console(file=buffer, width=TABLE_WIDTH, force_terminal=False, color_system=None)
    console.print(table)
    lines = [words.highlight_sentence(item, comparison.money_unit, lang, digits) for item in comparison.highlights()]
    heading = words.word("highlights", lang)
    body = "\n".join(f"  {i}. {printable(line)}" for i, line in enumerate(lines, start=1)) or f"  {words.word('no_differences', lang)}"
    return buffer.getvalue() + f"{heading}{'：' if lang == 'zh' else ':'}\n{body}\n"
