"""What `microplan simulate` shows people: the metrics table, the per-group / per-branch tables and the
CSV, each in one language (zh, the default, or en).

Metric and model names come from `api.metric_labels` (shared with the comparison); the words of the
tables themselves are in `WORDS`. Every header carries its unit: the metric column names each row's
unit (`新发放贷款(万元)`), the per-group and per-branch columns name theirs. JSON keeps the codes.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import pandas as pd
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api import labels
from api.labels import Lang, pick
from api.metric_labels import metric_name, metric_unit, model_name
from scenarios.text import printable

if TYPE_CHECKING:
    from simulate.service import SimulationResult

#: The tables' own words: key → (中文, English).
WORDS: dict[str, tuple[str, str]] = {
    "metric": ("指标(单位)", "Metric (unit)"),
    "mean": ("均值", "Mean"),
    "ci": ("95%置信区间", "95% CI"),
    "p5": ("P5", "P5"),
    "p95": ("P95", "P95"),
    "breakdown_caption": ("单元格：均值 ± 95%置信区间半宽", "Cells: mean ± half-width of the 95% CI"),
    # CSV headers
    "scope": ("范围", "Scope"),
    "metric_name": ("指标", "Metric"),
    "unit": ("单位", "Unit"),
    "std": ("标准差", "Std"),
    "ci95_low": ("95%置信下限", "95% CI low"),
    "ci95_high": ("95%置信上限", "95% CI high"),
    "p50": ("P50", "P50"),
    "replications": ("重复次数", "Replications"),
    "all": ("合计", "All"),
}
#: Breakdown scope → (table title, id column header, CSV scope word), each (中文, English).
SCOPES: dict[str, tuple[tuple[str, str], tuple[str, str], tuple[str, str]]] = {
    "group": (("各联合营销小组", "Per joint-marketing group"), ("小组", "Group"), ("小组", "Group")),
    "branch": (("各分行", "Per branch"), ("机构号", "Branch id"), ("分行", "Branch")),
}
#: Metrics shown in the per-group and per-branch tables (means with their 95 % CI).
BREAKDOWN_COLUMNS = ("new_clients", "new_loans", "approval_rate", "simulated_profit", "department_payout", "branch_payout",
                     "member_payout", "default_rate")
#: Cells a rich column costs beyond its text: one padding cell each side and one border.
COLUMN_COST = 3


def word(key: str, lang: Lang) -> str:
    return pick(WORDS[key], lang)


def unit_of(result: SimulationResult, name: str, lang: Lang) -> str:
    """A metric's unit in `lang`: the money unit, %, 户 / clients, 次 / count, …"""
    return metric_unit(result.metric_units[name], result.unit_label(name), result.money_unit, lang)


def label_with_unit(result: SimulationResult, name: str, lang: Lang) -> str:
    """`新发放贷款(万元)` / `New loans (万元)`: the plan's header style."""
    unit = unit_of(result, name, lang)
    return f"{metric_name(name, lang)}({unit})" if lang == "zh" else f"{metric_name(name, lang)} ({unit})"


def title(scenario_name: str, result: SimulationResult, policy: str | None, lang: Lang) -> str:
    """`城商行 … — 多年政策循环（追赶进度）`: the bank's name, the model and, for models that plan, the policy."""
    text = f"{scenario_name} — {model_name(result.model, lang)}"
    if policy is not None:
        policy_text = labels.policy_name(policy, lang)
        text += f"（{policy_text}）" if lang == "zh" else f" ({policy_text})"
    return text


def caption(result: SimulationResult, lang: Lang) -> str:
    """The run's setup: replications, seed, the period; a line of its own for what — means."""
    n, seed, start = result.replications, result.seed, result.start_year
    if result.series_index == "year":
        last = start + len(result.series.day) - 1
        if lang == "zh":
            return f"{n} 次重复，随机种子 {seed}；每次重复逐年编制计划并入账，{start}–{last} 年。"
        return f"{n} replications, seed {seed}; each plans and books every year {start}–{last}."
    if lang == "zh":
        warmup = f"（另预热 {result.warmup_days} 天）" if result.warmup_days else ""
        return (f"{n} 次重复，随机种子 {seed}；自 {start}-01-01 起 {result.days} 天{warmup}。\n"
                f"无定义的值（如没有违约时的信用转换系数）显示为 —。")
    warmup = f", after {result.warmup_days} warm-up days" if result.warmup_days else ""
    return (f"{n} replications, seed {seed}; {result.days} days from {start}-01-01{warmup}.\n"
            f"Undefined values (e.g. the CCF without defaults) show as —.")


def render_table(result: SimulationResult, title_text: str, lang: Lang, width: int) -> str:
    """The metrics table a department head reads: metric (unit), mean, 95 % CI, P5, P95; numbers never wrap."""
    table = Table(title=Text(printable(title_text)), caption=Text(caption(result, lang)),
                  title_justify="left", caption_justify="left")
    table.add_column(word("metric", lang), overflow="fold")
    for key in ("mean", "ci", "p5", "p95"):
        table.add_column(word(key, lang), justify="right", no_wrap=True)
    for name, s in result.metrics.items():
        show = _shower(result, name)
        ci = "—" if math.isnan(s.ci95[0]) else f"{show(s.ci95[0])} – {show(s.ci95[1])}"
        table.add_row(label_with_unit(result, name, lang), show(s.mean), ci, show(s.p5), show(s.p95))
    return _printed(table, width)


def render_breakdowns(result: SimulationResult, lang: Lang, width: int) -> str:
    """Per-group and per-branch tables (models that report them): each cell `mean ± half-width of the 95 % CI`.

    The metric columns (each as wide as its header or widest cell: nothing wraps or is cut) are split
    over as many tables as the width needs, the id column repeated in each.
    """
    parts = []
    for scope, by_id in result.breakdowns.items():
        title_words, id_words, _ = SCOPES.get(scope, ((scope, scope), ("id", "id"), (scope, scope)))
        names = [n for n in BREAKDOWN_COLUMNS if any(n in values for values in by_id.values())]
        headers = {name: label_with_unit(result, name, lang) for name in names}
        cells = {name: [_breakdown_cell(result, name, values.get(name)) for values in by_id.values()] for name in names}
        widths = {name: max(cell_len(t) for t in [headers[name], *cells[name]]) for name in names}
        ids = [printable(ident) for ident in by_id]
        id_width = max(cell_len(t) for t in [pick(id_words, lang), *ids])
        chunks = _chunks(names, widths, width - id_width - COLUMN_COST - 1)
        for i, chunk in enumerate(chunks):
            heading = pick(title_words, lang) + (f" ({i + 1}/{len(chunks)})" if len(chunks) > 1 else "")
            last = i == len(chunks) - 1
            table = Table(title=Text(heading), title_justify="left",
                          caption=Text(word("breakdown_caption", lang)) if last else None, caption_justify="left")
            table.add_column(pick(id_words, lang), no_wrap=True)
            for name in chunk:
                table.add_column(headers[name], justify="right", no_wrap=True, min_width=widths[name])
            for row, ident in enumerate(ids):
                table.add_row(ident, *(cells[name][row] for name in chunk))
            parts.append(_printed(table, width))
    return "".join(parts)


def _chunks(names: list[str], widths: dict[str, int], room: int) -> list[list[str]]:
    """`names` in order, cut into runs whose columns (cell width + `COLUMN_COST`) fit `room` cells; at least one a run."""
    chunks: list[list[str]] = [[]]
    used = 0
    for name in names:
        cost = widths[name] + COLUMN_COST
        if chunks[-1] and used + cost > room:
            chunks.append([])
            used = 0
        chunks[-1].append(name)
        used += cost
    return [c for c in chunks if c]


def csv_frame(result: SimulationResult, lang: Lang) -> pd.DataFrame:
    """One row per metric, then per group / branch metric: scope, metric, unit, mean, std, CI, P5, P50, P95, n.

    Headers, scopes, metric names and units in `lang` (as the plan's CSV); numbers unrounded, ratios
    in % (× 100) as the unit column and the table say.
    """
    scoped = [(word("all", lang), result.metrics)]
    for scope, by_id in result.breakdowns.items():
        scope_words = SCOPES[scope][2] if scope in SCOPES else (scope, scope)
        scoped += [(f"{pick(scope_words, lang)} {printable(ident)}", values) for ident, values in by_id.items()]
    rows = []
    for scope, metrics in scoped:
        for name, s in metrics.items():
            k = 100.0 if result.metric_units[name] == "ratio" else 1.0  # the unit says %
            rows.append([scope, metric_name(name, lang), unit_of(result, name, lang), *(k * v for v in (
                s.mean, s.std, s.ci95[0], s.ci95[1], s.p5, s.p50, s.p95)), s.n])
    keys = ("scope", "metric_name", "unit", "mean", "std", "ci95_low", "ci95_high", "p5", "p50", "p95", "replications")
    return pd.DataFrame(rows, columns=[word(k, lang) for k in keys])


def _breakdown_cell(result: SimulationResult, name: str, s) -> str:
    if s is None:
        return "—"
    show = _shower(result, name)
    return show(s.mean) if math.isnan(s.ci95[0]) else f"{show(s.mean)} ± {show((s.ci95[1] - s.ci95[0]) / 2)}"


def _shower(result: SimulationResult, name: str):
    kind, money_unit = result.metric_units[name], result.money_unit
    return lambda value: _format(value, kind, money_unit)


def _printed(table: Table, width: int) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=width, force_terminal=False, color_system=None).print(table)
    return buffer.getvalue()


def _format(value: float, kind: str, money_unit: str) -> str:
    """A number as shown: ratios in % to 0.1, money to the unit's digits (元 0, 万元 1, 亿元 2), others to 0.1."""
    if value is None or math.isnan(value):
        return "—"
    if kind == "ratio":
        return f"{value * 100:.1f}"
    if kind == "money":
        return f"{value:,.0f}" if money_unit == "元" else f"{value:,.2f}" if money_unit == "亿元" else f"{value:,.1f}"
    return f"{value:,.1f}"
