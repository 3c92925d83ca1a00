"""Plan reports: the XLSX workbook a branch can read, CSV, and the terminal table.

Headers are Chinese by default (the department sends the workbook to branches) and English with
`lang="en"`. Money is shown in the scenario's own unit. Cells are written through `api.writing`:
text from the scenario never becomes a formula, a link or a DDE call.
"""

from __future__ import annotations

import io

import pandas as pd

from api.writing import csv_text, new_workbook, write_frame, write_text
from optimize.plan import Plan
from scenarios.schema import from_wan

COLUMNS = {  # key: (中文, English)
    "id": ("机构号", "Branch id"),
    "name": ("管辖行", "Branch"),
    "long_term_target": ("长期目标(户)", "Long-term target (clients)"),
    "achieved_clients": ("周期内已完成(户)", "Achieved in cycle (clients)"),
    "schedule": ("进度", "Schedule"),
    "pace": ("追赶进度(户/年)", "Catch-up pace (clients/yr)"),
    "capacity": ("产能(户/年)", "Capacity (clients/yr)"),
    "target_clients": ("新增小微户数目标", "Target new micro clients"),
    "extra_load": ("超进度分摊(户)", "Extra load above reference"),
    "target_loan_increment": ("小微贷款增量目标", "Target micro-loan increment"),
    "at_capacity": ("满产能", "At capacity"),
    "risk_capped": ("风险限增", "Risk-capped"),
}
SCHEDULE_WORDS = {"behind": ("落后", "behind"), "ahead": ("超前", "ahead"), "on": ("按期", "on schedule")}
YES_NO = {True: ("是", "yes"), False: ("", "")}


def branch_frame(plan: Plan, lang: str = "zh") -> pd.DataFrame:
    """The plan-year branch table with readable headers, money in the scenario's unit."""
    i = 0 if lang == "zh" else 1
    money = from_wan(1.0, plan.scenario.units.money)
    table = plan.branch_table()
    table["target_loan_increment"] = table["target_loan_increment"] * money
    table["schedule"] = table["schedule"].map(lambda s: SCHEDULE_WORDS[s][i])
    for col in ("at_capacity", "risk_capped"):
        table[col] = table[col].map(lambda v: YES_NO[bool(v)][i])
    table = table[list(COLUMNS)]
    unit = plan.scenario.units.money
    headers = {k: v[i] + (f"({unit})" if k == "target_loan_increment" else "") for k, v in COLUMNS.items()}
    return table.rename(columns=headers)


def rolling_frame(plan: Plan, lang: str = "zh") -> pd.DataFrame:
    """Targets of every plan year per branch (the plan year binding, later years indicative)."""
    money = from_wan(1.0, plan.scenario.units.money)
    t = plan.targets.copy()
    t["target_loan_increment"] *= money
    names = ("机构号", "年度", "新增小微户数目标", "小微贷款增量目标") if lang == "zh" else ("Branch id", "Year", "Target new clients", "Target loan increment")
    return t.rename(columns=dict(zip(["branch", "year", "target_clients", "target_loan_increment"], names)))


def floors_frame(plan: Plan, lang: str = "zh") -> pd.DataFrame:
    """Every floor row with its required value and the plan's total."""
    money = from_wan(1.0, plan.scenario.units.money)
    f = plan.floor_values.copy()
    scale = f["quantity"].map({"loans": money, "clients": 1.0})
    f["required"] *= scale
    f["total"] *= scale
    f["slack"] = f["total"] - f["required"]
    names = ("规则", "层级", "指标", "年度", "底线", "计划合计", "余量") if lang == "zh" else ("Rule", "Tier", "Quantity", "Year", "Floor", "Plan total", "Slack")
    return f.rename(columns=dict(zip(["rule", "tier", "quantity", "year", "required", "total", "slack"], names)))


def plan_xlsx(plan: Plan, lang: str = "zh") -> bytes:
    """The workbook: branch targets, rolling plan, floors and rules, diagnostics."""
    sheets = ("分行目标", "滚动计划", "监管底线", "诊断") if lang == "zh" else ("Branch targets", "Rolling plan", "Floors", "Diagnostics")
    buffer = io.BytesIO()
    with new_workbook(buffer) as book:
        number = book.add_format({"num_format": "#,##0"})
        money = book.add_format({"num_format": "#,##0.00"})
        header = book.add_format({"bold": True, "border": 1})
        frames = (branch_frame(plan, lang), rolling_frame(plan, lang), floors_frame(plan, lang))
        for frame, sheet in zip(frames, sheets):
            ws = book.add_worksheet(sheet)
            write_frame(book, ws, frame, header)
            ws.freeze_panes(1, 0)
            for col, name in enumerate(frame.columns):
                width = max(len(str(name)) * (2 if lang == "zh" else 1), 10) + 2
                is_money = any(w in str(name) for w in ("贷款", "loan", "Floor", "底线", "合计", "total", "Slack", "余量"))
                fmt = money if is_money else number if pd.api.types.is_numeric_dtype(frame[name]) else None
                ws.set_column(col, col, min(width, 40), fmt)
        ws = book.add_worksheet(sheets[3])
        lines = [f"{plan.scenario.name} — {plan.plan_year} — {plan.inputs.policy} — {plan.status}"]
        lines += plan.diagnostics.messages
        for v in plan.violations:
            lines.append(f"violation: {v}")
        quoted = book.add_format({"quote_prefix": True})
        for row, line in enumerate(lines):
            write_text(ws, row, 0, str(line), quoted=quoted)
        ws.set_column(0, 0, 120)
    return buffer.getvalue()


def plan_csv(plan: Plan, lang: str = "en") -> str:
    """The plan-year branch table as CSV (English headers by default: CSV is for machines)."""
    return csv_text(branch_frame(plan, lang))
