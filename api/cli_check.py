"""`microplan check SCENARIO PLAN.xlsx|PLAN.json`: does a plan keep every rule of its scenario?

Registered by `api.cli` as `app.command("check")(check_command)`. The plan is read back from the
file `microplan plan` wrote (JSON or the workbook, also after a planner edited targets in it)
and checked by `optimize.check`, which recomputes every rule from the scenario without the LP
engine's code.

Exit codes: 0 every rule holds (warnings may be printed: the long-term schedule, and floors
of the indicative rolling years, as `microplan plan` reports them); 1 some rule is breached (a table of breaches: rule, year, branch or the bank, required, planned, by how much,
unit — money in the scenario's unit, clients in 户); 2 bad input, one line per problem.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from api.cli_common import EXIT_OK, EXIT_RELAXED, Lang, Policy, fail, load_or_exit
from scenarios.schema import from_wan

if TYPE_CHECKING:
    from optimize.check import Breach

#: Rule names for a planner (中文, English).
RULE_NAMES: dict[str, tuple[str, str]] = {
    "growth_rate": ("增速不低于各项贷款增速", "growth ≥ all-loan growth"),
    "increment": ("增量不低于上年", "increment ≥ last year's"),
    "borrower_count": ("户数不低于上年", "borrowers ≥ last year"),
    "department_target": ("部门目标", "department target"),
    "capacity": ("产能上限", "capacity"),
    "smoothing": ("年度间平滑", "year-to-year smoothing"),
    "smoothing_from_last_year": ("较上年目标平滑", "smoothing from last year's target"),
    "loan_band": ("贷款额区间", "loan-size and book band"),
    "risk_cap": ("风险限增", "risk cap"),
    "long_term_completion": ("长期目标完成", "long-term completion"),
    "cycle_schedule": ("周期进度合计", "the schedule's bank total"),
}
SEVERITY_NAMES: dict[str, tuple[str, str]] = {
    "regulatory": ("监管", "regulatory"),
    "department": ("部门", "department"),
    "hard": ("硬约束", "hard"),
    "schedule": ("长期进度(提示)", "schedule (warning)"),
}
SEVERITY_ORDER = {"regulatory": 0, "department": 1, "hard": 2, "schedule": 3}
TEXT: dict[str, tuple[str, str]] = {
    "ok": ("全部规则均满足", "every rule holds"),
    "bank": ("全行", "bank"),
    "clients": ("户", "户"),
    "breaches": ("未满足的规则", "breaches"),
    "warnings": ("提示（不影响通过）：长期进度、滚动年度", "warnings (the plan still passes): long-term schedule, rolling years"),
    "columns": ("规则|层级|年度|机构|要求|计划|差额|单位", "rule|severity|year|branch|required|planned|by|unit"),
}


class CheckFormat(str, Enum):
    table = "table"
    json = "json"


def check_command(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="scenario file (YAML / JSON) or bundled name")],
    plan: Annotated[Path, typer.Argument(metavar="PLAN.xlsx|PLAN.json", help="a plan written by `microplan plan` (--format json, or --out x.xlsx), edited or not")],
    lang: Annotated[Lang, typer.Option("--lang", help="zh or en")] = Lang.zh,
    format: Annotated[CheckFormat, typer.Option("--format", help="table | json")] = CheckFormat.table,
    policy: Annotated[Optional[Policy], typer.Option("--policy", help="policy the plan was made under (default: the one the plan file names, else the scenario's)")] = None,
) -> None:
    """Check a plan against every rule of its scenario: exit 0 if all hold, 1 with a table of breaches.

    Example: microplan plan city-2014 --out plan.xlsx; edit targets in Excel; microplan check city-2014 plan.xlsx
    """
    from api.plan_files import PlanFileError, read_plan
    from optimize.check import check_plan, shape_problems

    loaded = load_or_exit(scenario)
    try:
        plan_file = read_plan(plan, loaded.units.money, loaded.plan_year)
    except PlanFileError as exc:
        fail(exc.problems)
    problems = [f"{plan}: {p}" for p in shape_problems(loaded, plan_file.targets)]
    if plan_file.plan_year is not None and plan_file.plan_year != loaded.plan_year:
        problems.insert(0, f"{plan}: plan_year: the plan is for {plan_file.plan_year}, the scenario plans {loaded.plan_year} (got {plan_file.plan_year})")
    if problems:
        fail(problems)
    for note in plan_file.notes:
        print(note, file=sys.stderr)
    used_policy = policy.value if policy else plan_file.policy or loaded.policy.name
    breaches = check_plan(loaded, plan_file.targets, used_policy, plan_file.resolution)
    breaches.sort(key=lambda b: (SEVERITY_ORDER[b.severity], b.year, b.branch or "", b.rule, b.side))
    i = 0 if lang == Lang.zh else 1
    unit = loaded.units.money
    money = from_wan(1.0, unit)  # one 万元 in the scenario's unit
    rows = [breach_row(b, money, unit) for b in breaches]
    blocking = [r for r, b in zip(rows, breaches) if b.blocking]
    warnings = [r for r, b in zip(rows, breaches) if not b.blocking]
    from api.labels import POLICIES

    policy_word = POLICIES[used_policy][i] if used_policy in POLICIES else used_policy
    context = f"{plan} / {loaded.name} ({policy_word}, {loaded.plan_year})"
    if format == CheckFormat.json:
        body = {"ok": not blocking, "scenario": loaded.name, "plan": str(plan), "plan_year": loaded.plan_year,
                "policy": used_policy, "money_unit": unit, "breaches": blocking, "warnings": warnings, "notes": plan_file.notes}
        sys.stdout.write(json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    else:
        if not blocking:
            print(f"{TEXT['ok'][i]}: {context}")
        else:
            print_table(f"{TEXT['breaches'][i]} ({len(blocking)}): {context}", blocking, i, unit)
        if warnings:
            print_table(f"{TEXT['warnings'][i]} ({len(warnings)})", warnings, i, unit)
    raise typer.Exit(EXIT_RELAXED if blocking else EXIT_OK)


def rule_name(rule: str, i: int) -> str:
    """A rule's name in the run's language; a department buffer is named after its floor."""
    if rule.startswith("department_") and rule != "department_target":
        base = rule.removeprefix("department_")
        return f"{RULE_NAMES['department_target'][i]}·{RULE_NAMES.get(base, (base, base))[i]}"
    return RULE_NAMES.get(rule, (rule, rule))[i]


def breach_row(breach: Breach, money: float, unit: str) -> dict:
    """A breach for people: loans in the scenario's money unit, clients in 户."""
    scale = money if breach.quantity == "loans" else 1.0
    return {
        "rule": breach.rule,
        "severity": breach.severity,
        "year": breach.year,
        "branch": breach.branch,
        "side": breach.side,
        "required": breach.required * scale,
        "planned": breach.planned * scale,
        "amount": breach.amount * scale,
        "unit": unit if breach.quantity == "loans" else "户",
        "indicative": breach.indicative,
    }


def print_table(title: str, rows: list[dict], i: int, unit: str) -> None:
    """Breaches as a terminal table, one row each."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    digits = 4 if unit == "亿元" else 2
    console = Console(width=max(Console().width, 110))
    console.print(Text(title))  # Text: ids and names from the files are never read as markup
    table = Table(header_style="bold")
    for n, name in enumerate(TEXT["columns"][i].split("|")):
        table.add_column(Text(name), justify="right" if 4 <= n <= 6 else "left", no_wrap=n > 1, overflow="fold")
    for r in rows:
        places = digits if r["unit"] != "户" else 2
        table.add_row(*map(Text, (
            rule_name(r["rule"], i),
            SEVERITY_NAMES[r["severity"]][i] + (("·滚动年度", ", rolling year")[i] if r["indicative"] else ""),
            str(r["year"]),
            r["branch"] or TEXT["bank"][i],
            f"{'≥' if r['side'] == 'min' else '≤'} {r['required']:,.{places}f}",
            f"{r['planned']:,.{places}f}",
            f"{r['amount']:,.{places}f}",
            r["unit"],
        )))
    console.print(table)
