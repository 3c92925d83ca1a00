"""Plan reports: the frames every output shows, the XLSX workbook, CSV and the localised JSON.

One language per output (`lang` zh, the default, or en; words in `api.labels`). Money is shown
in the scenario's own unit, to the loan rounding unit's decimals; clients are whole numbers.
Cells are written through `api.writing`: text from the scenario never becomes a formula, a link
or a DDE call; the only formulas are the totals row's `SUM`s, built from cell addresses.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from api import labels
from api.labels import Lang
from api.writing import csv_text, new_workbook, write_cell, write_text
from optimize.diagnostics import AT_CAPACITY_TOL, plan_year_shape
from optimize.plan import PLAN_SCHEMA_VERSION, Plan
from scenarios.schema import from_wan

#: Order of the branch table's columns (the workbook, CSV and, as far as it fits, the terminal).
#: The plan checker reads the workbook's branch sheet by header names; `target_clients` stays column H.
BRANCH_COLUMNS = ("id", "name", "long_term_target", "achieved_clients", "pace", "last_year_target", "last_year_actual",
                  "target_clients", "change", "target_loan_increment", "capacity", "ratchet_coefficient", "effective_reward",
                  "reason")
#: Columns summed in the totals row.
SUMMED = ("long_term_target", "achieved_clients", "pace", "last_year_target", "last_year_actual", "target_clients",
          "change", "target_loan_increment", "capacity")
#: The hidden sheet with plan year, policy, units (read by `api.plan_files`).
HIDDEN_META = "_meta"


def microplan_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("microplan")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


# ---------------------------------------------------------------- units


def money_factor(plan: Plan) -> float:
    """Multiply engine 万元 by this to get the scenario's money unit."""
    return from_wan(1.0, plan.scenario.units.money)


def loan_step(plan: Plan) -> float:
    """The loan rounding unit in the scenario's money unit (1 万元 = 0.0001 亿元 = 10,000 元 by default)."""
    return plan.inputs.loan_unit * money_factor(plan)


def money_digits(plan: Plan) -> int:
    """Decimals that show a multiple of the loan rounding unit exactly (0 for 1 万元 in 万元, 4 in 亿元)."""
    return step_digits(loan_step(plan))


def step_digits(step: float) -> int:
    """Decimals that show every multiple of `step` exactly (0 for 1, 2 for 0.05, at most 6)."""
    for digits in range(0, 7):
        scaled = step * 10**digits
        if abs(scaled - round(scaled)) <= 1e-9 * max(1.0, scaled):
            return digits
    return 6


def money_format(plan: Plan) -> str:
    """Excel number format of money cells: thousands separators, the rounding unit's decimals."""
    return number_format(money_digits(plan))


def number_format(digits: int) -> str:
    """Excel number format with thousands separators and `digits` decimals."""
    return "#,##0" + ("." + "0" * digits if digits else "")


# ---------------------------------------------------------------- the branch table


def branch_values(plan: Plan, lang: Lang = "zh") -> pd.DataFrame:
    """The plan year per branch under `BRANCH_COLUMNS` keys: whole clients, money in the file's unit, a reason."""
    table = plan.branch_table()
    shape = plan_year_shape(plan.inputs, plan.targets, plan.report)
    x = table["target_clients"].to_numpy(float)
    smoothed = (x >= shape.x_hi - AT_CAPACITY_TOL) & (shape.x_hi < plan.inputs.capacity - AT_CAPACITY_TOL)
    locked = ~np.isnan(plan.inputs.locked_clients) | ~np.isnan(plan.inputs.locked_loans)
    last_target = [b.last_year_target for b in plan.scenario.branches]
    last_actual = [b.last_year_actual for b in plan.scenario.branches]
    digits = money_digits(plan)
    reasons = [
        labels.join_parts(labels.reason_parts(
            lang, schedule=str(r.schedule), pace=float(r.pace), extra=float(r.extra_load), at_capacity=bool(r.at_capacity),
            smoothed=bool(smoothed[i]), risk_capped=bool(r.risk_capped), locked=bool(locked[i])), lang)
        for i, r in enumerate(table.itertuples(index=False))
    ]
    clients = np.rint(x).astype(np.int64)
    frame = pd.DataFrame({
        "id": table["id"].astype(str),
        "name": table["name"].astype(str),
        "long_term_target": np.rint(table["long_term_target"].to_numpy(float)).astype(np.int64),
        "achieved_clients": np.rint(table["achieved_clients"].to_numpy(float)).astype(np.int64),
        "pace": np.rint(table["pace"].to_numpy(float)).astype(np.int64),
        "last_year_target": pd.array([None if v is None else int(round(v)) for v in last_target], dtype="Int64"),
        "last_year_actual": pd.array([None if v is None else int(round(v)) for v in last_actual], dtype="Int64"),
        "target_clients": clients,
        "change": pd.array([None if t is None else int(c) - int(round(t)) for c, t in zip(clients, last_target)], dtype="Int64"),
        "target_loan_increment": np.round(table["target_loan_increment"].to_numpy(float) * money_factor(plan), digits),
        "capacity": np.rint(table["capacity"].to_numpy(float)).astype(np.int64),
        "ratchet_coefficient": np.round(plan.ratchet.values, 2),
        "effective_reward": np.round(effective_rewards(plan) * money_factor(plan), reward_digits(plan)),
        "reason": reasons,
    })
    return frame[list(BRANCH_COLUMNS)]


def effective_rewards(plan: Plan) -> np.ndarray:
    """Each branch's reward per extra client net of the targets it raises, 万元 per client (engine units).

    Weitzman's `β(1 − ρ)/(1 − ρ + ρλ)` with β = `incentives.bonus_per_client`, ρ =
    `incentives.discount_factor` and λ the plan's ratchet coefficient; +∞ where the formula
    diverges, NaN in the cycle's last year (no λ).

    Where it is computed, and why here: λ is the engine's (`optimize.ratchet`), the formula is the
    behaviour model's (`simulate.behaviour`, shared with the policy loop). `optimize/` may not
    import `simulate/`, and `simulate/` should not be needed to make a plan, so the plan JSON of
    `optimize.plan` carries λ only and the application layer, which may import both, combines them.
    """
    from simulate.behaviour import effective_reward_per_unit

    incentives = plan.scenario.incentives
    return effective_reward_per_unit(incentives.bonus_per_client, incentives.discount_factor, plan.ratchet.values)


#: Decimals of a reward per client by money unit: whole 元, 0.01 万元 (100 元), 0.000001 亿元 (100 元).
REWARD_DIGITS = {"元": 0, "万元": 2, "亿元": 6}


def reward_digits(plan: Plan) -> int:
    """Decimals of a reward per client in the scenario's money unit (`REWARD_DIGITS`)."""
    return REWARD_DIGITS[plan.scenario.units.money]


def incentives_json(plan: Plan) -> dict:
    """β, ρ and the bank's distribution of the effective reward (file's money unit per client).

    `unbounded` counts branches where Weitzman's sum diverges; the quantiles are over the finite
    values (null when there are none, e.g. in the cycle's last year).
    """
    incentives = plan.scenario.incentives
    factor, digits = money_factor(plan), reward_digits(plan)
    rewards = effective_rewards(plan) * factor
    finite = rewards[np.isfinite(rewards)]
    lam = plan.ratchet.values
    lam = lam[np.isfinite(lam)]

    def quantiles(values: np.ndarray, places: int) -> dict | None:
        if not len(values):
            return None
        q = np.percentile(values, [0, 10, 50, 90, 100])
        return {name: float(round(v, places)) for name, v in zip(("min", "p10", "p50", "p90", "max"), q)} | {
            "mean": float(round(values.mean(), places))}

    return {
        "bonus_per_client": float(round(incentives.bonus_per_client * factor, digits)),
        "penalty_per_client": float(round(incentives.penalty_per_client * factor, digits)),
        "discount_factor": incentives.discount_factor,
        "next_year": plan.ratchet.next_year,
        "ratchet_coefficient": quantiles(lam, 4),
        "effective_reward": quantiles(finite, digits),
        "unbounded": int(np.isinf(rewards).sum()),
        "finite_difference_branches": int(plan.ratchet.finite_difference.sum()),
    }


def branch_frame(plan: Plan, lang: Lang = "zh") -> pd.DataFrame:
    """The plan-year branch table with headers (and units) in `lang`."""
    frame = branch_values(plan, lang)
    unit = plan.scenario.units.money
    return frame.rename(columns={k: labels.header(k, lang, unit) for k in frame.columns})


def rolling_frame(plan: Plan, lang: Lang = "zh") -> pd.DataFrame:
    """Targets of every plan year per branch (the plan year binding, later years indicative)."""
    digits = money_digits(plan)
    t = plan.targets.copy()
    names = dict(zip(plan.inputs.branch_ids, (b.name for b in plan.scenario.branches)))
    unit = plan.scenario.units.money
    return pd.DataFrame({
        labels.header("id", lang, unit): t["branch"].astype(str),
        labels.header("name", lang, unit): t["branch"].map(names).astype(str),
        labels.word("year", lang): t["year"].astype(int),
        labels.header("target_clients", lang, unit) + ("(户)" if lang == "zh" else " (clients)"): np.rint(t["target_clients"].to_numpy(float)).astype(np.int64),
        labels.header("target_loan_increment", lang, unit): np.round(t["target_loan_increment"].to_numpy(float) * money_factor(plan), digits),
    })


def floor_rows(plan: Plan) -> list[dict]:
    """Every floor row, every year, in file units: the plan JSON's rows with whole clients as integers."""
    return plan.floors_by_year_json(money_factor(plan), money_digits(plan), client_digits=0, integers=True)


def _round(value: float, digits: int) -> float | int:
    return int(round(value)) if digits == 0 else float(round(value, digits))


def floors_frame(plan: Plan, lang: Lang = "zh") -> pd.DataFrame:
    """Every floor row with its rule name, the required value, the plan's total and the slack, unit named."""
    unit = plan.scenario.units.money
    rows = [{
        labels.word("rule", lang): labels.rule_name(r["rule"], lang),
        labels.word("tier", lang): labels.pick(labels.TIERS.get(r["tier"], ("其他", r["tier"])), lang),
        labels.word("quantity", lang): labels.pick(labels.QUANTITIES[r["quantity"]], lang),
        labels.word("year", lang): r["year"],
        labels.word("floor", lang): r["required"],
        labels.word("plan_total", lang): r["plan_total"],
        labels.word("slack", lang): r["slack"],
        labels.word("unit", lang): labels.quantity_unit(r["quantity"], unit, lang),
    } for r in floor_rows(plan)]
    return pd.DataFrame(rows, columns=[labels.word(k, lang) for k in ("rule", "tier", "quantity", "year", "floor", "plan_total", "slack", "unit")])


def shortfall_frame(plan: Plan, lang: Lang = "zh") -> pd.DataFrame:
    """Violations (exit 1) and warnings as one table: kind, rule, year, branch, amount, unit."""
    unit = plan.scenario.units.money
    money, digits = money_factor(plan), money_digits(plan)
    rows = []
    for kind, items in (("violation", plan.violations), ("warning", plan.warnings)):
        for v in items:
            loans = v["quantity"] == "loans"
            rows.append({
                labels.word("kind", lang): labels.word(kind, lang),
                labels.word("rule", lang): labels.rule_name(v["rule"], lang),
                labels.word("year", lang): int(v["year"]),
                labels.word("branch", lang): v.get("branch") or labels.word("whole_bank", lang),
                labels.word("amount", lang): _round(v["shortfall"] * money, digits) if loans else int(math.ceil(v["shortfall"] - 1e-6)),
                labels.word("unit", lang): labels.quantity_unit(v["quantity"], unit, lang),
            })
    return pd.DataFrame(rows, columns=[labels.word(k, lang) for k in ("kind", "rule", "year", "branch", "amount", "unit")])


# ---------------------------------------------------------------- diagnostics in words


def diagnostic_lines(plan: Plan, lang: Lang = "zh") -> list[str]:
    """The diagnostics as sentences in `lang`, built from the plan's structured fields."""
    inputs, d, scenario = plan.inputs, plan.diagnostics, plan.scenario
    unit, money, digits = scenario.units.money, money_factor(plan), money_digits(plan)
    ids = list(inputs.branch_ids)
    year = plan.plan_year

    def amount(value_engine: float, quantity: str) -> str:
        if quantity == "loans":
            return f"{value_engine * money:,.{digits}f} {unit}"
        return f"{value_engine:,.0f} {labels.pick(labels.CLIENT_UNIT, lang)}"

    from scenarios.consistency import reconciliation_warnings

    lines = list(reconciliation_warnings(scenario, lang))  # the bank's figures against the branch table
    for b in d.binding:
        value = b["value"] / money if b["quantity"] == "loans" else b["value"]
        lines.append(labels.binding_sentence(b["rule"], year, amount(value, b["quantity"]), lang))
    for c in d.marginal_costs:
        lines.append(labels.marginal_sentence(c["rule"], c["quantity"], c["moves"], len(ids), unit, lang))
    shape = plan_year_shape(inputs, plan.targets, plan.report)
    for v in plan.violations:
        if v["tier"] == "lock":
            lines.append(labels.lock_sentence(v["rule"], v["branch"], amount(v["shortfall"], v["quantity"]), lang))
            continue
        capacity = smoothing = band = risk = []
        if v["quantity"] == "clients":
            at_hi = shape.x >= shape.x_hi - AT_CAPACITY_TOL
            full = shape.x_hi >= inputs.capacity - AT_CAPACITY_TOL
            free = np.isnan(inputs.locked_clients)
            capacity = [ids[b] for b in np.flatnonzero(at_hi & full & free)]
            smoothing = [ids[b] for b in np.flatnonzero(at_hi & ~full & free)]
        else:
            at_high = shape.y >= shape.y_high - 1e-6 * np.maximum(1.0, np.abs(shape.y_high))
            risk = [ids[b] for b in np.flatnonzero(at_high & inputs.risk_capped)]
            band = [ids[b] for b in np.flatnonzero(at_high & ~inputs.risk_capped)]
        lines.append(labels.shortfall_sentence(v["rule"], int(v["year"]), amount(v["shortfall"], v["quantity"]),
                                               capacity, smoothing, band, risk, lang))
    completion = [w for w in plan.warnings if w["rule"] == "long_term_completion"]
    if completion:
        by_id = {bid: b for b, bid in enumerate(ids)}
        need = inputs.completion_need
        years_left = len(inputs.years)
        short_of_capacity = [w["branch"] for w in completion
                             if need is not None and inputs.capacity[by_id[w["branch"]]] * years_left < need[by_id[w["branch"]]] - 1e-6]
        other = [w["branch"] for w in completion if w["branch"] not in short_of_capacity]
        lines.append(labels.completion_sentence(len(completion), int(inputs.years[-1]), sum(w["shortfall"] for w in completion),
                                                short_of_capacity, other, lang))
    indicative = sorted({(w["rule"], int(w["year"])) for w in plan.warnings if w.get("indicative")})
    if indicative:
        lines.append(labels.indicative_sentence(indicative, lang))
    ref = np.minimum(inputs.reference, inputs.capacity)
    free = np.isnan(inputs.locked_clients)  # a lock is its own reason
    for above, mask, bound in ((True, free & (ref > shape.x_hi + 1e-6), shape.x_hi), (False, free & (ref < shape.x_lo - 1e-6), shape.x_lo)):
        held = [(ids[b], float(inputs.reference[b]), float(bound[b])) for b in np.flatnonzero(mask)]
        if held:
            lines.append(labels.smoothing_sentence(held, above, inputs.max_change, lang))
    possible = scenario.cycle.horizon_years * float(inputs.capacity.sum())
    if scenario.cycle.micro_client_target > possible + 1e-6:
        lines.append(labels.cycle_capacity_sentence(scenario.cycle.micro_client_target, possible, float(inputs.long_term_target.sum()), lang))
    if d.at_capacity:
        lines.append(labels.at_capacity_sentence(list(d.at_capacity), year, lang))
    if d.risk_capped:
        lines.append(labels.risk_capped_sentence(list(d.risk_capped), scenario.risk.npl_tolerance, scenario.risk.capped_growth, lang))
    return lines


# ---------------------------------------------------------------- title block


@dataclass(frozen=True)
class TitleItem:
    key: str
    label: str
    value: Any


def title_items(plan: Plan, lang: Lang, today: dt.date | None = None) -> list[TitleItem]:
    """Bank, plan year, policy, money unit, rounding unit, status, date, microplan version."""
    unit = plan.scenario.units.money
    step = loan_step(plan)
    return [
        TitleItem("bank", labels.word("bank", lang), plan.scenario.name),
        TitleItem("plan_year", labels.word("plan_year", lang), str(plan.plan_year)),
        TitleItem("policy", labels.word("policy", lang), labels.policy_name(plan.inputs.policy, lang)),
        TitleItem("money_unit", labels.word("money_unit", lang), unit),
        TitleItem("loan_rounding", labels.word("loan_rounding", lang), f"{step:,.{money_digits(plan)}f} {unit}"),
        TitleItem("status", labels.word("status", lang),
                  f"{labels.status_word(plan.status, lang)}（{labels.status_sentence(plan.status, lang)}）" if lang == "zh"
                  else f"{labels.status_word(plan.status, lang)} ({labels.status_sentence(plan.status, lang)})"),
        TitleItem("date", labels.word("date", lang), (today or dt.date.today()).isoformat()),
        TitleItem("version", labels.word("version", lang), microplan_version()),
    ]


def metadata(plan: Plan, lang: Lang) -> dict[str, Any]:
    """What a reader needs without parsing text: the hidden sheet of the workbook (`api.plan_files`)."""
    return {"schema_version": PLAN_SCHEMA_VERSION, "plan_year": plan.plan_year, "policy": plan.inputs.policy,
            "money_unit": plan.scenario.units.money, "loan_rounding": loan_step(plan), "status": plan.status,
            "lang": lang, "microplan_version": microplan_version()}


# ---------------------------------------------------------------- the workbook


def plan_xlsx(plan: Plan, lang: Lang = "zh", today: dt.date | None = None) -> bytes:
    """The workbook: branch targets (with a totals row), rolling plan, summary, floors, shortfalls, diagnostics."""
    buffer = io.BytesIO()
    unit = plan.scenario.units.money
    items = title_items(plan, lang, today)
    page_title = " · ".join(str(i.value) for i in items[:4]) + " · " + labels.status_word(plan.status, lang)
    with new_workbook(buffer) as book:
        f = Formats(book, money_format(plan))
        branches = book.add_worksheet(labels.sheet_name("branches", lang))
        write_branch_sheet(book, branches, f, plan, lang)
        sheets = [branches]
        rolling = book.add_worksheet(labels.sheet_name("rolling", lang))
        write_table(book, rolling, f, rolling_frame(plan, lang), years=(2,), money=(4,), widths=(10, 16, 8, 18, 22))
        rolling.freeze_panes(1, 2)
        sheets.append(rolling)
        summary = book.add_worksheet(labels.sheet_name("summary", lang))
        write_summary_sheet(book, summary, f, plan, lang, items)
        sheets.append(summary)
        floors = book.add_worksheet(labels.sheet_name("floors", lang))
        write_table(book, floors, f, floors_frame(plan, lang), years=(3,), money=(4, 5, 6), widths=(26, 12, 16, 8, 16, 16, 14, 8))
        sheets.append(floors)
        short = book.add_worksheet(labels.sheet_name("shortfalls", lang))
        write_table(book, short, f, shortfall_frame(plan, lang), years=(2,), money=(4,), widths=(10, 26, 8, 12, 14, 8))
        sheets.append(short)
        notes = book.add_worksheet(labels.sheet_name("diagnostics", lang))
        write_text(notes, 0, 0, labels.word("diagnostics", lang), f.title, quoted=f.quoted)
        for row, line in enumerate(diagnostic_lines(plan, lang), start=1):
            write_text(notes, row, 0, line, f.wrap, quoted=f.quoted)
        notes.set_column(0, 0, 120)
        sheets.append(notes)
        print_setup(sheets, page_title, repeat_header=[ws for ws in sheets if ws is not summary and ws is not notes])
        write_meta_sheet(book, f, metadata(plan, lang))
        branches.activate()
    return buffer.getvalue()


def print_setup(sheets: list[Any], title: str, repeat_header: list[Any]) -> None:
    """A4 landscape, one page wide, the title in the page header and page numbers in the footer;
    the header row repeated on every printed page of `repeat_header` (tables, not the summary)."""
    for ws in sheets:
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.fit_to_pages(1, 0)  # one page wide, as many long as needed
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.5)
        ws.set_header("&C&\"-,Bold\"" + _header_text(title))
        ws.set_footer("&C&P / &N")
    for ws in repeat_header:
        ws.repeat_rows(0)


def write_meta_sheet(book: Any, f: "Formats", meta: dict[str, Any]) -> None:
    """The hidden `_meta` sheet: key / value rows a program reads without parsing the tables."""
    sheet = book.add_worksheet(HIDDEN_META)
    for row, (key, value) in enumerate(meta.items()):
        write_text(sheet, row, 0, key)
        write_cell(sheet, row, 1, value, f.quoted)
    sheet.hide()


def _header_text(text: str) -> str:
    """Page-header text: `&` doubled (a control character there), at most 200 characters."""
    return text.replace("&", "&&")[:200]


class Formats:
    """The workbook's cell formats."""

    def __init__(self, book: Any, money_fmt: str) -> None:
        base = {"font_name": "Noto Sans CJK SC", "font_size": 10, "valign": "vcenter"}
        self.header = book.add_format({**base, "bold": True, "border": 1, "text_wrap": True, "align": "center", "bg_color": "#DDEBF7"})
        self.text = book.add_format({**base, "indent": 1})
        self.wrap = book.add_format({**base, "text_wrap": True, "valign": "top", "indent": 1})
        self.reason = book.add_format({**base, "indent": 1, "shrink": True})
        self.number = book.add_format({**base, "num_format": "#,##0"})
        self.money = book.add_format({**base, "num_format": money_fmt})
        self.decimal = book.add_format({**base, "num_format": "0.00##"})
        self.year = book.add_format({**base, "num_format": "0", "align": "center"})
        self.total_text = book.add_format({**base, "bold": True, "top": 1, "bottom": 6})
        self.total_number = book.add_format({**base, "bold": True, "top": 1, "bottom": 6, "num_format": "#,##0"})
        self.total_money = book.add_format({**base, "bold": True, "top": 1, "bottom": 6, "num_format": money_fmt})
        self.title = book.add_format({**base, "bold": True, "font_size": 14})
        self.label = book.add_format({**base, "bold": True})
        self.quoted = book.add_format({**base, "quote_prefix": True})


def write_table(book: Any, ws: Any, f: Formats, frame: pd.DataFrame, *, years: tuple[int, ...] = (), money: tuple[int, ...] = (),
                widths: tuple[int, ...] = ()) -> None:
    """A table with a bold header on row 0: years as plain numbers, money and counts formatted."""
    for col, name in enumerate(frame.columns):
        write_text(ws, 0, col, str(name), f.header, quoted=f.quoted)
        fmt = f.year if col in years else f.money if col in money else f.number if pd.api.types.is_numeric_dtype(frame[name]) else f.text
        ws.set_column(col, col, widths[col] if col < len(widths) else 14, fmt)
    ws.set_row(0, 32)
    for row, values in enumerate(frame.itertuples(index=False), start=1):
        for col, value in enumerate(values):
            write_cell(ws, row, col, None if value is pd.NA else value, f.quoted)


def write_branch_sheet(book: Any, ws: Any, f: Formats, plan: Plan, lang: Lang) -> None:
    """The branch table: header on row 1 (the plan checker reads it there), one row per branch, a totals row."""
    frame = branch_frame(plan, lang)
    keys = list(BRANCH_COLUMNS)
    widths = {"id": 8, "name": 14, "reason": 58, "target_loan_increment": 16, "ratchet_coefficient": 13, "effective_reward": 13}
    for col, key in enumerate(keys):
        write_text(ws, 0, col, str(frame.columns[col]), f.header, quoted=f.quoted)
        fmt = (f.money if key == "target_loan_increment" else f.reason if key == "reason" else f.text if key in ("id", "name")
               else f.decimal if key in ("ratchet_coefficient", "effective_reward") else f.number)
        ws.set_column(col, col, widths.get(key, 10), fmt)
    ws.set_row(0, 45)
    n = len(frame)
    for row, values in enumerate(frame.itertuples(index=False), start=1):
        for col, value in enumerate(values):
            value = "∞" if isinstance(value, float) and value == np.inf else value  # Weitzman's sum diverges
            write_cell(ws, row, col, None if value is pd.NA else value, f.quoted)
    from xlsxwriter.utility import xl_rowcol_to_cell

    total_row = n + 1
    write_text(ws, total_row, 0, labels.word("total", lang), f.total_text)
    write_text(ws, total_row, 1, "", f.total_text)
    values = branch_values(plan, lang)
    for col, key in enumerate(keys[2:], start=2):
        if key not in SUMMED:
            write_text(ws, total_row, col, "", f.total_text)
            continue
        column = values[key]
        total = column.dropna().sum()
        total = round(float(total), money_digits(plan)) if key == "target_loan_increment" else int(total)
        first, last = xl_rowcol_to_cell(1, col), xl_rowcol_to_cell(n, col)
        ws.write_formula(total_row, col, f"=SUM({first}:{last})", f.total_money if key == "target_loan_increment" else f.total_number, total)
    ws.freeze_panes(1, 2)  # header row and the id and name columns
    ws.autofilter(0, 0, n, len(keys) - 1)


def write_summary_sheet(book: Any, ws: Any, f: Formats, plan: Plan, lang: Lang, items: list[TitleItem]) -> None:
    """The title block, the plan-year floors and the plan's totals."""
    unit = plan.scenario.units.money
    write_text(ws, 0, 0, plan.scenario.name, f.title, quoted=f.quoted)
    for row, item in enumerate(items, start=2):
        write_text(ws, row, 0, item.label, f.label)
        write_text(ws, row, 1, str(item.value), f.text, quoted=f.quoted)
    row = len(items) + 3
    totals = plan.totals()
    digits = money_digits(plan)
    client_word = labels.pick(labels.CLIENT_UNIT, lang)
    write_text(ws, row, 0, labels.word("totals", lang), f.label)
    write_text(ws, row, 1, f"{totals['target_clients']:,.0f} {client_word}；{totals['target_loan_increment'] * money_factor(plan):,.{digits}f} {unit}"
               if lang == "zh" else f"{totals['target_clients']:,.0f} {client_word}; {totals['target_loan_increment'] * money_factor(plan):,.{digits}f} {unit}", f.text)
    data = plan.to_json()["floors"]
    for offset, (key, quantity) in enumerate((("micro_loan_increment", "loans"), ("micro_client_increment", "clients")), start=1):
        floor = data[key]
        value = f"{floor['value']:,.{digits if quantity == 'loans' else 0}f} {labels.quantity_unit(quantity, unit, lang)}"
        rule = labels.rule_name(floor["binding_rule"], lang) if floor["binding_rule"] else labels.word("none", lang)
        write_text(ws, row + offset, 0, labels.word("floor_loans" if quantity == "loans" else "floor_clients", lang), f.label)
        write_text(ws, row + offset, 1, f"{value}（{rule}）" if lang == "zh" else f"{value} ({rule})", f.text)
    ws.set_column(0, 0, 26)
    ws.set_column(1, 1, 90)


# ---------------------------------------------------------------- CSV and JSON


def plan_csv(plan: Plan, lang: Lang = "zh") -> str:
    """The plan-year branch table as CSV: headers in `lang`, whole clients, money to the rounding unit."""
    frame = branch_frame(plan, lang)
    digits = money_digits(plan)
    loans = frame.columns[BRANCH_COLUMNS.index("target_loan_increment")]
    frame[loans] = frame[loans].map(lambda v: f"{v:.{digits}f}")
    reward = frame.columns[BRANCH_COLUMNS.index("effective_reward")]
    frame[reward] = frame[reward].map(lambda v: "∞" if v == np.inf else "" if np.isnan(v) else f"{v}")
    return csv_text(frame)


def plan_json(plan: Plan, lang: Lang = "zh") -> dict:
    """The plan JSON (`Plan.to_json`) with the words of `lang`: status_text, rule names, messages."""
    data = plan.to_json()
    data["lang"] = lang
    data["status_text"] = labels.status_word(plan.status, lang)
    for key in ("violations", "warnings"):
        data[key] = [{**v, "rule_text": labels.rule_name(v["rule"], lang)} for v in data[key]]
    data["messages"] = diagnostic_lines(plan, lang)
    rewards = effective_rewards(plan) * money_factor(plan)
    digits = reward_digits(plan)
    for row, reward in zip(data["branches"], rewards):
        row["effective_reward"] = float(round(reward, digits)) if np.isfinite(reward) else None
        row["effective_reward_unbounded"] = bool(np.isinf(reward))
    data["incentives"] = incentives_json(plan)
    return data
