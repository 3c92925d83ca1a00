"""The comparison as an XLSX workbook, with the plan workbook's conventions (`api.reports`).

Sheets: 概要 / Summary (title block, one column per option, what differs most), 分行目标 /
Branch targets (one row per branch, each option's target), 与基准差异 / Differences (each option
against last year's target, each variant against the base), 贷款增量 / Loan targets (each option's
loan increment and its difference from the base), 基础与加压 / Pace and extra (the policy's own share, the extra load, the load on capacity), 模拟结果 /
Simulation (when the scenario simulates), and the hidden `_meta`. Units in every header, a 合计
row of `SUM` formulas under each branch table, A4 landscape one page wide with the header row
repeated, Chinese by default. Text cells go through `api.writing` (never a formula or a link).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from api import comparison_labels as words
from api.comparison import Comparison
from api.labels import Lang
from api.reports import Formats, microplan_version, number_format, print_setup, step_digits, write_meta_sheet
from api.writing import new_workbook, write_cell, write_file, write_text


def write_comparison_xlsx(comparison: Comparison, path: str | Path, lang: Lang = "zh") -> None:
    """Write the workbook to `path` (atomically: a temporary file renamed when complete)."""
    write_file(Path(path), comparison_xlsx(comparison, lang))


def comparison_xlsx(comparison: Comparison, lang: Lang = "zh", today: dt.date | None = None) -> bytes:
    """The workbook's bytes (see the module docstring)."""
    buffer = io.BytesIO()
    digits = step_digits(comparison.loan_rounding)
    with new_workbook(buffer) as book:
        f = Formats(book, number_format(digits))
        f.percent = book.add_format({"font_name": "Noto Sans CJK SC", "font_size": 10, "valign": "vcenter", "num_format": "0.0%"})
        f.decimal = book.add_format({"font_name": "Noto Sans CJK SC", "font_size": 10, "valign": "vcenter", "num_format": "#,##0.00"})
        f.total_percent = book.add_format({"font_name": "Noto Sans CJK SC", "font_size": 10, "bold": True, "top": 1, "bottom": 6,
                                           "num_format": "0.0%"})
        title = f"{comparison.scenario} · {comparison.plan_year} · {words.word('title', lang)}"
        summary = book.add_worksheet(words.word("summary", lang))
        write_summary(summary, f, comparison, lang, digits, today)
        sheets = [summary]
        for key, columns in (("branches", branch_columns(comparison, lang, digits)),
                             ("differences", difference_columns(comparison, lang, digits)),
                             ("loan_sheet", loan_columns(comparison, lang, digits)),
                             ("split", split_columns(comparison, lang))):
            ws = book.add_worksheet(words.word(key, lang))
            write_branch_table(ws, f, comparison, columns, lang)
            sheets.append(ws)
        if comparison.metrics:
            ws = book.add_worksheet(words.word("simulation", lang))
            write_simulation(ws, f, comparison, lang)
            sheets.append(ws)
        print_setup(sheets, title, repeat_header=sheets[1:])
        write_meta_sheet(book, f, metadata(comparison, lang))
        summary.activate()
    return buffer.getvalue()


def metadata(comparison: Comparison, lang: Lang) -> dict[str, Any]:
    """What a program needs without parsing the sheets."""
    return {"kind": "comparison", "schema_version": 1, "plan_year": comparison.plan_year,
            "money_unit": comparison.money_unit, "loan_rounding": comparison.loan_rounding,
            "options": ", ".join(comparison.names), "lang": lang, "microplan_version": microplan_version()}


# ---------------------------------------------------------------- summary


def write_summary(ws: Any, f: Formats, comparison: Comparison, lang: Lang, digits: int, today: dt.date | None) -> None:
    """Title block, the options side by side, what differs most, notes."""
    write_text(ws, 0, 0, f"{comparison.scenario} — {words.word('title', lang)}", f.title, quoted=f.quoted)
    block = [
        (words.word("bank", lang), comparison.scenario),
        (words.word("plan_year", lang), str(comparison.plan_year)),
        (words.word("money_unit", lang), comparison.money_unit),
        (words.word("options", lang), str(len(comparison.options))),
        (words.word("sim_setup", lang), words.simulation_text(comparison, lang)),
        (words.word("date", lang), (today or dt.date.today()).isoformat()),
        (words.word("version", lang), microplan_version()),
    ]
    for row, (label, value) in enumerate(block, start=2):
        write_text(ws, row, 0, label, f.label)
        write_text(ws, row, 1, value, f.text, quoted=f.quoted)
    top = len(block) + 3
    write_text(ws, top, 0, words.word("option", lang), f.header)
    for col, option in enumerate(comparison.options, start=1):
        write_text(ws, top, col, words.option_title(option.name, lang), f.header, quoted=f.quoted)
    formats = {"text": f.text, "wrap": f.wrap, "number": f.number, "money": f.money, "percent": f.percent, "decimal": f.decimal}
    for r, (label, kind, value) in enumerate(words.summary_rows(comparison, lang), start=top + 1):
        write_text(ws, r, 0, label, f.label)
        if kind == "wrap":  # a description of up to ~80 characters in three lines
            ws.set_row(r, 15 * min(4, max(1, max(len(str(value(o))) for o in comparison.options) // 14 + 1)))
        for col, option in enumerate(comparison.options, start=1):
            v = value(option)
            if isinstance(v, str):
                write_text(ws, r, col, v, formats[kind], quoted=f.quoted)
            elif v is None:
                write_text(ws, r, col, "—", f.text)
            else:
                ws.write_number(r, col, v, formats[kind])
    row = top + len(words.summary_rows(comparison, lang)) + 2
    write_text(ws, row, 0, words.word("highlights", lang), f.label)
    sentences = [words.highlight_sentence(item, comparison.money_unit, lang, digits) for item in comparison.highlights()]
    for offset, sentence in enumerate(sentences or [words.word("no_differences", lang)], start=1):
        write_text(ws, row + offset, 0, f"{offset}. {sentence}" if sentences else sentence, f.text, quoted=f.quoted)
    row += len(sentences or [""]) + 2
    write_text(ws, row, 0, words.word("notes", lang), f.label)
    write_text(ws, row + 1, 0, words.word("note_parts", lang), f.text)
    write_text(ws, row + 2, 0, words.word("note_load", lang), f.text)
    ws.set_column(0, 0, 30)
    ws.set_column(1, len(comparison.options), 22)
    ws.set_row(top, 32)


# ---------------------------------------------------------------- the branch tables


#: A column of a branch table: header, cell kind (text | number | money | percent), value of a row, summed?
Column = tuple[str, str, Callable[[Any], Any], bool]


def leading_columns(lang: Lang) -> list[Column]:
    return [(words.word("id", lang), "text", lambda b: b.id, False),
            (words.word("name", lang), "text", lambda b: b.name, False)]


def branch_columns(comparison: Comparison, lang: Lang, digits: int) -> list[Column]:
    """Id, name, capacity, last year's target and actual, the catch-up pace; each option's target."""
    columns = leading_columns(lang) + [
        (words.word("capacity", lang), "number", lambda b: b.capacity, True),
        (words.word("last_year_target", lang), "number", lambda b: b.last_year_target, True),
        (words.word("last_year_actual", lang), "number", lambda b: b.last_year_actual, True),
        (words.word("pace", lang), "number", lambda b: b.pace, True),
    ]
    titles = [words.option_title(n, lang) for n in comparison.names]
    columns += [(f"{t}\n{words.word('target', lang)}", "number", _at("target_clients", k), True) for k, t in enumerate(titles)]
    return columns


def difference_columns(comparison: Comparison, lang: Lang, digits: int) -> list[Column]:
    """Id, name; each option's target against last year's target; each variant's target against the base's."""
    titles = [words.option_title(n, lang) for n in comparison.names]
    columns = leading_columns(lang)
    columns += [(f"{t}\n{words.word('vs_last', lang)}", "number", _at("change_vs_last_year", k), True) for k, t in enumerate(titles)]
    columns += [(f"{t}\n{words.word('vs_base', lang)}", "number", _at("change_vs_base", k), True)
                for k, t in enumerate(titles) if k > 0]
    return columns


def loan_columns(comparison: Comparison, lang: Lang, digits: int) -> list[Column]:
    """Id, name; each option's loan increment target; each variant's against the base's (money unit)."""
    unit = comparison.money_unit
    titles = [words.option_title(n, lang) for n in comparison.names]
    columns = leading_columns(lang)
    columns += [(f"{t}\n{words.word('loans', lang, unit)}", "money", _at("target_loan_increment", k), True) for k, t in enumerate(titles)]
    columns += [(f"{t}\n{words.word('loans_vs_base', lang, unit)}", "money", _at("loan_change_vs_base", k), True)
                for k, t in enumerate(titles) if k > 0]
    return columns


def split_columns(comparison: Comparison, lang: Lang) -> list[Column]:
    """Id, name, capacity; per option the policy's own share, the extra load and the load on capacity."""
    columns = leading_columns(lang) + [(words.word("capacity", lang), "number", lambda b: b.capacity, True)]
    for k, name in enumerate(comparison.names):
        t = words.option_title(name, lang)
        columns += [(f"{t}\n{words.word('base_share', lang)}", "number", _at("base_part", k), True),
                    (f"{t}\n{words.word('extra_share', lang)}", "number", _at("extra_part", k), True),
                    (f"{t}\n{words.word('load', lang)}", "percent", _at("load", k), False)]
    return columns


def _at(attribute: str, k: int) -> Callable[[Any], Any]:
    return lambda b: getattr(b, attribute)[k]


def write_branch_table(ws: Any, f: Formats, comparison: Comparison, columns: Sequence[Column], lang: Lang) -> None:
    """Header on row 0 (units in every header), one row per branch, a 合计 row of SUM formulas."""
    from xlsxwriter.utility import xl_rowcol_to_cell

    formats = {"text": f.text, "number": f.number, "money": f.money, "percent": f.percent}
    totals = {"number": f.total_number, "money": f.total_money, "percent": f.total_percent}
    for col, (header, kind, _, _) in enumerate(columns):
        write_text(ws, 0, col, header, f.header, quoted=f.quoted)
        ws.set_column(col, col, 8 if col == 0 else 14 if col == 1 else 12, formats[kind])
    ws.set_row(0, 64)  # an option's name and the column's unit, up to four lines
    rows = comparison.branches
    for r, branch in enumerate(rows, start=1):
        for col, (_, kind, value, _) in enumerate(columns):
            write_cell(ws, r, col, value(branch), f.quoted)
    total_row = len(rows) + 1
    write_text(ws, total_row, 0, words.word("total", lang), f.total_text)
    for col, (_, kind, value, summed) in enumerate(columns[1:], start=1):
        if not summed:
            write_text(ws, total_row, col, "", f.total_text)
            continue
        cached = sum(v for v in (value(b) for b in rows) if v is not None)
        first, last = xl_rowcol_to_cell(1, col), xl_rowcol_to_cell(len(rows), col)
        ws.write_formula(total_row, col, f"=SUM({first}:{last})", totals[kind], cached)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, len(rows), len(columns) - 1)


# ---------------------------------------------------------------- simulation


def write_simulation(ws: Any, f: Formats, comparison: Comparison, lang: Lang) -> None:
    """One row per model, metric and option: mean with its 95 % CI, the paired difference from the base with its CI."""
    keys = ("model", "metric", "unit", "option", "mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high")
    widths = (18, 18, 8, 18, 14, 14, 14, 14, 14, 14)
    for col, key in enumerate(keys):
        write_text(ws, 0, col, words.word(key, lang), f.header)
        ws.set_column(col, col, widths[col], f.text if col < 4 else f.decimal)
    ws.set_row(0, 32)
    row = 1
    for metric in comparison.metrics:
        percent = metric.kind == "ratio"
        scale = 100.0 if percent else 1.0
        unit = words.metric_unit(metric.kind, metric.unit, comparison.money_unit, lang)
        for k, name in enumerate(comparison.names):
            values = [metric.mean[k], metric.ci95[k][0], metric.ci95[k][1]]
            values += [None, None, None] if k == 0 else [metric.diff[k], *metric.diff_ci95[k]]
            cells = [words.model_name(metric.model, lang), words.metric_name(metric.metric, lang), unit,
                     words.option_title(name, lang)] + [None if v is None else v * scale for v in values]
            for col, value in enumerate(cells):
                write_cell(ws, row, col, value, f.quoted)
            row += 1
    ws.freeze_panes(1, 4)
    ws.autofilter(0, 0, row - 1, len(keys) - 1)
